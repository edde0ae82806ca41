# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery documents kept between processes: fresh and readable ones only, and the tenant ID they reveal."""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import (
    DISCOVERY_TTL,
    DiscoveryStore,
    openid_configuration_url,
)
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import mode_of

TENANT = '11111111-2222-3333-4444-555555555555'
AUTHORITY = 'https://login.example.test/contoso.com'
URL = openid_configuration_url(AUTHORITY)


def config(tenant=TENANT):
    return json.dumps({'token_endpoint': 'https://login.example.test/%s/oauth2/v2.0/token' % tenant.upper()})


@pytest.fixture
def cache(tmp_path):
    return CacheDirectory(str(tmp_path / 'cache'))


def test_the_url_is_the_one_msal_reads():
    assert URL == 'https://login.example.test/contoso.com/v2.0/.well-known/openid-configuration'


def test_saved_documents_serve_later_processes(cache):
    first = DiscoveryStore(cache)
    first.add(URL, 200, config(), 'application/json')
    assert first.get(URL)['text'] == config()  # at once, in memory
    assert not os.path.exists(cache.discovery_file(URL).path)  # written only by save()
    first.save()
    assert mode_of(cache.discovery_file(URL).path) == 0o600
    later = DiscoveryStore(cache)
    assert later.get(URL) == {'status': 200, 'text': config(), 'content_type': 'application/json'}
    assert later.tenant_realm(AUTHORITY) == TENANT  # lower-cased, as msal keys its cache


def test_saving_a_document_waits_for_no_disk_sync(cache, monkeypatch):
    """A public document a later process can fetch again is not synced to disk on the sign-in's path."""
    from ansible_collections.identity.entra.plugins.plugin_utils import _cache_store  # pylint: disable=import-outside-toplevel

    synced = []
    monkeypatch.setattr(_cache_store, 'SYNC_DATA', synced.append)
    monkeypatch.setattr(_cache_store, 'fsync_directory', synced.append)
    store = DiscoveryStore(cache)
    store.add(URL, 200, config(), 'application/json')
    store.save()
    assert synced == [] and DiscoveryStore(cache).tenant_realm(AUTHORITY) == TENANT


def test_old_documents_and_documents_for_another_url_are_ignored(cache):
    store = DiscoveryStore(cache)
    store.add(URL, 200, config(), '')
    store.save()
    cache.discovery_file(URL).update(lambda current: dict(current, stored_at=int(time.time()) - DISCOVERY_TTL - 1))
    assert DiscoveryStore(cache).get(URL) is None and DiscoveryStore(cache).tenant_realm(AUTHORITY) is None
    other = openid_configuration_url('https://login.example.test/fabrikam.com')
    cache.discovery_file(other).update(lambda current: {'url': URL, 'status': 200, 'text': config(), 'stored_at': int(time.time())})
    assert DiscoveryStore(cache).get(other) is None


@pytest.mark.parametrize('record', [
    {'status': 200, 'text': '<html>', 'stored_at': 0}, {'status': 'x', 'text': '{}'}, {'text': '{}'}, {'status': 200, 'text': '[1]'},
    {'status': 200, 'text': 5, 'stored_at': None},
])
def test_damaged_records_are_misses_not_errors(cache, record):
    cache.discovery_file(URL).update(lambda current: dict(record, url=URL, stored_at=record.get('stored_at', int(time.time()))))
    assert DiscoveryStore(cache).get(URL) is None
    assert DiscoveryStore(cache).tenant_realm(AUTHORITY) is None


@pytest.mark.parametrize('text', ['{}', json.dumps({'token_endpoint': 'https://host'})])
def test_a_configuration_without_a_usable_token_endpoint_reveals_no_realm(cache, text):
    store = DiscoveryStore(cache)
    store.add(URL, 200, text, '')
    assert store.tenant_realm(AUTHORITY) is None


def test_an_unusable_cache_is_only_a_lost_optimisation(tmp_path):
    (tmp_path / 'cache').write_text('a 0.1.0 cache file')
    store = DiscoveryStore(CacheDirectory(str(tmp_path / 'cache')))
    assert store.get(URL) is None
    store.add(URL, 200, config(), '')
    store.save()  # nothing raised
    assert DiscoveryStore(None).get(URL) is None
