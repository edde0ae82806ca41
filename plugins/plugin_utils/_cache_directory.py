# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache directory: which file holds what.

For internal collection use only; standard library only. ``cache_path`` names a
directory (0700)::

    accounts/<key>.json       msal unified cache of one account (a user in a cloud, or an app
                              in a tenant), 0600; <key>.json.lock guards its writes
    discovery/<key>.json      one public discovery document (OpenID configuration, user realm)
    locks/<key>.lock          single-flight lock of one identity (account, app, tenant, scopes)
    failures/<key>.json       what Entra refused for one account, app and tenant (no secrets)

``<key>`` is the first 32 hex digits of the SHA-256 of the account, document or identity,
so file names reveal nothing and any number of accounts costs a warm read one small
file. Each account file is a complete msal cache that other msal tools can read.

A warm read takes a reader (:class:`_cache_file.CacheFile`); the writer
(:class:`_cache_store.TokenCacheStore`, with its locks) is imported only by what writes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat

from ansible_collections.identity.entra.plugins.plugin_utils._cache_file import CacheFile
from ansible_collections.identity.entra.plugins.plugin_utils._private_checks import CacheStoreError, check_private_directory

ACCOUNTS, DISCOVERY, LOCKS, FAILURES = 'accounts', 'discovery', 'locks', 'failures'


def _ensure_private_directory(directory: str, what: str) -> None:
    """_private_files' (imported to create, never for a read)."""
    from ansible_collections.identity.entra.plugins.plugin_utils._private_files import ensure_private_directory  # pylint: disable=import-outside-toplevel

    ensure_private_directory(directory, what)


@functools.lru_cache(maxsize=256)
def file_key(text: str) -> str:
    """The file name stem for an account, document or identity."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]


class CacheDirectory:
    """One token cache directory (see the module docstring for its layout)."""

    def __init__(self, path: str, warn=None) -> None:
        self.path = path
        self._warn = warn

    def _child(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    def check(self, create: bool = False) -> bool:
        """Refuse an unsafe directory, or a 0.1.0 cache file at the path; return whether it exists."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            st = None
        except OSError:
            st = None  # check_private_directory says what is wrong
        if st is not None and stat.S_ISREG(st.st_mode):
            raise CacheStoreError(
                'cache_path %s is a file; since identity.entra 0.2.0 the token cache is a directory. Point cache_path '
                'at a directory (for example %s.d) and delete this file, which holds refresh tokens: its accounts '
                'sign in once more' % (self.path, self.path), self.path)
        if create:
            _ensure_private_directory(self.path, 'token cache directory')
            return True
        # A directory (not a link to one) is checked from the same lstat.
        return check_private_directory(self.path, 'token cache directory', st if st is not None and stat.S_ISDIR(st.st_mode) else None)

    def account_reader(self, account_key: str) -> CacheFile:
        return CacheFile(self._child(ACCOUNTS, file_key(account_key) + '.json'), warn=self._warn)

    def discovery_reader(self, document_key: str) -> CacheFile:
        return CacheFile(self._child(DISCOVERY, file_key(document_key) + '.json'), warn=self._warn)

    def account_file(self, account_key: str):
        """The account's file to read and write (a TokenCacheStore)."""
        return self._store(self._child(ACCOUNTS, file_key(account_key) + '.json'))

    def discovery_file(self, document_key: str):
        return self._store(self._child(DISCOVERY, file_key(document_key) + '.json'))

    def failure_file(self, sign_in_key: str):
        return self._store(self._child(FAILURES, file_key(sign_in_key) + '.json'))

    def _store(self, path: str):
        from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore  # pylint: disable=import-outside-toplevel

        return TokenCacheStore(path, warn=self._warn)

    def sign_in_lock_path(self, identity_key: str) -> str:
        """The single-flight lock file of an identity; its directory is created (0700) on the way."""
        self.check(create=True)
        directory = self._child(LOCKS)
        _ensure_private_directory(directory, 'token cache lock directory')
        return os.path.join(directory, file_key(identity_key) + '.lock')
