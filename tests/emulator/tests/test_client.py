"""The one emulator client (tests/emulator/client.py): attach, errors, device-code and federation helpers."""

import os
import stat
import threading

import pytest

from client import AdminError, EmulatorClient


def test_attach_reads_ready_json(emulator):
    attached = EmulatorClient.attach(emulator.state_dir)
    assert attached.url == emulator.url and attached.process is None
    assert attached.health()["ok"] is True
    assert EmulatorClient.attach(os.path.join(emulator.state_dir, "ready.json")).demo == emulator.demo
    assert attached.stop() is None


def test_admin_errors_raise_with_the_emulators_message(emu):
    with pytest.raises(AdminError, match="no admin route") as caught:
        emu.admin("GET", "nothing-here")
    assert caught.value.status == 404
    with pytest.raises(AdminError, match="unknown kind"):
        emu.add_fault(endpoint="token", kind="nonsense")


def test_wait_for_device_code_is_bounded(emu):
    outcome = []

    def wait():
        try:
            emu.wait_for_device_code(timeout=0.2)
        except TimeoutError as exc:
            outcome.append(exc)
    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(10)
    assert not waiter.is_alive() and outcome, "wait_for_device_code must give up after its timeout"
    flow = emu.device_code_post(scope="User.Read openid profile offline_access").json()
    assert emu.wait_for_device_code(client_id=emu.demo["client_id"].upper())["user_code"] == flow["user_code"]


def test_reset_restores_device_code_settings(emu):
    assert emu.set_device_code_settings(interval=2, expires_in=60) == {"interval": 2, "expires_in": 60}
    emu.reset()
    flow = emu.device_code_post(scope="User.Read").json()
    assert (flow["interval"], flow["expires_in"]) == (5, 900)


def test_write_federated_token_is_private(emu, tmp_path):
    path = emu.write_federated_token(str(tmp_path / "token"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="ascii") as handle:
        assert handle.read().count(".") == 2


def test_counters_helpers(emu):
    emu.token_post(grant_type="password", username=emu.demo["username"], password=emu.demo["password"],
                   scope="User.Read openid profile offline_access")
    assert emu.grants() == {"password": 1}
    assert emu.token_requests() == 1 and emu.token_requests(user=emu.demo["username"]) == 1
    assert emu.token_log()[0]["status"] == 200
