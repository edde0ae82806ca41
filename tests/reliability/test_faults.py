"""Network and service faults: the right error.kind and retryable, in bounded time.

The entra_token integration target covers one fault at a time on the token
endpoint through ansible-playbook with the cache off. Here: every discovery
endpoint too, with the file cache on, transport failures the emulator cannot
inject (refused, connect timeout, wrong CA, CA environment variables), a wall
clock bound on each, and what must not leak between users or attempts.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from _layout import account_path, load
from _procs import acquire, run_forked
from conftest import reliability_user

# The bounds below tell "failed at once" from "waited for a timeout or a Retry-After", not fast
# from slow: an answer that must come at once may take up to TIMEOUT (a loaded CI machine imports
# msal slowly), a cut-off request up to 2 x TIMEOUT, and the faults wait longer than that.
TIMEOUT = 4
USER, PASSWORD = reliability_user(2)
OTHER, OTHER_PASSWORD = reliability_user(3)

# (endpoint, fault, kind, retryable). Bounds: one request may take `timeout`, a connect
# timeout is retried once (nothing was sent), everything else must fail without waiting.
EMULATED = [
    ("token", {"kind": "status", "status": 429, "retry_after": 30}, "throttled", True),
    ("token", {"kind": "status", "status": 429}, "throttled", True),
    ("token", {"kind": "status", "status": 500}, "service_unavailable", True),
    ("token", {"kind": "status", "status": 503, "retry_after": 2 * TIMEOUT}, "service_unavailable", True),
    ("token", {"kind": "status", "status": 504}, "service_unavailable", True),
    ("token", {"kind": "html"}, "invalid_response", True),
    ("token", {"kind": "html", "status": 502}, "service_unavailable", True),
    ("token", {"kind": "truncated"}, "invalid_response", True),
    ("token", {"kind": "reset"}, "network_error", True),
    ("token", {"kind": "latency", "latency": 3 * TIMEOUT}, "network_error", True),
    ("openid_configuration", {"kind": "status", "status": 429, "retry_after": 30}, "throttled", True),
    ("openid_configuration", {"kind": "status", "status": 500}, "service_unavailable", True),
    ("openid_configuration", {"kind": "status", "status": 503}, "service_unavailable", True),
    ("openid_configuration", {"kind": "html"}, "invalid_response", True),
    ("openid_configuration", {"kind": "truncated"}, "invalid_response", True),
    ("openid_configuration", {"kind": "reset"}, "network_error", True),
    ("openid_configuration", {"kind": "latency", "latency": 3 * TIMEOUT}, "network_error", True),
    ("userrealm", {"kind": "status", "status": 503}, "service_unavailable", True),
    ("userrealm", {"kind": "html"}, "invalid_response", True),
    ("userrealm", {"kind": "truncated"}, "invalid_response", True),
    ("userrealm", {"kind": "reset"}, "network_error", True),
    ("userrealm", {"kind": "latency", "latency": 3 * TIMEOUT}, "network_error", True),
]


def _case_id(case):
    endpoint, fault, kind, _retryable = case
    detail = fault.get("status") or fault.get("latency") or ""
    return "%s-%s%s-%s" % (endpoint, fault["kind"], detail, "ra" if "retry_after" in fault else "") + kind


def _bound(kind):
    return 2 * TIMEOUT if kind == "network_error" else TIMEOUT


def _check(result, kind, retryable, bound):
    assert not result["ok"], result
    assert result["kind"] == kind, result
    assert result["retryable"] is retryable, result
    assert result["elapsed"] < bound, (result["elapsed"], bound, result)
    message = result["message"]
    assert message and "\n" not in message and "Traceback" not in message, message
    assert PASSWORD not in message and OTHER_PASSWORD not in message


@pytest.mark.parametrize("case", EMULATED, ids=[_case_id(c) for c in EMULATED])
def test_emulated_fault(emu, tmp_path, case):
    endpoint, fault, kind, retryable = case
    fault = dict(fault, endpoint=endpoint, times=1)
    if endpoint in ("token", "userrealm"):
        fault["user"] = USER
    emu.add_fault(**fault)
    cache_dir = str(tmp_path / "token_cache")
    options = emu.options(USER, PASSWORD, cache_path=cache_dir, timeout=TIMEOUT)
    result = run_forked([lambda: acquire(options)], timeout=30)[0]
    _check(result, kind, retryable, _bound(kind))
    if fault.get("status") == 429 and fault.get("retry_after"):
        assert "Retry-After" in result["message"] or "429" in result["message"], result["message"]
        # Entra asked every client to wait: the next call within Retry-After sends nothing
        sent = len(emu.requests_log())
        held = run_forked([lambda: acquire(options)], timeout=30)[0]
        assert held["kind"] == "throttled", held
        assert len(emu.requests_log()) == sent
        return
    # the fault was transient: the next call goes to Entra again and succeeds (nothing bad was cached)
    again = run_forked([lambda: acquire(options)], timeout=30)[0]
    assert again["ok"], again
    load(account_path(options))


def test_connection_refused(emu, tmp_path):
    closed = socket.socket()
    closed.bind((emu.host, 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT,
                          authority_host="https://%s:%d" % (emu.host, port))
    result = run_forked([lambda: acquire(options)], timeout=30)[0]
    _check(result, "network_error", True, TIMEOUT)
    assert "refused" in result["message"].lower()


def test_connect_timeout(emu, tmp_path):
    """A host that never completes the TCP handshake: network_error after the timeout (one retry)."""
    blackhole = socket.socket()
    blackhole.bind((emu.host, 0))
    blackhole.listen(0)
    port = blackhole.getsockname()[1]
    fillers = []
    try:
        for _filler in range(4):  # fill the accept queue: later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((emu.host, port))
            fillers.append(filler)
        time.sleep(0.2)
        options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT,
                              authority_host="https://%s:%d" % (emu.host, port))
        result = run_forked([lambda: acquire(options)], timeout=30)[0]
    finally:
        for filler in fillers:
            filler.close()
        blackhole.close()
    _check(result, "network_error", True, 3 * TIMEOUT)
    assert result["elapsed"] >= TIMEOUT - 0.1


def _other_ca(directory) -> str:
    """A CA that did not sign the emulator's certificate."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    import datetime  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = os.path.join(str(directory), "other-ca.pem")
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _with_environ(environ, options):
    def job():
        os.environ.update(environ)
        return acquire(options)
    return job


def test_tls_wrong_ca(emu, tmp_path):
    other = _other_ca(tmp_path)
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT, ca_path=other)
    # the environment trusts the emulator, the option does not: the option wins
    env_trusts = {"REQUESTS_CA_BUNDLE": emu.ca_path, "CURL_CA_BUNDLE": emu.ca_path, "SSL_CERT_FILE": emu.ca_path}
    results = run_forked([lambda: acquire(options), _with_environ(env_trusts, options)], timeout=30)
    for result in results:
        _check(result, "tls_error", False, TIMEOUT)
        assert "certificate" in result["message"].lower() or "ssl" in result["message"].lower()


def test_ca_path_wins_over_environment(emu, tmp_path):
    other = _other_ca(tmp_path)
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT)
    env_distrusts = {"REQUESTS_CA_BUNDLE": other, "CURL_CA_BUNDLE": other}
    result = run_forked([_with_environ(env_distrusts, options)], timeout=30)[0]
    assert result["ok"], result


def test_validate_certs_false(emu, tmp_path):
    other = _other_ca(tmp_path)
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT,
                          ca_path=other, validate_certs=False)
    result = run_forked([lambda: acquire(options)], timeout=30)[0]
    assert result["ok"], result


def test_dead_proxy(emu, tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT,
                          proxy="http://127.0.0.1:%d" % port)
    result = run_forked([lambda: acquire(options)], timeout=30)[0]
    _check(result, "network_error", True, TIMEOUT)


def test_one_users_throttling_does_not_block_another(emu, tmp_path):
    """msal replays a 429 for the whole app for Retry-After seconds; here each user reaches Entra."""
    emu.add_fault(endpoint="token", user=USER, kind="status", status=429, retry_after=60)
    cache_file = str(tmp_path / "c")

    def job():
        first = acquire(emu.options(USER, PASSWORD, cache_path=cache_file, timeout=TIMEOUT))
        second = acquire(emu.options(OTHER, OTHER_PASSWORD, cache_path=cache_file, timeout=TIMEOUT))
        return {"ok": True, "first": first, "second": second}

    result = run_forked([job], timeout=30)[0]
    assert result["first"]["kind"] == "throttled", result
    assert result["second"]["ok"], result
    assert result["second"]["elapsed"] < TIMEOUT


def test_throttled_user_retries_after_retry_after(emu, tmp_path):
    """Within Retry-After a retry is held back (not sent); once it has passed, the next attempt is sent."""
    emu.add_fault(endpoint="token", user=USER, kind="status", status=429, retry_after=2, times=1)
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT)

    def job():
        first, held = acquire(options), acquire(options)
        time.sleep(3)  # Retry-After (2 s) has passed
        return {"ok": True, "attempts": [first, held, acquire(options)]}

    attempts = run_forked([job], timeout=30)[0]["attempts"]
    assert attempts[0]["kind"] == "throttled"
    assert attempts[1]["kind"] == "throttled", attempts[1]
    assert attempts[2]["ok"], attempts[2]
    assert emu.token_requests(USER) == 2


def test_wrong_password_retry_is_not_sent(emu, tmp_path):
    """A refused password is not sent again (smart lockout counts each attempt); the error says why."""
    options = emu.options(USER, "Not-The-Passw0rd!", cache_path=str(tmp_path / "c"), timeout=TIMEOUT)

    def job():
        return {"ok": True, "attempts": [acquire(options) for _attempt in range(3)]}

    attempts = run_forked([job], timeout=30)[0]["attempts"]
    assert [a["kind"] for a in attempts] == ["invalid_credentials"] * 3
    assert all(a["error"]["aadsts"] == 50126 for a in attempts)
    assert "not sent again" in attempts[1]["message"] and "not sent again" in attempts[2]["message"]
    assert emu.token_requests(USER) == 1


@pytest.mark.parametrize("processes", [8, 24])
def test_many_processes_against_a_slow_entra(emu, tmp_path, processes):
    """Many forks of one user while every token request hangs past the timeout.

    Each gets a network_error (retryable), none a cache_error or a hang, and the
    play does not take processes x timeout.
    """
    emu.add_fault(endpoint="token", user=USER, kind="latency", latency=TIMEOUT + 1)
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"), timeout=TIMEOUT)
    start = time.monotonic()
    results = run_forked([lambda: acquire(options)] * processes, timeout=300)
    wall = time.monotonic() - start
    kinds = {}
    for result in results:
        kinds[result["kind"]] = kinds.get(result["kind"], 0) + 1
    print("%d processes, slow Entra: %s in %.1fs" % (processes, kinds, wall))
    assert kinds == {"network_error": processes}, kinds
    # the lock holder's attempt is shared with the waiters (counted below): not processes x timeout
    assert wall < processes // 2 * TIMEOUT, wall
    shared = [r for r in results if "another process" in r["message"]]
    assert len(shared) >= processes - 2, [r["message"] for r in results]
    # not sticky: once Entra answers again, the next attempt (nobody waiting) gets a token
    emu.clear_faults()
    after = run_forked([lambda: acquire(options)], timeout=30)[0]
    assert after["ok"], after


def test_many_processes_with_a_wrong_password(emu, tmp_path):
    """16 forks of one user with a wrong password: Entra sees it once, not 16 times (smart lockout counts each)."""
    options = emu.options(USER, "Wrong-Passw0rd!", cache_path=str(tmp_path / "c"), timeout=TIMEOUT)
    results = run_forked([lambda: acquire(options)] * 16, timeout=120)
    assert {r["kind"] for r in results} == {"invalid_credentials"}, results
    assert all(r["error"]["aadsts"] == 50126 for r in results)
    assert emu.token_requests(USER) == 1
    # a later retry of the same password is not sent either (failure memory, see test_hostile_attempts)
    retry = run_forked([lambda: acquire(options)], timeout=30)[0]
    assert retry["kind"] == "invalid_credentials"
    assert emu.token_requests(USER) == 1
    # and the right password, at once, works
    right = run_forked([lambda: acquire(dict(options, password=PASSWORD))], timeout=30)[0]
    assert right["ok"], right
    assert emu.token_requests(USER) == 2


def test_waiters_without_password_are_not_failed_by_the_holder(emu, tmp_path):
    """password_required depends on the caller's options: a waiter that has the password still signs in."""
    cache_file = str(tmp_path / "c")
    emu.add_fault(endpoint="openid_configuration", kind="latency", latency=0.5, times=1)
    without = emu.options(USER, cache_path=cache_file, timeout=TIMEOUT)
    with_password = emu.options(USER, PASSWORD, cache_path=cache_file, timeout=TIMEOUT)

    def late():
        time.sleep(0.15)  # the process without a password takes the lock first
        return acquire(with_password)

    results = run_forked([lambda: acquire(without)] + [late] * 4, timeout=60)
    assert results[0]["kind"] == "password_required", results[0]
    assert all(r["ok"] for r in results[1:]), results[1:]
    assert emu.token_requests(USER) == 1
