"""Writers killed with SIGKILL at random points.

The bar, measured with msal-extensions' PersistedTokenCache: of 40 writers
killed with SIGKILL, 4 left an unparseable cache and 1 a stale lock file that
blocked the next process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

from _layout import account_path
from _procs import acquire
from conftest import reliability_user

from ansible_collections.identity.entra.plugins.plugin_utils._cache_store import TokenCacheStore

STORE_KILLS = 100
ACQUISITION_KILLS = 30
PROBE = "ReliabilityProbe"  # a section msal keeps as it is; the writer's commits are recorded there
PROBE_WINDOW = 5


def _probe_state(generation: int) -> dict:
    """What the probe section holds after commit number ``generation``: a sliding window of keys."""
    return {"k%06d" % n: {"generation": str(n), "secret": "x" * 2048}
            for n in range(max(1, generation - PROBE_WINDOW + 1), generation + 1)}


def _store_writer(cache_file: str, first_generation: int, report_fd: int):
    """Commit generation after generation until killed; report each one after update() returned."""
    store = TokenCacheStore(cache_file, warn=lambda message: os.write(2, b"WARNING " + message.encode() + b"\n"))
    generation = first_generation
    while True:
        def mutate(current, generation=generation):
            current[PROBE] = _probe_state(generation)
            current.setdefault("Generation", {})["last"] = {"value": str(generation)}
            return current
        store.update(mutate)
        os.write(report_fd, b"%d\n" % generation)
        generation += 1


def _fork(target, *args) -> tuple[int, int]:
    """Start ``target(*args, report_fd)`` in a child; return (pid, read end of its report pipe)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            target(*args, write_end)
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.close(write_end)
    return pid, read_end


def _kill_at_random(pid: int, read_end: int, rng: random.Random, longest: float) -> list:
    time.sleep(rng.uniform(0, longest))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    reports = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        reports += chunk
    os.close(read_end)
    return [int(line) for line in reports.split()]


def _load(cache_file: str) -> dict:
    with open(cache_file, encoding="utf-8") as handle:
        return json.load(handle)  # must parse, whatever instant the writer died at


def test_store_writer_killed_at_random_points(emu, tmp_path):
    """A writer killed at random points: the file always parses and holds the last commit (or the one in flight)."""
    rng = random.Random(int(os.environ.get("ENTRA_RELIABILITY_SEED", "0")) or None)
    cache_dir = str(tmp_path / "token_cache")
    # real msal content committed before the writers start: it must survive every kill
    user, password = reliability_user(38)
    signed_in = acquire(emu.options(user, password, cache_path=cache_dir))
    assert signed_in["ok"], signed_in
    cache_file = account_path(emu.options(user, cache_path=cache_dir))  # the writers rewrite this account file
    accounts_dir = os.path.dirname(cache_file)
    base = os.path.basename(cache_file)
    msal_content = dict(_load(cache_file))

    committed = 0
    mid_write_kills = 0
    for kill in range(STORE_KILLS):
        pid, read_end = _fork(_store_writer, cache_file, committed + 1)
        reports = _kill_at_random(pid, read_end, rng, 0.06)
        if reports:
            assert reports == list(range(committed + 1, reports[-1] + 1))
            committed = reports[-1]
        doc = _load(cache_file)
        on_disk = int(doc.get("Generation", {}).get("last", {}).get("value", 0))
        # the last reported commit, or the one that was renamed into place just before the kill
        assert on_disk in (committed, committed + 1), (kill, on_disk, committed)
        if on_disk == committed + 1:
            committed += 1
            mid_write_kills += 1
        if committed:
            assert doc[PROBE] == _probe_state(committed)
        for section, entries in msal_content.items():
            assert doc[section] == entries, "kill %d lost committed %s entries" % (kill, section)
        assert not [name for name in os.listdir(accounts_dir) if name.startswith(base + ".corrupt")]

    # the lock is never stale: the next writer takes it at the first try (lock_timeout=0 waits for nothing)
    TokenCacheStore(cache_file, lock_timeout=0).update(lambda current: dict(current, After={"k": {"v": "1"}}))
    leftovers = [name for name in os.listdir(accounts_dir) if ".tmp-" in name]
    print("commits: %d; kills between rename and report: %d; temporary files left by kills: %d"
          % (committed, mid_write_kills, len(leftovers)))
    assert committed > STORE_KILLS  # the writers did write between kills


def _refresher(options: dict, report_fd: int):
    """Refresh (rotating the refresh token and rewriting the file) until killed."""
    while True:
        result = acquire(options)
        os.write(report_fd, b"1\n" if result["ok"] else b"0\n")


def test_acquisition_killed_at_random_points(emu, tmp_path):
    """Processes killed in the middle of real acquisitions (identity lock held, msal running, file being written)."""
    rng = random.Random(int(os.environ.get("ENTRA_RELIABILITY_SEED", "0")) or None)
    cache_file = str(tmp_path / "token_cache")
    user, password = reliability_user(39)
    other, other_password = reliability_user(40)
    first = acquire(emu.options(other, other_password, cache_path=cache_file))
    assert first["ok"], first
    other_file = account_path(emu.options(other, cache_path=cache_file))
    with open(other_file, "rb") as handle:
        other_bytes = handle.read()

    options = emu.options(user, password, cache_path=cache_file, force_refresh=True)
    own_file = account_path(options)
    for kill in range(ACQUISITION_KILLS):
        pid, read_end = _fork(_refresher, options)
        _kill_at_random(pid, read_end, rng, 0.25)
        if os.path.exists(own_file):
            _load(own_file)
        with open(other_file, "rb") as handle:
            assert handle.read() == other_bytes, "kill %d changed the other user's account file" % kill
        # the next process is not blocked by the killed one (a stale lock would end in cache_error)
        # and gets a token: from the refresh token, or, if the kill came between Entra's rotation
        # and the write, with the password
        after = acquire(options)
        assert after["ok"], (kill, after)
    assert not [name for name in os.listdir(os.path.dirname(own_file)) if "corrupt" in name]
    # the other user's token is still served from the file without a password
    served = acquire(emu.options(other, cache_path=cache_file))
    assert served["ok"] and served["facts"]["source"] == "cache", served
