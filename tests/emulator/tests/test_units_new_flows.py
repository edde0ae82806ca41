"""Socket-free checks of the device-code store, refresh-token persistence, fault streams and legacy error bodies."""

import json
import os
import sys
from urllib.parse import urlencode

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from entra_emulator import errors, fault_streams, token_endpoint  # noqa: E402
from entra_emulator.device_code import DeviceCodeStore  # noqa: E402
from entra_emulator.http import Request  # noqa: E402
from entra_emulator.state import Clock, EmulatorState, RefreshTokenStore  # noqa: E402


def test_device_code_store_lifecycle():
    clock = Clock()
    store = DeviceCodeStore(clock, interval=2, expires_in=10)
    record = store.create("t", "tid", "CLIENT", "User.Read")
    assert record["client_id"] == "client" and len(record["user_code"]) == 9
    assert store.poll(record["device_code"]) == ("pending", 2, False)
    assert store.poll(record["device_code"]) == ("pending", 7, True), "too fast: slow_down and 5 s more"
    clock.advance(7)
    assert store.poll(record["device_code"]) == ("pending", 7, False)
    assert store.redeem(record["device_code"]) is None, "only approved codes are redeemed"
    store.approve(record["user_code"].lower(), "A@x.test", "tid")
    assert store.redeem(record["device_code"])["user"] == "a@x.test"
    assert store.redeem(record["device_code"]) is None, "once"
    other = store.create("t", "tid", "client", "User.Read")
    clock.advance(11)
    assert store.by_device_code(other["device_code"])["status"] == "expired"
    with pytest.raises(ValueError, match="expired"):
        store.approve(other["user_code"], "a@x.test", "tid")
    with pytest.raises(KeyError):
        store.decline("NOPE")
    assert all("device_code" not in entry for entry in store.list())
    with pytest.raises(ValueError):
        store.configure(interval=0)


def test_device_code_store_is_bounded(monkeypatch):
    from entra_emulator import device_code  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(device_code, "MAX_CODES", 5)
    store = DeviceCodeStore(Clock())
    for _unused in range(12):
        store.create("t", "tid", "c", "s")
    assert len(store.list()) == 5


def test_refresh_token_store_persists_hashes_and_sessions(tmp_path):
    path = str(tmp_path / "rt.json")
    clock = Clock()
    store = RefreshTokenStore(clock, path)
    session = {"auth_time": 5.0, "mfa": True, "amr": ["pwd", "mfa"]}
    token = store.issue("tid", "cid", "A@x.test", 100, scope="s", session=session)
    store.revoke_user("b@x.test")
    store.close()
    text = open(path, encoding="utf-8").read()  # pylint: disable=consider-using-with
    assert token not in text and json.loads(text)["valid_from"]["b@x.test"]
    again = RefreshTokenStore(clock, path)
    record = again.get(token)
    assert (record["upn"], record["auth_time"], record["mfa"], record["amr"]) == ("a@x.test", 5.0, True, ["pwd", "mfa"])
    assert again.status(record) == "ok"
    again.close()
    damaged = tmp_path / "bad.json"
    damaged.write_text("{not json")
    RefreshTokenStore(clock, str(damaged)).close()  # starts, forgets


def test_drip_is_bounded_by_duration_and_length():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    body = b"x" * 1000
    out = list(fault_streams.drip(body, 0.5, 3.0, sleep=sleep, clock=lambda: now[0]))
    assert out == [b"x"] * 7 and now[0] == 3.0
    assert b"".join(fault_streams.drip(b"abc", 0.1, 60, sleep=sleep, clock=lambda: now[0])) == b"abc"
    list(fault_streams.drip(body, 1, 10 ** 6, sleep=sleep, clock=lambda: now[0]))
    assert now[0] <= 3.0 + 1 + fault_streams.MAX_DURATION


def test_oversize_is_streamed_in_bounded_chunks():
    chunks = list(fault_streams.oversize(1000003))
    assert sum(len(c) for c in chunks) == 1000003 and max(len(c) for c in chunks) <= fault_streams.CHUNK
    assert sum(len(c) for c in fault_streams.oversize(10)) == 10


def test_multi_code_body_and_legacy_federated_password():
    body = errors.multi_error_body([70002, 50126], "https://h")
    assert body["error_codes"] == [70002, 50126] and body["error"] == "invalid_grant"
    assert body["error_description"].startswith("AADSTS70002: Error validating credentials. AADSTS50126: Invalid "
                                                "username or password\r\n")
    scenario = {"tenants": [{"domains": ["c.test"], "federated_domains": ["f.test"], "legacy_federated_errors": True,
                             "apps": [{"client_id": "c1", "consented_scopes": ["User.Read"]}],
                             "users": [{"upn": "u@f.test", "password": "pw"}, {"upn": "m@c.test", "password": "pw"}]}]}
    state = EmulatorState(scenario, "https://emu.test")
    try:
        def post(user, password):
            form = {"grant_type": "password", "client_id": "c1", "username": user, "password": password,
                    "scope": "User.Read openid profile offline_access"}
            answer = token_endpoint.handle(state, Request("POST", "/c.test/oauth2/v2.0/token",
                                                          body=urlencode(form).encode()), "c.test")
            return json.loads(answer.body)
        assert post("u@f.test", "wrong")["error_codes"] == [70002, 50126]
        assert post("m@c.test", "wrong")["error_codes"] == [50126], "managed users keep today's single code"
        assert "access_token" in post("u@f.test", "pw")
    finally:
        state.close()
