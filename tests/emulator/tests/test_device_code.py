"""Device code flow (RFC 8628 as Entra runs it) driven by unmodified msal, and the admin API that plays the person."""

import threading

import jwt
import pytest

SCOPES = ["User.Read"]
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MFA_USER = "mfa@contoso.example"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def fast(emu):
    """Device codes with a 1 s polling interval (msal sleeps the interval between polls)."""
    emu.set_device_code_settings(interval=1)
    return emu


def _poll(emu, flow, client_id=None, tenant=None):
    return emu.token_post(tenant=tenant, client_id=client_id or emu.demo["client_id"], grant_type=GRANT,
                          device_code=flow["device_code"], code=flow["device_code"], client_info="1")


def test_openid_configuration_advertises_the_device_endpoint(emu):
    doc = emu.session.get(emu.url + "/contoso.example/v2.0/.well-known/openid-configuration").json()
    assert doc["device_authorization_endpoint"] == "%s/%s/oauth2/v2.0/devicecode" % (emu.url, emu.tenant_id)


def test_initiate_answers_entras_fields_and_message(fast):
    flow = fast.public_app().initiate_device_flow(scopes=SCOPES)
    assert set(flow) >= {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"}
    assert flow["expires_in"] == 900 and flow["interval"] == 1
    assert flow["verification_uri"] == fast.url + "/devicelogin"
    assert flow["message"] == ("To sign in, use a web browser to open the page %s/devicelogin and enter the code %s "
                               "to authenticate." % (fast.url, flow["user_code"]))
    assert len(flow["user_code"]) == 9 and flow["user_code"].isalnum() and flow["user_code"].isupper()
    listed = fast.device_codes()
    assert [c["user_code"] for c in listed] == [flow["user_code"]]
    assert listed[0]["status"] == "pending" and listed[0]["client_id"] == fast.demo["client_id"]
    assert listed[0]["scope"].split() == ["User.Read", "offline_access", "openid", "profile"]
    assert flow["device_code"] not in str(listed), "the admin API must never show the device code"


def test_default_interval_is_entras_five_seconds(emu):
    flow = emu.public_app().initiate_device_flow(scopes=SCOPES)
    assert flow["interval"] == 5


def test_approved_code_gives_tokens_like_the_password_grant(fast):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    fast.approve_device_code(flow["user_code"], fast.demo["username"])
    result = app.acquire_token_by_device_flow(flow)
    assert {"access_token", "refresh_token", "id_token", "client_info"} <= set(result), result
    assert result["id_token_claims"]["preferred_username"] == fast.demo["username"]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "mfa"] and "User.Read" in claims["scp"].split()
    assert app.get_accounts(username=fast.demo["username"])
    assert fast.grants() == {GRANT: 1}
    assert fast.device_codes()[0]["status"] == "redeemed"
    again = app.acquire_token_by_device_flow(flow)  # a device code is redeemed once
    assert again["error"] == "invalid_grant" and again["error_codes"] == [70000]


def test_msal_polls_while_pending_then_gets_tokens(fast):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    results = {}
    poller = threading.Thread(target=lambda: results.update(app.acquire_token_by_device_flow(flow)))
    poller.start()
    try:
        code = fast.wait_for_device_code()
        # approve only after msal has been told "pending" at least once
        for _unused in range(100):
            if fast.device_codes()[0]["polls"] >= 1:
                break
            threading.Event().wait(0.05)
        fast.approve_device_code(code["user_code"], fast.demo["username"])
    finally:
        flow_deadline = threading.Timer(15, lambda: flow.update(expires_at=0))  # never hang the suite
        flow_deadline.start()
        poller.join(20)
        flow_deadline.cancel()
    assert "access_token" in results, results
    polls = [e["status"] for e in fast.token_log()]
    assert polls[0] == 400 and polls[-1] == 200, polls
    assert "slow_down" not in str(results)


def test_pending_body_is_entras(fast):
    flow = fast.public_app().initiate_device_flow(scopes=SCOPES)
    pending = _poll(fast, flow)
    body = pending.json()
    assert pending.status_code == 400
    assert (body["error"], body["error_codes"]) == ("authorization_pending", [70016])
    assert body["error_description"].startswith(
        "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.\r\nTrace ID: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_polling_faster_than_the_interval_is_slow_down(emu):
    emu.set_device_code_settings(interval=3)
    flow = emu.public_app().initiate_device_flow(scopes=SCOPES)
    assert _poll(emu, flow).json()["error"] == "authorization_pending"
    fast = _poll(emu, flow).json()
    assert (fast["error"], fast["error_codes"]) == ("slow_down", [70016])
    assert emu.device_codes()[0]["interval"] == 8, "RFC 8628: the interval grows by 5 seconds"
    emu.advance_clock(8)
    assert _poll(emu, flow).json()["error"] == "authorization_pending"


@pytest.mark.parametrize("action,error,code", [
    ("decline", "authorization_declined", 70000),
    ("expire", "expired_token", 70020),
    ("clock", "expired_token", 70020),
])
def test_terminal_answers_end_msals_loop(fast, action, error, code):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    if action == "decline":
        fast.decline_device_code(flow["user_code"])
    elif action == "expire":
        assert [c["user_code"] for c in fast.expire_device_codes()] == [flow["user_code"]]
    else:
        fast.advance_clock(901)
    result = app.acquire_token_by_device_flow(flow)
    assert (result["error"], result["error_codes"]) == (error, [code]), result
    if code == 70020:
        assert "This device code has expired." in result["error_description"]
    assert len(fast.token_log()) == 1, "a terminal answer is not retried"


def test_unknown_device_code_is_bad_verification_code(emu):
    bad = _poll(emu, {"device_code": "DAQABIQEAAAB-not-issued"})
    assert bad.status_code == 400
    assert (bad.json()["error"], bad.json()["error_codes"]) == ("bad_verification_code", [70018])
    other_client = _poll(emu, emu.public_app().initiate_device_flow(scopes=SCOPES),
                         client_id="0d4c6b8a-2e1f-4a3b-9c5d-7e6f8a9b0c1d")
    assert other_client.json()["error"] == "bad_verification_code"


def test_public_client_flows_off_is_invalid_client_on_every_poll(emu):
    client_id = "7c2d9e41-5b3a-4e6f-8a1b-0c9d8e7f6a52"
    flow = emu.device_code_post(client_id=client_id, scope="User.Read openid profile offline_access").json()
    first = _poll(emu, flow, client_id=client_id)
    assert first.status_code == 401
    assert (first.json()["error"], first.json()["error_codes"]) == ("invalid_client", [7000218])
    emu.approve_device_code(flow["user_code"], emu.demo["username"])
    assert _poll(emu, flow, client_id=client_id).json()["error_codes"] == [7000218]


def test_initiate_errors(emu):
    assert emu.device_code_post(tenant="nosuch.example", scope="User.Read").json()["error_codes"] == [90002]
    assert emu.device_code_post(client_id="00000000-0000-0000-0000-00000000dead",
                                scope="User.Read").json()["error_codes"] == [700016]
    missing = emu.device_code_post().json()
    assert missing["error_codes"] == [900144] and "'scope'" in missing["error_description"]
    two = emu.device_code_post(scope="User.Read https://management.core.windows.net//user_impersonation").json()
    assert two["error_codes"] == [28000]
    assert emu.device_codes() == []


@pytest.mark.parametrize("user", [MFA_USER, "mfaenroll@contoso.example", "challenge@contoso.example"])
def test_device_code_satisfies_mfa_and_refresh_keeps_it(fast, user):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    fast.approve_device_code(flow["user_code"], user)
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    account = app.get_accounts(username=user)[0]
    refreshed = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    assert fast.grants() == {GRANT: 1, "refresh_token": 1}


def test_password_refresh_token_of_an_mfa_user_still_fails(emu):
    body = emu.token_post(grant_type="password", username="megan.bowen@contoso.example", password="Megan-Passw0rd!",
                          scope="User.Read openid profile offline_access").json()
    emu.set_user_state("megan.bowen@contoso.example", "mfa_required")
    try:
        refresh = emu.token_post(grant_type="refresh_token", refresh_token=body["refresh_token"], scope="User.Read")
        assert (refresh.json()["error"], refresh.json()["error_codes"]) == ("interaction_required", [50076])
    finally:
        emu.set_user_state("megan.bowen@contoso.example", "ok")


@pytest.mark.parametrize("user,code", [("locked@contoso.example", 50053), ("disabled@contoso.example", 50057),
                                       ("blocked@contoso.example", 53003), ("noconsent@contoso.example", 65001)])
def test_account_state_still_applies_after_approval(fast, user, code):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    fast.approve_device_code(flow["user_code"], user)
    assert app.acquire_token_by_device_flow(flow)["error_codes"] == [code]


def test_organizations_authority_resolves_the_tenant_from_the_person(fast):
    app = fast.public_app(tenant="organizations")
    flow = app.initiate_device_flow(scopes=SCOPES)
    assert fast.device_codes()[0]["tenant"] == "organizations"
    fast.approve_device_code(flow["user_code"], "nora@northwind.example")
    result = app.acquire_token_by_device_flow(flow)
    assert result["id_token_claims"]["tid"] == "1f6e0c2a-9d8b-4c7a-8e5f-3b2a1c0d9e8f", result


def test_admin_validation(emu):
    flow = emu.public_app().initiate_device_flow(scopes=SCOPES)
    for route, body, status in [
            ("device_codes/approve", {"user_code": "NOPE12345", "user": "demo@contoso.example"}, 404),
            ("device_codes/decline", {"user_code": "NOPE12345"}, 404),
            ("device_codes/approve", {"user_code": flow["user_code"], "user": "nobody@contoso.example"}, 400),
            ("device_codes/approve", {"user_code": flow["user_code"], "user": "nora@northwind.example"}, 400),
            ("device_codes/settings", {"interval": 0}, 400)]:
        response = emu.session.post("%s/_emulator/%s" % (emu.url, route), json=body)
        assert response.status_code == status, (route, body, response.text)
    emu.decline_device_code(flow["user_code"].lower())
    again = emu.session.post(emu.url + "/_emulator/device_codes/approve",
                             json={"user_code": flow["user_code"], "user": "demo@contoso.example"})
    assert again.status_code == 400 and "declined" in again.text
    assert emu.device_codes("declined")[0]["user_code"] == flow["user_code"]


def test_faults_match_the_device_code_grant_by_short_name(fast):
    app = fast.public_app()
    flow = app.initiate_device_flow(scopes=SCOPES)
    fast.approve_device_code(flow["user_code"], fast.demo["username"])
    fast.add_fault(endpoint="token", grant_type="device_code", kind="status", status=503, times=1)
    with pytest.raises(Exception, match="503"):
        app.acquire_token_by_device_flow(flow)
    # msal replays a 5xx from memory for 60 s: a fresh application object asks the emulator again
    assert "access_token" in fast.public_app().acquire_token_by_device_flow(flow)
    assert fast.counters()["faults"] == {"status": 1}
