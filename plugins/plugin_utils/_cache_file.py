# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# For internal collection use only: this module is not a public API and may
# change without notice between releases.

"""One file of the token cache, read: opened without following links, checked private, parsed.

Standard library only. This is all a warm read imports: writing (locks, atomic replace,
moving a damaged file aside) is :class:`_cache_store.TokenCacheStore`, a subclass, imported
only to write - or the rare time a read finds a damaged file. The privacy rules are checked
on every read (see _cache_store's module docstring for every guarantee).
"""

from __future__ import annotations

import errno
import os
import stat
import typing as t
import warnings

from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import parse_cache_document
from ansible_collections.identity.entra.plugins.plugin_utils._private_checks import (
    OPEN_CLOEXEC,
    OPEN_NOFOLLOW,
    OPEN_NONBLOCK,
    SYMLINK_ERRNOS,
    CacheStoreError,
    check_private_directory,
    describe_os_error,
    mode_text,
)

MAX_CACHE_BYTES = 64 * 1024 * 1024
"""Files larger than this are refused with :class:`CacheStoreError`."""


def _owner_of(path: str) -> int | None:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return None


def fingerprint_of(st: os.stat_result) -> tuple:
    """Identity of one version of a file: (device, inode, size, mtime_ns, ctime_ns).

    Every write creates a new file (new inode, new ctime), so an unchanged
    fingerprint means an unchanged file.
    """
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class CacheFile:
    """One token cache file, read without a lock (files are replaced atomically, never written in place).

    ``path`` is the file (``~`` is expanded). ``warn`` receives one-line warnings (a damaged
    file moved aside); by default they go to :func:`warnings.warn`.
    """

    def __init__(self, path: str, *, warn: t.Callable[[str], t.Any] | None = None) -> None:
        if not path:
            raise CacheStoreError('the token cache path is empty; set cache_path to a directory')
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.directory = os.path.dirname(self.path)
        self.lock_path = self.path + '.lock'
        self._warn = warn if warn is not None else self._default_warn

    def __repr__(self) -> str:
        return '%s(%r)' % (self.__class__.__name__, self.path)

    @staticmethod
    def _default_warn(message: str) -> None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def load(self) -> tuple[dict, tuple | None]:
        """Return ``(cache document, fingerprint)`` without taking the lock.

        A missing file (or directory) gives ``({}, None)``; nothing is created.
        An unusable file is moved aside under the lock (see the module
        docstring), a warning is emitted and ``({}, None)`` is returned, or the
        content of a good file another process wrote meanwhile.
        Raises :class:`CacheStoreError` when the file or directory is unsafe,
        unreadable or too large.
        """
        if not check_private_directory(self.directory, 'token cache directory'):
            return {}, None
        data, fingerprint, problem = self._read()
        if problem is None:
            return (data if data is not None else {}), fingerprint
        return self._recover()

    def _recover(self) -> tuple[dict, tuple | None]:
        """An unusable file: the writer's code moves it aside under the lock (rare, so imported now)."""
        from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore  # pylint: disable=import-outside-toplevel

        return TokenCacheStore(self.path, warn=self._warn)._recover()  # pylint: disable=protected-access

    def stat_fingerprint(self) -> tuple | None:
        """The fingerprint of the file now (``None`` if missing), from ``lstat`` alone.

        Cheap: reads nothing. Equal to the fingerprint :meth:`load` returned
        means the file has not been replaced since.
        """
        try:
            st = os.lstat(self.path)
        except OSError:
            return None  # missing or unreachable: load() says which, with the right message
        return fingerprint_of(st)

    def _read(self) -> tuple:
        """Open without following links, check ownership and mode, read and parse.

        Returns ``(data, fingerprint, problem)``: data is None when the file is missing or unusable,
        fingerprint None when it is missing, problem says why the content is unusable (never quoting it).
        """
        path = self.path
        try:
            fd = os.open(path, os.O_RDONLY | OPEN_NOFOLLOW | OPEN_NONBLOCK | OPEN_CLOEXEC)
        except FileNotFoundError:
            return None, None, None
        except OSError as exc:
            raise self._open_error(exc) from None
        try:
            st = os.fstat(fd)
            self._check_file_status(st)
            raw = self._read_all(fd)
        except OSError as exc:
            raise CacheStoreError(
                'cannot read token cache %s: %s' % (path, describe_os_error(exc)), path) from None
        finally:
            os.close(fd)
        if len(raw) > MAX_CACHE_BYTES:  # grew while being read
            raise self._too_large_error(len(raw))
        data, problem = parse_cache_document(raw)
        return data, fingerprint_of(st), problem

    def _open_error(self, exc: OSError) -> CacheStoreError:
        path = self.path
        if exc.errno in SYMLINK_ERRNOS and os.path.islink(path):
            return CacheStoreError(
                'token cache file %s is a symbolic link, which is refused (it could send tokens elsewhere); remove it'
                % path, path)
        if exc.errno in (errno.EACCES, errno.EPERM):
            if not os.access(self.directory, os.X_OK):
                return CacheStoreError(
                    'cannot read token cache %s: its directory %s is not searchable by you; run: chmod 700 %s'
                    % (path, self.directory, self.directory), path)
            owner = _owner_of(path)
            if owner is not None and owner != os.geteuid():
                return CacheStoreError(
                    'token cache file %s is owned by uid %d, not by the current user (uid %d); remove it (as its owner) '
                    'or choose another cache_path' % (path, owner, os.geteuid()), path)
            return CacheStoreError(
                'cannot read token cache file %s: %s; it must be a file of yours with mode 0600 '
                '(chmod 600 %s)' % (path, describe_os_error(exc), path), path)
        if exc.errno == errno.ENOTDIR:
            return CacheStoreError(
                'token cache path %s is not usable: a parent is not a directory; choose another cache_path'
                % path, path)
        if exc.errno == errno.ENXIO:  # a socket (or a device without a driver) at the cache path
            return CacheStoreError(
                'token cache path %s is not a regular file; remove it or choose another cache_path' % path, path)
        return CacheStoreError('cannot open token cache %s: %s' % (path, describe_os_error(exc)), path)

    def _check_file_status(self, st: os.stat_result) -> None:
        path = self.path
        if stat.S_ISDIR(st.st_mode):
            raise CacheStoreError(
                'token cache file %s is a directory; remove it (the collection writes a file there)' % path, path)
        if not stat.S_ISREG(st.st_mode):
            raise CacheStoreError(
                'token cache path %s is not a regular file; remove it or choose another cache_path'
                % path, path)
        euid = os.geteuid()
        if st.st_uid != euid:
            raise CacheStoreError(
                'token cache %s is owned by uid %d, not by the current user (uid %d); '
                'remove it or choose another cache_path' % (path, st.st_uid, euid), path)
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise CacheStoreError(
                'token cache %s is accessible by group or others (mode %s) and holds secrets; '
                'run: chmod 600 %s' % (path, mode_text(st.st_mode), path), path)
        if st.st_size > MAX_CACHE_BYTES:
            raise self._too_large_error(st.st_size)

    def _too_large_error(self, size: int) -> CacheStoreError:
        return CacheStoreError(
            'token cache %s is %d bytes, more than the %d MiB limit, so it is not a token cache '
            'written by this collection; move it away or choose another cache_path'
            % (self.path, size, MAX_CACHE_BYTES // (1024 * 1024)), self.path)

    @staticmethod
    def _read_all(fd: int) -> bytes:
        chunks = []
        total = 0
        while total <= MAX_CACHE_BYTES:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b''.join(chunks)
