# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private files and directories: created 0700/0600, refused when someone else could read or swap them.

For internal collection use only; standard library only. The checks (and CacheStoreError)
are _private_checks', which is all a read imports; this module creates, syncs and locks.
Every ``OSError`` becomes a :class:`CacheStoreError` whose one-line message names the path
and what to do. POSIX only (Linux, macOS).
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.identity.entra.plugins.plugin_utils._private_checks import (
    OPEN_CLOEXEC,
    OPEN_DIRECTORY,
    OPEN_NOFOLLOW,
    OPEN_NONBLOCK,
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    SYMLINK_ERRNOS,
    CacheStoreError,
    check_private_directory,
    describe_os_error,
)


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
