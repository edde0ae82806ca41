"""Fault injection over HTTPS: what clients see for each kind, and how faults are counted."""

import time
import warnings

import pytest
import requests

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FORM = {"grant_type": "password", "scope": "User.Read openid profile offline_access"}


def _password(emu, user=None, password=None):
    return emu.token_post(username=user or emu.demo["username"], password=password or emu.demo["password"], **FORM)


def _acquire(app, username, password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return app.acquire_token_by_username_password(username, password, scopes=["User.Read"])


def test_429_with_and_without_retry_after(emu):
    emu.add_fault(endpoint="token", kind="status", status=429, retry_after=7, times=1)
    emu.add_fault(endpoint="token", kind="status", status=429, times=1)
    first, second, third = _password(emu), _password(emu), _password(emu)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert second.status_code == 429 and "Retry-After" not in second.headers
    assert first.json()["error"] == "temporarily_unavailable"
    assert third.status_code == 200
    assert emu.counters()["faults"] == {"status": 2}
    assert [e["fault"] for e in emu.requests_log(endpoint="token")] == ["status", "status", None]


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_make_msal_raise(emu, status):
    emu.add_fault(endpoint="token", kind="status", status=status, times=1)
    with pytest.raises(Exception, match=str(status)):
        _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"])


def test_connection_reset(emu):
    emu.add_fault(endpoint="token", kind="reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        _password(emu)
    assert _password(emu).status_code == 200
    assert emu.requests_log(endpoint="token")[0]["status"] == 0


def test_html_and_truncated_bodies_break_json(emu):
    emu.add_fault(endpoint="token", kind="html", status=200, times=1)
    with pytest.raises(ValueError):
        _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"])
    emu.add_fault(endpoint="token", kind="truncated", times=1)
    response = _password(emu)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_latency(emu):
    emu.add_fault(endpoint="userrealm", kind="latency", latency=0.6, times=1)
    started = time.monotonic()
    response = emu.session.get(emu.url + "/common/userrealm/demo@contoso.example?api-version=1.0")
    assert response.status_code == 200 and time.monotonic() - started >= 0.6
    assert emu.requests_log(endpoint="userrealm")[-1]["fault"] == "latency"


def test_per_user_and_per_grant_faults(emu):
    emu.add_fault(endpoint="token", user="Adele.Vance@contoso.example", kind="status", status=503)
    assert _password(emu, "adele.vance@contoso.example", "Adele-Passw0rd!").status_code == 503
    first = _password(emu)
    assert first.status_code == 200
    emu.add_fault(endpoint="token", grant_type="refresh_token", kind="status", status=500, times=1)
    assert _password(emu).status_code == 200
    refresh = emu.token_post(grant_type="refresh_token", refresh_token=first.json()["refresh_token"], scope="User.Read")
    assert refresh.status_code == 500


def test_skip_then_times(emu):
    emu.add_fault(endpoint="openid_configuration", kind="status", status=503, skip=1, times=2)
    url = emu.url + "/contoso.example/v2.0/.well-known/openid-configuration"
    assert [emu.session.get(url).status_code for _unused in range(4)] == [200, 503, 503, 200]


def test_probability_zero_and_one(emu):
    emu.add_fault(endpoint="jwks", kind="status", status=500, probability=0.0)
    url = emu.url + "/contoso.example/discovery/v2.0/keys"
    assert emu.session.get(url).status_code == 200
    emu.admin("DELETE", "faults")
    emu.add_fault(endpoint="jwks", kind="status", status=500, probability=1.0)
    assert emu.session.get(url).status_code == 500


def test_fault_on_mex_and_wstrust_breaks_federation(emu):
    emu.add_fault(endpoint="mex", kind="status", status=503, times=1)
    with pytest.raises(Exception, match="HTTP Error: 503"):
        _acquire(emu.public_app(), "alice@fabrikam.example", "Alice-Passw0rd!")
    emu.add_fault(endpoint="wstrust", kind="html", status=503, times=1)
    with pytest.raises(Exception):
        _acquire(emu.public_app(), "alice@fabrikam.example", "Alice-Passw0rd!")


def test_fault_admin_validation(emu):
    bad = emu.session.post(emu.url + "/_emulator/faults", json={"endpoint": "nope", "kind": "status", "status": 500})
    assert bad.status_code == 400
    fault_id = emu.add_fault(endpoint="token", kind="status", status=500)
    listed = emu.admin("GET", "faults")["faults"]
    assert [f["id"] for f in listed] == [fault_id]
    emu.admin("DELETE", "faults", id=fault_id)
    assert emu.admin("GET", "faults")["faults"] == []
