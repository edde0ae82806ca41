# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cold path: one process per identity talks to Entra, through msal, and stores the result.

For internal collection use only. The order of work, and why:
1. take the identity's sign-in lock, so that of many forks or processes needing the same
   token only one talks to Entra; re-read the cache: the holder before us has usually just
   stored the token;
2. a failure that process just met (an outage) is returned at once to those who waited;
3. before any credential is sent, the cache must be writable - a rotated refresh token
   or a fresh sign-in must not be lost afterwards;
4. the flow (user: refresh token, then password or device code; service principal: client
   credentials) runs msal on that cache content, through our HTTP client, with every
   third-party logger silenced; a credential Entra already refused is not sent again;
5. what changed is merged into the file under its lock; a token that cannot be stored is
   still returned, with a warning.
"""

from __future__ import annotations

import copy
import json
import time

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils import _safe_json
from ansible_collections.identity.entra.plugins.plugin_utils._acquire import cached_token, load_account, realm_of
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import merge_changes
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError, from_response_body
from ansible_collections.identity.entra.plugins.plugin_utils._failure_memory import FailureMemory
from ansible_collections.identity.entra.plugins.plugin_utils._file_locks import sign_in_lock
from ansible_collections.identity.entra.plugins.plugin_utils._http import MAX_EXCHANGES, EntraHttpClient
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError
from ansible_collections.identity.entra.plugins.plugin_utils._quiet import quiet


def time_limit(request) -> float:
    """The longest one acquisition can take: every request bounded by timeout, and the person's wait."""
    limit = request.timeout * MAX_EXCHANGES + 10.0
    if request.credential == 'device_code':
        limit += request.device_code_timeout
    return float(limit)


def sign_in(cache, request, warn, show) -> dict:
    """Acquire a token on a cache miss (see the module docstring); ``cache`` None means memory only."""
    if cache is None:
        return _sign_in_without_cache(request, warn, show)
    discovery = DiscoveryStore(cache)
    seen = load_account(cache.account_file(request.account_key), warn)
    refuse_remembered(cache, request, seen)
    limit = time_limit(request)
    wait_started = time.time()
    with sign_in_lock(cache.sign_in_lock_path(request.identity_key), hold_for=limit, wait_for=limit) as waited:
        store = cache.account_file(request.account_key)
        doc = load_account(store, warn)
        if not request.force_refresh:
            hit = cached_token(doc, request, discovery)
            if hit:
                return hit
        elif waited:
            hit = _refreshed_while_waiting(doc, request, discovery, seen)
            if hit:
                return hit
        memory = FailureMemory(cache, request)
        memory.check_outage(wait_started if waited else None)
        store.check_writable()
        memory.check_writable()
        return Acquisition(request, store, discovery, memory, warn, show).run(doc)


def _sign_in_without_cache(request, warn, show) -> dict:
    """cache: false - no token is kept, but a refused credential is still not sent by every fork.

    The sign-in lock and the failure memory (no token in either) live in cache_path's directory; when it
    cannot be used, the sign-in goes on without them, with a warning saying what that means.
    """
    guard = CacheDirectory(request.guard_path, warn) if request.guard_path else None
    try:
        if guard is not None:
            guard.check(create=True)
            FailureMemory(guard, request).check_writable()
    except CacheStoreError as exc:
        warn('cache: false, and the cache directory cannot hold the record of refused credentials either (%s): '
             'every task may send the password again' % exc)
        guard = None
    memory = FailureMemory(guard, request)
    if guard is None:
        return Acquisition(request, None, DiscoveryStore(None), memory, warn, show).run({})
    refuse_remembered(guard, request, {})
    limit = time_limit(request)
    wait_started = time.time()
    with sign_in_lock(guard.sign_in_lock_path(request.identity_key), hold_for=limit, wait_for=limit) as waited:
        memory.check_outage(wait_started if waited else None)
        refuse_remembered(guard, request, {})
        return Acquisition(request, None, DiscoveryStore(None), memory, warn, show).run({})


def refuse_remembered(cache, request, doc) -> None:
    """Refuse at once - before the sign-in lock, msal or the network - a user sign-in that could only send
    credentials Entra has already refused: no usable refresh token, and a remembered password.

    The flows make the same checks again under the lock; this only keeps 50 forks of a playbook with a
    wrong password from queueing behind the lock to learn, one after the other, what one of them knows.
    """
    if request.is_app or request.credential != 'password':
        return
    memory = FailureMemory(cache, request)
    dead = None
    for account in view.find_accounts(doc, request.environment, request.username):
        secret = view.find_refresh_token(doc, account['home_account_id'], request.environment, request.client_id)
        if secret:
            try:
                memory.check_credential('refresh_token', secret)
            except EntraTokenError as exc:
                dead = exc
                continue
            return  # a refresh token that may still work: the flow tries it first
    if request.password:
        memory.check_credential('password', request.password)
    elif dead is not None:
        raise dead


def _refreshed_while_waiting(doc, request, discovery, seen) -> dict | None:
    """With force_refresh, a token the process we waited for has just obtained is as fresh as ours would be.

    New means not in the cache as this process saw it before waiting (``seen``): a token's cached_at
    is in whole seconds, and one cached in the second the wait began is not necessarily newer.
    """
    realm = realm_of(request, discovery)
    entry = view.find_access_token(doc, request, realm) if realm else None
    if entry and entry['secret'] not in {known['secret'] for known in (seen.get('AccessToken') or {}).values()}:
        return view.token_facts(doc, entry, request, 'cache')
    return None


def import_msal():
    try:
        import msal  # pylint: disable=import-outside-toplevel  # only on a cache miss: the warm path stays msal-free
    except ImportError as exc:
        raise EntraTokenError('unknown', detail='The Python package %s is missing on the controller (%s); install the collection '
                              "requirements: pip install -r requirements.txt (msal >= 1.31)" % (exc.name or 'msal', exc)) from None
    return msal


class Acquisition:
    """One msal run over one snapshot of an account's cache file."""

    def __init__(self, request, store, discovery, memory, warn, show):
        self.request = request
        self.store = store
        self.discovery = discovery
        self.memory = memory
        self.warn = warn
        self.show = show
        self.http = None

    def run(self, doc: dict) -> dict:
        msal = import_msal()
        before = copy.deepcopy(doc)
        cache = msal.SerializableTokenCache()
        if doc:
            cache.deserialize(json.dumps(doc))
        self.http = EntraHttpClient(self.request, self.discovery)
        if self.request.is_app:
            from ansible_collections.identity.entra.plugins.plugin_utils._flow_app import AppFlow as flow  # pylint: disable=import-outside-toplevel
        else:
            from ansible_collections.identity.entra.plugins.plugin_utils._flow_user import UserFlow as flow  # pylint: disable=import-outside-toplevel
        try:
            with quiet():
                result = flow(self, msal, cache, doc).acquire()
        except EntraTokenError as exc:
            # Transport failures (network_error, invalid_response...) are raised by our HTTP client, not
            # returned as results: they are shared with the waiters here, like throttling and 5xx.
            self.memory.remember(exc, retry_after=self.retry_after())
            raise
        except Exception as exc:  # msal raises for transport, WS-Trust, 5xx and non-JSON answers # pylint: disable=broad-except
            error = self.classify_exception(exc)
            self.memory.remember(error, retry_after=self.retry_after())
            raise error from None
        finally:
            self.discovery.save()
        after = json.loads(cache.serialize())
        self._store(before, after)
        return self._facts(after, result)

    def _store(self, before: dict, after: dict) -> None:
        if self.store is None or after == before:
            return
        try:
            self.store.update(lambda current: merge_changes(before, after, current))
        except CacheStoreError as exc:
            self.warn('the new token could not be stored in the token cache (%s); it is returned, but the next run '
                      'must sign in again' % exc)

    # -- errors --------------------------------------------------------------------------

    @property
    def app_flow(self):
        """The credential a service principal sent (some codes mean different things per credential); False for a user."""
        return self.request.credential if self.request.is_app else False

    def error_from_result(self, result: dict) -> EntraTokenError:
        """An msal error result as a classified error (with the HTTP status and Retry-After of the answer)."""
        answer = self.http.last_answer
        status = answer.status_code if answer else None
        retry_after = answer.headers.get('retry-after') if answer else None
        detail = 'Entra ID throttled the request (HTTP 429, Retry-After: %ss)' % retry_after if status == 429 and retry_after else ''
        return from_response_body(result, status, detail=detail, app_flow=self.app_flow)

    def retry_after(self) -> float | None:
        answer = self.http.last_answer if self.http else None
        try:
            return float(answer.headers.get('retry-after')) if answer and answer.status_code == 429 else None
        except (TypeError, ValueError):
            return None

    def classify_exception(self, exc) -> EntraTokenError:
        answer = self.http.last_answer if self.http else None
        text = str(exc).lower()
        if self.http and (self.http.federated_failure or 'wstrust' in text or 'mex' in text):
            return EntraTokenError('federated_sign_in_failed', detail=self.http.federated_failure or
                                   'Federated sign-in failed (%s)' % exc.__class__.__name__)
        if answer is not None and answer.status_code >= 400:
            body = _safe_json.loads_object(answer.text)
            if body is not None and body.get('error'):
                return from_response_body(body, answer.status_code, app_flow=self.app_flow)
            kind = 'throttled' if answer.status_code == 429 else 'service_unavailable' if answer.status_code >= 500 else 'invalid_response'
            return EntraTokenError(kind, detail='Entra ID answered HTTP %d with a body that is not an OAuth error'
                                   % answer.status_code, status=answer.status_code)
        if isinstance(exc, (ValueError, KeyError, TypeError)) or (answer is not None and answer.status_code < 400):
            return EntraTokenError('invalid_response', detail='Entra ID sent an answer that could not be used (%s)'
                                   % exc.__class__.__name__, status=answer.status_code if answer else None)
        return EntraTokenError('unknown', detail='Sign-in failed: %s' % exc.__class__.__name__)

    # -- facts ---------------------------------------------------------------------------

    def _facts(self, doc: dict, result: dict) -> dict:
        request = self.request
        source = {'cache': 'cache', 'password': 'password', 'device_code': 'device_code',
                  'client_credentials': 'client_credentials'}.get(result.get('token_source'), 'refresh')
        for entry in (doc.get('AccessToken') or {}).values():
            if isinstance(entry, dict) and entry.get('secret') == result['access_token']:
                facts = view.token_facts(doc, entry, request, source)
                break
        else:
            facts = self._facts_of_answer(result, source)
        if facts['expires_in'] < request.min_validity and source != 'cache':
            self.warn('min_validity (%ds) is longer than the lifetime of the token Entra ID just issued (%ds); the token is '
                      'used until half its lifetime has passed' % (request.min_validity, facts['expires_in']))
        return facts

    def _facts_of_answer(self, result: dict, source: str) -> dict:
        """Memory-only cache without an account (no client_info): describe the answer itself."""
        request = self.request
        expires_in = int(result.get('expires_in', 0))
        claims = result.get('id_token_claims') or {}
        token_claims = view.decode_jwt_claims(result['access_token'])
        roles = token_claims.get('roles')
        return {
            'access_token': result['access_token'],
            'token_type': result.get('token_type', 'Bearer'),
            'expires_on': int(time.time()) + expires_in,
            'expires_in': expires_in,
            'scopes': sorted(str(result.get('scope', ' '.join(request.scopes))).split()),
            'roles': sorted(str(r) for r in roles) if isinstance(roles, list) else ([] if token_claims else None),
            'username': None if request.is_app else (claims.get('preferred_username') or request.username),
            'tenant_id': claims.get('tid') or token_claims.get('tid'),
            'home_account_id': None,
            'authority': request.authority,
            'source': source,
        }
