# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TokenCacheStore, one private JSON file: real files, real locks, real processes.

Nothing here depends on machine speed: processes are synchronised by barriers and pipes, and
the only time bounds are lower bounds the code guarantees or generous upper bounds.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import select
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_store
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import merge_changes
from ansible_collections.identity.entra.plugins.plugin_utils._cache_file import MAX_CACHE_BYTES
from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import (
    FORK,
    NOBODY,
    account_usernames,
    chown_tree,
    combine,
    held_flock,
    make_removable,
    mode_of,
    needs_root,
    run_unprivileged,
    shared_tree,
    user_document,
    write_raw,
)


def quarantined(directory, name: str = 'token_cache.json') -> list:
    return sorted(p for p in os.listdir(directory) if p.startswith(name + '.corrupt-'))


def temp_files(directory, name: str = 'token_cache.json') -> list:
    return sorted(p for p in os.listdir(directory) if p.startswith('.%s.tmp-' % name))


@pytest.fixture
def cache_path(tmp_path):
    path = str(tmp_path / 'entra' / 'token_cache.json')
    yield path
    make_removable(str(tmp_path))  # whatever a test chmodded, pytest can remove


@pytest.fixture
def warnings_seen():
    return []


@pytest.fixture
def store(cache_path, warnings_seen):
    return TokenCacheStore(cache_path, lock_timeout=5, warn=warnings_seen.append)


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


def test_empty_path_is_refused():
    with pytest.raises(CacheStoreError, match='empty'):
        TokenCacheStore('')


def test_load_of_missing_file_is_empty_and_creates_nothing(store, cache_path):
    assert store.load() == ({}, None)
    assert not os.path.exists(os.path.dirname(cache_path))
    assert store.stat_fingerprint() is None


def test_round_trip_and_fingerprints(store):
    written = store.update(lambda current: user_document(1))
    data, fingerprint = store.load()
    assert data == written == user_document(1)
    assert fingerprint == store.stat_fingerprint()
    store.update(lambda current: combine(current, user_document(2)))
    assert store.stat_fingerprint() != fingerprint
    assert account_usernames(store.load()[0]) == {'user1@contoso.com', 'user2@contoso.com'}


def test_every_write_is_a_new_file_so_equal_size_and_mtime_still_change_the_fingerprint(store, cache_path):
    store.update(lambda current: {'v': 'a'})
    first = store.stat_fingerprint()
    stamp = os.stat(cache_path).st_mtime_ns
    store.update(lambda current: {'v': 'b'})  # same size
    os.utime(cache_path, ns=(stamp, stamp))  # same mtime
    assert store.stat_fingerprint() != first


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
    quick = TokenCacheStore(store.path, lock_timeout=0)  # would fail at once if the lock were still held
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
            'bad = [m for m in sys.modules if m.split(".")[0] in ("msal", "requests")]; '
            'assert not bad, bad')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, '-c', code], check=True, env=env, timeout=60)


# -- atomic writes --------------------------------------------------------------------


def test_a_failed_replace_leaves_the_old_file_and_no_temp_file(store, cache_path, monkeypatch):
    store.update(lambda current: user_document(1))

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_cache_store.os, 'replace', disk_full)
    with pytest.raises(CacheStoreError, match='cannot write token cache %s: No space left' % cache_path):
        store.update(lambda current: combine(current, user_document(2)))
    monkeypatch.undo()
    assert json.loads(open(cache_path).read()) == user_document(1)
    assert temp_files(os.path.dirname(cache_path)) == []


def test_temp_files_are_private_and_exclusive(store, cache_path, monkeypatch):
    """The new version is written to a 0600 file created with O_EXCL, never to the path itself."""
    store.update(lambda current: user_document(1))
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.basename(src), mode_of(src), json.loads(open(src).read()) == user_document(2)))
        assert json.loads(open(dst).read()) == user_document(1)  # the old version is in place until the rename
        real_replace(src, dst)

    monkeypatch.setattr(_cache_store.os, 'replace', spy)
    store.update(lambda current: user_document(2))
    assert len(seen) == 1
    name, mode, complete = seen[0]
    assert name.startswith('.token_cache.json.tmp-%d-' % os.getpid()) and mode == 0o600 and complete


def syncs_of(monkeypatch) -> list:
    """What reaches the disk: ('data', path) for the file's content before the rename, ('directory', path) after it."""
    seen = []
    real_fsync = os.fsync

    def data(fd):
        seen.append(('data', os.readlink('/proc/self/fd/%d' % fd) if os.path.isdir('/proc/self/fd') else fd))

    def directory(fd):
        seen.append(('directory', os.readlink('/proc/self/fd/%d' % fd) if os.path.isdir('/proc/self/fd') else fd))
        real_fsync(fd)

    monkeypatch.setattr(_cache_store, 'SYNC_DATA', data)
    monkeypatch.setattr(_cache_store.os, 'fsync', directory)  # fsync_directory's (and nothing else's)
    return seen


def test_a_write_reaches_the_disk_before_and_after_the_rename(store, cache_path, monkeypatch):
    seen = syncs_of(monkeypatch)
    store.update(lambda current: user_document(1))
    assert [kind for kind, _path in seen] == ['data', 'directory']
    assert os.path.basename(seen[0][1]).startswith('.token_cache.json.tmp-') and seen[1][1] == os.path.dirname(cache_path)


def test_a_file_that_is_only_a_saved_request_is_not_synced(store, cache_path, monkeypatch):
    """durable=False (the public discovery documents): still atomic, but no sync on the sign-in's path."""
    seen = syncs_of(monkeypatch)
    store.update(lambda current: user_document(1), durable=False)
    assert seen == [] and json.loads(open(cache_path).read()) == user_document(1)
    assert temp_files(os.path.dirname(cache_path)) == []


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
    directory = os.path.dirname(cache_path)
    os.chmod(directory, mode)
    for operation in (store.load, lambda: store.update(lambda current: {}), store.check_writable):
        with pytest.raises(CacheStoreError, match='writable by group or others .*chmod 700 %s' % directory):
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
    for operation in (lambda: store.update(lambda current: user_document(1)), store.check_writable):
        with pytest.raises(CacheStoreError, match='symbolic link'):
            operation()
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
        store.update(lambda current: user_document(1))


def test_dangling_symlink_directory_says_what_to_create(tmp_path):
    os.symlink(tmp_path / 'moved-away', tmp_path / 'entra')
    store = TokenCacheStore(str(tmp_path / 'entra' / 'token_cache.json'))
    for operation in (store.load, lambda: store.update(lambda current: {})):
        with pytest.raises(CacheStoreError, match='symbolic link to %s, which does not exist; create that directory'
                           % (tmp_path / 'moved-away')) as caught:
            operation()
        assert 'retry' not in str(caught.value)
    assert not (tmp_path / 'moved-away').exists()


@needs_root
def test_file_owned_by_another_user_is_refused(store, cache_path):
    store.update(lambda current: user_document(1))
    os.chown(cache_path, NOBODY, NOBODY)
    with pytest.raises(CacheStoreError, match='owned by uid %d' % NOBODY):
        store.load()


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


def _check_writable(path):
    TokenCacheStore(path, lock_timeout=1).check_writable()
    return 'writable'


@pytest.mark.parametrize('lock_exists', [True, False])
def test_read_only_directory_reads_but_refuses_writes(lock_exists):
    with shared_tree() as base:
        directory = os.path.join(base, 'entra')
        path = os.path.join(directory, 'token_cache.json')
        os.mkdir(directory, 0o700)
        write_raw(path, json.dumps(user_document(1)).encode())
        if lock_exists:
            write_raw(path + '.lock', b'')
        chown_tree(base)
        os.chmod(directory, 0o500)
        assert run_unprivileged(_load_usernames, path) == ('ok', ['user1@contoso.com'])
        for operation in ((_update_add_user, path, 2), (_check_writable, path)):
            kind, message = run_unprivileged(*operation)
            assert kind == 'CacheStoreError', message
            assert 'writable' in message and directory in message
        assert json.loads(open(path).read()) == user_document(1)


def test_unreadable_file_gives_a_clear_error():
    with shared_tree() as base:
        path = os.path.join(base, 'token_cache.json')
        write_raw(path, json.dumps(user_document(1)).encode(), mode=0o000)
        chown_tree(base)
        kind, message = run_unprivileged(_load_usernames, path)
        assert kind == 'CacheStoreError', message
        assert 'cannot read token cache' in message and 'chmod 600' in message


def test_directory_with_mode_0600_is_told_to_chmod_700_not_600():
    with shared_tree() as base:
        directory = os.path.join(base, 'entra')
        os.mkdir(directory, 0o700)
        write_raw(os.path.join(directory, 'token_cache.json'), json.dumps(user_document(1)).encode())
        chown_tree(base)
        os.chmod(directory, 0o600)
        kind, message = run_unprivileged(_load_usernames, os.path.join(directory, 'token_cache.json'))
        assert kind == 'CacheStoreError', message
        assert 'chmod 700 %s' % directory in message and 'chmod 600' not in message


# -- recovery of unusable files -----------------------------------------------------


CORRUPT_CONTENTS = {
    'empty': b'',
    'whitespace': b'  \n',
    'truncated': json.dumps(user_document(1)).encode()[:150],
    'binary': bytes(range(256)) * 4,
    'latin-1': '{"Account": {"k": "J\u00fcrgen"}}'.encode('latin-1'),
    'array': b'[1, 2, 3]',
    'null': b'null',
    'string': b'"AccessToken"',
    'section not an object': b'{"AccessToken": []}',
    'section null': b'{"RefreshToken": null}',
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


def test_entries_of_the_wrong_shape_are_not_a_reason_to_quarantine(store, cache_path, warnings_seen):
    """Another tool's entries stay in the file; usable_entries skips them (see test_cache_document)."""
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    document = combine(user_document(1), {'RefreshToken': {'k': 'v'}, 'AccessToken': {'x': {'secret': 5}}})
    write_raw(cache_path, json.dumps(document).encode())
    assert store.load()[0] == document
    assert quarantined(os.path.dirname(cache_path)) == [] and warnings_seen == []


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


def test_default_warning_goes_to_python_warnings(cache_path):
    os.makedirs(os.path.dirname(cache_path), mode=0o700)
    write_raw(cache_path, b'garbage')
    with pytest.warns(RuntimeWarning, match='moved it to'):
        TokenCacheStore(cache_path).load()


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
    mine = os.getpid()  # a live writer: only the age limit removes its files
    old = os.path.join(directory, '.token_cache.json.tmp-%d-0123456789abcdef' % mine)
    fresh = os.path.join(directory, '.token_cache.json.tmp-%d-fedcba9876543210' % mine)
    foreign = os.path.join(directory, '.token_cache.json.tmp-notours')
    for name in (old, fresh, foreign):
        write_raw(name, b'partial')
    an_hour_ago = time.time() - 3600
    for name in (old, foreign):
        os.utime(name, (an_hour_ago, an_hour_ago))
    store.update(lambda current: combine(current, user_document(2)))
    assert not os.path.exists(old)
    assert os.path.exists(fresh) and os.path.exists(foreign)


def _exit_at_once():
    os._exit(0)


def test_temp_files_of_a_dead_writer_go_after_a_few_seconds_not_minutes(store, cache_path):
    store.update(lambda current: user_document(1))
    directory = os.path.dirname(cache_path)
    child = FORK.Process(target=_exit_at_once)
    child.start()
    child.join(30)
    dead_pid = child.pid  # exited and reaped: os.kill(pid, 0) fails
    dead = os.path.join(directory, '.token_cache.json.tmp-%d-0123456789abcdef' % dead_pid)
    just_written = os.path.join(directory, '.token_cache.json.tmp-%d-fedcba9876543210' % dead_pid)
    alive = os.path.join(directory, '.token_cache.json.tmp-%d-00000000000000aa' % os.getpid())
    for name in (dead, just_written, alive):
        write_raw(name, b'{"RefreshToken": ')
    past = time.time() - (_cache_store.DEAD_WRITER_SECONDS + 5)
    for name in (dead, alive):
        os.utime(name, (past, past))
    store.update(lambda current: combine(current, user_document(2)))
    assert not os.path.exists(dead)
    assert os.path.exists(just_written)  # a writer in another PID namespace gets its grace period
    assert os.path.exists(alive)


# -- check_writable --------------------------------------------------------------------


def test_check_writable_creates_the_private_directory_and_lock_but_no_cache_file(store, cache_path):
    store.check_writable()
    directory = os.path.dirname(cache_path)
    assert mode_of(directory) == 0o700
    assert os.listdir(directory) == ['token_cache.json.lock']  # no probe or cache file left behind
    assert mode_of(cache_path + '.lock') == 0o600


def test_check_writable_waits_for_the_lock_and_then_says_which(store, cache_path):
    store.check_writable()
    quick = TokenCacheStore(cache_path, lock_timeout=0.1)
    with held_flock(cache_path + '.lock'):
        with pytest.raises(CacheStoreError, match='waited 0.1s for the lock %s' % (cache_path + '.lock')):
            quick.check_writable()


# -- processes -------------------------------------------------------------------------


def _add_user_process(path, number, barrier):
    store = TokenCacheStore(path, lock_timeout=60, warn=lambda message: os._exit(3))
    barrier.wait(60)
    before = store.load()[0]
    after = combine(before, user_document(number))
    store.update(lambda current: merge_changes(before, after, current))


def _start_all(target, arguments_list):
    processes = [FORK.Process(target=target, args=arguments) for arguments in arguments_list]
    for process in processes:
        process.start()
    return processes


def _join_all(processes, timeout=120):
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    return [process.exitcode for process in processes]


def test_32_processes_adding_distinct_users_lose_nothing(tmp_path):
    for round_number in range(2):
        path = str(tmp_path / ('round%d' % round_number) / 'token_cache.json')
        barrier = FORK.Barrier(33)
        processes = _start_all(_add_user_process, [(path, n, barrier) for n in range(32)])
        barrier.wait(60)
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
    store = TokenCacheStore(path, lock_timeout=60, warn=lambda message: os._exit(3))
    filler = 'f' * 300000  # a large document makes the write window wide
    number = 0
    while True:
        key = 'i%d-n%d' % (iteration, number)

        def add(current, key=key, number=number):
            current.setdefault('Committed', {})[key] = {'secret': 'committed'}
            current['Filler'] = {'blob': {'n': str(number), 'data': filler}}

        store.update(add)
        os.write(write_fd, (key + '\n').encode())  # reported only once committed
        number += 1


class CommitReports:
    """The keys a writer reported through its pipe, read as they come (counting events, not seconds)."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b''
        self.keys = []

    def wait_for(self, count, patience=120.0):
        """Block until ``count`` commits were reported; ``patience`` only catches a hung writer."""
        while len(self.keys) < count:
            ready = select.select([self.fd], [], [], patience)[0]
            assert ready, 'the writer reported no commit in %ss' % patience
            chunk = os.read(self.fd, 65536)
            assert chunk, 'the writer died before it reported %d commits' % count
            self._take(chunk)

    def drain(self):
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self._take(chunk)
        os.close(self.fd)

    def _take(self, chunk):
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b'\n')
        self.keys.extend(line.decode() for line in lines)


def test_writer_sigkilled_at_random_points_never_corrupts_the_cache(tmp_path):
    """Each writer is killed only after it reported a random number (1-3) of commits, at a random
    moment of its next write: whatever the machine's speed, every writer commits and is killed mid-work."""
    path = str(tmp_path / 'entra' / 'token_cache.json')
    store = TokenCacheStore(path, lock_timeout=60, warn=pytest.fail)
    store.update(lambda current: user_document(0))
    committed = set()
    rng = random.Random(5)
    expected = 0
    for iteration in range(30):
        read_fd, write_fd = os.pipe()
        process = FORK.Process(target=_writer_until_killed, args=(path, write_fd, iteration))
        process.start()
        os.close(write_fd)
        reports = CommitReports(read_fd)
        wanted = rng.randint(1, 3)
        reports.wait_for(wanted)
        time.sleep(rng.uniform(0, 0.01))  # where the kill lands; no assertion depends on it
        os.kill(process.pid, signal.SIGKILL)
        process.join(60)
        assert process.exitcode == -signal.SIGKILL
        reports.drain()
        expected += wanted
        committed.update(reports.keys)
        with open(path) as handle:
            document = json.load(handle)  # always parses: never partial
        assert committed <= set(document['Committed'])  # a reported commit is never lost
        assert account_usernames(document) == {'user0@contoso.com'}
    assert len(committed) >= expected
    directory = os.path.dirname(path)
    assert quarantined(directory) == []
    # the lock is never stale after a killed holder: a writer that may not wait gets it at once
    TokenCacheStore(path, lock_timeout=0).update(lambda current: combine(current, user_document(1)))
    # temp files of killed writers are cleaned up once old
    leftovers = temp_files(directory)
    for name in leftovers:
        os.utime(os.path.join(directory, name), (time.time() - 3600,) * 2)
    store.update(lambda current: combine(current, user_document(2)))
    assert temp_files(directory) == []


def _hold_lock_until_killed(path, ready):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    import fcntl  # pylint: disable=import-outside-toplevel

    fcntl.flock(fd, fcntl.LOCK_EX)
    ready.set()
    time.sleep(600)


def test_killed_lock_holder_does_not_block_the_next_writer(store, cache_path):
    store.update(lambda current: user_document(1))
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_lock_until_killed, args=(cache_path + '.lock', ready))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(CacheStoreError, match='waited 0.1s for the lock'):
            TokenCacheStore(cache_path, lock_timeout=0.1).update(lambda current: {})
    finally:
        holder.kill()
        holder.join(60)
    assert TokenCacheStore(cache_path, lock_timeout=0).update(
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
        assert 0.3 <= elapsed < 0.3 + 30  # never gives up early; the upper bound only catches a hang
        message = str(caught.value)
        assert 'waited 0.3s for the lock %s' % (cache_path + '.lock') in message
        assert 'fuser' in message and 'raise the lock timeout' not in message
        # load takes no lock: with the lock held it still answers (it would time out otherwise)
        assert quick.load()[0] == user_document(1)
