# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# For internal collection use only: this module is not a public API and may
# change without notice between releases.

"""One file of the token cache: a JSON document that is locked, replaced atomically and private.

Standard library only: a warm cache hit must not pay for importing msal. Reading is
:class:`_cache_file.CacheFile` (all a warm read imports); this module adds what writes.

Guarantees
----------
* **Atomic writes.** The file is never written in place: a new version is written
  to a temporary file in the same directory (``O_EXCL``, mode 0600), synced to
  disk (fdatasync) and renamed over the path with ``os.replace``; the directory is
  then fsynced. A reader, or a process killed at any instant, sees either the old
  or the new complete file, never a partial one. Readers therefore take no lock.
  Files that are only a saved request (public discovery documents) skip the two
  syncs: after a crash of the machine such a file may be damaged, and is then
  moved aside and fetched again.
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
* **Size bound.** A file larger than :data:`_cache_file.MAX_CACHE_BYTES` is refused, not
  quarantined: it is more likely a wrong ``cache_path`` than damage.
* **No raw tracebacks.** Every ``OSError`` is turned into a one-line
  :class:`CacheStoreError` naming the path and the system's reason.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import re
import stat
import time
import typing as t

from ansible_collections.identity.entra.plugins.plugin_utils._cache_file import CacheFile
from ansible_collections.identity.entra.plugins.plugin_utils._file_locks import exclusive_lock
from ansible_collections.identity.entra.plugins.plugin_utils._private_files import (
    OPEN_CLOEXEC,
    OPEN_NOFOLLOW,
    OPEN_NONBLOCK,
    PRIVATE_FILE_MODE,
    CacheStoreError,
    check_directory_writable,
    describe_os_error,
    ensure_private_directory,
    fsync_directory,
)

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds :meth:`TokenCacheStore.update` waits for the file's lock.

The lock is held only for a read, an in-memory merge and one small write, so even many
queued processes pass through in well under a second; the bound turns a wedged holder
into an error instead of a hang."""

SYNC_DATA = getattr(os, 'fdatasync', os.fsync)
"""Makes a file's content durable; fdatasync where there is one (the file's times need not be)."""

STALE_TEMP_SECONDS = 300
"""Temporary files of a killed writer older than this are removed by the next writer."""


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


class TokenCacheStore(CacheFile):
    """The msal unified token cache in one file, shared safely between processes.

    ``path`` is the cache file (``~`` is expanded). ``lock_timeout`` bounds the
    wait for the cache lock in :meth:`update` (and when a corrupt file is moved
    aside). ``warn`` receives one-line warnings (a corrupt file moved aside);
    by default they go to :func:`warnings.warn`. Reading is :class:`CacheFile`'s.
    """

    def __init__(self, path: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 warn: t.Callable[[str], t.Any] | None = None) -> None:
        super().__init__(path, warn=warn)
        self.lock_timeout = float(lock_timeout)
        self._temp_prefix = '.%s.tmp-' % os.path.basename(self.path)

    # -- recovery ----------------------------------------------------------------

    def _recover(self) -> tuple[dict, tuple | None]:
        """Under the lock: move the file aside if it is still unusable, else return what another process wrote."""
        with self._cache_lock():
            data, fingerprint, problem = self._read()
            if problem is not None:
                self._quarantine(problem)
                return {}, None
        return (data if data is not None else {}), fingerprint

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

    def update(self, mutator: t.Callable[[dict], dict | None], durable: bool = True) -> dict:
        """Locked read-modify-write; return the document now on disk.

        Creates the directory (0700) if needed, takes the cache lock, re-reads
        the file (moving an unusable one aside), calls ``mutator`` with a
        private copy of the current document and, if the returned document
        (or the copy, if ``mutator`` returns ``None``) differs, writes it
        atomically. Typical mutator: ``lambda current: merge_changes(before,
        after, current)``. Exceptions from ``mutator`` propagate; nothing is
        written then. ``durable=False`` skips the syncs to disk, for a file
        whose loss costs nothing but a request (see :meth:`_write_atomically`).
        """
        ensure_private_directory(self.directory, 'token cache directory')
        with self._cache_lock():
            data, _fingerprint, problem = self._read()
            if problem is not None:
                self._quarantine(problem)
                current: dict = {}
            else:
                current = data if data is not None else {}
            working = copy.deepcopy(current)
            result = mutator(working)
            if result is None:
                result = working
            if not isinstance(result, dict):
                raise TypeError('the cache mutator must return a dict, not %s' % type(result).__name__)
            if result != current:
                self._write_atomically(result, durable)
            self._remove_stale_temp_files()
            return result

    def _write_atomically(self, document: dict, durable: bool = True) -> None:
        """Write a temporary file and rename it over the path: a reader, or a process killed at any
        instant, sees the old or the new version. ``durable`` also syncs the data (fdatasync: the
        file's times need not survive) before the rename and the directory after it, so that the new
        version survives a crash of the machine; without it, the file may come back damaged after
        one, and is then moved aside like any damaged file."""
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
                if durable:
                    SYNC_DATA(fd)
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
        if not durable:
            return
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
        temp_name = re.compile(r'\A%s\d+-[0-9a-f]{16}\Z' % re.escape(self._temp_prefix))
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if not entry.name.startswith(self._temp_prefix) or not temp_name.match(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                abandoned = st.st_mtime < now - DEAD_WRITER_SECONDS and not _writer_alive(entry.name)
                if stat.S_ISREG(st.st_mode) and st.st_uid == euid and (st.st_mtime < cutoff or abandoned):
                    os.unlink(entry.path)
            except OSError:
                continue
