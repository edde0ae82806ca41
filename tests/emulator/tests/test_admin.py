"""Admin API, request log hygiene, lifetimes, ready.json contract and clean shutdown."""

import json
import os
import warnings

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_ready_json_contract(emulator):
    ready = emulator.ready
    for key in ("url", "graph_url", "ca_path", "pid", "admin_url", "demo", "tenants"):
        assert key in ready
    assert ready["url"].startswith("https://") and ":443" not in ready["url"]
    assert ready["admin_url"] == ready["url"] + "/_emulator"
    assert set(ready["demo"]) >= {"tenant", "client_id", "username", "password"}
    assert os.path.exists(ready["ca_path"])
    assert emulator.admin("GET", "health")["ok"] is True


def test_log_never_contains_secrets(emu):
    app = emu.public_app()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = app.acquire_token_by_username_password(emu.demo["username"], emu.demo["password"], scopes=["User.Read"])
    app.acquire_token_silent(["User.Read"], account=app.get_accounts()[0], force_refresh=True)
    dumped = json.dumps(emu.requests_log()) + json.dumps(emu.counters())
    for secret in (emu.demo["password"], result["access_token"], result["refresh_token"], result["id_token"]):
        assert secret not in dumped
    with open(os.path.join(os.path.dirname(emu.ca_path), "emulator.log"), encoding="utf-8") as handle:
        assert emu.demo["password"] not in handle.read()


def test_counters_and_reset(emu):
    emu.session.get(emu.url + "/common/userrealm/demo@contoso.example?api-version=1.0")
    emu.session.get(emu.url + "/common/userrealm/adele.vance@contoso.example?api-version=1.0")
    counters = emu.counters()
    assert counters["endpoints"] == {"userrealm": 2}
    assert counters["by_endpoint_user"]["userrealm"] == {"demo@contoso.example": 1, "adele.vance@contoso.example": 1}
    last = counters["last_seq"]
    emu.session.get(emu.url + "/contoso.example/discovery/v2.0/keys")
    assert [e["endpoint"] for e in emu.requests_log(since=last)] == ["jwks"]
    assert len(emu.requests_log(user="demo@contoso.example")) == 1
    emu.admin("POST", "reset")
    assert emu.counters()["total"] == 0 and emu.requests_log() == []


def test_lifetime_override(emu):
    emu.admin("POST", "lifetimes", {"user": "megan.bowen@contoso.example", "token_lifetime": 7})
    response = emu.token_post(grant_type="password", username="megan.bowen@contoso.example", password="Megan-Passw0rd!",
                              scope="User.Read openid profile offline_access")
    assert response.json()["expires_in"] == 7
    other = emu.token_post(grant_type="password", username=emu.demo["username"], password=emu.demo["password"],
                           scope="User.Read openid profile offline_access")
    assert other.json()["expires_in"] == 3600


def test_scenario_without_passwords_and_unknown_admin_route(emu):
    scenario = emu.admin("GET", "scenario")
    assert all("password" not in u for t in scenario["tenants"] for u in t["users"])
    assert emu.session.get(emu.url + "/_emulator/nope").status_code == 404


def test_seed_users_delegates_to_graph(emu):
    response = emu.session.post(emu.url + "/_emulator/users/seed", json={"count": 3})
    if not emu.admin("GET", "health")["graph"]:
        assert response.status_code == 501
    else:
        assert response.status_code == 200


def test_sigterm_removes_ready_json(tmp_path, emulator_launcher):
    start, stop = emulator_launcher
    process, ready = start(str(tmp_path), port=18443)
    assert ready["url"].endswith(":18443")
    assert stop(process) == 0
    assert not os.path.exists(os.path.join(str(tmp_path), "ready.json"))
