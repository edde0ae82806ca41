"""Hostile, issue 9 break 1: one attempt per credential, across every fork, process and run.

Before 0.2.0, 20 hosts at forks 10 sent a wrong password 3 times, a lookup over 60-100
hosts at forks 30-50 sent it 5-10 times, and a federated user got 6 MEX + 6 WS-Trust
requests: only forks that happened to wait on the lock saw the shared failure. Ten
attempts is Entra's default smart-lockout threshold. Now: at most one password grant
(one MEX + one WS-Trust exchange) per run and per 15 minutes for one identity and one
password, a changed password at once, and one refresh attempt with a dead refresh token.

Requests are counted at the emulator (its request log), never inferred from timings.
"""

from __future__ import annotations

import collections

from _ansible import inventory, lookup_kind, lookup_task, module_kind, module_task, play, run_playbook
from _layout import account_path, age_access_tokens
from _procs import acquire, run_forked
from conftest import federated_user, reliability_user

MODULE_USER, MODULE_PASSWORD = reliability_user(41)
LOOKUP_USER, LOOKUP_PASSWORD = reliability_user(42)
REVOKED_USER, REVOKED_PASSWORD = reliability_user(43)
FORKED_USER, FORKED_PASSWORD = reliability_user(44)
FEDERATED, FEDERATED_PASSWORD = federated_user(1)
WRONG = "Wrong-Passw0rd-%s!"


def _grants(emu, user) -> collections.Counter:
    return collections.Counter(entry["grant_type"] for entry in emu.token_log(user))


def _kinds(results: dict, of) -> collections.Counter:
    return collections.Counter(of(result) for result in results.values())


def test_wrong_password_many_forks_module_and_lookup(emu, tmp_path, ansible_env):
    """20 hosts (module, 10 at a time) and 60 hosts (lookup, forks 50): one password grant each; none in the next run."""
    cache = str(tmp_path / "cache")
    module_options = emu.options(MODULE_USER, WRONG % "module", cache_path=cache)
    lookup_options = emu.options(LOOKUP_USER, WRONG % "lookup", cache_path=cache)
    hosts = inventory(tmp_path, {"mod": 20, "look": 60})
    first = run_playbook(ansible_env, tmp_path, [
        play("mod", module_task("module", module_options, throttle=10)),
        play("look", lookup_task("lookup", lookup_options)),
    ], hosts, forks=50)
    results = first.results()
    assert len(results["module"]) == 20 and len(results["lookup"]) == 60, first.stdout[-2000:]
    assert _kinds(results["module"], module_kind) == {"invalid_credentials": 20}, results["module"]
    assert _kinds(results["lookup"], lookup_kind) == {"invalid_credentials": 60}
    print("password grants, first run: module 20 hosts x forks 10: %d; lookup 60 hosts x forks 50: %d"
          % (_grants(emu, MODULE_USER)["password"], _grants(emu, LOOKUP_USER)["password"]))
    assert _grants(emu, MODULE_USER) == {"password": 1}
    assert _grants(emu, LOOKUP_USER) == {"password": 1}

    # A second run within the window sends none; a changed (right) password is tried at once.
    emu.reset()
    second = run_playbook(ansible_env, tmp_path, [
        play("mod[0:2]", module_task("module again", module_options)),
        play("look[0:2]", lookup_task("lookup again", lookup_options)),
        play("mod[0:2]", module_task("changed password", dict(module_options, password=MODULE_PASSWORD))),
    ], hosts, forks=3)
    results = second.results()
    assert _kinds(results["module again"], module_kind) == {"invalid_credentials": 3}
    assert _kinds(results["lookup again"], lookup_kind) == {"invalid_credentials": 3}
    assert all("not sent again" in r["msg"] for r in results["module again"].values())
    assert _kinds(results["changed password"], module_kind) == {None: 3}, results["changed password"]
    assert _grants(emu, LOOKUP_USER) == {}
    assert _grants(emu, MODULE_USER) == {"password": 1}  # the changed password, once


def test_wrong_password_forks_that_start_later(emu, tmp_path):
    """Forks released after the first failure is stored (three waves) send nothing; the right password goes at once."""
    cache = str(tmp_path / "cache")
    options = emu.options(FORKED_USER, WRONG % "forked", cache_path=cache)
    waves = [run_forked([lambda: acquire(options)] * 16, timeout=120) for _wave in range(3)]
    assert [collections.Counter(r["kind"] for r in wave) for wave in waves] == [{"invalid_credentials": 16}] * 3
    assert _grants(emu, FORKED_USER) == {"password": 1}
    right = run_forked([lambda: acquire(dict(options, password=FORKED_PASSWORD))] * 8, timeout=120)
    assert all(r["ok"] for r in right), right
    assert _grants(emu, FORKED_USER) == {"password": 2}


def test_wrong_password_federated_user(emu, tmp_path):
    """A federated user's wrong password: one MEX and one WS-Trust exchange for every fork, and none later."""
    cache = str(tmp_path / "cache")
    options = emu.options(FEDERATED, WRONG % "federated", cache_path=cache)
    results = run_forked([lambda: acquire(options)] * 16, timeout=120)
    later = run_forked([lambda: acquire(options)] * 8, timeout=120)
    kinds = collections.Counter(r["kind"] for r in results + later)
    assert len(kinds) == 1 and "TRACEBACK" not in kinds, kinds
    endpoints = emu.counters()["endpoints"]
    print("federated wrong password, 24 processes: %s" % {k: endpoints.get(k, 0) for k in ("mex", "wstrust", "token")})
    assert endpoints.get("wstrust", 0) == 1, endpoints
    assert endpoints.get("mex", 0) <= 1, endpoints
    assert endpoints.get("token", 0) == 0, endpoints
    # the right password: signed in at once
    right = acquire(dict(options, password=FEDERATED_PASSWORD))
    assert right["ok"], right
    assert emu.counters()["endpoints"].get("wstrust", 0) == 2


def test_revoked_refresh_token_100_hosts(emu, tmp_path, ansible_env):
    """A revoked refresh token and no password: 100 hosts at forks 50 send it once, all told the same."""
    cache = str(tmp_path / "cache")
    signed_in = acquire(emu.options(REVOKED_USER, REVOKED_PASSWORD, cache_path=cache))
    assert signed_in["ok"], signed_in
    age_access_tokens(account_path(emu.options(REVOKED_USER, cache_path=cache)))  # the access token expired
    emu.revoke(REVOKED_USER)
    emu.reset(lifetimes=False)
    hosts = inventory(tmp_path, {"h": 100})
    run = run_playbook(ansible_env, tmp_path, [
        play("all", module_task("no password", emu.options(REVOKED_USER, cache_path=cache)))], hosts, forks=50)
    results = run.results()["no password"]
    assert len(results) == 100
    assert _kinds(results, module_kind) == {"refresh_token_expired": 100}, _kinds(results, module_kind)
    assert all("identity.entra.sign_in" in r["error"]["mitigation"] for r in results.values())
    print("refresh requests with a revoked refresh token, 100 hosts x forks 50: %d"
          % _grants(emu, REVOKED_USER)["refresh_token"])
    assert _grants(emu, REVOKED_USER) == {"refresh_token": 1}
    # the password, given now, is sent at once (the dead refresh token is not tried again)
    again = acquire(emu.options(REVOKED_USER, REVOKED_PASSWORD, cache_path=cache))
    assert again["ok"] and again["facts"]["source"] == "password", again
    assert _grants(emu, REVOKED_USER) == {"refresh_token": 1, "password": 1}
