# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Locks between processes: exclusive_lock (a file's read-modify-write) and sign_in_lock (single flight).

Holders are real processes. Order is proven by events (who entered after whom), never by how
long something took; the only time bounds are the lower bounds the code promises (a waiter
does not give up before the holder's announced deadline) and generous upper bounds that only
catch a hang.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _file_locks as locks
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import merge_changes
from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import FORK, combine, held_flock, mode_of, user_document

HANG = 60  # an upper bound that only a hang reaches


# -- exclusive_lock ---------------------------------------------------------------------------


def test_exclusive_lock_creates_a_private_lock_file_that_stays(tmp_path):
    path = str(tmp_path / 'x.lock')
    with locks.exclusive_lock(path, 1, 'lock file', 'busy') as waited:
        assert waited is False
    assert mode_of(path) == 0o600 and os.path.exists(path)


def test_exclusive_lock_gives_up_after_its_timeout_with_the_callers_message(tmp_path):
    path = str(tmp_path / 'x.lock')
    with held_flock(path):
        started = time.monotonic()
        with pytest.raises(CacheStoreError, match='^somebody holds it; do this$') as caught:
            with locks.exclusive_lock(path, 0.2, 'lock file', 'somebody holds it; do this'):
                pytest.fail('entered a held lock')
        assert 0.2 <= time.monotonic() - started < HANG
        assert caught.value.path == path


def _hold_exclusive(path, entered, release, log):
    with locks.exclusive_lock(path, HANG, 'lock file', 'busy'):
        entered.set()
        release.wait(HANG)
        with open(log, 'a') as handle:
            handle.write('holder out\n')


def test_exclusive_lock_serialises_processes(tmp_path):
    path, log = str(tmp_path / 'x.lock'), str(tmp_path / 'log')
    entered, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_exclusive, args=(path, entered, release, log))
    holder.start()
    try:
        assert entered.wait(HANG)
        release.set()
        with locks.exclusive_lock(path, HANG, 'lock file', 'busy'):
            with open(log, 'a') as handle:
                handle.write('waiter in\n')
    finally:
        holder.join(HANG)
    with open(log) as handle:
        assert handle.read() == 'holder out\nwaiter in\n'


def test_exclusive_lock_is_released_when_the_block_raises(tmp_path):
    path = str(tmp_path / 'x.lock')
    with pytest.raises(KeyError):
        with locks.exclusive_lock(path, 1, 'lock file', 'busy'):
            raise KeyError('boom')
    with locks.exclusive_lock(path, 0, 'lock file', 'busy') as waited:
        assert waited is False


# -- sign_in_lock -------------------------------------------------------------------------------


def _hold_sign_in(path, hold_for, entered, release, released_at):
    with locks.sign_in_lock(path, hold_for=hold_for, wait_for=HANG):
        entered.set()
        release.wait(HANG)
        released_at.value = time.time()


class Holder:
    """A process holding a sign-in lock until told to let go (or killed)."""

    def __init__(self, path, hold_for=30.0):
        self.entered, self.release = FORK.Event(), FORK.Event()
        self.released_at = FORK.Value('d', 0.0)
        self.process = FORK.Process(target=_hold_sign_in, args=(path, hold_for, self.entered, self.release, self.released_at))
        self.process.start()
        assert self.entered.wait(HANG), 'the holder never got the lock'

    def stop(self):
        self.release.set()
        self.process.join(HANG)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def kill(self):
        self.process.kill()
        self.process.join(HANG)


def _release_later(holder, after_seconds):
    timer = threading.Timer(after_seconds, holder.release.set)
    timer.daemon = True
    timer.start()
    return timer


def test_sign_in_lock_serialises_the_same_identity(tmp_path):
    path = str(tmp_path / 'id.lock')
    holder = Holder(path)
    try:
        _release_later(holder, 0.2)
        with locks.sign_in_lock(path, hold_for=5, wait_for=HANG) as waited:
            entered_at = time.time()
        assert waited is True
        holder.process.join(HANG)
        assert 0 < holder.released_at.value <= entered_at  # entered only after the holder let go
    finally:
        holder.stop()


def test_the_holder_announces_its_pid_and_deadline(tmp_path):
    path = str(tmp_path / 'id.lock')
    before = time.time()
    with locks.sign_in_lock(path, hold_for=42, wait_for=1):
        with open(path) as handle:
            record = json.load(handle)
    assert record['pid'] == os.getpid()
    assert before + 42 <= record['until'] <= time.time() + 42
    assert mode_of(path) == 0o600


def test_other_identities_are_not_blocked(tmp_path):
    cache = CacheDirectory(str(tmp_path / 'cache'))
    alice = cache.sign_in_lock_path('user|login.example|alice@contoso.com|t|c|scope')
    bob = cache.sign_in_lock_path('user|login.example|bob@contoso.com|t|c|scope')
    assert alice != bob
    holder = Holder(alice)
    try:
        with locks.sign_in_lock(bob, hold_for=5, wait_for=0) as waited:  # may not wait at all
            assert waited is False
            assert holder.released_at.value == 0.0  # alice is still held
    finally:
        holder.stop()


def test_a_waiter_waits_for_the_holders_announced_deadline_not_its_own(tmp_path):
    """wait_for is tiny; the holder announced 30 s and lets go after a while: the waiter gets the lock."""
    path = str(tmp_path / 'id.lock')
    holder = Holder(path, hold_for=30)
    try:
        _release_later(holder, 0.3)
        with locks.sign_in_lock(path, hold_for=5, wait_for=0.01) as waited:
            assert waited is True
            assert holder.released_at.value > 0
    finally:
        holder.stop()


def test_a_waiter_gives_up_at_the_holders_deadline_plus_grace_and_no_later(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, 'HOLDER_GRACE_SECONDS', 0.2)
    path = str(tmp_path / 'id.lock')
    holder = Holder(path, hold_for=0.5)  # announces 0.5 s, then hangs
    try:
        with open(path) as handle:
            until = json.load(handle)['until']
        started = time.time()
        with pytest.raises(CacheStoreError) as caught:
            with locks.sign_in_lock(path, hold_for=5, wait_for=0.01):
                pytest.fail('entered a held lock')
        gave_up = time.time()
        assert gave_up >= until + 0.2 - 0.05  # not before the announced deadline and the grace (clock granularity)
        assert gave_up - started < 0.5 + 0.2 + HANG  # and not forever
        assert holder.released_at.value == 0.0
        message = str(caught.value)
        assert 'process %d' % holder.process.pid in message and '(pid %d)' % holder.process.pid in message
        assert 'signing in the same account and has run past its own time limit' in message and path in message
        assert '\n' not in message
    finally:
        holder.kill()


def _announce_later(path, entered, extend, extended, release):
    with locks.sign_in_lock(path, hold_for=0.3, wait_for=HANG):
        entered.set()
        extend.wait(HANG)
        fd = os.open(path, os.O_RDWR)
        try:
            locks._write_holder(fd, 30)  # a holder may announce a later deadline
        finally:
            os.close(fd)
        extended.set()
        release.wait(HANG)


def test_a_later_deadline_announced_while_waiting_is_honoured(tmp_path, monkeypatch):
    """The waiter reads the announcement on every poll: the holder extends it after the waiter's first read."""
    monkeypatch.setattr(locks, 'HOLDER_GRACE_SECONDS', 0.1)
    path = str(tmp_path / 'id.lock')
    entered, extend, extended, release = FORK.Event(), FORK.Event(), FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_announce_later, args=(path, entered, extend, extended, release))
    holder.start()
    real_read = locks._read_holder
    reads = []

    def read_and_extend_on_the_second_poll(fd):
        reads.append(1)
        if len(reads) == 2:
            first = real_read(fd)
            extend.set()
            assert extended.wait(HANG)
            # let go only once the first announcement (and its grace) is long past
            release_in = max(0.0, float(first['until']) + 0.1 + 0.3 - time.time())
            timer = threading.Timer(release_in, release.set)
            timer.daemon = True
            timer.start()
        return real_read(fd)

    monkeypatch.setattr(locks, '_read_holder', read_and_extend_on_the_second_poll)
    try:
        assert entered.wait(HANG)
        with open(path) as handle:
            first_until = json.load(handle)['until']
        with locks.sign_in_lock(path, hold_for=5, wait_for=0.01) as waited:
            assert waited is True and release.is_set()
        assert time.time() > first_until + 0.1  # it waited past the first announcement
        assert len(reads) > 2
    finally:
        release.set()
        holder.join(HANG)


@pytest.mark.parametrize('content', [b'', b'garbage', b'[1]', b'{"until": "soon"}', b'{"pid": 1}'])
def test_without_a_readable_announcement_the_waiter_waits_wait_for(tmp_path, content):
    path = str(tmp_path / 'id.lock')
    with open(path, 'wb') as handle:
        handle.write(content)
    os.chmod(path, 0o600)
    with held_flock(path):
        started = time.monotonic()
        with pytest.raises(CacheStoreError, match='waited') as caught:
            with locks.sign_in_lock(path, hold_for=5, wait_for=0.2):
                pytest.fail('entered a held lock')
        assert 0.2 <= time.monotonic() - started < HANG
        assert 'process' in str(caught.value)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = str(tmp_path / 'id.lock')
    holder = Holder(path, hold_for=600)  # announced a long deadline, then died
    holder.kill()
    with locks.sign_in_lock(path, hold_for=5, wait_for=0) as waited:
        assert waited is False
    assert os.path.exists(path)  # lock files are never deleted (no unlink race)


def _single_flight_process(cache_dir, counter_path, barrier):
    cache = CacheDirectory(cache_dir)
    identity = 'user|login.example|alice@contoso.com|t|c|scope'
    token_key = next(iter(user_document(1)['AccessToken']))
    store = cache.account_file('user|login.example|alice@contoso.com')
    barrier.wait(HANG)
    if token_key in store.load()[0].get('AccessToken', {}):
        return
    with locks.sign_in_lock(cache.sign_in_lock_path(identity), hold_for=HANG, wait_for=HANG):
        document = store.load()[0]  # re-read: another process may have just stored it
        if token_key in document.get('AccessToken', {}):
            return
        with open(counter_path, 'a') as counter:  # "talk to Entra"
            counter.write('request\n')
        after = combine(document, user_document(1))
        store.update(lambda current: merge_changes(document, after, current))


def test_single_flight_pattern_makes_one_request_for_many_processes(tmp_path):
    cache_dir = str(tmp_path / 'cache')
    counter_path = str(tmp_path / 'requests.log')
    barrier = FORK.Barrier(16)
    processes = [FORK.Process(target=_single_flight_process, args=(cache_dir, counter_path, barrier)) for _number in range(16)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(HANG)
    assert [process.exitcode for process in processes] == [0] * 16
    with open(counter_path) as counter:
        assert counter.read().count('request') == 1
    assert TokenCacheStore(CacheDirectory(cache_dir).account_file('user|login.example|alice@contoso.com').path).load()[0] \
        == user_document(1)
