# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the cache tests share: cache documents, file helpers, and running code as another user.

Root ignores permission bits, so a refusal that depends on them is checked in a forked child
that drops to uid 65534 (as is when the suite itself runs unprivileged). Whatever a test makes
read-only is made removable again before it is removed: nothing is left in the temp directory.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import multiprocessing
import os
import shutil
import stat
import tempfile

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils._private_files import CacheStoreError

FORK = multiprocessing.get_context('fork')
IS_ROOT = os.geteuid() == 0
NOBODY = 65534
ENV = 'login.microsoftonline.com'
CLIENT = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

needs_root = pytest.mark.skipif(not IS_ROOT, reason='needs root to chown files to another user')


def refusal(function, *args) -> str:
    """The message of the CacheStoreError that ``function(*args)`` raises: one line, as the user sees it."""
    with pytest.raises(CacheStoreError) as caught:
        function(*args)
    message = str(caught.value)
    assert '\n' not in message
    return message


def user_document(n: int, access_secret: str = 'at', refresh_secret: str = 'rt') -> dict:
    """An msal unified cache document holding one user's tokens, every field in msal's shape."""
    hid = 'uid%d.%s' % (n, TENANT)
    return {
        'AccessToken': {
            '%s-%s-accesstoken-%s-%s-https://graph.microsoft.com/.default' % (hid, ENV, CLIENT, TENANT): {
                'credential_type': 'AccessToken', 'secret': '%s-%d' % (access_secret, n),
                'home_account_id': hid, 'environment': ENV, 'client_id': CLIENT,
                'realm': TENANT, 'target': 'https://graph.microsoft.com/.default',
                'cached_at': '1700000000', 'expires_on': '1700003600', 'extended_expires_on': '1700003600',
            },
        },
        'RefreshToken': {
            '%s-%s-refreshtoken-%s--https://graph.microsoft.com/.default' % (hid, ENV, CLIENT): {
                'credential_type': 'RefreshToken', 'secret': '%s-%d' % (refresh_secret, n),
                'home_account_id': hid, 'environment': ENV, 'client_id': CLIENT,
                'target': 'https://graph.microsoft.com/.default', 'last_modification_time': '1700000000',
            },
        },
        'IdToken': {
            '%s-%s-idtoken-%s-%s-' % (hid, ENV, CLIENT, TENANT): {
                'credential_type': 'IdToken', 'secret': 'id-%d' % n, 'home_account_id': hid,
                'environment': ENV, 'realm': TENANT, 'client_id': CLIENT,
            },
        },
        'Account': {
            '%s-%s-%s' % (hid, ENV, TENANT): {
                'home_account_id': hid, 'environment': ENV, 'realm': TENANT, 'local_account_id': 'uid%d' % n,
                'username': 'user%d@contoso.com' % n, 'authority_type': 'MSSTS',
            },
        },
        'AppMetadata': {
            'appmetadata-%s-%s' % (ENV, CLIENT): {'client_id': CLIENT, 'environment': ENV},
        },
    }


def combine(*documents: dict) -> dict:
    result: dict = {}
    for document in documents:
        for section, entries in document.items():
            result.setdefault(section, {}).update(copy.deepcopy(entries))
    return result


def account_usernames(document: dict) -> set:
    return {entry['username'] for entry in document.get('Account', {}).values()}


def write_raw(path, content: bytes, mode: int = 0o600) -> None:
    with open(path, 'wb') as handle:
        handle.write(content)
    os.chmod(path, mode)


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextlib.contextmanager
def held_flock(path):
    """Hold an exclusive flock on ``path`` through a separate open file (conflicts in-process too)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def make_removable(path) -> None:
    """Give back the owner's rights on a tree a test made read-only (or chowned), so it can be removed."""
    if not os.path.lexists(path):
        return
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            if IS_ROOT:
                os.chown(full, 0, 0, follow_symlinks=False)
            if not os.path.islink(full):
                os.chmod(full, 0o700 if os.path.isdir(full) else 0o600)
    if IS_ROOT:
        os.chown(path, 0, 0)
    os.chmod(path, 0o700)
    # os.walk does not enter a directory it cannot read: a second pass reaches those.
    for root, dirs, _files in os.walk(path):
        for name in dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, 0o700)


def remove_tree(path) -> None:
    """Remove what a test made; fail loudly if that is not possible (never leave it behind)."""
    make_removable(path)
    shutil.rmtree(path)
    assert not os.path.lexists(path), path


@contextlib.contextmanager
def shared_tree():
    """A temporary directory uid 65534 owns and can reach (pytest's tmp_path is private to root)."""
    base = tempfile.mkdtemp(prefix='cache-store-')
    try:
        if IS_ROOT:
            os.chmod(base, 0o700)
            os.chown(base, NOBODY, NOBODY)
        yield base
    finally:
        remove_tree(base)


def chown_tree(path, uid=NOBODY) -> None:
    if not IS_ROOT:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def _unprivileged_child(conn, function, args):
    try:
        if IS_ROOT:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        conn.send(('ok', function(*args)))
    except CacheStoreError as exc:
        conn.send(('CacheStoreError', str(exc)))
    except BaseException as exc:  # pylint: disable=broad-except  # reported to the test as a failure
        conn.send((type(exc).__name__, str(exc)))
    finally:
        conn.close()


def run_unprivileged(function, *args):
    """Run ``function(*args)`` in a forked child as uid 65534 (as is when not root); (kind, value)."""
    parent_end, child_end = FORK.Pipe()
    process = FORK.Process(target=_unprivileged_child, args=(child_end, function, args))
    process.start()
    child_end.close()
    try:
        if not parent_end.poll(60):
            raise AssertionError('unprivileged child did not answer')
        return parent_end.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
