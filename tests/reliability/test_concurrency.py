"""Many processes, one cache directory.

The bar, measured with msal-extensions' PersistedTokenCache: 32 processes of one
user on a cold cache made 7 token requests and 32 metadata fetches.
"""

from __future__ import annotations

import os

import pytest

from _layout import account_path, age_access_tokens, load, refresh_secrets, usernames
from _procs import acquire, run_forked, run_fresh
from conftest import reliability_user

PROCESSES = 32
# Each account has its own file since 0.2.0, so users no longer share a read-modify-write; a few
# rounds still prove that nothing is lost and that every account file parses.
ROUNDS = 4
# Fresh interpreters each import Ansible's and msal's modules (about half a second of CPU each).
FRESH_PROCESSES = 16


def _assert_all_ok(results):
    failed = [r for r in results if not r["ok"]]
    assert not failed, failed[:3]


def test_distinct_users_cold_nothing_lost(emu, tmp_path):
    """32 processes, 32 users, one cold cache directory, several times: every account is in its parsed file."""
    users = [reliability_user(n) for n in range(1, PROCESSES + 1)]
    for round_number in range(ROUNDS):
        cache_file = str(tmp_path / ("round%02d" % round_number) / "token_cache")
        jobs = [lambda u=u, p=p: acquire(emu.options(u, p, cache_path=cache_file)) for u, p in users]
        results = run_forked(jobs, timeout=120)
        _assert_all_ok(results)
        assert usernames(cache_file) == {u for u, _p in users}, "round %d lost accounts" % round_number
        # and every one of them is served from the file, without a password
        again = acquire(emu.options(users[round_number][0], cache_path=cache_file))
        assert again["ok"] and again["facts"]["source"] == "cache", again
    # every process signed in once, none twice
    assert emu.token_requests() == PROCESSES * ROUNDS


@pytest.mark.parametrize("runner", ["forked", "fresh interpreters"])
def test_one_user_cold_single_flight(emu, tmp_path, runner):
    """32 forked processes (16 fresh interpreters) of one user on a cold cache: one token request, one token for all."""
    user, password = reliability_user(33 if runner == "forked" else 34)
    cache_file = str(tmp_path / "token_cache")
    options = emu.options(user, password, cache_path=cache_file)
    if runner == "forked":
        results = run_forked([lambda: acquire(options)] * PROCESSES, timeout=120)
    else:
        results = run_fresh([options] * FRESH_PROCESSES, timeout=180)
    _assert_all_ok(results)
    assert emu.token_requests(user) == 1
    tokens = {r["facts"]["access_token"] for r in results}
    assert len(tokens) == 1
    sources = sorted(r["facts"]["source"] for r in results)
    assert sources == ["cache"] * (len(results) - 1) + ["password"]
    # OpenID configuration and user realm: fetched by the one process that signed in,
    # then served from <cache>/discovery/
    endpoints = emu.counters()["endpoints"]
    assert endpoints.get("openid_configuration", 0) <= 1 and endpoints.get("userrealm", 0) <= 1, endpoints
    assert os.stat(account_path(options)).st_mode & 0o777 == 0o600
    assert os.stat(cache_file).st_mode & 0o777 == 0o700


def test_one_user_expired_single_refresh_keeps_rotation(emu, tmp_path):
    """32 processes whose cached access token expired: one refresh, and the rotated refresh token is what stays."""
    user, password = reliability_user(35)
    cache_file = str(tmp_path / "token_cache")
    first = acquire(emu.options(user, password, cache_path=cache_file))
    assert first["ok"], first
    account = account_path(emu.options(user, cache_path=cache_file))
    old_refresh = refresh_secrets(account)
    age_access_tokens(account)  # expire it, as time would
    emu.reset()

    results = run_forked([lambda: acquire(emu.options(user, cache_path=cache_file))] * PROCESSES, timeout=120)
    _assert_all_ok(results)
    assert emu.grants() == {"refresh_token": 1}
    assert sorted(r["facts"]["source"] for r in results) == ["cache"] * (PROCESSES - 1) + ["refresh"]
    refresh = refresh_secrets(account)
    assert len(load(account)["RefreshToken"]) == 1
    assert len(refresh) == 1 and not refresh & old_refresh, "the rotated refresh token was not kept"
    # the kept refresh token works
    forced = acquire(emu.options(user, cache_path=cache_file, force_refresh=True))
    assert forced["ok"] and forced["facts"]["source"] == "refresh", forced


def test_different_users_do_not_wait_for_each_other(emu, tmp_path):
    """A slow sign-in of one user does not delay another user's sign-in on the same cache."""
    slow_user, slow_password = reliability_user(36)
    fast_user, fast_password = reliability_user(37)
    cache_file = str(tmp_path / "token_cache")
    emu.add_fault(endpoint="token", user=slow_user, kind="latency", latency=10)
    results = run_forked([
        lambda: acquire(emu.options(slow_user, slow_password, cache_path=cache_file, timeout=30)),
        lambda: acquire(emu.options(fast_user, fast_password, cache_path=cache_file)),
    ], timeout=90)
    _assert_all_ok(results)
    assert results[0]["elapsed"] >= 10
    # both started together: the fast user finished while the slow one still waited for Entra
    assert results[1]["elapsed"] < results[0]["elapsed"] - 5, (results[1]["elapsed"], results[0]["elapsed"])
    assert usernames(cache_file) == {slow_user, fast_user}
