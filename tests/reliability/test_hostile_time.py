"""Hostile, issue 9 break 3: ``timeout`` bounds the whole request, and answers are bounded in size.

Before 0.2.0 ``timeout`` bounded each socket read: a server that sent headers and then
one byte a second kept a task with ``timeout: 3`` running for minutes, holding the
identity lock so that every other fork failed too; and a 400 MB answer took about 1 GB
of memory before ``invalid_response``. The emulator's ``drip`` and ``oversize`` faults
play those servers. Requests are counted by the fault's own hit counter (a dripped
answer the client hung up on never completes, so it is not in the request log).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

from _ansible import inventory, module_kind, module_task, play, run_playbook
from _hostile_server import HostileTokenServer
from _layout import account_path, age_access_tokens, load, write_json
from _procs import WORKER, acquire, run_forked
from conftest import reliability_user

DRIP_USER, DRIP_PASSWORD = reliability_user(47)
ANSIBLE_DRIP_USER, ANSIBLE_DRIP_PASSWORD = reliability_user(48)
BIG_USER, BIG_PASSWORD = reliability_user(49)
STREAM_USER, STREAM_PASSWORD = reliability_user(46)
TIMEOUT = 3
# Generous: the deadline is TIMEOUT per exchange; before 0.2.0 this took minutes.
BOUND = 30
BIG = 400 * 1024 * 1024


def _hits(emu, fault_id) -> int:
    return next(f for f in emu.faults() if f["id"] == fault_id)["hits"]


def _fresh_worker(options) -> dict:
    """One acquisition in a new interpreter; its result and its own peak RSS (KiB).

    Called in a forked child, whose counters of waited-for children start at zero,
    so RUSAGE_CHILDREN is that interpreter's alone.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, WORKER], input=(json.dumps(options) + "\n").encode(), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["max_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["stderr"] = done.stderr.decode(errors="replace")
    return result


def test_drip_ends_at_the_deadline_and_releases_waiters(emu, tmp_path):
    """8 forks of one identity against a token endpoint that drips a byte every 0.5 s: one request, all released."""
    fault = emu.add_fault(endpoint="token", kind="drip", interval=0.5, duration=120)
    options = emu.options(DRIP_USER, DRIP_PASSWORD, cache_path=str(tmp_path / "cache"), timeout=TIMEOUT)
    start = time.monotonic()
    results = run_forked([lambda: acquire(options)] * 8, timeout=120)
    wall = time.monotonic() - start
    print("drip, timeout %ds, 8 forks: each ended after %s s; all in %.1f s" % (
        TIMEOUT, sorted(round(r["elapsed"], 1) for r in results), wall))
    assert {r["kind"] for r in results} == {"network_error"}, results
    assert all("did not answer in time" in r["message"] for r in results), results[0]["message"]
    assert max(r["elapsed"] for r in results) < BOUND
    assert wall < BOUND
    # the holder sent the password once; the waiters got its failure instead of each trying in turn
    assert _hits(emu, fault) == 1
    assert emu.grants() == {}


def test_drip_through_ansible(emu, tmp_path, ansible_env):
    """The same through ansible-playbook: 6 hosts at forks 6 end together, well before the drip would."""
    fault = emu.add_fault(endpoint="token", kind="drip", interval=0.5, duration=120)
    options = emu.options(ANSIBLE_DRIP_USER, ANSIBLE_DRIP_PASSWORD, cache_path=str(tmp_path / "cache"), timeout=TIMEOUT)
    hosts = inventory(tmp_path, {"h": 6})
    run = run_playbook(ansible_env, tmp_path, [play("all", module_task("drip", options))], hosts, forks=6)
    results = run.results()["drip"]
    print("drip through ansible-playbook, 6 hosts: %.1f s" % run.elapsed)
    assert [module_kind(r) for r in results.values()] == ["network_error"] * 6, results
    assert run.elapsed < BOUND + 15  # ansible-playbook's own start and end included
    assert _hits(emu, fault) == 1


def test_oversize_answer_refused_in_bounded_memory(emu, tmp_path):
    """A 400 MB token answer: invalid_response, and the worker's peak memory stays far below the answer's size."""
    fault = emu.add_fault(endpoint="token", kind="oversize", size=BIG)
    options = emu.options(BIG_USER, BIG_PASSWORD, cache_path=str(tmp_path / "cache"), timeout=30)
    result = run_forked([lambda: _fresh_worker(options)], timeout=150)[0]
    print("oversize answer of %d MiB: kind %s, worker max RSS %.0f MiB, %.1f s" % (
        BIG >> 20, result.get("kind"), result["max_rss_kib"] / 1024, result["elapsed"]))
    assert result["kind"] == "invalid_response", result
    assert "more than 1048576 bytes" in result["message"], result["message"]
    assert not result["stderr"], result["stderr"][:2000]
    assert result["max_rss_kib"] < 200 * 1024, result["max_rss_kib"]
    assert result["elapsed"] < BOUND
    assert _hits(emu, fault) == 1


def _refresh_against(emu, tmp_path, server) -> dict:
    """Options whose cached refresh token (a real one, moved to the server's host) must be redeemed at ``server``."""
    tenant = emu.demo["tenant_id"]
    seed = emu.options(STREAM_USER, STREAM_PASSWORD, cache_path=str(tmp_path / "seed"), tenant=tenant)
    signed_in = acquire(seed)
    assert signed_in["ok"], signed_in
    options = emu.options(STREAM_USER, cache_path=str(tmp_path / "cache"), tenant=tenant, authority_host=server.url,
                          ca_path=server.ca_path, timeout=TIMEOUT)
    path = account_path(options)
    os.makedirs(os.path.dirname(path), mode=0o700)
    os.chmod(tmp_path / "cache", 0o700)
    write_json(path, json.loads(json.dumps(load(account_path(seed))).replace('"%s"' % emu.host, '"127.0.0.1"')
                                .replace("-%s-" % emu.host, "-127.0.0.1-")))
    age_access_tokens(path)
    return options


def test_endless_answer_without_length_is_cut_at_the_cap(emu, tmp_path):
    """No Content-Length, an endless body: invalid_response once 1 MiB is read, in bounded memory and time."""
    with HostileTokenServer(tmp_path, "flood") as server:
        options = _refresh_against(emu, tmp_path, server)
        result = run_forked([lambda: _fresh_worker(options)], timeout=150)[0]
        print("endless answer without Content-Length: kind %s, worker max RSS %.0f MiB, %.1f s, server sent %.1f MiB"
              % (result.get("kind"), result["max_rss_kib"] / 1024, result["elapsed"], server.bytes_sent / 2 ** 20))
        assert server.token_requests == 1
    assert result["kind"] == "invalid_response", result
    assert "more than 1048576 bytes" in result["message"], result["message"]
    assert result["max_rss_kib"] < 200 * 1024
    assert result["elapsed"] < BOUND
    assert server.bytes_sent < 64 * 2 ** 20  # it stopped reading; the server's writes then failed


def test_drip_without_length_ends_at_the_deadline(emu, tmp_path):
    with HostileTokenServer(tmp_path, "drip", interval=0.25) as server:
        options = _refresh_against(emu, tmp_path, server)
        result = run_forked([lambda: acquire(options)], timeout=120)[0]
        time.sleep(0.5)
        print("drip without Content-Length, timeout %ds: %s after %.1f s, %d bytes served"
              % (TIMEOUT, result.get("kind"), result.get("elapsed", -1), server.bytes_sent))
        assert server.token_requests == 1
    assert result["kind"] == "network_error", result
    assert result["elapsed"] < BOUND
    assert server.bytes_sent <= TIMEOUT / 0.25 + 4
