# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Locks between processes: ``flock`` on lock files that are never deleted.

For internal collection use only; standard library only. The kernel releases the lock
of a killed holder, so there are no stale locks. Two kinds:

* :func:`exclusive_lock` guards a read-modify-write of one cache file; it is held for a
  read, a merge and a small write, so its wait is short and fixed;
* :func:`sign_in_lock` is the single-flight lock of one identity: its holder may talk to
  Entra for as long as its own flow allows (a device-code sign-in waits for a person), so
  it writes its deadline into the lock file and waiters wait exactly that long, not a
  guess.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import random
import time
import typing as t

from ansible_collections.identity.entra.plugins.plugin_utils import _safe_json
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError, describe_os_error, open_lock_file

_LOCK_BUSY_ERRNOS = frozenset((errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES))
_POLL_FIRST_SLEEP = 0.002
_POLL_MAX_SLEEP = 0.05
# How long a waiter gives a sign-in lock holder beyond the deadline it announced.
HOLDER_GRACE_SECONDS = 5.0


def _try_lock(fd: int, path: str) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _LOCK_BUSY_ERRNOS:
            return False
        raise CacheStoreError('cannot lock %s: %s' % (path, describe_os_error(exc)), path) from None
    return True


def _wait_for_lock(fd: int, path: str, deadline_of: t.Callable[[], float], on_timeout: t.Callable[[], CacheStoreError]) -> bool:
    """Take an exclusive flock on ``fd``; return whether it had to wait.

    ``deadline_of()`` is asked again on every poll (a sign-in lock's holder may announce a
    later deadline); past it ``on_timeout()`` is raised.
    """
    if _try_lock(fd, path):
        return False
    delay = _POLL_FIRST_SLEEP
    while True:
        remaining = deadline_of() - time.monotonic()
        if remaining <= 0:
            raise on_timeout()
        time.sleep(min(delay * random.uniform(0.5, 1.5), remaining))
        delay = min(delay * 2, _POLL_MAX_SLEEP)
        if _try_lock(fd, path):
            return True


@contextlib.contextmanager
def exclusive_lock(path: str, timeout: float, what: str, timeout_message: str) -> t.Iterator[bool]:
    """Hold an exclusive flock on ``path`` (created 0600); yield whether it had to wait."""
    fd = open_lock_file(path, what)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        waited = _wait_for_lock(fd, path, lambda: deadline, lambda: CacheStoreError(timeout_message, path))
        try:
            yield waited
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict:
    try:
        raw = os.pread(fd, 512, 0) or b'{}'
    except OSError:
        return {}
    return _safe_json.loads_object(raw) or {}


def _write_holder(fd: int, hold_for: float) -> None:
    record = json.dumps({'pid': os.getpid(), 'until': time.time() + hold_for}).encode('ascii')
    with contextlib.suppress(OSError):  # only advice for waiters; the lock itself is the flock
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)


@contextlib.contextmanager
def sign_in_lock(path: str, hold_for: float, wait_for: float) -> t.Iterator[bool]:
    """Hold the single-flight lock ``path``; yield whether another process held it first.

    The holder announces ``hold_for`` (how long its sign-in may take at most); a waiter
    waits until the lock is free or the current holder's announced deadline (plus a
    grace) has passed, and at least ``wait_for`` seconds when no holder announced one.
    """
    fd = open_lock_file(path, 'token cache sign-in lock file')
    started = time.monotonic()
    holder = {}

    def deadline() -> float:
        holder.clear()
        holder.update(_read_holder(fd))
        try:
            until = float(holder['until'])
        except (KeyError, TypeError, ValueError):
            return started + wait_for
        return max(started + wait_for, time.monotonic() + (until - time.time()) + HOLDER_GRACE_SECONDS)

    def timed_out() -> CacheStoreError:
        pid = holder.get('pid')
        who = 'process %s' % pid if isinstance(pid, int) else 'another process'
        return CacheStoreError(
            'waited %.0fs for %s, which is signing in the same account and has run past its own time limit '
            '(lock %s); retry, and if this repeats look for a hung ansible-playbook process%s'
            % (time.monotonic() - started, who, path, ' (pid %s)' % pid if isinstance(pid, int) else ''), path)

    try:
        waited = _wait_for_lock(fd, path, deadline, timed_out)
        try:
            _write_holder(fd, hold_for)
            yield waited
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
