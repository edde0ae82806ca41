# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private files and directories: created 0700/0600, refused when someone else could read or swap them.

For internal collection use only; standard library only. Every ``OSError`` becomes a
:class:`CacheStoreError` whose one-line message names the path and what to do.
POSIX only (Linux, macOS).
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


def fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable; best effort where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY | OPEN_DIRECTORY | OPEN_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def check_private_directory(directory: str, what: str) -> bool:
    """Refuse a directory that another user owns, that group/others can write, or that we cannot use.

    Returns False when it does not exist. A symbolic link to a directory is accepted (e.g.
    a relocated ``~/.ansible``): the directory it points at is checked.
    """
    try:
        st = os.stat(directory)
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


def ensure_private_directory(directory: str, what: str) -> None:
    """Create ``directory`` (and missing parents) with mode 0700 and check it.

    Only directories created here are chmodded; existing ones are left alone
    (and refused if unsafe).
    """
    if check_private_directory(directory, what):
        return
    missing = []
    path = directory
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created concurrently; checked below like any existing directory
        except OSError as exc:
            raise CacheStoreError(
                'cannot create %s %s: %s; create it with mode 0700 or choose another cache_path'
                % (what, path, describe_os_error(exc)), path) from None
        try:
            os.chmod(path, PRIVATE_DIR_MODE)  # the umask may have removed bits we need
        except OSError as exc:
            raise CacheStoreError(
                'cannot set mode 0700 on %s: %s' % (path, describe_os_error(exc)), path) from None
    if not check_private_directory(directory, what):
        raise CacheStoreError('%s %s was removed while it was being created; retry' % (what, directory), directory)


def check_directory_writable(directory: str, what: str) -> None:
    """Create and remove a file in ``directory``: a read-only file system or directory fails here,
    before a credential is sent, rather than after a sign-in whose tokens then could not be kept."""
    probe = os.path.join(directory, '.write-check-%d' % os.getpid())
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | OPEN_NOFOLLOW | OPEN_CLOEXEC, PRIVATE_FILE_MODE)
        try:
            os.write(fd, b'{}')
        finally:
            os.close(fd)
    except OSError as exc:
        raise CacheStoreError(
            'cannot write in %s %s: %s; make it writable by you (or set cache: false for a memory-only cache)'
            % (what, directory, describe_os_error(exc)), directory) from None
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass


def open_lock_file(path: str, what: str) -> int:
    """Open (creating 0600) a lock file that is never deleted; return its descriptor."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | OPEN_NOFOLLOW | OPEN_NONBLOCK | OPEN_CLOEXEC, PRIVATE_FILE_MODE)
    except OSError as exc:
        if exc.errno in SYMLINK_ERRNOS and os.path.islink(path):
            raise CacheStoreError(
                '%s %s is a symbolic link, which is refused; remove it (it is recreated as needed)'
                % (what, path), path) from None
        if exc.errno == errno.EISDIR:
            raise CacheStoreError('%s %s is a directory; remove it' % (what, path), path) from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise CacheStoreError(
                'cannot open %s %s: %s; the directory must be writable by you '
                '(or set cache: false for a memory-only cache)' % (what, path, describe_os_error(exc)),
                path) from None
        raise CacheStoreError(
            'cannot open %s %s: %s' % (what, path, describe_os_error(exc)), path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CacheStoreError('%s %s is not a regular file; remove it' % (what, path), path)
        euid = os.geteuid()
        if st.st_uid != euid:
            raise CacheStoreError(
                '%s %s is owned by uid %d, not by the current user (uid %d); remove it'
                % (what, path, st.st_uid, euid), path)
        if stat.S_IMODE(st.st_mode) & 0o077:
            # It holds no secret, but others must not be able to open it and hold the lock.
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except OSError as exc:
        os.close(fd)
        raise CacheStoreError('cannot use %s %s: %s' % (what, path, describe_os_error(exc)), path) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
