"""Socket-free checks of the device-code store and the refresh-token store's persistence."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from entra_emulator.device_code import DeviceCodeStore  # noqa: E402
from entra_emulator.state import Clock, RefreshTokenStore  # noqa: E402


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
    token = store.issue("tid", "cid", "A@x.test", 100, scope="s", session={"auth_time": 5.0, "mfa": True,
                                                                            "amr": ["pwd", "mfa"]})
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
