# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the token cache store: real files, real locks, real processes."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import multiprocessing
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_store
from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import (
    MAX_CACHE_BYTES,
    CacheStoreError,
    TokenCacheStore,
    identity_lock,
    merge_changes,
)

FORK = multiprocessing.get_context('fork')
IS_ROOT = os.geteuid() == 0
NOBODY = 65534
ENV = 'login.microsoftonline.com'
CLIENT = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

needs_root = pytest.mark.skipif(not IS_ROOT, reason='needs root to chown files to another user')


# -- helpers ---------------------------------------------------------------------


def user_document(n: int, access_secret: str = 'at', refresh_secret: str = 'rt') -> dict:
    """An msal unified cache document holding one user's tokens."""
    hid = 'uid%d.%s' % (n, TENANT)
    return {
        'AccessToken': {
            '%s-%s-accesstoken-%s-%s-https://graph.microsoft.com/.default' % (hid, ENV, CLIENT, TENANT): {
                'credential_type': 'AccessToken', 'secret': '%s-%d' % (access_secret, n),
                'home_account_id': hid, 'environment': ENV, 'client_id': CLIENT,
                'realm': TENANT, 'target': 'https://graph.microsoft.com/.default',
                'cached_at': '1700000000', 'expires_on': '1700003600',
            },
        },
        'RefreshToken': {
            '%s-%s-refreshtoken-%s--https://graph.microsoft.com/.default' % (hid, ENV, CLIENT): {
                'credential_type': 'RefreshToken', 'secret': '%s-%d' % (refresh_secret, n),
                'home_account_id': hid, 'environment': ENV, 'client_id': CLIENT,
            },
        },
        'IdToken': {
            '%s-%s-idtoken-%s-%s-' % (hid, ENV, CLIENT, TENANT): {
                'credential_type': 'IdToken', 'secret': 'id-%d' % n, 'home_account_id': hid,
            },
        },
        'Account': {
            '%s-%s-%s' % (hid, ENV, TENANT): {
                'home_account_id': hid, 'environment': ENV, 'realm': TENANT,
                'username': 'user%d@contoso.com' % n, 'authority_type': 'MSSTS',
            },
        },
        'AppMetadata': {
            'appmetadata-%s-%s' % (ENV, CLIENT): {'client_id': CLIENT, 'environment': ENV},
        },
    }


def combine(*documents: dict) -> dict:
    result: dict = {}
    for document in documents:
        for section, entries in document.items():
            result.setdefault(section, {}).update(copy.deepcopy(entries))
    return result


def account_usernames(document: dict) -> set:
    return {entry['username'] for entry in document.get('Account', {}).values()}


def write_raw(path, content: bytes, mode: int = 0o600) -> None:
    with open(path, 'wb') as handle:
        handle.write(content)
    os.chmod(path, mode)


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def quarantined(directory, name: str = 'token_cache.json') -> list:
    return sorted(p for p in os.listdir(directory) if p.startswith(name + '.corrupt-'))


def temp_files(directory, name: str = 'token_cache.json') -> list:
    return sorted(p for p in os.listdir(directory) if p.startswith('.%s.tmp-' % name))


@pytest.fixture
def cache_path(tmp_path):
    return str(tmp_path / 'entra' / 'token_cache.json')


@pytest.fixture
def warnings_seen():
    return []


@pytest.fixture
def store(cache_path, warnings_seen):
    return TokenCacheStore(cache_path, lock_timeout=5, warn=warnings_seen.append)


@contextlib.contextmanager
def held_flock(path):
    """Hold an exclusive flock on ``path`` through a separate open file (conflicts in-process too)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def nobody_tree():
    """A temporary directory that uid 65534 owns and can reach (pytest's tmp_path is root-only)."""
    base = tempfile.mkdtemp(prefix='cache-store-')
    if IS_ROOT:
        os.chown(base, NOBODY, NOBODY)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _unprivileged_child(conn, function, args):
    try:
        if IS_ROOT:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        conn.send(('ok', function(*args)))
    except CacheStoreError as exc:
        conn.send(('CacheStoreError', str(exc)))
    except BaseException as exc:  # report anything else as a test failure
        conn.send((type(exc).__name__, repr(exc)))
    finally:
        conn.close()


def run_unprivileged(function, *args):
    """Run ``function(*args)`` in a forked child as uid 65534 (as is when not root)."""
    parent_end, child_end = FORK.Pipe()
    process = FORK.Process(target=_unprivileged_child, args=(child_end, function, args))
    process.start()
    child_end.close()
    try:
        if not parent_end.poll(20):
            raise AssertionError('unprivileged child did not answer')
        return parent_end.recv()
    finally:
        process.join(5)


def chown_tree(path, uid=NOBODY):
    if not IS_ROOT:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


# -- creation and round trip ------------------------------------------------------


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077])
def test_update_creates_private_directory_file_and_lock_whatever_the_umask(tmp_path, umask):
    path = tmp_path / 'a' / 'b' / 'entra' / 'token_cache.json'
    old = os.umask(umask)
    try:
        TokenCacheStore(str(path)).update(lambda current: user_document(1))
    finally:
        os.umask(old)
    assert mode_of(path.parent) == 0o700
    assert mode_of(path.parent.parent) == 0o700  # parents created here are private too
    assert mode_of(path) == 0o600
    assert mode_of(str(path) + '.lock') == 0o600
    assert json.loads(path.read_text()) == user_document(1)


def test_existing_parent_directories_are_not_chmodded(tmp_path):
    parent = tmp_path / 'home-ansible'
    parent.mkdir()
    os.chmod(parent, 0o755)
    path = parent / 'entra' / 'token_cache.json'
    TokenCacheStore(str(path)).update(lambda current: user_document(1))
    assert mode_of(parent) == 0o755
    assert mode_of(path.parent) == 0o700


def test_load_of_missing_file_is_empty_and_creates_nothing(store, cache_path):
    assert store.load() == ({}, None)
    assert not os.path.exists(os.path.dirname(cache_path))
    assert store.stat_fingerprint() is None


def test_round_trip_and_fingerprints(store, cache_path):
    written = store.update(lambda current: user_document(1))
    data, fingerprint = store.load()
    assert data == written == user_document(1)
    assert fingerprint == store.stat_fingerprint()
    store.update(lambda current: combine(current, user_document(2)))
    assert store.stat_fingerprint() != fingerprint
    assert account_usernames(store.load()[0]) == {'user1@contoso.com', 'user2@contoso.com'}


def test_update_without_change_does_not_rewrite(store):
    store.update(lambda current: user_document(1))
    fingerprint = store.stat_fingerprint()
    assert store.update(lambda current: current) == user_document(1)
    assert store.update(lambda current: None) == user_document(1)  # in-place mutators may return None
    assert store.stat_fingerprint() == fingerprint


def test_mutator_gets_a_private_copy_and_in_place_changes_are_written(store):
    store.update(lambda current: user_document(1))

    def drop_access_tokens(current):
        current['AccessToken'].clear()

    assert store.update(drop_access_tokens)['AccessToken'] == {}
    assert store.load()[0]['AccessToken'] == {}


def test_failing_mutator_writes_nothing_and_releases_the_lock(store):
    store.update(lambda current: user_document(1))
    fingerprint = store.stat_fingerprint()

    def broken(current):
        current['Account'].clear()
        raise KeyError('boom')

    with pytest.raises(KeyError):
        store.update(broken)
    assert store.stat_fingerprint() == fingerprint
    quick = TokenCacheStore(store.path, lock_timeout=0.2)
    assert quick.update(lambda current: current) == user_document(1)


def test_mutator_must_return_a_dict(store):
    with pytest.raises(TypeError):
        store.update(lambda current: ['not', 'a', 'dict'])


def test_symlinked_cache_directory_is_accepted(tmp_path):
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    os.symlink(real, tmp_path / 'link')
    store = TokenCacheStore(str(tmp_path / 'link' / 'token_cache.json'))
    store.update(lambda current: user_document(1))
    assert json.loads((real / 'token_cache.json').read_text()) == user_document(1)


def test_module_imports_no_msal():
    code = ('import sys; import ansible_collections.identity.entra.plugins.plugin_utils._cache_store; '
            'bad = [m for m in sys.modules if m == "msal" or m.startswith("msal.")]; '
            'assert not bad, bad')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, '-c', code], check=True, env=env, timeout=30)


# -- privacy refusals ---------------------------------------------------------------


@pytest.mark.parametrize('mode', [0o644, 0o666, 0o640, 0o604, 0o620, 0o660])
def test_file_with_group_or_world_bits_is_refused(store, cache_path, mode):
    store.update(lambda current: user_document(1))
    os.chmod(cache_path, mode)
    for operation in (store.load, lambda: store.update(lambda current: {})):
        with pytest.raises(CacheStoreError, match='chmod 600 %s' % cache_path) as caught:
            operation()
        assert '%04o' % mode in str(caught.value)
        assert '\n' not in str(caught.value)
    assert mode_of(cache_path) == mode  # not silently "fixed"
    assert json.loads(open(cache_path).read()) == user_document(1)


@pytest.mark.parametrize('mode', [0o600, 0o400])
def test_private_file_modes_are_accepted(store, cache_path, mode):
    store.update(lambda current: user_document(1))
    os.chmod(cache_path, mode)
    assert store.load()[0] == user_document(1)


@pytest.mark.parametrize('mode', [0o770, 0o777, 0o1777, 0o720, 0o702])
def test_directory_writable_by_group_or_others_is_refused(store, cache_path, mode):
    store.update(lambda current: user_document(1))
    os.chmod(os.path.dirname(cache_path), mode)
    for operation in (store.load, lambda: store.update(lambda current: {}),
                      lambda: identity_lock(cache_path, 'alice', 1).__enter__()):
        with pytest.raises(CacheStoreError, match='chmod go-w'):
            operation()


@pytest.mark.parametrize('mode', [0o750, 0o755, 0o711])
def test_directory_readable_by_others_is_accepted(store, cache_path, mode):
    store.update(lambda current: user_document(1))
    os.chmod(os.path.dirname(cache_path), mode)
    assert store.load()[0] == user_document(1)


def test_missing_file_in_unsafe_directory_is_refused(tmp_path):
    directory = tmp_path / 'shared'
    directory.mkdir()
    os.chmod(directory, 0o777)
    with pytest.raises(CacheStoreError, match='writable by group or others'):
        TokenCacheStore(str(directory / 'token_cache.json')).load()


@pytest.mark.parametrize('target_exists', [True, False])
def test_symlink_at_cache_path_is_refused_and_not_followed(store, cache_path, tmp_path, target_exists):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    target = tmp_path / 'elsewhere.json'
    if target_exists:
        write_raw(target, json.dumps(user_document(9)).encode())
    os.symlink(target, cache_path)
    with pytest.raises(CacheStoreError, match='symbolic link'):
        store.load()
    with pytest.raises(CacheStoreError, match='symbolic link'):
        store.update(lambda current: user_document(1))
    assert os.path.islink(cache_path)
    if target_exists:
        assert json.loads(target.read_text()) == user_document(9)
    else:
        assert not target.exists()


def test_symlink_at_lock_path_is_refused(store, cache_path, tmp_path):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    target = tmp_path / 'victim'
    os.symlink(target, cache_path + '.lock')
    with pytest.raises(CacheStoreError, match='symbolic link'):
        store.update(lambda current: user_document(1))
    assert not target.exists()


def test_directory_at_cache_path_is_refused(store, cache_path):
    os.makedirs(cache_path, mode=0o700)
    with pytest.raises(CacheStoreError, match='is a directory'):
        store.load()
    with pytest.raises(CacheStoreError, match='is a directory'):
        store.update(lambda current: user_document(1))
    assert os.path.isdir(cache_path)


def test_fifo_at_cache_path_is_refused_without_hanging(store, cache_path):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    os.mkfifo(cache_path, 0o600)
    with pytest.raises(CacheStoreError, match='not a regular file'):
        store.load()


def test_parent_that_is_a_file_gives_a_clear_error(tmp_path):
    (tmp_path / 'plainfile').write_text('x')
    store = TokenCacheStore(str(tmp_path / 'plainfile' / 'token_cache.json'))
    with pytest.raises(CacheStoreError, match='not a directory'):
        store.load()
    with pytest.raises(CacheStoreError, match='not a directory'):
        store.update(lambda current: {})


def test_empty_path_is_refused():
    with pytest.raises(CacheStoreError, match='empty'):
        TokenCacheStore('')


@needs_root
def test_file_owned_by_another_user_is_refused(store, cache_path):
    store.update(lambda current: user_document(1))
    os.chown(cache_path, NOBODY, NOBODY)
    with pytest.raises(CacheStoreError, match='owned by uid %d' % NOBODY):
        store.load()
    with pytest.raises(CacheStoreError, match='owned by uid %d' % NOBODY):
        store.update(lambda current: {})
    assert os.stat(cache_path).st_uid == NOBODY


@needs_root
def test_directory_owned_by_another_user_is_refused(store, cache_path):
    store.update(lambda current: user_document(1))
    os.chown(os.path.dirname(cache_path), NOBODY, NOBODY)
    with pytest.raises(CacheStoreError, match='owned by uid %d' % NOBODY):
        store.load()
    with pytest.raises(CacheStoreError, match='owned by uid %d' % NOBODY):
        store.update(lambda current: {})


@needs_root
def test_lock_file_owned_by_another_user_is_refused(store, cache_path):
    store.update(lambda current: user_document(1))
    os.chown(cache_path + '.lock', NOBODY, NOBODY)
    with pytest.raises(CacheStoreError, match='owned by uid'):
        store.update(lambda current: {})


def test_lock_file_with_loose_mode_is_tightened(store, cache_path):
    store.update(lambda current: user_document(1))
    os.chmod(cache_path + '.lock', 0o666)
    store.update(lambda current: combine(current, user_document(2)))
    assert mode_of(cache_path + '.lock') == 0o600


def _load_usernames(path):
    return sorted(account_usernames(TokenCacheStore(path).load()[0]))


def _update_add_user(path, n):
    return sorted(account_usernames(
        TokenCacheStore(path, lock_timeout=1).update(lambda current: combine(current, user_document(n)))))


@pytest.mark.parametrize('lock_exists', [True, False])
def test_read_only_directory_reads_but_refuses_writes(nobody_tree, lock_exists):
    directory = os.path.join(nobody_tree, 'entra')
    path = os.path.join(directory, 'token_cache.json')
    os.mkdir(directory, 0o700)
    write_raw(path, json.dumps(user_document(1)).encode())
    if lock_exists:
        write_raw(path + '.lock', b'')
    chown_tree(nobody_tree)
    os.chmod(directory, 0o500)
    assert run_unprivileged(_load_usernames, path) == ('ok', ['user1@contoso.com'])
    kind, message = run_unprivileged(_update_add_user, path, 2)
    assert kind == 'CacheStoreError', message
    assert 'writable' in message and directory in message
    assert json.loads(open(path).read()) == user_document(1)


def test_unreadable_file_gives_a_clear_error(nobody_tree):
    path = os.path.join(nobody_tree, 'token_cache.json')
    write_raw(path, json.dumps(user_document(1)).encode(), mode=0o000)
    chown_tree(nobody_tree)
    kind, message = run_unprivileged(_load_usernames, path)
    assert kind == 'CacheStoreError', message
    assert 'cannot read token cache' in message and 'chmod 600' in message


# -- recovery of unusable files -----------------------------------------------------


CORRUPT_CONTENTS = {
    'empty': b'',
    'whitespace': b'  \n',
    'truncated': json.dumps(user_document(1)).encode()[:150],
    'binary': bytes(range(256)) * 4,
    'array': b'[1, 2, 3]',
    'null': b'null',
    'string': b'"AccessToken"',
    'section not an object': b'{"AccessToken": []}',
    'entry not an object': b'{"RefreshToken": {"k": "v"}}',
    'deeply nested': b'[' * 200000,
}


@pytest.mark.parametrize('content', list(CORRUPT_CONTENTS.values()), ids=list(CORRUPT_CONTENTS))
def test_unusable_file_is_moved_aside_with_a_warning(store, cache_path, warnings_seen, content):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, content, mode=0o600)
    assert store.load() == ({}, None)
    directory = os.path.dirname(cache_path)
    kept = quarantined(directory)
    assert len(kept) == 1
    kept_path = os.path.join(directory, kept[0])
    assert open(kept_path, 'rb').read() == content
    assert mode_of(kept_path) == 0o600
    assert not os.path.exists(cache_path)
    assert len(warnings_seen) == 1
    assert cache_path in warnings_seen[0] and kept_path in warnings_seen[0]
    assert '\n' not in warnings_seen[0]
    # and the cache goes on working
    store.update(lambda current: user_document(2))
    assert store.load()[0] == user_document(2)
    assert len(warnings_seen) == 1


def test_byte_order_mark_is_tolerated(store, cache_path, warnings_seen):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, b'\xef\xbb\xbf' + json.dumps(user_document(1)).encode())
    assert store.load()[0] == user_document(1)
    assert warnings_seen == []


def test_warning_never_quotes_the_content(store, cache_path, warnings_seen):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, b'{"RefreshToken": {"k": {"secret": "CANARY-SECRET-VALUE"}')
    store.load()
    assert warnings_seen and 'CANARY' not in warnings_seen[0]


def test_update_on_a_corrupt_file_quarantines_and_writes(store, cache_path, warnings_seen):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, b'{"AccessToken": {')
    assert store.update(lambda current: combine(current, user_document(3))) == user_document(3)
    assert len(quarantined(os.path.dirname(cache_path))) == 1
    assert len(warnings_seen) == 1


def test_repeated_corruption_keeps_every_quarantined_copy(store, cache_path):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    for number in range(3):
        write_raw(cache_path, b'garbage %d' % number)
        store.load()
    kept = quarantined(os.path.dirname(cache_path))
    assert len(kept) == 3
    contents = {open(os.path.join(os.path.dirname(cache_path), name), 'rb').read() for name in kept}
    assert contents == {b'garbage 0', b'garbage 1', b'garbage 2'}


def test_file_repaired_by_another_process_is_not_quarantined(store, cache_path, warnings_seen, monkeypatch):
    """The lock-free read saw a corrupt file; by the time we hold the lock it was replaced."""
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, b'{"trunc')
    original_lock = store._cache_lock

    @contextlib.contextmanager
    def lock_after_another_writer():
        TokenCacheStore(cache_path, warn=lambda message: None).update(lambda current: user_document(7))
        with original_lock() as waited:
            yield waited

    monkeypatch.setattr(store, '_cache_lock', lock_after_another_writer)
    data, fingerprint = store.load()
    assert data == user_document(7)
    assert fingerprint is not None
    # the other writer quarantined the original garbage once; our load did not move the good file
    assert json.loads(open(cache_path).read()) == user_document(7)
    assert warnings_seen == []


def test_very_large_file_is_refused_not_read_or_moved(store, cache_path):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    with open(cache_path, 'wb') as handle:
        handle.truncate(MAX_CACHE_BYTES + 1)  # sparse: cheap
    os.chmod(cache_path, 0o600)
    with pytest.raises(CacheStoreError, match='MiB limit'):
        store.load()
    with pytest.raises(CacheStoreError, match='MiB limit'):
        store.update(lambda current: {})
    assert os.path.getsize(cache_path) == MAX_CACHE_BYTES + 1
    assert quarantined(os.path.dirname(cache_path)) == []


def test_stale_temp_files_are_removed_and_fresh_or_foreign_ones_kept(store, cache_path):
    store.update(lambda current: user_document(1))
    directory = os.path.dirname(cache_path)
    old = os.path.join(directory, '.token_cache.json.tmp-4242-0123456789abcdef')
    fresh = os.path.join(directory, '.token_cache.json.tmp-4243-fedcba9876543210')
    foreign = os.path.join(directory, '.token_cache.json.tmp-notours')
    for name in (old, fresh, foreign):
        write_raw(name, b'partial')
    an_hour_ago = time.time() - 3600
    for name in (old, foreign):
        os.utime(name, (an_hour_ago, an_hour_ago))
    store.update(lambda current: combine(current, user_document(2)))
    assert not os.path.exists(old)
    assert os.path.exists(fresh) and os.path.exists(foreign)


# -- merge_changes --------------------------------------------------------------------


def test_merge_adds_entries_and_keeps_untouched_ones():
    before = user_document(1)
    after = combine(before, user_document(2))
    current = combine(user_document(1), user_document(3))  # someone else added user 3
    merged = merge_changes(before, after, current)
    assert merged == combine(user_document(1), user_document(2), user_document(3))


def test_merge_sets_modified_entries():
    before = user_document(1)
    after = user_document(1, access_secret='new-at')
    merged = merge_changes(before, after, combine(before, user_document(2)))
    assert merged == combine(user_document(1, access_secret='new-at'), user_document(2))


def test_merge_removes_an_entry_only_if_unchanged_on_disk():
    before = user_document(1)
    after = copy.deepcopy(before)
    after['AccessToken'].clear()  # msal dropped the expired access token
    merged = merge_changes(before, after, copy.deepcopy(before))
    assert merged['AccessToken'] == {}
    assert merged['RefreshToken'] == before['RefreshToken']

    refreshed_elsewhere = user_document(1, access_secret='fresh-at')
    merged = merge_changes(before, after, refreshed_elsewhere)
    assert merged['AccessToken'] == refreshed_elsewhere['AccessToken']


def test_merge_keeps_a_refresh_token_rotated_by_another_process():
    before = user_document(1, refresh_secret='rt1')
    rotated = user_document(1, refresh_secret='rt2')  # another process rotated it
    after = combine(before, user_document(2))  # we only added another user
    merged = merge_changes(before, after, rotated)
    assert merged == combine(rotated, user_document(2))
    assert 'rt1' not in json.dumps(merged)


def test_merge_handles_missing_and_new_sections_and_removed_sections():
    assert merge_changes({}, user_document(1), {}) == user_document(1)
    before = user_document(1)
    after = {section: entries for section, entries in before.items() if section != 'IdToken'}
    merged = merge_changes(before, after, copy.deepcopy(before))
    assert merged['IdToken'] == {}
    assert merge_changes(before, before, {}) == {}  # nothing changed: disk content wins


def test_merge_treats_top_level_scalars_as_entries():
    assert merge_changes({'v': 1}, {'v': 2}, {'v': 1}) == {'v': 2}
    assert merge_changes({'v': 1}, {}, {'v': 1}) == {}
    assert merge_changes({'v': 1}, {}, {'v': 3}) == {'v': 3}


def test_merge_does_not_modify_or_share_its_inputs():
    before = user_document(1)
    after = combine(user_document(1, access_secret='x'), user_document(2))
    current = user_document(3)
    snapshots = copy.deepcopy((before, after, current))
    merged = merge_changes(before, after, current)
    assert (before, after, current) == snapshots
    for entries in merged.values():
        for entry in entries.values():
            entry['mutated'] = True
    assert (before, after, current) == snapshots


# -- processes -------------------------------------------------------------------------


def _add_user_process(path, number, barrier):
    store = TokenCacheStore(path, lock_timeout=20, warn=lambda message: os._exit(3))
    barrier.wait(10)
    before = store.load()[0]
    after = combine(before, user_document(number))
    store.update(lambda current: merge_changes(before, after, current))


def _start_all(target, arguments_list):
    processes = [FORK.Process(target=target, args=arguments) for arguments in arguments_list]
    for process in processes:
        process.start()
    return processes


def _join_all(processes, timeout=30):
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    return [process.exitcode for process in processes]


def test_32_processes_adding_distinct_users_lose_nothing(tmp_path):
    for round_number in range(3):
        path = str(tmp_path / ('round%d' % round_number) / 'token_cache.json')
        barrier = FORK.Barrier(33)
        processes = _start_all(_add_user_process, [(path, n, barrier) for n in range(32)])
        barrier.wait(10)
        # a lock-free reader running meanwhile never sees a partial file
        reader_problems = []
        reader = TokenCacheStore(path, warn=reader_problems.append)
        while any(process.is_alive() for process in processes):
            reader.load()
        assert _join_all(processes) == [0] * 32
        assert reader_problems == []
        with open(path) as handle:
            document = json.load(handle)
        assert account_usernames(document) == {'user%d@contoso.com' % n for n in range(32)}
        assert len(document['RefreshToken']) == 32 and len(document['AccessToken']) == 32
        assert temp_files(os.path.dirname(path)) == []


def _writer_until_killed(path, write_fd, iteration):
    store = TokenCacheStore(path, lock_timeout=10, warn=lambda message: os._exit(3))
    filler = 'f' * 300000  # a large document makes the write window wide
    number = 0
    while True:
        key = 'i%d-n%d' % (iteration, number)

        def add(current, key=key, number=number):
            current.setdefault('AccessToken', {})[key] = {'secret': 'committed'}
            current['Filler'] = {'blob': {'n': str(number), 'data': filler}}

        store.update(add)
        os.write(write_fd, (key + '\n').encode())  # reported only once committed
        number += 1


def test_writer_sigkilled_at_random_points_never_corrupts_the_cache(tmp_path):
    path = str(tmp_path / 'entra' / 'token_cache.json')
    store = TokenCacheStore(path, lock_timeout=2, warn=pytest.fail)
    store.update(lambda current: user_document(0))
    committed = set()
    rng = random.Random(5)
    for iteration in range(50):
        read_fd, write_fd = os.pipe()
        process = FORK.Process(target=_writer_until_killed, args=(path, write_fd, iteration))
        process.start()
        os.close(write_fd)
        time.sleep(rng.uniform(0.001, 0.04))
        os.kill(process.pid, signal.SIGKILL)
        process.join(5)
        assert process.exitcode == -signal.SIGKILL
        with os.fdopen(read_fd) as pipe:
            committed.update(pipe.read().split())
        with open(path) as handle:
            document = json.load(handle)  # always parses: never partial
        assert committed <= set(document['AccessToken'])
        assert account_usernames(document) == {'user0@contoso.com'}
    assert len(committed) >= 50  # the writers really did commit along the way
    directory = os.path.dirname(path)
    assert quarantined(directory) == []
    # the lock is never stale after a killed holder (store's lock_timeout is 2 s)
    store.update(lambda current: combine(current, user_document(1)))
    # temp files of killed writers are cleaned up once old
    leftovers = temp_files(directory)
    for name in leftovers:
        os.utime(os.path.join(directory, name), (time.time() - 3600,) * 2)
    store.update(lambda current: combine(current, user_document(2)))
    assert temp_files(directory) == []


def _hold_lock_until_killed(path, ready):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    ready.set()
    time.sleep(60)


def test_killed_lock_holder_does_not_block_the_next_writer(store, cache_path):
    store.update(lambda current: user_document(1))
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_lock_until_killed, args=(cache_path + '.lock', ready))
    holder.start()
    assert ready.wait(10)
    with pytest.raises(CacheStoreError, match='timed out'):
        TokenCacheStore(cache_path, lock_timeout=0.2).update(lambda current: {})
    holder.kill()
    holder.join(5)
    assert TokenCacheStore(cache_path, lock_timeout=1).update(
        lambda current: combine(current, user_document(2))) == combine(user_document(1), user_document(2))
    assert os.path.exists(cache_path + '.lock')


def test_cache_lock_timeout_is_bounded_and_load_needs_no_lock(store, cache_path):
    store.update(lambda current: user_document(1))
    quick = TokenCacheStore(cache_path, lock_timeout=0.3)
    with held_flock(cache_path + '.lock'):
        start = time.monotonic()
        with pytest.raises(CacheStoreError) as caught:
            quick.update(lambda current: {})
        elapsed = time.monotonic() - start
        assert 0.25 <= elapsed < 2
        assert 'timed out after 0.3s' in str(caught.value) and cache_path + '.lock' in str(caught.value)
        # load takes no lock: with the lock held it still answers (it would time out otherwise)
        assert quick.load()[0] == user_document(1)


# -- identity_lock (single flight) ------------------------------------------------------------


def _hold_identity(path, identity, hold_seconds, ready, released_at):
    with identity_lock(path, identity, 5):
        ready.set()
        time.sleep(hold_seconds)
        released_at.value = time.time()


def _holder(path, identity, hold_seconds):
    ready = FORK.Event()
    released_at = FORK.Value('d', 0.0)
    process = FORK.Process(target=_hold_identity, args=(path, identity, hold_seconds, ready, released_at))
    process.start()
    assert ready.wait(10)
    return process, released_at


def test_identity_lock_serialises_the_same_identity(cache_path):
    process, released_at = _holder(cache_path, 'alice@contoso.com|%s|%s' % (CLIENT, TENANT), 0.4)
    with identity_lock(cache_path, 'alice@contoso.com|%s|%s' % (CLIENT, TENANT), 5) as waited:
        entered_at = time.time()
    process.join(5)
    assert waited is True
    assert released_at.value > 0 and entered_at >= released_at.value


def test_identity_lock_does_not_block_other_identities(cache_path):
    process, released_at = _holder(cache_path, 'alice', 30)
    try:
        with identity_lock(cache_path, 'bob', 5) as waited:
            assert released_at.value == 0.0  # alice is still held
        assert waited is False
    finally:
        process.kill()
        process.join(5)


def test_identity_lock_times_out_with_a_clear_error(cache_path):
    process = _holder(cache_path, 'alice', 30)[0]
    try:
        start = time.monotonic()
        with pytest.raises(CacheStoreError, match='timed out after 0.2s'):
            with identity_lock(cache_path, 'alice', 0.2):
                pass
        assert 0.15 <= time.monotonic() - start < 5
    finally:
        process.kill()
        process.join(5)
    with identity_lock(cache_path, 'alice', 1) as waited:  # a killed holder leaves no stale lock
        assert waited is False


def test_identity_lock_files_are_private_persistent_and_anonymous(cache_path):
    with identity_lock(cache_path, 'alice@contoso.com', 1) as waited:
        assert waited is False
    lock_dir = os.path.join(os.path.dirname(cache_path), _cache_store.IDENTITY_LOCK_DIR)
    assert _cache_store.IDENTITY_LOCK_DIR == '.locks'
    assert mode_of(os.path.dirname(cache_path)) == 0o700
    assert mode_of(lock_dir) == 0o700
    names = os.listdir(lock_dir)
    assert len(names) == 1 and len(names[0]) == len('0' * 32 + '.lock')
    assert 'alice' not in names[0]
    assert mode_of(os.path.join(lock_dir, names[0])) == 0o600
    with identity_lock(cache_path, 'bob@contoso.com', 1):
        pass
    assert len(os.listdir(lock_dir)) == 2


def _single_flight_process(path, counter_path, barrier):
    identity = 'alice@contoso.com|%s|%s' % (CLIENT, TENANT)
    token_key = next(iter(user_document(1)['AccessToken']))
    store = TokenCacheStore(path, lock_timeout=20)
    barrier.wait(10)
    document = store.load()[0]
    if token_key in document.get('AccessToken', {}):
        return
    with identity_lock(path, identity, 20):
        document = store.load()[0]  # re-read: another process may have just stored it
        if token_key in document.get('AccessToken', {}):
            return
        with open(counter_path, 'a') as counter:  # "talk to Entra"
            counter.write('request\n')
        time.sleep(0.2)
        after = combine(document, user_document(1))
        store.update(lambda current: merge_changes(document, after, current))


def test_single_flight_pattern_makes_one_request_for_many_processes(tmp_path):
    path = str(tmp_path / 'entra' / 'token_cache.json')
    counter_path = str(tmp_path / 'requests.log')
    barrier = FORK.Barrier(16)
    processes = _start_all(_single_flight_process, [(path, counter_path, barrier)] * 16)
    assert _join_all(processes) == [0] * 16
    with open(counter_path) as counter:
        assert counter.read().count('request') == 1
    assert TokenCacheStore(path).load()[0] == user_document(1)
