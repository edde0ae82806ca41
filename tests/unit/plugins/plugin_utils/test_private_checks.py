# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private files and directories, checked: refused when someone else could read or swap them."""

from __future__ import annotations

import os

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _private_checks as private
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import (
    NOBODY,
    chown_tree,
    needs_root,
    refusal,
    run_unprivileged,
    shared_tree,
)

WHAT = 'token cache directory'


# -- check_private_directory ---------------------------------------------------------------


def test_missing_directory_is_not_an_error_and_is_not_created(base):
    assert private.check_private_directory(str(base / 'missing'), WHAT) is False
    assert not (base / 'missing').exists()


def test_private_directory_and_a_symlink_to_one_are_accepted(base):
    (base / 'real').mkdir(mode=0o700)
    os.symlink(base / 'real', base / 'link')
    assert private.check_private_directory(str(base / 'real'), WHAT) is True
    assert private.check_private_directory(str(base / 'link'), WHAT) is True


def test_dangling_symlink_names_its_target(base):
    os.symlink(base / 'gone', base / 'link')
    message = refusal(private.check_private_directory, str(base / 'link'), WHAT)
    assert 'symbolic link to %s, which does not exist; create that directory (mode 0700)' % (base / 'gone') in message


def test_a_file_where_the_directory_should_be_is_refused(base):
    (base / 'file').write_text('x')
    assert 'is not a directory; remove it, or point cache_path at another directory' in refusal(private.check_private_directory, str(base / 'file'), WHAT)
    assert 'a parent is not a directory' in refusal(private.check_private_directory, str(base / 'file' / 'sub'), WHAT)


@pytest.mark.parametrize('mode', [0o770, 0o777, 0o1777, 0o720, 0o702, 0o722])
def test_directory_writable_by_group_or_others_is_refused_with_the_fix(base, mode):
    directory = base / 'shared'
    directory.mkdir()
    os.chmod(directory, mode)
    message = refusal(private.check_private_directory, str(directory), WHAT)
    assert 'writable by group or others (mode %04o); run: chmod 700 %s' % (mode, directory) in message


@pytest.mark.parametrize('mode', [0o700, 0o750, 0o755, 0o711, 0o500])
def test_modes_that_keep_it_private_are_accepted(base, mode):
    directory = base / 'ok'
    directory.mkdir()
    os.chmod(directory, mode)
    assert private.check_private_directory(str(directory), WHAT) is True


@needs_root
def test_directory_owned_by_another_user_is_refused(base):
    directory = base / 'theirs'
    directory.mkdir(mode=0o700)
    os.chown(directory, NOBODY, NOBODY)
    assert 'owned by uid %d, not by the current user (uid 0)' % NOBODY in refusal(private.check_private_directory, str(directory), WHAT)


def _check(path):
    return private.check_private_directory(path, WHAT)


@pytest.mark.parametrize('mode, advice', [(0o600, 'cannot read or enter it; run: chmod 700'), (0o300, 'cannot read or enter it'),
                                          (0o000, 'cannot read or enter it')])
def test_directory_its_owner_cannot_enter_gets_the_right_advice(mode, advice):
    with shared_tree() as tree:
        directory = os.path.join(tree, 'entra')
        os.mkdir(directory, 0o700)
        chown_tree(tree)
        os.chmod(directory, mode)
        kind, message = run_unprivileged(_check, directory)
        assert kind == 'CacheStoreError', message
        assert advice in message and 'chmod 600' not in message and directory in message


def test_directory_behind_an_unsearchable_parent_says_so():
    with shared_tree() as tree:
        parent = os.path.join(tree, 'parent')
        os.makedirs(os.path.join(parent, 'entra'), 0o700)
        chown_tree(tree)
        os.chmod(parent, 0o600)
        kind, message = run_unprivileged(_check, os.path.join(parent, 'entra'))
        assert kind == 'CacheStoreError', message
        assert 'a parent directory is not searchable by you' in message
