# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Public discovery documents kept between processes: a tenant's OpenID configuration, user realms.

For internal collection use only; standard library only. msal asks for these on every
cold start; keeping them (24 hours, one small file each under ``discovery/``) saves a later
process two round trips, and lets the warm path map a tenant given as a domain to the
tenant ID msal keys its tokens by, without any network call.
"""

from __future__ import annotations

import time

from ansible_collections.identity.entra.plugins.plugin_utils import _safe_json
from ansible_collections.identity.entra.plugins.plugin_utils._private_checks import CacheStoreError

DISCOVERY_TTL = 24 * 3600


def openid_configuration_url(authority: str) -> str:
    """The URL msal reads a tenant's OpenID configuration from (authority.py: '<authority>/v2.0/...')."""
    return '%s/v2.0/.well-known/openid-configuration' % authority


class DiscoveryStore:
    """Discovery documents by URL; ``cache`` is a CacheDirectory, or None for memory only."""

    def __init__(self, cache=None):
        self._cache = cache
        self._memory = {}
        self._fresh = {}

    def get(self, url: str) -> dict | None:
        """The stored answer for ``url`` (status, text, content_type) while it is fresh and readable."""
        record = self._memory.get(url)
        if record is None and self._cache is not None:
            try:
                record = self._cache.discovery_reader(url).load()[0]
            except CacheStoreError:
                record = None  # an optimisation: the token cache reports its own problems
            self._memory[url] = record
        if not isinstance(record, dict) or record.get('url') != url:
            return None
        try:
            if time.time() - float(record['stored_at']) >= DISCOVERY_TTL or _safe_json.loads_object(record['text']) is None:
                return None
            # Only answers that were kept are 2xx (see add's caller); any other status is damage.
            if isinstance(record['status'], bool) or not 200 <= int(record['status']) < 300:
                return None
            return {'status': int(record['status']), 'text': record['text'], 'content_type': str(record.get('content_type', ''))}
        except (KeyError, TypeError, ValueError, OverflowError):
            return None

    def add(self, url: str, status: int, text: str, content_type: str) -> None:
        record = {'url': url, 'status': status, 'text': text, 'content_type': content_type, 'stored_at': int(time.time())}
        self._memory[url] = record
        self._fresh[url] = record

    def save(self) -> None:
        """Write what this process fetched (best effort: losing it costs a later process a round trip)."""
        if self._cache is None:
            return
        for url, record in self._fresh.items():
            try:
                # Not synced to disk: a public document, fetched again if a crash damages it.
                self._cache.discovery_file(url).update(lambda current, record=record: record, durable=False)
            except CacheStoreError:
                pass
        self._fresh.clear()

    def tenant_realm(self, authority: str) -> str | None:
        """The tenant ID msal keys tokens by, for a tenant given as a domain (None when unknown)."""
        stored = self.get(openid_configuration_url(authority))
        if stored is None:
            return None
        endpoint = (_safe_json.loads_object(stored['text']) or {}).get('token_endpoint')
        if not isinstance(endpoint, str):
            return None
        from urllib.parse import urlsplit  # pylint: disable=import-outside-toplevel

        path = urlsplit(str(endpoint)).path.strip('/')
        return path.split('/')[0].lower() if path else None
