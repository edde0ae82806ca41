# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The warm path of get_token on real cache files (no network: a miss would need one)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _acquire as acquire
from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

pytest.importorskip('msal')

from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import (  # noqa: E402  pylint: disable=wrong-import-position
    CLIENT,
    HOST,
    TENANT,
    cached_doc,
)


def write(path, doc):
    TokenCacheStore(path).update(lambda current: doc)


def request(path, **kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST, cache_path=path)
    args.update(kw)
    return from_mapping(args, environ={})


def test_served_from_the_file_and_again_from_memory(tmp_path):
    path = str(tmp_path / 'cache.json')
    write(path, cached_doc())
    first = acquire.get_token(request(path))
    second = acquire.get_token(request(path))
    assert first['source'] == second['source'] == 'cache'
    assert first['access_token'] == second['access_token'] == 'at-user@contoso.com-3600'
    second['access_token'] = 'changed by the caller'
    assert acquire.get_token(request(path))['access_token'] == 'at-user@contoso.com-3600'


def test_a_replaced_file_is_read_again(tmp_path):
    path = str(tmp_path / 'cache.json')
    write(path, cached_doc())
    assert acquire.get_token(request(path))['access_token'] == 'at-user@contoso.com-3600'
    write(path, cached_doc(expires_in=3500))  # another process stored a newer token
    assert acquire.get_token(request(path))['access_token'] == 'at-user@contoso.com-3500'


def test_memory_honours_min_validity(tmp_path):
    path = str(tmp_path / 'cache.json')
    write(path, cached_doc(expires_in=1000))
    assert acquire.get_token(request(path, min_validity=100))['source'] == 'cache'
    # the same document must not serve a caller that needs more validity than the token has left
    assert acquire.cached_token(acquire._load_warm(TokenCacheStore(path)), request(path, min_validity=2000)) is None


def test_unsafe_cache_is_a_cache_error(tmp_path):
    path = str(tmp_path / 'cache.json')
    write(path, cached_doc())
    os.chmod(path, 0o644)
    with pytest.raises(acquire.EntraTokenError) as info:
        acquire.get_token(request(path))
    assert info.value.kind == 'cache_error' and 'chmod 600' in info.value.message
