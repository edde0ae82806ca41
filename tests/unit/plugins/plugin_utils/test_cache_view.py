# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The warm path must find exactly what msal itself would find in the same cache document."""

from __future__ import annotations

import base64
import json
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

msal = pytest.importorskip('msal')

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
HOST = 'https://login.example.test'


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip('=')


def cached_doc(username='user@contoso.com', scope='https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default',
               expires_in=3600, realm=TENANT, oid='0000-oid', now=None):
    """A cache document written by msal itself from a token answer."""
    cache = msal.SerializableTokenCache()
    claims = {'tid': TENANT, 'oid': oid, 'preferred_username': username, 'sub': 's'}
    cache.add({
        'client_id': CLIENT, 'scope': scope.split(), 'token_endpoint': '%s/%s/oauth2/v2.0/token' % (HOST, realm),
        'grant_type': 'password', 'data': {'username': username},
        'response': {'access_token': 'at-%s-%s' % (username, expires_in), 'token_type': 'Bearer', 'expires_in': expires_in,
                     'refresh_token': 'rt-secret', 'id_token': 'x.%s.y' % b64(claims),
                     'client_info': b64({'uid': oid, 'utid': TENANT}), 'scope': scope},
    }, now=now)
    return json.loads(cache.serialize())


def request(**kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST)
    args.update(kw)
    return from_mapping(args, environ={})


def test_finds_valid_token_and_builds_facts_without_secrets():
    doc = cached_doc()
    entry = view.find_access_token(doc, request(), TENANT)
    facts = view.token_facts(doc, entry, request(), 'cache')
    assert facts['access_token'] == 'at-user@contoso.com-3600'
    assert facts['tenant_id'] == TENANT and facts['home_account_id'] == '0000-oid.' + TENANT
    assert 3500 < facts['expires_in'] <= 3600 and facts['source'] == 'cache'
    assert 'rt-secret' not in json.dumps(facts) and 'x.' not in json.dumps(facts)


@pytest.mark.parametrize('kw', [
    {'username': 'other@contoso.com'},
    {'client_id': 'aaaaaaaa-bbbb-cccc-dddd-ffffffffffff'},
    {'authority_host': 'https://login.other.test'},
    {'scopes': ['Mail.Read']},
    {'min_validity': 4000},
])
def test_misses(kw):
    assert view.find_access_token(cached_doc(), request(**kw), TENANT) is None


def test_wrong_realm_misses():
    assert view.find_access_token(cached_doc(), request(), 'organizations') is None


def test_expired_token_misses_like_msal():
    doc = cached_doc(expires_in=200)  # below msal's own 300 s refresh window, and our default min_validity
    assert view.find_access_token(doc, request(), TENANT) is None
    assert view.find_access_token(doc, request(min_validity=100), TENANT) is not None


def test_short_graph_scopes_match_both_ways():
    doc = cached_doc(scope='User.Read profile openid email')
    assert view.find_access_token(doc, request(scopes=['https://graph.microsoft.com/User.Read']), TENANT)
    assert view.find_access_token(doc, request(scopes=['User.Read']), TENANT)
    assert view.find_access_token(doc, request(scopes=['https://graph.microsoft.com/.default']), TENANT) is None


def test_agrees_with_msal_silent():
    """Whatever the fast path returns, msal's acquire_token_silent returns too (same document)."""
    doc = cached_doc()
    cache = msal.SerializableTokenCache()
    cache.deserialize(json.dumps(doc))

    class NoNetwork:
        def get(self, url, **kwargs):
            if 'openid-configuration' in url:
                return type('R', (), {'status_code': 200, 'headers': {}, 'text': json.dumps({
                    'authorization_endpoint': '%s/%s/oauth2/v2.0/authorize' % (HOST, TENANT),
                    'token_endpoint': '%s/%s/oauth2/v2.0/token' % (HOST, TENANT), 'issuer': '%s/%s/v2.0' % (HOST, TENANT)}),
                    'raise_for_status': lambda self: None})()
            raise AssertionError('unexpected GET ' + url)

        def post(self, url, **kwargs):
            raise AssertionError('unexpected POST ' + url)

        def close(self):
            pass

    app = msal.PublicClientApplication(CLIENT, authority='%s/%s' % (HOST, TENANT), instance_discovery=False,
                                       token_cache=cache, http_client=NoNetwork())
    account = app.get_accounts(username='user@contoso.com')[0]
    result = app.acquire_token_silent(['https://graph.microsoft.com/.default'], account=account)
    ours = view.find_access_token(doc, request(), TENANT)
    assert result['access_token'] == ours['secret']


def test_picks_longest_lived_and_skips_garbage():
    now = time.time()
    doc = cached_doc(expires_in=1000, now=now)
    doc['AccessToken']['garbage'] = {'home_account_id': None}
    doc['AccessToken']['bad-expiry'] = dict(next(iter(doc['AccessToken'].values())), expires_on='soon')
    later = cached_doc(expires_in=3000, now=now)
    for key, value in later['AccessToken'].items():
        doc['AccessToken'][key + '-later'] = value
    assert view.find_access_token(doc, request(), TENANT)['expires_on'] == str(int(now) + 3000)


def test_realm_from_token_endpoint():
    assert view.realm_from_token_endpoint('https://login.microsoftonline.com/%s/oauth2/v2.0/token' % TENANT.upper()) == TENANT
