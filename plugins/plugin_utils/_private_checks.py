# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private files and directories, checked: refused when someone else could read or swap them.

For internal collection use only; standard library only. What a read needs (a warm read
imports this alone); creating them is _private_files'. Every ``OSError`` becomes a
:class:`CacheStoreError` whose one-line message names the path and what to do. POSIX only.
"""

from __future__ import annotations

import errno
import os
import stat

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
OPEN_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
OPEN_NOFOLLOW = os.O_NOFOLLOW
OPEN_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
OPEN_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
# errno values open(O_NOFOLLOW) gives for a symbolic link: ELOOP (Linux, macOS), EMLINK (FreeBSD).
SYMLINK_ERRNOS = frozenset((errno.ELOOP, errno.EMLINK))


class CacheStoreError(Exception):
    """The token cache cannot be used safely; the message says what to do.

    ``path`` is the file or directory concerned (or ``None``).
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def describe_os_error(exc: OSError) -> str:
    return exc.strerror or os.strerror(exc.errno or 0) or exc.__class__.__name__


def mode_text(mode: int) -> str:
    return '%04o' % stat.S_IMODE(mode)


def check_private_directory(directory: str, what: str, st: os.stat_result | None = None) -> bool:
    """Refuse a directory that another user owns, that group/others can write, or that we cannot use.

    Returns False when it does not exist. A symbolic link to a directory is accepted (e.g.
    a relocated ``~/.ansible``): the directory it points at is checked. ``st`` is the
    directory's own stat result when the caller has it already (not a link's).
    """
    try:
        st = st or os.stat(directory)
    except FileNotFoundError:
        if os.path.islink(directory):
            raise CacheStoreError(
                '%s %s is a symbolic link to %s, which does not exist; create that directory (mode 0700) or choose '
                'another cache_path' % (what, directory, os.readlink(directory)), directory) from None
        return False
    except NotADirectoryError:
        raise CacheStoreError(
            '%s %s is not usable: a parent is not a directory; choose another cache_path' % (what, directory), directory) from None
    except PermissionError:
        raise CacheStoreError(
            'cannot reach %s %s: a parent directory is not searchable by you; check the permissions of its parents or '
            'choose another cache_path' % (what, directory), directory) from None
    except OSError as exc:
        raise CacheStoreError(
            'cannot access %s %s: %s; check the path and its permissions'
            % (what, directory, describe_os_error(exc)), directory) from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheStoreError(
            '%s %s is not a directory; remove it, or point cache_path at another directory' % (what, directory), directory)
    euid = os.geteuid()
    if st.st_uid != euid:
        raise CacheStoreError(
            '%s %s is owned by uid %d, not by the current user (uid %d); '
            'choose a cache_path in a directory of your own' % (what, directory, st.st_uid, euid), directory)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheStoreError(
            '%s %s is writable by group or others (mode %s); run: chmod 700 %s'
            % (what, directory, mode_text(st.st_mode), directory), directory)
    # Reading needs r and x; a directory without w still serves cached tokens (writes are refused
    # later, before any credential is sent, by check_directory_writable).
    if euid != 0 and (st.st_mode & (stat.S_IRUSR | stat.S_IXUSR)) != (stat.S_IRUSR | stat.S_IXUSR):
        raise CacheStoreError(
            '%s %s has mode %s, so you cannot read or enter it; run: chmod 700 %s'
            % (what, directory, mode_text(st.st_mode), directory), directory)
    return True
