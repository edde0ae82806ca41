# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Get a token: the cache file first, then msal (silent refresh, then the password).

For internal collection use only. The order of work, and why:
1. read the cache file without a lock and return a valid access token if there is
   one: no msal import, no network (the warm path every fork takes);
2. otherwise take the per-identity lock, so that of many forks or processes
   needing the same token only one talks to Entra, then read the cache again:
   the process that held the lock before us has usually just stored the token;
3. otherwise run msal on that cache content (refresh token first, then the
   password) and merge what changed into the file under the file lock.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import warnings

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import (
    CacheStoreError,
    TokenCacheStore,
    identity_lock,
    merge_changes,
)
from ansible_collections.identity.entra.plugins.plugin_utils import _single_flight as single_flight
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError, from_response_body

DISCOVERY_SUFFIX = '.discovery.json'


def get_token(request, warn=None) -> dict:
    """Return the token facts for ``request`` or raise EntraTokenError."""
    warn = warn or (lambda message: None)
    if request.cache_path is None:
        return _Acquisition(request, None, None).run({})
    try:
        store = TokenCacheStore(request.cache_path, warn=warn)
        discovery = TokenCacheStore(request.cache_path + DISCOVERY_SUFFIX, warn=warn)
        if not request.force_refresh:
            hit = cached_token(_load_warm(store), request, discovery)
            if hit:
                return hit
        wait_started = time.time()
        with identity_lock(request.cache_path, request.identity_key, timeout=_single_flight_wait(request)) as waited:
            doc = store.load()[0]
            if not request.force_refresh:
                hit = cached_token(doc, request, discovery)
                if hit:
                    return hit
            if waited:
                single_flight.raise_shared_failure(request, wait_started)
            # Before anything is sent: the cache must be writable (lock file, directory), or a rotated
            # refresh token would be lost after the sign-in.
            store.update(lambda current: None)
            try:
                return _Acquisition(request, store, discovery).run(doc)
            except EntraTokenError as exc:
                if exc.kind in single_flight.SHARED_KINDS:
                    single_flight.share_failure(request, exc)
                raise
    except CacheStoreError as exc:
        raise EntraTokenError('cache_error', detail=str(exc)) from None


# Parsed cache documents of this process by path, reused while the file is unchanged: lookups can be
# called many times in one worker (lazy templating), and a parse costs more than a stat.
_WARM_DOCS = {}


def _load_warm(store) -> dict:
    fingerprint = store.stat_fingerprint()
    known = _WARM_DOCS.get(store.path)
    if fingerprint is not None and known and known[0] == fingerprint:
        return known[1]
    doc, fingerprint = store.load()
    if fingerprint is not None:
        _WARM_DOCS[store.path] = (fingerprint, doc)
    return doc


def _single_flight_wait(request) -> float:
    """Long enough for another process to finish a sign-in: a few requests, each bounded by timeout."""
    return float(request.timeout * 4 + 10)


def _realm_for(request, discovery_doc: dict) -> str | None:
    """The cache realm of the tenant: itself for a GUID or 'organizations', else from its OpenID configuration."""
    if '.' not in request.tenant:
        return request.tenant
    marker = '/%s/' % request.tenant
    for url, stored in discovery_doc.items():
        if marker in url.lower() and url.lower().startswith(request.authority_host.lower()) and 'openid-configuration' in url:
            try:
                return view.realm_from_token_endpoint(json.loads(stored['text'])['token_endpoint'])
            except (KeyError, TypeError, ValueError):
                return None
    return None


# The last hit per identity and cache document of this process: a repeated call on an unchanged
# document only checks the expiry again (the document object itself is compared, not its id).
_HITS = {}


def cached_token(doc: dict, request, discovery=None) -> dict | None:
    if not doc.get('AccessToken'):
        return None
    memo_key = (request.identity_key, request.authority)
    memo = _HITS.get(memo_key)
    now = time.time()
    if memo and memo[0] is doc and memo[1]['expires_on'] - now >= request.min_validity:
        return dict(memo[1], expires_in=max(0, int(memo[1]['expires_on'] - now)))
    realm = request.tenant if '.' not in request.tenant else _realm_for(request, _load_warm(discovery) if discovery else {})
    if realm is None:
        return None
    entry = view.find_access_token(doc, request, realm, now)
    if not entry:
        return None
    facts = view.token_facts(doc, entry, request, 'cache', now)
    _HITS[memo_key] = (doc, facts)
    return dict(facts)


class _Acquisition:
    """One msal run over one snapshot of the cache."""

    def __init__(self, request, store, discovery_store):
        self.request = request
        self.store = store
        self.discovery_store = discovery_store
        self.http = None

    def run(self, doc: dict) -> dict:
        try:
            import msal  # loaded only when the cache cannot serve: it costs a few hundred milliseconds
            from ansible_collections.identity.entra.plugins.plugin_utils._http import EntraHttpClient
        except ImportError as exc:
            raise EntraTokenError('unknown', detail='The Python package %s is missing on the controller (%s); install it with '
                                  "pip install -r requirements.txt (msal>=1.31)" % (exc.name, sys.executable)) from None

        before = copy.deepcopy(doc)
        cache = msal.SerializableTokenCache()
        if doc:
            cache.deserialize(json.dumps(doc))
        discovery_doc = self.discovery_store.load()[0] if self.discovery_store else {}
        self.http = EntraHttpClient(self.request, discovery_doc)
        try:
            result = self._with_msal(msal, cache)
        except EntraTokenError:
            raise
        except Exception as exc:  # msal raises for transport, WS-Trust, 5xx and non-JSON answers
            raise self._classify_exception(exc) from None
        finally:
            self._save_discovery()
            self.http.close()
        after = json.loads(cache.serialize())
        if self.store is not None and after != before:
            self.store.update(lambda current: merge_changes(before, after, current))
        return self._facts(after, result)

    def _with_msal(self, msal, cache) -> dict:
        request = self.request
        with warnings.catch_warnings():
            # msal marks ROPC as deprecated on every call; the docs say why and when to move on.
            warnings.simplefilter('ignore', DeprecationWarning)
            app = msal.PublicClientApplication(
                request.client_id, authority=request.authority, validate_authority=request.validate_authority,
                instance_discovery=None if request.validate_authority else False,
                token_cache=cache, http_client=self.http)
            scopes = list(request.scopes)
            refresh_error = None
            accounts = app.get_accounts(username=request.username)
            if accounts:
                result = app.acquire_token_silent_with_error(scopes, account=accounts[0], force_refresh=request.force_refresh)
                if result and 'access_token' in result and int(result.get('expires_in', 0)) < request.min_validity \
                        and result.get('token_source') == 'cache':
                    result = app.acquire_token_silent_with_error(scopes, account=accounts[0], force_refresh=True)
                if result and 'access_token' in result:
                    return result
                if result:
                    refresh_error = self._error_from_result(result)
                    if refresh_error.retryable:
                        raise refresh_error  # throttled or unavailable: a password sign-in would only add load
            if not request.password:
                if refresh_error is not None:
                    raise refresh_error
                raise EntraTokenError('password_required')
            result = app.acquire_token_by_username_password(request.username, request.password, scopes)
            if 'access_token' not in result:
                raise self._error_from_result(result)
            result['token_source'] = 'password'
            return result

    def _error_from_result(self, result: dict) -> EntraTokenError:
        answer = self.http.last_answer
        status = answer.status_code if answer else None
        retry_after = answer.headers.get('retry-after') if answer else None
        detail = 'Entra ID throttled the request (HTTP 429, Retry-After: %ss)' % retry_after if status == 429 and retry_after else ''
        return from_response_body(result, status, detail=detail)

    def _classify_exception(self, exc) -> EntraTokenError:
        answer = self.http.last_answer
        if self.http.federated_failure or 'wstrust' in str(exc).lower() or 'mex' in str(exc).lower():
            return EntraTokenError('federated_sign_in_failed', detail=self.http.federated_failure or
                                   'Federated sign-in failed: %s' % str(exc)[:200])
        if answer is not None and answer.status_code >= 400:
            try:
                body = json.loads(answer.text)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get('error'):
                return from_response_body(body, answer.status_code)
            kind = 'throttled' if answer.status_code == 429 else 'service_unavailable' if answer.status_code >= 500 else 'invalid_response'
            return EntraTokenError(kind, detail='Entra ID answered HTTP %d with a body that is not an OAuth error'
                                   % answer.status_code, status=answer.status_code)
        if isinstance(exc, ValueError) or (answer is not None and answer.status_code < 400):
            return EntraTokenError('invalid_response', detail='Entra ID sent an answer that could not be read (%s)'
                                   % exc.__class__.__name__, status=answer.status_code if answer else None)
        return EntraTokenError('unknown', detail='Sign-in failed: %s' % exc.__class__.__name__)

    def _save_discovery(self):
        if self.discovery_store is not None and self.http.discovery_changed:
            fresh = dict(self.http.discovery)

            def add_fresh(current):
                current.update(fresh)
                return current

            try:
                self.discovery_store.update(add_fresh)
            except CacheStoreError:
                pass  # a discovery cache is an optimisation; the token cache reports its own problems

    def _facts(self, doc: dict, result: dict) -> dict:
        request = self.request
        source = {'cache': 'cache', 'password': 'password'}.get(result.get('token_source'), 'refresh')
        for entry in (doc.get('AccessToken') or {}).values():
            if entry.get('secret') == result['access_token']:
                return view.token_facts(doc, entry, request, source)
        # Memory-only cache without an account (no client_info): describe the answer itself.
        expires_in = int(result.get('expires_in', 0))
        claims = result.get('id_token_claims') or {}
        return {
            'access_token': result['access_token'],
            'token_type': result.get('token_type', 'Bearer'),
            'expires_on': int(time.time()) + expires_in,
            'expires_in': expires_in,
            'scopes': sorted(str(result.get('scope', ' '.join(request.scopes))).split()),
            'username': claims.get('preferred_username') or request.username,
            'tenant_id': claims.get('tid'),
            'home_account_id': None,
            'authority': request.authority,
            'source': source,
        }
