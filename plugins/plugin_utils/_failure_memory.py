# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One attempt per credential: what Entra refused is not sent again, by any fork or later run.

For internal collection use only; standard library only. Why: Entra's smart lockout locks
an account after about ten wrong passwords (a federated user's AD counts every attempt
too), and 50 forks of a playbook with a wrong password would each send it. So:

* **Verdicts** - Entra refused a credential for a reason that another try cannot change
  (wrong password, MFA, locked, dead refresh token...). The refusal is remembered in
  ``failures/<key>.json`` (0600) per account, app and tenant, with a salted hash of the
  credential (scrypt for passwords and client secrets), never the credential. Until
  :data:`VERDICT_SECONDS` have passed - and for the rest of the same ansible-playbook run
  - the same credential is not sent again: the same error is returned at once. A
  changed password (or a new refresh token, or a rotated secret) is tried at once. A service
  principal's credential is held back for the rest of the run only (RUN_ONLY_CREDENTIALS).
* **Outages** - throttling, server errors, network failures: the processes that waited
  for the lock holder get its failure at once instead of each trying in turn; a
  throttled answer's Retry-After holds back every process for that long.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from ansible_collections.identity.entra.plugins.plugin_utils._errors import KINDS, EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError

VERDICT_SECONDS = 15 * 60
OUTAGE_SECONDS = 60
MAX_RECORDS = 32
OUTAGE_KINDS = frozenset(('throttled', 'service_unavailable', 'network_error', 'invalid_response'))
# Failures that are not Entra's verdict on the credential, or that depend on the caller's own
# options or files: never remembered.
NOT_REMEMBERED = frozenset((
    'invalid_argument', 'password_required', 'sign_in_required', 'tls_error', 'cache_error', 'unknown',
    'device_code_declined', 'device_code_expired', 'device_code_invalid', 'sign_in_timeout'))
# Verdicts about the requested scopes rather than the account: remembered for the same scopes only.
SCOPE_KINDS = frozenset(('consent_required', 'invalid_scope'))
# A service principal's credentials: no lockout to protect, and a refusal is often fixed on Entra's side
# (a certificate uploaded, an app enabled), so their verdicts hold for the rest of the run only.
RUN_ONLY_CREDENTIALS = frozenset(('client_secret', 'client_certificate', 'client_assertion'))
# Credentials people choose: hashed slowly, so the file cannot be used to guess them.
_SLOW_HASHED = frozenset(('password', 'client_secret'))
_FIELDS = ('kind', 'detail', 'aadsts', 'error', 'suberror', 'description', 'correlation_id', 'trace_id', 'timestamp', 'status')


def _run_id() -> str:
    """The ansible-playbook run this process belongs to: its parent (workers are forks of it) and when that started."""
    parent = os.getppid()
    try:
        with open('/proc/%d/stat' % parent, 'rb') as handle:
            started = handle.read().rsplit(b')', 1)[1].split()[19].decode('ascii')
    except (OSError, IndexError, UnicodeDecodeError):
        started = '?'
    return '%d:%s' % (parent, started)


def _fingerprint(kind: str, secret: str, salt: bytes) -> str:
    data = secret.encode('utf-8')
    if kind in _SLOW_HASHED:
        try:
            digest = hashlib.scrypt(data, salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
        except (AttributeError, ValueError):  # Python built without OpenSSL scrypt
            digest = hashlib.pbkdf2_hmac('sha256', data, salt, 200000)
    else:
        digest = hmac.new(salt, data, hashlib.sha256).digest()
    return digest.hex()


class FailureMemory:
    """The failure record of one account, app and tenant (``request.sign_in_key``)."""

    def __init__(self, cache, request):
        self._request = request
        self._store = cache.failure_file(request.sign_in_key) if cache is not None else None

    def _records(self) -> list:
        if self._store is None:
            return []
        try:
            records = self._store.load()[0].get('records')
        except CacheStoreError:
            return []
        return [record for record in records if isinstance(record, dict)] if isinstance(records, list) else []

    def _applies(self, record: dict) -> bool:
        scope = record.get('identity')
        return scope is None or scope == self._identity()

    def _identity(self) -> str:
        return hashlib.sha256(self._request.identity_key.encode('utf-8')).hexdigest()[:32]

    def check_credential(self, kind: str, secret: str | None) -> None:
        """Raise what Entra answered the last time this very credential was sent, if that still stands."""
        if not secret:
            return
        now, run = time.time(), _run_id()
        for record in reversed(self._records()):
            credential = record.get('credential')
            if not isinstance(credential, dict) or credential.get('kind') != kind or not self._applies(record):
                continue
            try:
                at, salt = float(record['at']), bytes.fromhex(credential['salt'])
            except (KeyError, TypeError, ValueError):
                continue
            same_run = record.get('run') == run
            if not same_run and (now - at > VERDICT_SECONDS or kind in RUN_ONLY_CREDENTIALS):
                continue
            if hmac.compare_digest(str(credential.get('hash', '')), _fingerprint(kind, secret, salt)):
                later = 'in the next run' if kind in RUN_ONLY_CREDENTIALS else 'after %d minutes' % (VERDICT_SECONDS // 60)
                raise self._replay(record, 'not sent again: Entra ID refused this %s %ds ago; it is tried again when it '
                                   'changes or %s' % (kind.replace('_', ' '), now - at, later))

    def check_outage(self, waited_since: float | None) -> None:
        """Raise an outage another process just met: at once for its waiters, for everyone within Retry-After."""
        now = time.time()
        for record in reversed(self._records()):
            if record.get('credential') is not None or not self._applies(record):
                continue
            try:
                at, hold = float(record['at']), float(record.get('hold') or 0)
            except (KeyError, TypeError, ValueError):
                continue
            waiter = waited_since is not None and at >= waited_since and now - at <= OUTAGE_SECONDS
            if waiter or now < at + hold:
                raise self._replay(record, 'from another process signing in the same account %ds ago' % (now - at))

    def remember(self, exc: EntraTokenError, kind: str | None = None, secret: str | None = None,
                 retry_after: float | None = None) -> None:
        """Record a failure of a sign-in that sent the credential ``kind``/``secret`` (best effort)."""
        if self._store is None or exc.kind not in KINDS or getattr(exc, 'remembered', False):
            return
        if exc.kind in NOT_REMEMBERED and not _refused_by_entra(exc):
            return
        record = {'at': time.time(), 'run': _run_id(),
                  'identity': self._identity() if exc.kind in SCOPE_KINDS or exc.kind in OUTAGE_KINDS else None,
                  'error': {name: getattr(exc, name) for name in _FIELDS}}
        if exc.kind in OUTAGE_KINDS:
            record['credential'] = None
            record['hold'] = min(float(retry_after or 0), 300.0)
        else:
            if not secret:
                return
            salt = os.urandom(16)
            record['credential'] = {'kind': kind, 'salt': salt.hex(), 'hash': _fingerprint(kind, secret, salt)}

        def add(current):
            now = time.time()
            kept = [r for r in current.get('records') or [] if isinstance(r, dict) and _fresh(r, now)]
            return {'records': (kept + [record])[-MAX_RECORDS:]}

        exc.remembered = True  # the same failure is recorded once, however many callers pass it on
        try:
            self._store.update(add)
        except CacheStoreError:
            pass  # an optimisation: without it, the next process tries once more

    def check_writable(self) -> None:
        """Raise CacheStoreError now if a refusal could not be recorded: without the record, every fork and
        every later run would send a refused password again."""
        if self._store is not None:
            self._store.check_writable()

    def forget(self, kind: str) -> None:
        """Drop the verdicts about credentials of ``kind`` (a sign-in with it has just succeeded)."""
        if self._store is None or not any(
                isinstance(r.get('credential'), dict) and r['credential'].get('kind') == kind for r in self._records()):
            return

        def drop(current):
            return {'records': [r for r in current.get('records') or [] if isinstance(r, dict)
                                and not (isinstance(r.get('credential'), dict) and r['credential'].get('kind') == kind)]}

        try:
            self._store.update(drop)
        except CacheStoreError:
            pass

    @staticmethod
    def _replay(record: dict, why: str) -> EntraTokenError:
        error = record.get('error') if isinstance(record.get('error'), dict) else {}
        fields = {name: error.get(name) for name in _FIELDS}
        if fields['kind'] not in KINDS:
            fields['kind'] = 'unknown'
        fields = {name: (value if value is None or isinstance(value, (str, int)) and not isinstance(value, bool) else None)
                  for name, value in fields.items()}
        summary = fields['detail'] or KINDS[fields['kind']].summary
        fields['detail'] = '%s (%s)' % (str(summary).rstrip('.'), why)
        return EntraTokenError(**fields)


def _refused_by_entra(exc: EntraTokenError) -> bool:
    """An OAuth refusal Entra sent for a code the table does not know (50135, 53011...): still Entra's verdict
    on what was sent, so it is held back like the known ones."""
    return exc.kind == 'unknown' and bool(exc.error) and exc.status is not None and 400 <= exc.status < 500


def _fresh(record: dict, now: float) -> bool:
    try:
        at = float(record['at'])
    except (KeyError, TypeError, ValueError):
        return False
    return now - at <= max(VERDICT_SECONDS, OUTAGE_SECONDS) or record.get('run') == _run_id()
