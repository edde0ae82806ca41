# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private files and directories: created 0700/0600, refused when someone else could read or swap them."""

from __future__ import annotations

import os

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _private_files as private
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import (
    NOBODY,
    chown_tree,
    mode_of,
    needs_root,
    refusal,
    run_unprivileged,
    shared_tree,
)

WHAT = 'token cache directory'


# -- ensure_private_directory ----------------------------------------------------------------


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077, 0o777])
def test_missing_directories_are_created_0700_whatever_the_umask(base, umask):
    target = base / 'a' / 'b' / 'c'
    old = os.umask(umask)
    try:
        private.ensure_private_directory(str(target), WHAT)
    finally:
        os.umask(old)
    for path in (base / 'a', base / 'a' / 'b', target):
        assert mode_of(path) == 0o700


def test_existing_directories_are_checked_not_chmodded(base):
    (base / 'open').mkdir()
    os.chmod(base / 'open', 0o755)
    private.ensure_private_directory(str(base / 'open' / 'entra'), WHAT)
    assert mode_of(base / 'open') == 0o755
    os.chmod(base / 'open' / 'entra', 0o777)
    assert 'chmod 700' in refusal(private.ensure_private_directory, str(base / 'open' / 'entra'), WHAT)
    assert mode_of(base / 'open' / 'entra') == 0o777


def test_a_directory_created_concurrently_is_accepted(base, monkeypatch):
    real_mkdir = os.mkdir

    def racing_mkdir(path, mode=0o777):
        real_mkdir(path, 0o700)  # another process got there first
        real_mkdir(path, mode)  # raises FileExistsError

    monkeypatch.setattr(private.os, 'mkdir', racing_mkdir)
    private.ensure_private_directory(str(base / 'entra'), WHAT)
    monkeypatch.undo()
    assert mode_of(base / 'entra') == 0o700


def _ensure(path):
    private.ensure_private_directory(path, WHAT)
    return 'created'


def test_a_directory_that_cannot_be_created_says_how_to_fix_it():
    with shared_tree() as tree:
        parent = os.path.join(tree, 'readonly')
        os.mkdir(parent, 0o500)
        chown_tree(tree)
        kind, message = run_unprivileged(_ensure, os.path.join(parent, 'entra', 'accounts'))
        assert kind == 'CacheStoreError', message
        assert 'cannot create %s %s: Permission denied; create it with mode 0700' % (WHAT, os.path.join(parent, 'entra')) in message
        assert os.listdir(parent) == []


# -- check_directory_writable ----------------------------------------------------------------


def test_writable_directory_passes_and_keeps_nothing(base):
    private.check_directory_writable(str(base), WHAT)
    assert os.listdir(base) == []


def _writable(path):
    private.check_directory_writable(path, WHAT)
    return 'writable'


def test_read_only_directory_is_refused_before_anything_is_sent():
    with shared_tree() as tree:
        directory = os.path.join(tree, 'entra')
        os.mkdir(directory, 0o700)
        with open(os.path.join(directory, 'accounts.lock'), 'w'):
            pass  # a lock file already there is not proof that the directory is writable
        chown_tree(tree)
        os.chmod(directory, 0o500)
        kind, message = run_unprivileged(_writable, directory)
        assert kind == 'CacheStoreError', message
        assert 'cannot write in %s %s: Permission denied' % (WHAT, directory) in message and 'cache: false' in message


# -- open_lock_file ----------------------------------------------------------------------------


def test_lock_file_is_created_private_and_kept(base):
    fd = private.open_lock_file(str(base / 'x.lock'), 'lock file')
    os.close(fd)
    assert mode_of(base / 'x.lock') == 0o600


def test_lock_file_with_loose_mode_is_tightened(base):
    (base / 'x.lock').write_text('')
    os.chmod(base / 'x.lock', 0o666)
    os.close(private.open_lock_file(str(base / 'x.lock'), 'lock file'))
    assert mode_of(base / 'x.lock') == 0o600


def test_symlink_directory_and_fifo_at_a_lock_path_are_refused(base):
    os.symlink(base / 'victim', base / 'link.lock')
    assert 'is a symbolic link, which is refused' in refusal(private.open_lock_file, str(base / 'link.lock'), 'lock file')
    assert not (base / 'victim').exists()
    (base / 'dir.lock').mkdir()
    assert 'is a directory; remove it' in refusal(private.open_lock_file, str(base / 'dir.lock'), 'lock file')
    os.mkfifo(base / 'fifo.lock', 0o600)
    assert 'is not a regular file; remove it' in refusal(private.open_lock_file, str(base / 'fifo.lock'), 'lock file')


@needs_root
def test_lock_file_owned_by_another_user_is_refused(base):
    (base / 'x.lock').write_text('')
    os.chown(base / 'x.lock', NOBODY, NOBODY)
    assert 'owned by uid %d' % NOBODY in refusal(private.open_lock_file, str(base / 'x.lock'), 'lock file')


def _open_lock(path):
    os.close(private.open_lock_file(path, 'lock file'))
    return 'opened'


def test_lock_file_in_a_read_only_directory_says_the_directory_must_be_writable():
    with shared_tree() as tree:
        directory = os.path.join(tree, 'entra')
        os.mkdir(directory, 0o700)
        chown_tree(tree)
        os.chmod(directory, 0o500)
        kind, message = run_unprivileged(_open_lock, os.path.join(directory, 'x.lock'))
        assert kind == 'CacheStoreError', message
        assert 'the directory must be writable by you' in message


def test_errors_carry_the_path():
    with pytest.raises(CacheStoreError) as caught:
        private.open_lock_file('/proc/nonexistent-dir/x.lock', 'lock file')
    assert caught.value.path == '/proc/nonexistent-dir/x.lock'
