# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""get_token on real cache directories: the warm path (users, apps, domain tenants) and what a miss leads to, without a network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _acquire as acquire
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore, openid_configuration_url
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

pytest.importorskip('msal')

from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import (  # noqa: E402  pylint: disable=wrong-import-position
    APP,
    CLIENT,
    HOST,
    TENANT,
    app_doc,
    cached_doc,
)


def request(root, **kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST, cache_path=root)
    args.update(kw)
    return from_mapping(args, environ={})


def app_request(root, **kw):
    args = dict(tenant=TENANT, client_id=APP, client_secret='app-secret', authority_host=HOST, cache_path=root)
    args.update(kw)
    return from_mapping(args, environ={})


def store(req, doc):
    CacheDirectory(req.cache_path).account_file(req.account_key).update(lambda current: doc)


def store_discovery(root, authority, tenant_id=TENANT, stored_at=None):
    """What a cold run keeps: the tenant's OpenID configuration, whose token endpoint names the tenant ID."""
    url = openid_configuration_url(authority)
    host = authority.rsplit('/', 1)[0]
    document = {'token_endpoint': '%s/%s/oauth2/v2.0/token' % (host, tenant_id),
                'authorization_endpoint': '%s/%s/oauth2/v2.0/authorize' % (host, tenant_id),
                'device_authorization_endpoint': '%s/%s/oauth2/v2.0/devicecode' % (host, tenant_id),
                'issuer': '%s/%s/v2.0' % (host, tenant_id)}
    discovery = DiscoveryStore(CacheDirectory(root))
    discovery.add(url, 200, json.dumps(document), 'application/json')
    discovery.save()
    if stored_at is not None:
        CacheDirectory(root).discovery_file(url).update(lambda current: dict(current, stored_at=stored_at))


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / 'token_cache')


# -- the warm path --------------------------------------------------------------------------------------


def test_served_from_the_file_and_again_from_memory(root):
    store(request(root), cached_doc())
    first = acquire.get_token(request(root))
    second = acquire.get_token(request(root))
    assert first['source'] == second['source'] == 'cache'
    assert first['access_token'] == second['access_token'] == 'at-user@contoso.com-3600'
    second['access_token'] = 'changed by the caller'
    assert acquire.get_token(request(root))['access_token'] == 'at-user@contoso.com-3600'


def test_a_replaced_file_is_read_again(root):
    store(request(root), cached_doc())
    assert acquire.get_token(request(root))['access_token'] == 'at-user@contoso.com-3600'
    store(request(root), cached_doc(expires_in=3500))  # another process stored a newer token
    assert acquire.get_token(request(root))['access_token'] == 'at-user@contoso.com-3500'


def test_memory_honours_min_validity(root):
    now = time.time()
    store(request(root), cached_doc(expires_in=3600, now=now - 2600))  # 1000 s left
    assert acquire.get_token(request(root, min_validity=100))['source'] == 'cache'
    # the same document, remembered in memory, must not serve a caller who needs more than is left
    cache = CacheDirectory(root)
    assert acquire.warm_token(cache, request(root, min_validity=1500), lambda message: None) is None
    assert acquire.warm_token(cache, request(root, min_validity=100), lambda message: None) is not None


def test_min_validity_longer_than_the_token_lifetime_serves_a_fresh_token(root):
    store(request(root), cached_doc(expires_in=3600))
    facts = acquire.get_token(request(root, min_validity=86400))
    assert facts['source'] == 'cache' and facts['expires_in'] > 3500


def test_an_app_only_token_is_served_warm_with_its_roles(root):
    req = app_request(root)
    store(req, app_doc(roles=('Group.Read.All',)))
    facts = acquire.get_token(req)
    assert facts['source'] == 'cache' and facts['roles'] == ['Group.Read.All']
    assert facts['username'] is None and facts['home_account_id'] is None and facts['tenant_id'] == TENANT


def test_users_and_apps_live_in_their_own_files(root):
    store(request(root), cached_doc())
    store(app_request(root), app_doc())
    assert acquire.get_token(request(root))['username'] == 'user@contoso.com'
    assert acquire.get_token(app_request(root))['username'] is None
    names = os.listdir(os.path.join(root, 'accounts'))
    assert len([name for name in names if name.endswith('.json')]) == 2


def test_a_domain_tenant_is_served_through_the_stored_discovery_document(root):
    req = request(root, tenant='contoso.com')
    store(req, cached_doc())  # msal keys the tokens by the tenant ID
    cache = CacheDirectory(root)
    assert acquire.warm_token(cache, req, lambda message: None) is None  # no discovery document yet: a miss, not a guess
    store_discovery(root, req.authority)
    facts = acquire.warm_token(cache, req, lambda message: None)
    assert facts['access_token'] == 'at-user@contoso.com-3600' and facts['authority'] == '%s/contoso.com' % HOST


def test_a_stale_or_foreign_discovery_document_is_not_trusted(root):
    req = request(root, tenant='contoso.com')
    store(req, cached_doc())
    store_discovery(root, req.authority, stored_at=int(time.time()) - 25 * 3600)
    assert acquire.warm_token(CacheDirectory(root), req, lambda message: None) is None
    store_discovery(root, req.authority, tenant_id='99999999-2222-3333-4444-555555555555')  # another tenant's configuration
    assert acquire.warm_token(CacheDirectory(root), req, lambda message: None) is None


def test_entries_of_the_wrong_shape_are_skipped_with_one_warning_per_file_version(root):
    doc = cached_doc()
    doc['AccessToken']['foreign'] = {'secret': ['x'], 'home_account_id': 5}
    doc['Account']['broken'] = {'username': None}
    store(request(root), doc)
    warnings = []
    assert acquire.get_token(request(root), warn=warnings.append)['source'] == 'cache'
    assert acquire.get_token(request(root), warn=warnings.append)['source'] == 'cache'
    assert len(warnings) == 1
    assert 'skipped 1 AccessToken entry has no credential_type; 1 Account entry has no home_account_id' in warnings[0]
    assert "'x'" not in warnings[0]


def test_a_missing_cache_directory_is_not_created_by_the_warm_path(root):
    assert acquire.warm_token(CacheDirectory(root), request(root), lambda message: None) is None
    assert not os.path.exists(root)


def test_the_warm_path_imports_neither_msal_nor_the_sign_in_machinery(root):
    store(request(root), cached_doc())
    code = '''
import json, sys
from ansible_collections.identity.entra.plugins.plugin_utils._acquire import get_token
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping
facts = get_token(from_mapping(json.loads(sys.argv[1]), environ={}))
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('msal', 'requests', 'urllib3', 'cryptography', 'jwt')
               or m.rsplit('.', 1)[-1] in ('_sign_in', '_http', '_flow_user', '_flow_app', '_failure_memory', '_quiet'))
print(json.dumps({'source': facts['source'], 'heavy': heavy}))
'''
    args = json.dumps(dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST, cache_path=root))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, '-c', code, args], check=True, env=env, timeout=120, stdout=subprocess.PIPE).stdout
    assert json.loads(out) == {'source': 'cache', 'heavy': []}


# -- what is refused ----------------------------------------------------------------------------------------


def test_unsafe_cache_is_a_cache_error(root):
    req = request(root)
    store(req, cached_doc())
    os.chmod(CacheDirectory(root).account_file(req.account_key).path, 0o644)
    with pytest.raises(EntraTokenError) as info:
        acquire.get_token(req)
    assert info.value.kind == 'cache_error' and 'chmod 600' in info.value.message


def test_a_0_1_0_cache_file_is_a_cache_error_that_says_it_is_now_a_directory(tmp_path):
    old = tmp_path / 'token_cache.json'
    content = json.dumps(cached_doc())
    old.write_text(content)
    os.chmod(old, 0o600)
    with pytest.raises(EntraTokenError) as info:
        acquire.get_token(request(str(old)))
    assert info.value.kind == 'cache_error'
    assert 'since identity.entra 0.2.0 the token cache is a directory' in info.value.message
    assert old.read_text() == content and os.listdir(tmp_path) == ['token_cache.json']  # kept as it was


# -- a miss, without a network ----------------------------------------------------------------------------------


def closed_port():
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_force_refresh_skips_the_warm_path(root):
    host = 'https://127.0.0.1:%d' % closed_port()  # nothing listens: a sign-in fails at once
    req = request(root, authority_host=host, force_refresh=True, validate_authority=False, timeout=5)
    store(req, cached_doc())
    with pytest.raises(EntraTokenError) as info:
        acquire.get_token(req)
    assert info.value.kind == 'network_error'


@pytest.mark.parametrize('flow, kind', [('device_code', 'sign_in_required'), ('password', 'password_required')])
def test_a_miss_that_needs_a_person_names_this_identitys_sign_in_command(root, flow, kind):
    """The lookup never waits for a person: it fails with the exact command (discovery comes from the cache: no network)."""
    host = 'https://127.0.0.1:%d' % closed_port()
    req = request(root, authority_host=host, validate_authority=False, flow=flow, scopes=['User.Read'], timeout=5)
    store_discovery(root, req.authority)
    with pytest.raises(EntraTokenError) as info:
        acquire.get_token(req, show=None)
    assert info.value.kind == kind
    assert req.sign_in_command in info.value.message and '<username>' not in info.value.message
    assert '-e scopes=User.Read' in info.value.message and '-e authority_host=%s' % host in info.value.message
