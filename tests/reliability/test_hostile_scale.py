"""Hostile, issue 9 break 6: many identities in one cache.

Before 0.2.0, with 5,000 accounts in the one cache file (28.7 MB), 100 hosts x 50 new users at
forks 50 lost 52 hosts to "[cache_error] timed out after 30s waiting for the token cache lock
... raise the lock timeout" (no such option) and 9 of 44 refresh tokens; a warm read cost
240-340 ms per worker. Now each account has its own file: the 5,000 accounts are written
straight into that layout (file names from the core's own CacheDirectory), the 100 hosts all
succeed with one password grant per user, all 50 accounts are kept, and a warm read opens the
same few files whether the cache holds 1 account or 5,000 - counted, not timed (the time is
printed as a benchmark number only).
"""

from __future__ import annotations

import builtins
import collections
import json
import os
import time
import uuid

from _ansible import module_kind, play, run_playbook
from _layout import account_path, load, request_of
from _procs import acquire, run_forked
from conftest import reliability_user

from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory

FILLER_ACCOUNTS = 5000
NEW_USERS = [reliability_user(number) for number in range(61, 111)]  # 50
HOSTS = 100
TEMPLATE_USER, TEMPLATE_PASSWORD = reliability_user(55)


def _write(path, data: bytes):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _fill(emu, cache, count) -> dict:
    """``count`` accounts in the cache directory, each its own msal file (a real account's, renamed); {path: bytes}."""
    template = load(account_path(emu.options(TEMPLATE_USER, cache_path=cache)))
    uid = next(iter(template["Account"].values()))["home_account_id"].split(".")[0]
    text = json.dumps(template)
    directory = CacheDirectory(cache)
    written = {}
    for number in range(count):
        username = "filler%05d@contoso.example" % number
        doc = text.replace(TEMPLATE_USER, username).replace(uid, str(uuid.UUID(int=number + 1)))
        path = directory.account_file(request_of(emu.options(username, cache_path=cache)).account_key).path
        data = doc.encode()
        _write(path, data)
        written[path] = data
    return written


def _signed_in_template(emu, cache):
    result = acquire(emu.options(TEMPLATE_USER, TEMPLATE_PASSWORD, cache_path=cache))
    assert result["ok"], result


def test_5000_accounts_100_hosts_50_new_users(emu, tmp_path, ansible_env):
    cache = str(tmp_path / "cache")
    _signed_in_template(emu, cache)
    start = time.monotonic()
    fillers = _fill(emu, cache, FILLER_ACCOUNTS)
    print("wrote %d account files (%.1f MB) in %.1f s" % (
        len(fillers), sum(len(d) for d in fillers.values()) / 1e6, time.monotonic() - start))
    emu.reset()
    lines = ["[all]"]
    for number in range(HOSTS):
        user, password = NEW_USERS[number % len(NEW_USERS)]
        lines.append("h%03d ansible_connection=local entra_user=%s entra_secret=%s" % (number, user, password))
    (tmp_path / "hosts.ini").write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = emu.options("{{ entra_user }}", "{{ entra_secret }}", cache_path=cache)
    task = {"name": "sign in", "identity.entra.entra_token": options, "ignore_errors": True}
    run = run_playbook(ansible_env, tmp_path, [play("all", task)], str(tmp_path / "hosts.ini"), forks=50)
    results = run.results()["sign in"]
    print("100 hosts x 50 new users at forks 50 over %d accounts: %.1f s, %s" % (
        FILLER_ACCOUNTS + 1, run.elapsed, collections.Counter(module_kind(r) or "ok" for r in results.values())))
    assert len(results) == HOSTS, run.stdout[-3000:]
    failed = {host: r.get("msg") for host, r in results.items() if module_kind(r)}
    assert not failed, list(failed.items())[:5]
    assert emu.grants() == {"password": len(NEW_USERS)}  # one sign-in per user, the second host got it from the cache
    # every new account is kept, with its refresh token, and serves its token without a password
    for user, _password in NEW_USERS:
        doc = load(account_path(emu.options(user, cache_path=cache)))
        assert [a["username"] for a in doc["Account"].values()] == [user]
        assert len(doc["RefreshToken"]) == 1
    served = run_forked([lambda: {"ok": True, "sources": [
        acquire(emu.options(user, cache_path=cache)).get("facts", {}).get("source") for user, _p in NEW_USERS]}])[0]
    assert served["sources"] == ["cache"] * len(NEW_USERS), served
    # the other 5,000 accounts' files were not touched
    for path, data in fillers.items():
        with open(path, "rb") as handle:
            assert handle.read() == data, path
    assert emu.grants() == {"password": len(NEW_USERS)}


def _opens_of_a_warm_read(options) -> dict:
    """In a new process: the files and directories one warm read opens or lists, and how long it took."""
    def job():
        opened, sizes = [], []
        real = {"os.open": os.open, "open": builtins.open, "os.scandir": os.scandir, "os.listdir": os.listdir}

        def counting(name):
            def wrapper(path, *args, **kwargs):
                opened.append("%s %s" % (name, path))
                if name in ("os.open", "open") and os.path.isfile(path):
                    sizes.append(os.path.getsize(path))
                return real[name](path, *args, **kwargs)
            return wrapper

        os.open, builtins.open = counting("os.open"), counting("open")
        os.scandir, os.listdir = counting("os.scandir"), counting("os.listdir")
        try:
            start = time.perf_counter()
            result = acquire(options)
            elapsed = time.perf_counter() - start
        finally:
            os.open, builtins.open = real["os.open"], real["open"]
            os.scandir, os.listdir = real["os.scandir"], real["os.listdir"]
        return {"ok": True, "result": result, "opened": opened, "bytes": sum(sizes), "seconds": elapsed}
    return run_forked([job], timeout=60)[0]


def test_warm_read_opens_the_same_files_whatever_the_number_of_accounts(emu, tmp_path):
    small, big = str(tmp_path / "small"), str(tmp_path / "big")
    for cache in (small, big):
        _signed_in_template(emu, cache)
    _fill(emu, big, FILLER_ACCOUNTS)
    emu.reset()
    reads = {}
    for name, cache in (("1 account", small), ("%d accounts" % (FILLER_ACCOUNTS + 1), big)):
        reads[name] = _opens_of_a_warm_read(emu.options(TEMPLATE_USER, cache_path=cache))
        assert reads[name]["result"]["ok"] and reads[name]["result"]["facts"]["source"] == "cache", reads[name]
        print("BENCHMARK warm read, %s: %.2f ms, opened %s (%d bytes)" % (
            name, reads[name]["seconds"] * 1000, [entry.replace(cache, "<cache>") for entry in reads[name]["opened"]],
            reads[name]["bytes"]))
    small, big = reads["1 account"], reads["%d accounts" % (FILLER_ACCOUNTS + 1)]
    small_opened, big_opened = small["opened"], big["opened"]
    assert len(big_opened) == len(small_opened), (small_opened, big_opened)
    assert big["bytes"] <= 2 * small["bytes"] + 65536, (small["bytes"], big["bytes"])  # not the whole cache
    assert len(big_opened) <= 4, big_opened  # the account file and a discovery document, nothing listed
    assert not [entry for entry in big_opened if entry.startswith(("os.scandir", "os.listdir"))]
    assert emu.requests_log() == []
