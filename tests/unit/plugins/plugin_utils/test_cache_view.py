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
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import usable_entries
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

msal = pytest.importorskip('msal')

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
APP = 'aaaaaaaa-bbbb-cccc-dddd-000000000000'
HOST = 'https://login.example.test'


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip('=')


def jwt(claims):
    return 'eyJ0eXAiOiJKV1QifQ.%s.c2ln' % b64(claims)


def cached_doc(username='user@contoso.com', scope='https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default',
               expires_in=3600, realm=TENANT, oid='0000-oid', now=None, access_token=None, client=CLIENT):
    """A cache document written by msal itself from a token answer."""
    cache = msal.SerializableTokenCache()
    claims = {'tid': TENANT, 'oid': oid, 'preferred_username': username, 'sub': 's'}
    cache.add({
        'client_id': client, 'scope': scope.split(), 'token_endpoint': '%s/%s/oauth2/v2.0/token' % (HOST, realm),
        'grant_type': 'password', 'data': {'username': username},
        'response': {'access_token': access_token or 'at-%s-%s' % (username, expires_in), 'token_type': 'Bearer',
                     'expires_in': expires_in, 'refresh_token': 'rt-secret', 'id_token': 'x.%s.y' % b64(claims),
                     'client_info': b64({'uid': oid, 'utid': TENANT}), 'scope': scope},
    }, now=now)
    return json.loads(cache.serialize())


def app_doc(client=APP, roles=('User.Read.All',), expires_in=3600, realm=TENANT, now=None):
    """A cache document msal's ConfidentialClientApplication writes for an app-only token."""
    cache = msal.SerializableTokenCache()
    cache.add({
        'client_id': client, 'scope': ['https://graph.microsoft.com/.default'],
        'token_endpoint': '%s/%s/oauth2/v2.0/token' % (HOST, realm), 'grant_type': 'client_credentials',
        'response': {'access_token': jwt({'tid': TENANT, 'roles': list(roles), 'appid': client}), 'token_type': 'Bearer',
                     'expires_in': expires_in},
    }, now=now)
    return json.loads(cache.serialize())


class OpenIdOnly:
    """msal's http_client for tests that must not reach a token endpoint: only the tenant's OpenID configuration."""

    def get(self, url, **kwargs):
        if 'openid-configuration' in url:
            tenant = url.split('/')[3]
            return type('R', (), {'status_code': 200, 'headers': {}, 'text': json.dumps({
                'authorization_endpoint': '%s/%s/oauth2/v2.0/authorize' % (HOST, tenant),
                'token_endpoint': '%s/%s/oauth2/v2.0/token' % (HOST, tenant), 'issuer': '%s/%s/v2.0' % (HOST, tenant)}),
                'raise_for_status': lambda self: None})()
        raise AssertionError('unexpected GET ' + url)

    def post(self, url, **kwargs):
        raise AssertionError('unexpected POST ' + url)

    def close(self):
        pass


def request(**kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST)
    args.update(kw)
    return from_mapping(args, environ={})


def app_request(**kw):
    args = dict(tenant=TENANT, client_id=APP, client_secret='app-secret', authority_host=HOST)
    args.update(kw)
    return from_mapping(args, environ={})


def test_finds_valid_token_and_builds_facts_without_secrets():
    doc = cached_doc()
    entry = view.find_access_token(doc, request(), TENANT)
    facts = view.token_facts(doc, entry, request(), 'cache')
    assert facts['access_token'] == 'at-user@contoso.com-3600'
    assert facts['tenant_id'] == TENANT and facts['home_account_id'] == '0000-oid.' + TENANT
    assert facts['username'] == 'user@contoso.com'
    assert 3500 < facts['expires_in'] <= 3600 and facts['source'] == 'cache'
    assert facts['roles'] is None  # not a JWT: nothing to read roles from
    assert 'rt-secret' not in json.dumps(facts) and 'x.' not in json.dumps(facts)


@pytest.mark.parametrize('kw', [
    {'username': 'other@contoso.com'},
    {'client_id': 'aaaaaaaa-bbbb-cccc-dddd-ffffffffffff'},
    {'authority_host': 'https://login.other.test'},
    {'scopes': ['Mail.Read']},
    {'scopes': ['https://management.azure.com/.default']},
])
def test_misses(kw):
    assert view.find_access_token(cached_doc(), request(**kw), TENANT) is None


def test_wrong_realm_misses():
    assert view.find_access_token(cached_doc(), request(), 'organizations') is None


def test_expired_token_misses_like_msal():
    now = time.time()
    doc = cached_doc(expires_in=3600, now=now - 3500)  # 100 s left of a one-hour token
    assert view.find_access_token(doc, request(), TENANT, now) is None  # default min_validity 300
    assert view.find_access_token(doc, request(min_validity=60), TENANT, now) is not None
    assert view.find_access_token(doc, request(min_validity=0), TENANT, now + 101) is None  # really expired


def test_min_validity_longer_than_half_the_lifetime_is_capped():
    """A fresh token always serves: min_validity never asks for more than half its lifetime."""
    now = time.time()
    fresh = cached_doc(expires_in=3600, now=now)
    assert view.find_access_token(fresh, request(min_validity=86400), TENANT, now) is not None
    half_used = cached_doc(expires_in=3600, now=now - 1900)  # 1700 s left, below half of 3600
    assert view.find_access_token(half_used, request(min_validity=86400), TENANT, now) is None
    assert view.find_access_token(half_used, request(min_validity=1600), TENANT, now) is not None


@pytest.mark.parametrize('entry, min_validity, effective', [
    ({'cached_at': '1000', 'expires_on': '4600'}, 300, 300),
    ({'cached_at': '1000', 'expires_on': '4600'}, 4000, 1800),
    ({'cached_at': '1000', 'expires_on': '1100'}, 300, 50),
    ({'cached_at': '1000', 'expires_on': '1000'}, 300, 300),  # no lifetime to go by
    ({'cached_at': '2000', 'expires_on': '1000'}, 300, 300),
    ({'expires_on': '4600'}, 300, 300),  # msal always writes cached_at; without it, as asked
    ({'cached_at': 'x', 'expires_on': '4600'}, 300, 300),
])
def test_effective_min_validity(entry, min_validity, effective):
    assert view.effective_min_validity(entry, min_validity) == effective


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

    app = msal.PublicClientApplication(CLIENT, authority='%s/%s' % (HOST, TENANT), instance_discovery=False,
                                       token_cache=cache, http_client=OpenIdOnly())
    account = app.get_accounts(username='user@contoso.com')[0]
    result = app.acquire_token_silent(['https://graph.microsoft.com/.default'], account=account)
    ours = view.find_access_token(doc, request(), TENANT)
    assert result['access_token'] == ours['secret']

    confidential = msal.ConfidentialClientApplication(APP, client_credential='app-secret', authority='%s/%s' % (HOST, TENANT),
                                                      instance_discovery=False, token_cache=cache, http_client=OpenIdOnly())
    cache.deserialize(json.dumps(app_doc()))
    result = confidential.acquire_token_for_client(['https://graph.microsoft.com/.default'])
    ours = view.find_access_token(app_doc(), app_request(), TENANT)
    assert result['token_source'] == 'cache' and result['access_token'] == ours['secret']


def test_picks_longest_lived_and_skips_garbage():
    now = time.time()
    doc = cached_doc(expires_in=1000, now=now)
    doc['AccessToken']['garbage'] = {'home_account_id': None}
    doc['AccessToken']['bad-expiry'] = dict(next(iter(doc['AccessToken'].values())), expires_on='soon')
    later = cached_doc(expires_in=3000, now=now)
    for key, value in later['AccessToken'].items():
        doc['AccessToken'][key + '-later'] = value
    clean, skipped = usable_entries(doc)  # the warm path only ever sees a cleaned document
    assert len(skipped) == 2
    assert view.find_access_token(clean, request(), TENANT)['expires_on'] == str(int(now) + 3000)


@pytest.mark.parametrize('extra', [{'key_id': 'k'}, {'ext_cache_key': 'e'}, {'token_type': 'pop'}, {'token_type': 'ssh-cert'}])
def test_tokens_bound_to_a_key_or_of_another_type_are_not_bearer_tokens(extra):
    doc = cached_doc()
    for entry in doc['AccessToken'].values():
        entry.update(extra)
    assert view.find_access_token(doc, request(), TENANT) is None


# -- app-only tokens ------------------------------------------------------------------


def test_app_only_token_found_for_the_app_with_its_roles():
    doc = app_doc(roles=('User.Read.All', 'Group.Read.All'))
    entry = view.find_access_token(doc, app_request(), TENANT)
    facts = view.token_facts(doc, entry, app_request(), 'cache')
    assert facts['roles'] == ['Group.Read.All', 'User.Read.All']
    assert facts['username'] is None and facts['home_account_id'] is None
    assert facts['tenant_id'] == TENANT and facts['scopes'] == ['https://graph.microsoft.com/.default']
    assert facts['authority'] == '%s/%s' % (HOST, TENANT)


def test_app_only_and_user_tokens_never_serve_each_other():
    """Same client id for both: a user's token is not an app's, and an app-only token is nobody's."""
    doc = app_doc(client=CLIENT)
    doc.update({k: v for k, v in cached_doc(client=APP).items() if k != 'AccessToken'})
    doc['AccessToken'].update(cached_doc(client=APP)['AccessToken'])
    assert view.find_access_token(doc, request(), TENANT) is None  # CLIENT has only an app token
    assert view.find_access_token(doc, app_request(), TENANT) is None  # APP has only a user token
    assert view.find_access_token(doc, app_request(client_id=CLIENT), TENANT)['home_account_id'] is None
    assert view.find_access_token(doc, request(client_id=APP), TENANT)['home_account_id']


def test_app_only_token_of_another_tenant_misses():
    other = '99999999-2222-3333-4444-555555555555'
    assert view.find_access_token(app_doc(realm=other), app_request(), TENANT) is None
    assert view.find_access_token(app_doc(realm=other), app_request(tenant=other), other)


def test_roles_are_an_empty_list_for_a_jwt_without_roles():
    doc = cached_doc(access_token=jwt({'tid': TENANT, 'scp': 'User.Read'}))
    entry = view.find_access_token(doc, request(), TENANT)
    assert view.token_facts(doc, entry, request(), 'cache')['roles'] == []


@pytest.mark.parametrize('token', ['not-a-jwt', 'a.!!!.c', 'a.%s.c' % b64([1, 2]), 'a.%s.c' % b64('text')])
def test_decode_jwt_claims_never_raises(token):
    assert view.decode_jwt_claims(token) == {}


def test_refresh_token_and_id_token_claims_of_the_account():
    doc = cached_doc()
    home = '0000-oid.' + TENANT
    assert view.find_refresh_token(doc, home, 'login.example.test', CLIENT) == 'rt-secret'
    assert view.find_refresh_token(doc, home, 'login.example.test', APP) is None
    assert view.id_token_claims(doc, home, 'login.example.test', CLIENT, TENANT)['preferred_username'] == 'user@contoso.com'
    assert view.id_token_claims(doc, None, 'login.example.test', CLIENT, TENANT) == {}
