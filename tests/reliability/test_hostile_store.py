"""Hostile, issue 9 break 7: a cache that cannot be written costs no credential; a token that cannot be stored is kept.

Before 0.2.0, with a read-only cache directory (the lock file already there) or a full disk,
the pre-sign-in check passed, one password grant was sent, then the run failed with
cache_error. Now the cache is checked before any credential (password or refresh token) is
sent: the emulator sees no token request and the error is cache_error. And when storing fails
after a token was acquired, the token is returned with a warning instead of thrown away.

Real file systems where this machine allows it (as root: a tmpfs remounted read-only, a tiny
tmpfs filled up); everywhere: a read-only directory of an unprivileged user, and a full disk
simulated by the file-size limit (RLIMIT_FSIZE) of the worker.
"""

from __future__ import annotations

import errno
import os
import pwd
import resource
import shutil
import signal
import subprocess
import tempfile

import pytest

from _layout import account_path, age_access_tokens
from _procs import acquire, run_forked
from conftest import reliability_user

SIGNED_IN, SIGNED_IN_PASSWORD = reliability_user(56)  # tokens cached, the access token expired
REFUSED_BEFORE, REFUSED_BEFORE_PASSWORD = reliability_user(57)  # lock files there from an earlier refused sign-in
STORE_FAILS, STORE_FAILS_PASSWORD = reliability_user(58)
IS_ROOT = os.geteuid() == 0


def _prepare(emu, cache, **overrides):
    """A cache as earlier runs leave it: one account with an expired access token, one refused sign-in."""
    first = acquire(emu.options(SIGNED_IN, SIGNED_IN_PASSWORD, cache_path=cache, **overrides))
    assert first["ok"], first
    age_access_tokens(account_path(emu.options(SIGNED_IN, cache_path=cache, **overrides)))
    refused = acquire(emu.options(REFUSED_BEFORE, "Wrong-Passw0rd!", cache_path=cache, **overrides))
    assert refused["kind"] == "invalid_credentials", refused
    lock = account_path(emu.options(REFUSED_BEFORE, cache_path=cache, **overrides)) + ".lock"
    open(lock, "a", encoding="utf-8").close()  # its account file's lock is there too
    os.chmod(lock, 0o600)


def _attempts(emu, cache):
    """Acquisitions that each need a credential and a write: a refresh, a forced refresh, a password."""
    return {
        "refresh token": emu.options(SIGNED_IN, cache_path=cache),
        "forced refresh": emu.options(SIGNED_IN, SIGNED_IN_PASSWORD, cache_path=cache, force_refresh=True),
        "password": emu.options(REFUSED_BEFORE, REFUSED_BEFORE_PASSWORD, cache_path=cache),
    }


def _assert_refused_before_sending(emu, results):
    for name, result in results.items():
        assert result["kind"] == "cache_error", (name, result)
        assert "\n" not in result["message"], result["message"]
    assert emu.token_log() == []


@pytest.fixture
def tmpfs(tmp_path):
    """A mount point for a small tmpfs (skipped where mounting is not allowed)."""
    mount_point = tmp_path / "mnt"
    mount_point.mkdir(mode=0o700)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % done.stdout.decode(errors="replace").strip())
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_read_only_file_system(emu, tmpfs):
    cache = str(tmpfs / "cache")
    _prepare(emu, cache)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    emu.reset()
    results = {name: run_forked([lambda o=options: acquire(o)], timeout=60)[0]
               for name, options in _attempts(emu, cache).items()}
    _assert_refused_before_sending(emu, results)
    assert all("Read-only file system" in r["message"] for r in results.values()), results


def _fill(directory):
    """Write zeros into ``directory`` until its file system is full."""
    fd = os.open(os.path.join(str(directory), "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 4096
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


def test_full_file_system(emu, tmpfs):
    cache = str(tmpfs / "cache")
    _prepare(emu, cache)
    _fill(tmpfs)
    emu.reset()
    results = {name: run_forked([lambda o=options: acquire(o)], timeout=60)[0]
               for name, options in _attempts(emu, cache).items()}
    _assert_refused_before_sending(emu, results)
    assert all("No space left on device" in r["message"] for r in results.values()), results


def _limited(options, limit):
    """An acquisition in a worker whose files may not grow past ``limit`` bytes (a disk that is full)."""
    def job():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        return acquire(options)
    return job


def test_full_disk_by_file_size_limit(emu, tmp_path):
    """No file of the worker may grow at all: cache_error, nothing sent."""
    cache = str(tmp_path / "cache")
    _prepare(emu, cache)
    emu.reset()
    results = {name: run_forked([_limited(options, 0)], timeout=60)[0] for name, options in _attempts(emu, cache).items()}
    _assert_refused_before_sending(emu, results)


@pytest.mark.skipif(not IS_ROOT, reason="making files of another user, or dropping to one, needs root")
def test_read_only_directory_of_an_unprivileged_user(emu, request):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    base = tempfile.mkdtemp(prefix="entra-reliability-")  # outside root's private pytest directories
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    os.chmod(base, 0o777)
    shutil.copy(emu.ca_path, os.path.join(base, "ca.pem"))
    os.chmod(os.path.join(base, "ca.pem"), 0o644)
    cache = os.path.join(base, "cache")

    def as_nobody(job):
        def run():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            return job()
        return run

    ca = os.path.join(base, "ca.pem")
    prepared = run_forked([as_nobody(lambda: (_prepare(emu, cache, ca_path=ca), {"ok": True})[1])], timeout=120)[0]
    assert prepared["ok"], prepared
    for directory, dirs, _files in os.walk(cache):
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o500)
    os.chmod(cache, 0o500)
    emu.reset()
    attempts = {name: dict(options, ca_path=ca) for name, options in _attempts(emu, cache).items()}
    results = {name: run_forked([as_nobody(lambda o=options: acquire(o))], timeout=60)[0]
               for name, options in attempts.items()}
    _assert_refused_before_sending(emu, results)
    assert all("Permission denied" in r["message"] for r in results.values()), results


def test_token_acquired_then_store_fails_is_returned_with_a_warning(emu, tmp_path):
    """The check passes (small files can be written), the account file cannot: the token is returned, with a warning."""
    cache = str(tmp_path / "cache")
    options = emu.options(STORE_FAILS, STORE_FAILS_PASSWORD, cache_path=cache)
    result = run_forked([_limited(options, 1024)], timeout=60)[0]
    assert result["ok"] and result["facts"]["source"] == "password", result
    warnings = [w for w in result["warnings"] if "could not be stored" in w]
    assert len(warnings) == 1, result["warnings"]
    assert "File too large" in warnings[0] and "\n" not in warnings[0], warnings
    assert len(emu.token_log(STORE_FAILS)) == 1
    assert not os.path.exists(account_path(options))
    # nothing half-written is left to break the next run, which signs in and stores normally
    again = run_forked([lambda: acquire(options)], timeout=60)[0]
    assert again["ok"] and again["facts"]["source"] == "password", again
    assert os.path.exists(account_path(options))
