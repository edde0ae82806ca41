"""The token cache directory as the tests see it, named by the core's own functions.

``cache_path`` is a directory (identity.entra 0.2.0): one msal cache file per account
under ``accounts/``, discovery documents, single-flight locks and failure records beside
them. Which file holds an account is computed by the core (CacheDirectory, file_key,
TokenRequest.account_key), never re-implemented here.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.identity.entra.plugins.plugin_utils import _options
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import ACCOUNTS, FAILURES, CacheDirectory


def request_of(options: dict):
    """The validated TokenRequest of entra_token options (no environment)."""
    return _options.from_mapping(dict(options), {})


def account_path(options: dict) -> str:
    """The account file that holds the tokens of the identity ``options`` name (with their cache_path)."""
    request = request_of(options)
    return CacheDirectory(request.cache_path).account_file(request.account_key).path


def failure_path(options: dict) -> str:
    request = request_of(options)
    return CacheDirectory(request.cache_path).failure_file(request.sign_in_key).path


def account_files(cache_dir) -> list:
    """Paths of every account file (not lock files, not moved-aside copies)."""
    directory = os.path.join(str(cache_dir), ACCOUNTS)
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".json"))


def failure_files(cache_dir) -> list:
    directory = os.path.join(str(cache_dir), FAILURES)
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".json"))


def load(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)  # must parse


def usernames(cache_dir) -> set:
    """Every username with an Account entry in any account file of the cache."""
    names = set()
    for path in account_files(cache_dir):
        names.update(account["username"] for account in load(path).get("Account", {}).values())
    return names


def write_private(path, data: bytes) -> None:
    """Replace ``path`` with ``data``, mode 0600 (as a user editing the file by hand would leave it)."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(str(path), 0o600)


def write_json(path, doc: dict) -> None:
    write_private(path, json.dumps(doc).encode("utf-8"))


def age_access_tokens(path, left: int = -3600, lifetime: int | None = None) -> None:
    """Make every access token of an account file expire ``left`` seconds from now (negative: already
    expired), as time would; ``lifetime`` also sets when it was cached (expires_on - lifetime)."""
    doc = load(path)
    now = int(time.time())
    for entry in doc.get("AccessToken", {}).values():
        entry["expires_on"] = entry["extended_expires_on"] = str(now + left)
        if lifetime is not None:
            entry["cached_at"] = str(now + left - lifetime)
    write_json(path, doc)


def refresh_secrets(path) -> set:
    return {entry["secret"] for entry in load(path).get("RefreshToken", {}).values()}


def tree(root) -> dict:
    """{relative path: bytes} of every regular file under ``root`` (to prove files were left untouched)."""
    out = {}
    for directory, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    out[os.path.relpath(path, str(root))] = handle.read()
    return out
