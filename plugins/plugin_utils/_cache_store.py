# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# For internal collection use only: this module is not a public API and may
# change without notice between releases.

"""File-backed store for an msal unified token cache, safe across processes.

The cache file holds an msal ``SerializableTokenCache`` JSON document (sections
``AccessToken``, ``RefreshToken``, ``IdToken``, ``Account``, ``AppMetadata``), so
other msal-based tools can read it. This module deliberately uses the standard
library only: a warm cache hit must not pay for importing msal.

Guarantees
----------
* **Atomic writes.** The file is never written in place: a new version is written
  to a temporary file in the same directory (``O_EXCL``, mode 0600), flushed,
  fsynced and renamed over the cache path with ``os.replace``; the directory is
  then fsynced. A reader, or a process killed at any instant, sees either the old
  or the new complete file, never a partial one. Readers therefore take no lock.
* **Locked read-modify-write.** :meth:`TokenCacheStore.update` holds an exclusive
  ``flock`` on the sibling file ``PATH.lock`` while it re-reads the file, applies
  the caller's change and writes. The lock file is created 0600 and never
  deleted, so there is no stale-lock problem: the kernel releases the lock of a
  killed holder. Waiting is bounded (``lock_timeout``).
* **Lossless merging.** :func:`merge_changes` applies only what this process
  changed onto what is on disk now, so concurrent writers for different users
  lose nothing and a rotated refresh token is not overwritten by a stale copy.
* **Single flight.** :func:`identity_lock` serialises token acquisition per
  identity (one lock file per identity under ``<cache dir>/.locks``), so that of
  many processes needing the same token only one asks Entra.
* **Privacy.** The cache directory is created 0700 and the file 0600. A cache
  file or directory owned by another user, a file with any group/world
  permission bit, a directory writable by group or others, a symbolic link, a
  directory or any other non-regular file at the cache path are refused with
  :class:`CacheStoreError` and a message saying what to do.
* **Recovery.** A corrupt, truncated, empty, binary or non-object cache file is
  moved aside to ``PATH.corrupt-<UTC timestamp>`` (kept, 0600, for inspection),
  a warning is emitted and the cache starts empty. The move happens under the
  lock and only if the file is still unusable, so a good file another process
  has just written is never quarantined.
* **Size bound.** A cache file larger than :data:`MAX_CACHE_BYTES` (64 MiB) is
  refused, not quarantined: no token cache written by this collection comes
  close (an entry is a few KiB), such a file is more likely a wrong
  ``cache_path`` than damage, and it is neither read into memory nor renamed.
* **No raw tracebacks.** Every ``OSError`` is turned into a one-line
  :class:`CacheStoreError` naming the path and the system's reason.

Lock order: a caller that holds :func:`identity_lock` may call
:meth:`TokenCacheStore.update`; never the reverse. POSIX only (Linux, macOS).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import json
import os
import random
import re
import stat
import time
import typing as t
import warnings

__all__ = [
    'CACHE_SECTIONS',
    'CacheFingerprint',
    'CacheStoreError',
    'DEFAULT_LOCK_TIMEOUT',
    'MAX_CACHE_BYTES',
    'TokenCacheStore',
    'identity_lock',
    'merge_changes',
]

CACHE_SECTIONS = ('AccessToken', 'RefreshToken', 'IdToken', 'Account', 'AppMetadata')
"""The sections of msal's unified token cache."""

MAX_CACHE_BYTES = 64 * 1024 * 1024
"""Cache files larger than this are refused with :class:`CacheStoreError`."""

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds :meth:`TokenCacheStore.update` waits for the cache lock by default.

The lock is held only for a read, an in-memory merge and one small write, so
even 50 queued processes pass through in well under a second; the bound is
there to turn a wedged holder into an error instead of a hang."""

STALE_TEMP_SECONDS = 300
"""Temporary files of a killed writer older than this are removed by the next writer."""

IDENTITY_LOCK_DIR = '.locks'
"""Directory beside the cache file that holds the per-identity lock files."""

_PRIVATE_DIR_MODE = 0o700
_PRIVATE_FILE_MODE = 0o600
_POLL_FIRST_SLEEP = 0.002
_POLL_MAX_SLEEP = 0.05

_OPEN_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_OPEN_NOFOLLOW = os.O_NOFOLLOW
_OPEN_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
_OPEN_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
# errno values open(O_NOFOLLOW) gives for a symbolic link: ELOOP (Linux, macOS), EMLINK (FreeBSD).
_SYMLINK_ERRNOS = frozenset((errno.ELOOP, errno.EMLINK))
_LOCK_BUSY_ERRNOS = frozenset((errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES))
_MISSING = object()


class CacheStoreError(Exception):
    """The token cache cannot be used safely; the message says what to do.

    ``path`` is the file or directory concerned (or ``None``).
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class CacheFingerprint(t.NamedTuple):
    """Identity of one version of the cache file, from ``stat``.

    Every write creates a new file (new inode, new ctime), so an unchanged
    fingerprint means an unchanged file; compare with
    :meth:`TokenCacheStore.stat_fingerprint` to skip re-reading a file that has
    not changed since it was loaded.
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
    """What one read of the cache path found."""

    data: dict | None  # None when the file is missing or unusable
    fingerprint: CacheFingerprint | None  # None when the file is missing
    problem: str | None  # why the content is unusable (never quoting the content)


def _describe_os_error(exc: OSError) -> str:
    return exc.strerror or os.strerror(exc.errno or 0) or exc.__class__.__name__


def _mode_text(mode: int) -> str:
    return '%04o' % stat.S_IMODE(mode)


def _parse_cache_document(raw: bytes) -> tuple[dict | None, str | None]:
    """Parse a cache document; return ``(data, None)`` or ``(None, reason)``."""
    if not raw.strip():
        return None, 'the file is empty'
    if raw.startswith(b'\xef\xbb\xbf'):  # tolerate a UTF-8 byte order mark
        raw = raw[3:]
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        return None, 'the file is not UTF-8 text'
    try:
        data = json.loads(text)
    except RecursionError:
        return None, 'the JSON is nested too deeply'
    except ValueError as exc:
        lineno = getattr(exc, 'lineno', None)
        colno = getattr(exc, 'colno', None)
        where = ' (line %s, column %s)' % (lineno, colno) if lineno is not None else ''
        return None, 'the file is not valid JSON%s' % where
    if not isinstance(data, dict):
        return None, 'the JSON document is not an object'
    for section in CACHE_SECTIONS:
        entries = data.get(section, _MISSING)
        if entries is _MISSING:
            continue
        if not isinstance(entries, dict):
            return None, 'section %s is not an object' % section
        for entry in entries.values():
            if not isinstance(entry, dict):
                return None, 'section %s holds an entry that is not an object' % section
    return data, None


def merge_changes(before: dict, after: dict, current: dict) -> dict:
    """Apply the changes from ``before`` to ``after`` onto ``current``; return the result.

    ``before`` is the cache document this process loaded, ``after`` what its
    in-memory cache holds now (e.g. after an acquisition) and ``current`` what
    is on disk now (re-read under the lock). Per section and per key:

    * an entry added in ``after``, or whose value differs from ``before``, is
      set in the result;
    * an entry present in ``before`` but absent from ``after`` is removed from
      the result only if ``current`` still holds the same value as ``before``
      (otherwise someone else has refreshed it since, and theirs is kept);
    * every other entry of ``current`` is kept as it is.

    Top-level values that are not objects are treated as single entries with
    the same rules. The inputs are not modified; the result shares no mutable
    objects with them.
    """
    result = copy.deepcopy(current)
    for name in set(before) | set(after):
        old = before.get(name, _MISSING)
        new = after.get(name, _MISSING)
        if isinstance(old, dict) or isinstance(new, dict):
            old_entries = old if isinstance(old, dict) else {}
            new_entries = new if isinstance(new, dict) else {}
            target = result.get(name)
            for key, value in new_entries.items():
                if old_entries.get(key, _MISSING) != value:
                    if not isinstance(target, dict):
                        target = result[name] = {}
                    target[key] = copy.deepcopy(value)
            if isinstance(target, dict):
                for key in set(old_entries) - set(new_entries):
                    if target.get(key, _MISSING) == old_entries[key]:
                        del target[key]
        elif new is _MISSING:
            if result.get(name, _MISSING) == old:
                del result[name]
        elif new != old:
            result[name] = copy.deepcopy(new)
    return result


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable; best effort where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY | _OPEN_DIRECTORY | _OPEN_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def _check_private_directory(directory: str, what: str) -> bool:
    """Refuse a directory that another user owns or that group/others can write.

    Returns False when it does not exist. A symbolic link to a directory is
    accepted (e.g. a relocated ``~/.ansible``): the directory it points at is
    checked.
    """
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise CacheStoreError(
            '%s %s is not usable: a parent is not a directory; choose another cache_path' % (what, directory), directory) from None
    except OSError as exc:
        raise CacheStoreError(
            'cannot access %s %s: %s; check the path and its permissions'
            % (what, directory, _describe_os_error(exc)), directory) from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheStoreError(
            '%s %s is not a directory; choose a cache_path inside a directory' % (what, directory), directory)
    euid = os.geteuid()
    if st.st_uid != euid:
        raise CacheStoreError(
            '%s %s is owned by uid %d, not by the current user (uid %d); '
            'choose a cache_path in a directory of your own' % (what, directory, st.st_uid, euid), directory)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheStoreError(
            '%s %s is writable by group or others (mode %s); run: chmod go-w %s'
            % (what, directory, _mode_text(st.st_mode), directory), directory)
    return True


def _ensure_private_directory(directory: str, what: str) -> None:
    """Create ``directory`` (and missing parents) with mode 0700 and check it.

    Only directories created here are chmodded; existing ones are left alone
    (and refused if unsafe).
    """
    if _check_private_directory(directory, what):
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
            os.mkdir(path, _PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created concurrently; checked below like any existing directory
        except OSError as exc:
            raise CacheStoreError(
                'cannot create %s %s: %s; create it with mode 0700 or choose another cache_path'
                % (what, path, _describe_os_error(exc)), path) from None
        try:
            os.chmod(path, _PRIVATE_DIR_MODE)  # the umask may have removed bits we need
        except OSError as exc:
            raise CacheStoreError(
                'cannot set mode 0700 on %s: %s' % (path, _describe_os_error(exc)), path) from None
    if not _check_private_directory(directory, what):
        raise CacheStoreError('%s %s vanished while it was being created; retry' % (what, directory), directory)


def _open_lock_file(path: str, what: str) -> int:
    """Open (creating 0600) a lock file that is never deleted; return its descriptor."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _OPEN_NOFOLLOW | _OPEN_NONBLOCK | _OPEN_CLOEXEC,
                     _PRIVATE_FILE_MODE)
    except OSError as exc:
        if exc.errno in _SYMLINK_ERRNOS and os.path.islink(path):
            raise CacheStoreError(
                '%s %s is a symbolic link, which is refused; remove it (it is recreated as needed)'
                % (what, path), path) from None
        if exc.errno == errno.EISDIR:
            raise CacheStoreError('%s %s is a directory; remove it' % (what, path), path) from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise CacheStoreError(
                'cannot open %s %s: %s; the directory must be writable by you '
                '(or set cache: false for a memory-only cache)' % (what, path, _describe_os_error(exc)),
                path) from None
        raise CacheStoreError(
            'cannot open %s %s: %s' % (what, path, _describe_os_error(exc)), path) from None
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
            # It holds no data, but others must not be able to open it and hold the lock.
            os.fchmod(fd, _PRIVATE_FILE_MODE)
    except OSError as exc:
        os.close(fd)
        raise CacheStoreError('cannot use %s %s: %s' % (what, path, _describe_os_error(exc)), path) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _flock_exclusive(fd: int, timeout: float, path: str, timeout_message: str) -> bool:
    """Take an exclusive flock on ``fd`` within ``timeout`` seconds; return whether it had to wait."""
    def try_lock() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _LOCK_BUSY_ERRNOS:
                return False
            raise CacheStoreError(
                'cannot lock %s: %s' % (path, _describe_os_error(exc)), path) from None
        return True

    if try_lock():
        return False
    deadline = time.monotonic() + max(0.0, timeout)
    delay = _POLL_FIRST_SLEEP
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CacheStoreError(timeout_message, path)
        time.sleep(min(delay * random.uniform(0.5, 1.5), remaining))
        delay = min(delay * 2, _POLL_MAX_SLEEP)
        if try_lock():
            return True


@contextlib.contextmanager
def _exclusive_lock(path: str, timeout: float, what: str, timeout_message: str) -> t.Iterator[bool]:
    fd = _open_lock_file(path, what)
    try:
        waited = _flock_exclusive(fd, timeout, path, timeout_message)
        try:
            yield waited
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _identity_lock_path(cache_path: str, identity_key: str) -> str:
    import hashlib  # pylint: disable=import-outside-toplevel  # only needed on a cache miss

    directory = os.path.dirname(os.path.abspath(os.path.expanduser(cache_path)))
    digest = hashlib.sha256(identity_key.encode('utf-8')).hexdigest()[:32]
    return os.path.join(directory, IDENTITY_LOCK_DIR, digest + '.lock')


@contextlib.contextmanager
def identity_lock(cache_path: str, identity_key: str, timeout: float) -> t.Iterator[bool]:
    """Hold the single-flight lock of one identity; yield whether it had to wait.

    The lock is an exclusive ``flock`` on
    ``<cache dir>/.locks/<sha256(identity_key)[:32]>.lock`` (directory 0700,
    file 0600, never deleted; the file name does not reveal the identity).
    Different identities use different files, so they never wait on each
    other. Waiting is bounded by ``timeout`` seconds, then
    :class:`CacheStoreError` is raised.

    Usage: on a cache miss, enter the lock, then **re-read the cache whether or
    not it waited** (another process may have stored the token just before we
    got the lock), and only if it is still missing talk to Entra and store the
    result with :meth:`TokenCacheStore.update` before leaving. Only for a file
    cache. The lock is per open file, so entering it twice for the same
    identity in one process waits on itself.
    """
    lock_path = _identity_lock_path(cache_path, identity_key)
    lock_dir = os.path.dirname(lock_path)
    _ensure_private_directory(os.path.dirname(lock_dir), 'token cache directory')
    _ensure_private_directory(lock_dir, 'token cache lock directory')
    message = ('timed out after %gs waiting for another process that is acquiring a token for the '
               'same account (lock %s); retry, or raise the timeout' % (timeout, lock_path))
    with _exclusive_lock(lock_path, timeout, 'token cache lock file', message) as waited:
        yield waited


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
            raise CacheStoreError('the token cache path is empty; set cache_path to a file path')
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
        if not _check_private_directory(self.directory, 'token cache directory'):
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
            fd = os.open(path, os.O_RDONLY | _OPEN_NOFOLLOW | _OPEN_NONBLOCK | _OPEN_CLOEXEC)
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
                'cannot read token cache %s: %s' % (path, _describe_os_error(exc)), path) from None
        finally:
            os.close(fd)
        if len(raw) > MAX_CACHE_BYTES:  # grew while being read
            raise self._too_large_error(len(raw))
        data, problem = _parse_cache_document(raw)
        return _FileContent(data, CacheFingerprint.from_stat(st), problem)

    def _open_error(self, exc: OSError) -> CacheStoreError:
        path = self.path
        if exc.errno in _SYMLINK_ERRNOS and os.path.islink(path):
            return CacheStoreError(
                'token cache %s is a symbolic link, which is refused; replace it with a regular file '
                'or point cache_path at the real file' % path, path)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return CacheStoreError(
                'cannot read token cache %s: %s; it must be a file of yours with mode 0600 '
                '(chmod 600 %s)' % (path, _describe_os_error(exc), path), path)
        if exc.errno == errno.ENOTDIR:
            return CacheStoreError(
                'token cache path %s is not usable: a parent is not a directory; choose another cache_path'
                % path, path)
        if exc.errno == errno.ENXIO:  # a socket (or a device without a driver) at the cache path
            return CacheStoreError(
                'token cache path %s is not a regular file; remove it or choose another cache_path' % path, path)
        return CacheStoreError('cannot open token cache %s: %s' % (path, _describe_os_error(exc)), path)

    def _check_file_status(self, st: os.stat_result) -> None:
        path = self.path
        if stat.S_ISDIR(st.st_mode):
            raise CacheStoreError(
                'token cache path %s is a directory; point cache_path at a file inside it' % path, path)
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
                'run: chmod 600 %s' % (path, _mode_text(st.st_mode), path), path)
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
                % (self.path, problem, _describe_os_error(exc)), self.path) from None
        with contextlib.suppress(OSError):
            # Already checked to be 0600 or stricter; make the kept copy exactly 0600.
            fd = os.open(target, os.O_RDONLY | _OPEN_NOFOLLOW | _OPEN_NONBLOCK | _OPEN_CLOEXEC)
            try:
                os.fchmod(fd, _PRIVATE_FILE_MODE)
            finally:
                os.close(fd)
        with contextlib.suppress(OSError):
            _fsync_directory(self.directory)
        self._warn('token cache %s was unusable (%s); moved it to %s and continuing with an empty cache'
                   % (self.path, problem, target))
        return target

    # -- writing -----------------------------------------------------------------

    @contextlib.contextmanager
    def _cache_lock(self) -> t.Iterator[bool]:
        message = ('timed out after %gs waiting for the token cache lock %s held by another process; '
                   'retry, or raise the lock timeout' % (self.lock_timeout, self.lock_path))
        with _exclusive_lock(self.lock_path, self.lock_timeout, 'token cache lock file', message) as waited:
            yield waited

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
        _ensure_private_directory(self.directory, 'token cache directory')
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
            fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_NOFOLLOW | _OPEN_CLOEXEC,
                         _PRIVATE_FILE_MODE)
        except OSError as exc:
            raise CacheStoreError(
                'cannot write the token cache in %s: %s; the directory must be writable by you '
                '(or set cache: false for a memory-only cache)'
                % (self.directory, _describe_os_error(exc)), self.directory) from None
        try:
            try:
                os.fchmod(fd, _PRIVATE_FILE_MODE)
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
                    'cannot write token cache %s: %s' % (self.path, _describe_os_error(exc)), self.path) from None
            raise
        try:
            _fsync_directory(self.directory)
        except OSError as exc:
            raise CacheStoreError(
                'cannot sync token cache directory %s: %s' % (self.directory, _describe_os_error(exc)),
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
