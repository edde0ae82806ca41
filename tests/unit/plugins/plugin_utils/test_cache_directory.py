# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The token cache directory: which file holds what, names that reveal nothing, a 0.1.0 cache file refused."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory, file_key
from ansible_collections.identity.entra.plugins.plugin_utils._file_locks import sign_in_lock
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import mode_of, user_document

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'


def user_request(cache_path, username='Alice.Smith@Contoso.com'):
    return from_mapping({'tenant': TENANT, 'client_id': CLIENT, 'username': username, 'cache_path': cache_path}, environ={})


def app_request(cache_path):
    return from_mapping({'tenant': TENANT, 'client_id': CLIENT, 'client_secret': 's', 'cache_path': cache_path}, environ={})


def test_file_key_is_the_first_32_hex_digits_of_sha256():
    assert file_key('user|login.microsoftonline.com|alice@contoso.com') == \
        hashlib.sha256(b'user|login.microsoftonline.com|alice@contoso.com').hexdigest()[:32]
    assert re.fullmatch('[0-9a-f]{32}', file_key('\u00fc'))


def test_layout_modes_and_names(tmp_path):
    root = str(tmp_path / 'token_cache')
    request = user_request(root)
    cache = CacheDirectory(root)
    cache.check(create=True)
    cache.account_file(request.account_key).update(lambda current: user_document(1))
    cache.discovery_file('https://login.microsoftonline.com/%s/v2.0/.well-known/openid-configuration' % TENANT).update(
        lambda current: {'url': 'u'})
    cache.failure_file(request.sign_in_key).update(lambda current: {'records': []})
    lock = cache.sign_in_lock_path(request.identity_key)
    with sign_in_lock(lock, hold_for=1, wait_for=1):
        pass

    assert mode_of(root) == 0o700
    assert sorted(os.listdir(root)) == ['accounts', 'discovery', 'failures', 'locks']
    for sub in ('accounts', 'discovery', 'failures', 'locks'):
        assert mode_of(os.path.join(root, sub)) == 0o700, sub
    account = os.path.join(root, 'accounts', file_key(request.account_key) + '.json')
    assert sorted(os.listdir(os.path.join(root, 'accounts'))) == [os.path.basename(account), os.path.basename(account) + '.lock']
    assert mode_of(account) == 0o600
    assert os.listdir(os.path.join(root, 'failures'))[0].startswith(file_key(request.sign_in_key))
    assert lock == os.path.join(root, 'locks', file_key(request.identity_key) + '.lock')
    for directory, _dirs, files in os.walk(root):
        for name in files:
            assert re.fullmatch(r'[0-9a-f]{32}\.(json|json\.lock|lock)', name), name
            assert mode_of(os.path.join(directory, name)) == 0o600, name


def test_file_names_reveal_no_user_tenant_client_or_scope(tmp_path):
    root = str(tmp_path / 'token_cache')
    cache = CacheDirectory(root)
    for request in (user_request(root), app_request(root)):
        cache.account_file(request.account_key).update(lambda current: {'x': 1})
        cache.failure_file(request.sign_in_key).update(lambda current: {'records': []})
        cache.sign_in_lock_path(request.identity_key)
    names = ' '.join(name for _root, dirs, files in os.walk(root) for name in dirs + files).lower()
    for secret_ish in ('alice', 'smith', 'contoso', TENANT, CLIENT, 'graph', 'user|', 'app|', '11111111', 'aaaaaaaa'):
        assert secret_ish.lower() not in names


def test_one_file_per_account_case_insensitive_username_and_apps_apart(tmp_path):
    root = str(tmp_path / 'c')
    alice = user_request(root, 'alice@contoso.com')
    assert alice.account_key == user_request(root, 'ALICE@Contoso.COM').account_key
    keys = {alice.account_key, user_request(root, 'bob@contoso.com').account_key, app_request(root).account_key}
    paths = {CacheDirectory(root).account_file(key).path for key in keys}
    assert len(paths) == 3
    # the same account with another scope shares the account file but not the sign-in lock
    other_scope = from_mapping({'tenant': TENANT, 'client_id': CLIENT, 'username': 'alice@contoso.com', 'cache_path': root,
                                'scopes': ['User.Read']}, environ={})
    assert other_scope.account_key == alice.account_key and other_scope.identity_key != alice.identity_key


def test_each_account_file_is_a_complete_msal_cache(tmp_path):
    msal = pytest.importorskip('msal')
    root = str(tmp_path / 'c')
    cache = CacheDirectory(root)
    cache.account_file('user|login.microsoftonline.com|user1@contoso.com').update(lambda current: user_document(1))
    with open(cache.account_file('user|login.microsoftonline.com|user1@contoso.com').path) as handle:
        text = handle.read()
    token_cache = msal.SerializableTokenCache()
    token_cache.deserialize(text)
    assert json.loads(token_cache.serialize()) == json.loads(text)
    assert [a['username'] for a in token_cache.search(token_cache.CredentialType.ACCOUNT)] == ['user1@contoso.com']


def test_check_reports_a_missing_directory_without_creating_it(tmp_path):
    root = tmp_path / 'not-yet'
    assert CacheDirectory(str(root)).check() is False
    assert not root.exists()
    assert CacheDirectory(str(root)).check(create=True) is True
    assert mode_of(root) == 0o700


@pytest.mark.parametrize('create', [False, True])
def test_a_0_1_0_cache_file_at_cache_path_is_refused_and_kept(tmp_path, create):
    old_cache = tmp_path / 'token_cache.json'
    old_cache.write_text(json.dumps(user_document(1)))
    os.chmod(old_cache, 0o600)
    with pytest.raises(CacheStoreError) as caught:
        CacheDirectory(str(old_cache)).check(create=create)
    message = str(caught.value)
    assert 'cache_path %s is a file; since identity.entra 0.2.0 the token cache is a directory' % old_cache in message
    assert 'for example %s.d' % old_cache in message and 'delete this file' in message
    assert json.loads(old_cache.read_text()) == user_document(1)  # nothing is lost or moved by us
    assert sorted(os.listdir(tmp_path)) == ['token_cache.json']


def test_the_0_1_0_file_is_refused_on_every_path_into_the_cache(tmp_path):
    old_cache = tmp_path / 'token_cache.json'
    old_cache.write_text('{}')
    os.chmod(old_cache, 0o600)
    with pytest.raises(CacheStoreError, match='now|is a file'):
        CacheDirectory(str(old_cache)).sign_in_lock_path('identity')
    assert sorted(os.listdir(tmp_path)) == ['token_cache.json']


def test_an_unsafe_cache_directory_is_refused(tmp_path):
    root = tmp_path / 'c'
    root.mkdir()
    os.chmod(root, 0o777)
    with pytest.raises(CacheStoreError, match='chmod 700'):
        CacheDirectory(str(root)).check()
    with pytest.raises(CacheStoreError, match='chmod 700'):
        CacheDirectory(str(root)).sign_in_lock_path('identity')
