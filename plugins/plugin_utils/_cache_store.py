# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# For internal collection use only: this module is not a public API and may
# change without notice between releases.

"""One file of the token cache: a JSON document that is locked, replaced atomically and private.

Standard library only: a warm cache hit must not pay for importing msal.

Guarantees
----------
* **Atomic writes.** The file is never written in place: a new version is written
  to a temporary file in the same directory (``O_EXCL``, mode 0600), flushed,
  fsynced and renamed over the path with ``os.replace``; the directory is then
  fsynced. A reader, or a process killed at any instant, sees either the old or
  the new complete file, never a partial one. Readers therefore take no lock.
* **Locked read-modify-write.** :meth:`TokenCacheStore.update` holds an exclusive
  ``flock`` on the sibling file ``PATH.lock`` while it re-reads the file, applies
  the caller's change and writes (see _file_locks).
* **Privacy.** Directories are created 0700 and files 0600. A file or directory
  owned by another user, a file with any group/world permission bit, a directory
  writable by group or others, a symbolic link, a directory or any other
  non-regular file at the path are refused with :class:`CacheStoreError` and a
  message saying what to do (see _private_files).
* **Recovery.** A corrupt, truncated, empty, binary or non-object file is moved
  aside to ``PATH.corrupt-<UTC timestamp>`` (kept, 0600, for inspection), a
  warning is emitted and the document starts empty. The move happens under the
  lock and only if the file is still unusable, so a good file another process
  has just written is never quarantined.
* **Size bound.** A file larger than :data:`MAX_CACHE_BYTES` is refused, not
  quarantined: it is more likely a wrong ``cache_path`` than damage.
* **No raw tracebacks.** Every ``OSError`` is turned into a one-line
  :class:`CacheStoreError` naming the path and the system's reason.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import random
import re
import stat
import time
import typing as t
import warnings

from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import parse_cache_document
from ansible_collections.identity.entra.plugins.plugin_utils._file_locks import exclusive_lock
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import (
    OPEN_CLOEXEC,
    OPEN_NOFOLLOW,
    OPEN_NONBLOCK,
    PRIVATE_FILE_MODE,
    SYMLINK_ERRNOS,
    CacheStoreError,
    check_directory_writable,
    check_private_directory,
    describe_os_error,
    ensure_private_directory,
    fsync_directory,
    mode_text,
)

MAX_CACHE_BYTES = 64 * 1024 * 1024
"""Files larger than this are refused with :class:`CacheStoreError`."""

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds :meth:`TokenCacheStore.update` waits for the file's lock.

The lock is held only for a read, an in-memory merge and one small write, so even many
queued processes pass through in well under a second; the bound turns a wedged holder
into an error instead of a hang."""

STALE_TEMP_SECONDS = 300
"""Temporary files of a killed writer older than this are removed by the next writer."""


class CacheFingerprint(t.NamedTuple):
    """Identity of one version of a file, from ``stat``.

    Every write creates a new file (new inode, new ctime), so an unchanged
    fingerprint means an unchanged file.
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def from_stat(cls, st: os.stat_result) -> CacheFingerprint:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _FileContent(t.NamedTuple):
    """What one read of the path found."""

    data: dict | None  # None when the file is missing or unusable
    fingerprint: CacheFingerprint | None  # None when the file is missing
    problem: str | None  # why the content is unusable (never quoting the content)


# A temp file of a writer that no longer runs goes after this many seconds, not STALE_TEMP_SECONDS.
# Not at once: a writer in another PID namespace (a shared volume) is invisible to os.kill.
DEAD_WRITER_SECONDS = 10


def _writer_alive(temp_name: str) -> bool:
    """Whether the process named in a temp file (``.<name>.tmp-<pid>-<hex>``) still runs: a killed
    writer's copy holds refresh tokens and should not wait for the age limit."""
    try:
        pid = int(temp_name.rsplit('.tmp-', 1)[1].split('-')[0])
    except (IndexError, ValueError):
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _owner_of(path: str) -> int | None:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return None


class TokenCacheStore:
    """The msal unified token cache in one file, shared safely between processes.

    ``path`` is the cache file (``~`` is expanded). ``lock_timeout`` bounds the
    wait for the cache lock in :meth:`update` (and when a corrupt file is moved
    aside). ``warn`` receives one-line warnings (a corrupt file moved aside);
    by default they go to :func:`warnings.warn`.
    """

    def __init__(self, path: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 warn: t.Callable[[str], t.Any] | None = None) -> None:
        if not path:
            raise CacheStoreError('the token cache path is empty; set cache_path to a directory')
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.directory = os.path.dirname(self.path)
        self.lock_path = self.path + '.lock'
        self.lock_timeout = float(lock_timeout)
        self._warn = warn if warn is not None else self._default_warn
        self._temp_prefix = '.%s.tmp-' % os.path.basename(self.path)
        self._temp_name = re.compile(r'\A%s\d+-[0-9a-f]{16}\Z' % re.escape(self._temp_prefix))

    def __repr__(self) -> str:
        return '%s(%r)' % (self.__class__.__name__, self.path)

    @staticmethod
    def _default_warn(message: str) -> None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    # -- reading -----------------------------------------------------------------

    def load(self) -> tuple[dict, CacheFingerprint | None]:
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
        found = self._read()
        if found.problem is None:
            return (found.data if found.data is not None else {}), found.fingerprint
        with self._cache_lock():
            found = self._read()
            if found.problem is not None:
                self._quarantine(found.problem)
                return {}, None
        return (found.data if found.data is not None else {}), found.fingerprint

    def stat_fingerprint(self) -> CacheFingerprint | None:
        """The fingerprint of the file now (``None`` if missing), from ``lstat`` alone.

        Cheap: reads nothing. Equal to the fingerprint :meth:`load` returned
        means the file has not been replaced since.
        """
        try:
            st = os.lstat(self.path)
        except OSError:
            return None  # missing or unreachable: load() says which, with the right message
        return CacheFingerprint.from_stat(st)

    def _read(self) -> _FileContent:
        """Open without following links, check ownership and mode, read and parse."""
        path = self.path
        try:
            fd = os.open(path, os.O_RDONLY | OPEN_NOFOLLOW | OPEN_NONBLOCK | OPEN_CLOEXEC)
        except FileNotFoundError:
            return _FileContent(None, None, None)
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
        return _FileContent(data, CacheFingerprint.from_stat(st), problem)

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

    # -- recovery ----------------------------------------------------------------

    def _quarantine(self, problem: str) -> str:
        """Move the unusable file aside (caller holds the lock); warn; return the new name."""
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        target = '%s.corrupt-%s' % (self.path, stamp)
        counter = 1
        while os.path.lexists(target):
            counter += 1
            target = '%s.corrupt-%s-%d' % (self.path, stamp, counter)
        try:
            os.rename(self.path, target)
        except OSError as exc:
            raise CacheStoreError(
                'token cache %s is unusable (%s) and could not be moved aside: %s; remove it'
                % (self.path, problem, describe_os_error(exc)), self.path) from None
        with contextlib.suppress(OSError):
            # Already checked to be 0600 or stricter; make the kept copy exactly 0600.
            fd = os.open(target, os.O_RDONLY | OPEN_NOFOLLOW | OPEN_NONBLOCK | OPEN_CLOEXEC)
            try:
                os.fchmod(fd, PRIVATE_FILE_MODE)
            finally:
                os.close(fd)
        with contextlib.suppress(OSError):
            fsync_directory(self.directory)
        self._warn('token cache %s was unusable (%s); moved it to %s and continuing with an empty cache'
                   % (self.path, problem, target))
        return target

    # -- writing -----------------------------------------------------------------

    @contextlib.contextmanager
    def _cache_lock(self) -> t.Iterator[bool]:
        message = ('waited %gs for the lock %s, which another process holds while it writes %s; retry, and if this '
                   'repeats look for a hung process holding it (fuser %s)'
                   % (self.lock_timeout, self.lock_path, self.path, self.lock_path))
        with exclusive_lock(self.lock_path, self.lock_timeout, 'token cache lock file', message) as waited:
            yield waited

    def check_writable(self) -> None:
        """Fail now, with the reason, if :meth:`update` could not write: the directory can be created,
        is private and writable, and the lock file can be opened. Called before a credential is sent."""
        ensure_private_directory(self.directory, 'token cache directory')
        check_directory_writable(self.directory, 'token cache directory')
        with self._cache_lock():
            pass

    def update(self, mutator: t.Callable[[dict], dict | None]) -> dict:
        """Locked read-modify-write; return the document now on disk.

        Creates the directory (0700) if needed, takes the cache lock, re-reads
        the file (moving an unusable one aside), calls ``mutator`` with a
        private copy of the current document and, if the returned document
        (or the copy, if ``mutator`` returns ``None``) differs, writes it
        atomically. Typical mutator: ``lambda current: merge_changes(before,
        after, current)``. Exceptions from ``mutator`` propagate; nothing is
        written then.
        """
        ensure_private_directory(self.directory, 'token cache directory')
        with self._cache_lock():
            found = self._read()
            if found.problem is not None:
                self._quarantine(found.problem)
                current: dict = {}
            else:
                current = found.data if found.data is not None else {}
            working = copy.deepcopy(current)
            result = mutator(working)
            if result is None:
                result = working
            if not isinstance(result, dict):
                raise TypeError('the cache mutator must return a dict, not %s' % type(result).__name__)
            if result != current:
                self._write_atomically(result)
            self._remove_stale_temp_files()
            return result

    def _write_atomically(self, document: dict) -> None:
        payload = json.dumps(document, separators=(',', ':')).encode('utf-8')
        temp_path = os.path.join(
            self.directory, '%s%d-%016x' % (self._temp_prefix, os.getpid(), random.getrandbits(64)))
        try:
            fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | OPEN_NOFOLLOW | OPEN_CLOEXEC,
                         PRIVATE_FILE_MODE)
        except OSError as exc:
            raise CacheStoreError(
                'cannot write the token cache in %s: %s; the directory must be writable by you '
                '(or set cache: false for a memory-only cache)'
                % (self.directory, describe_os_error(exc)), self.directory) from None
        try:
            try:
                os.fchmod(fd, PRIVATE_FILE_MODE)
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp_path, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_path)
            if isinstance(exc, OSError):
                raise CacheStoreError(
                    'cannot write token cache %s: %s' % (self.path, describe_os_error(exc)), self.path) from None
            raise
        try:
            fsync_directory(self.directory)
        except OSError as exc:
            raise CacheStoreError(
                'cannot sync token cache directory %s: %s' % (self.directory, describe_os_error(exc)),
                self.directory) from None

    def _remove_stale_temp_files(self) -> None:
        """Remove temporary files that killed writers left behind (best effort)."""
        now = time.time()
        cutoff = now - STALE_TEMP_SECONDS
        euid = os.geteuid()
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if not entry.name.startswith(self._temp_prefix) or not self._temp_name.match(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                abandoned = st.st_mtime < now - DEAD_WRITER_SECONDS and not _writer_alive(entry.name)
                if stat.S_ISREG(st.st_mode) and st.st_uid == euid and (st.st_mtime < cutoff or abandoned):
                    os.unlink(entry.path)
            except OSError:
                continue
