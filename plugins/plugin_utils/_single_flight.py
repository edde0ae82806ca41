# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Single flight: one process signs in for an identity, the others wait for its result.

For internal collection use only. A success reaches the waiters through the token cache;
this module passes a failure on to them.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import _identity_lock_path
from ansible_collections.identity.entra.plugins.plugin_utils._errors import KINDS, EntraTokenError

# Entra's answer (or the network's failure) to the process that held an identity's lock is passed
# on to the processes that were waiting for it: they fail with it at once instead of each trying in
# turn, which against a slow Entra took N forks x timeout (and a lock timeout for the last ones) and
# with a wrong password sent it N times (smart lockout counts each). Not shared: what depends on
# the waiter's own options or files (no password given, an expired refresh token the waiter's
# password can replace, TLS settings, the cache) or is not understood.
SHARED_KINDS = frozenset(KINDS) - frozenset((
    'invalid_argument', 'password_required', 'refresh_token_expired', 'tls_error', 'cache_error', 'unknown'))
SHARED_SECONDS = 60
_SHARED_FIELDS = ('kind', 'detail', 'aadsts', 'error', 'suberror', 'description', 'correlation_id',
                  'trace_id', 'timestamp', 'status')


def _failure_path(request) -> str:
    return _identity_lock_path(request.cache_path, request.identity_key)[:-len('.lock')] + '.failure'


def share_failure(request, exc: EntraTokenError) -> None:
    """Record a retryable failure (no secrets: kinds, codes, ids, host names) beside the identity lock."""
    path = _failure_path(request)
    record = {'at': time.time(), 'error': {name: getattr(exc, name) for name in _SHARED_FIELDS}}
    temp = '%s.%d.tmp' % (path, os.getpid())
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, json.dumps(record).encode('utf-8'))
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        pass  # an optimisation: the waiters then try themselves


def raise_shared_failure(request, wait_started: float) -> None:
    """Raise the failure the lock holder recorded while we waited, if there is one."""
    try:
        fd = os.open(_failure_path(request), os.O_RDONLY | os.O_NOFOLLOW)
        try:
            record = json.loads(os.read(fd, 65536))
        finally:
            os.close(fd)
        at = float(record['at'])
        error = {name: record['error'].get(name) for name in _SHARED_FIELDS}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return
    if at < wait_started or time.time() - at > SHARED_SECONDS or error['kind'] not in SHARED_KINDS:
        return
    summary = error['detail'] or KINDS[error['kind']].summary
    error['detail'] = '%s (from another process signing in the same account just now)' % summary.rstrip('.')
    raise EntraTokenError(**error)
