# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Get a token: the cache file first, and only on a miss the sign-in machinery.

For internal collection use only. The warm path reads the account's own cache file
and returns a valid access token if there is one: no msal import, no network, no lock
(the path every fork takes once a token is cached). Everything else - single flight,
failure memory, msal, storing - lives in _sign_in and is imported on a miss only.
"""

from __future__ import annotations

import time

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import usable_entries
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore
from ansible_collections.identity.entra.plugins.plugin_utils._private_checks import CacheStoreError


def get_token(request, warn=None, show=None) -> dict:
    """Return the token facts for ``request`` or raise EntraTokenError.

    ``warn`` receives one-line warnings; ``show`` (the module only) receives the message a
    person must act on during a device-code sign-in - without it, such a sign-in is refused.
    The table of error kinds (_errors) is imported only when something fails or signs in.
    """
    warn = warn or (lambda message: None)
    try:
        cache = CacheDirectory(request.cache_path, warn) if request.cache_path else None
        if cache is not None and not request.force_refresh:
            hit = warm_token(cache, request, warn)
            if hit:
                return hit
    except CacheStoreError as exc:
        from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # pylint: disable=import-outside-toplevel

        raise EntraTokenError('cache_error', detail=str(exc)) from None
    from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # pylint: disable=import-outside-toplevel
    from ansible_collections.identity.entra.plugins.plugin_utils._sign_in import sign_in  # pylint: disable=import-outside-toplevel

    try:
        return sign_in(cache, request, warn, show)
    except CacheStoreError as exc:
        raise EntraTokenError('cache_error', detail=str(exc)) from None
    except EntraTokenError as exc:
        raise exc.with_command(request.sign_in_command) from None


# Cleaned cache documents of this process by path, reused while the file is unchanged: lookups can
# be called many times in one worker (lazy templating), and a parse costs more than a stat.
_WARM_DOCS = {}


def load_account(store, warn) -> dict:
    """The usable entries of an account file (warning once per file version about the rest)."""
    fingerprint = store.stat_fingerprint()
    known = _WARM_DOCS.get(store.path)
    if fingerprint is not None and known and known[0] == fingerprint:
        return known[1]
    raw, fingerprint = store.load()
    doc, skipped = usable_entries(raw)
    if skipped:
        warn('token cache %s: skipped %s (not in the shape msal writes; other tools may write entries this collection '
             'does not read)' % (store.path, '; '.join(skipped)))
    if fingerprint is not None:
        _WARM_DOCS[store.path] = (fingerprint, doc)
    return doc


def realm_of(request, discovery: DiscoveryStore) -> str | None:
    """The cache realm of the tenant: itself for a GUID or 'organizations', else from its OpenID configuration."""
    if '.' not in request.tenant:
        return request.tenant
    return discovery.tenant_realm(request.authority)


# The last hit per identity and cache document of this process: a repeated call on an unchanged
# document only checks the expiry again (the document object itself is compared, not its id).
_HITS = {}


def cached_token(doc: dict, request, discovery: DiscoveryStore, now: float | None = None) -> dict | None:
    if not doc.get('AccessToken'):
        return None
    memo_key = (request.identity_key, request.authority, request.min_validity)  # the validity it was checked against
    memo = _HITS.get(memo_key)
    now = time.time() if now is None else now
    if memo and memo[0] is doc and memo[1]['expires_on'] - now >= memo[2]:
        return dict(memo[1], expires_in=max(0, int(memo[1]['expires_on'] - now)))
    realm = realm_of(request, discovery)
    if realm is None:
        return None
    entry = view.find_access_token(doc, request, realm, now)
    if not entry:
        return None
    facts = view.token_facts(doc, entry, request, 'cache', now)
    _HITS[memo_key] = (doc, facts, view.effective_min_validity(entry, request.min_validity))
    return dict(facts)


def warm_token(cache: CacheDirectory, request, warn) -> dict | None:
    """A cached access token valid for min_validity seconds, read without msal, a lock or the network."""
    if not cache.check():
        return None
    doc = load_account(cache.account_reader(request.account_key), warn)
    return cached_token(doc, request, DiscoveryStore(cache))
