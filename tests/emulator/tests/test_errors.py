"""Every user state and app misconfiguration gives Entra's error dict through unmodified msal."""

import json
import warnings

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}

# upn, password, error, AADSTS code, suberror, claims expected
USER_STATES = [
    ("demo@contoso.example", "not-the-password", "invalid_grant", 50126, None, False),
    ("nobody@contoso.example", "whatever", "invalid_grant", 50034, None, False),
    ("mfa@contoso.example", "Mfa-Passw0rd!", "invalid_grant", 50076, "basic_action", False),
    ("mfaenroll@contoso.example", "Enroll-Passw0rd!", "invalid_grant", 50079, "basic_action", False),
    ("blocked@contoso.example", "Blocked-Passw0rd!", "invalid_grant", 53003, "message_only", True),
    ("locked@contoso.example", "Locked-Passw0rd!", "invalid_grant", 50053, None, False),
    ("locked@contoso.example", "wrong-too", "invalid_grant", 50053, None, False),
    ("disabled@contoso.example", "Disabled-Passw0rd!", "invalid_grant", 50057, None, False),
    ("expired@contoso.example", "Expired-Passw0rd!", "invalid_grant", 50055, "user_password_expired", False),
    ("noconsent@contoso.example", "Consent-Passw0rd!", "invalid_grant", 65001, "consent_required", False),
    ("challenge@contoso.example", "Challenge-Passw0rd!", "interaction_required", 50158, None, False),
    ("fedmfa@fabrikam.example", "FedMfa-Passw0rd!", "invalid_grant", 50076, "basic_action", False),
]


def _acquire(app, username, password, scopes=("User.Read",)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return app.acquire_token_by_username_password(username, password, scopes=list(scopes))


def _check_shape(result, error, code, suberror):
    assert result["error"] == error, result
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith("AADSTS%d: " % code)
    assert ERROR_KEYS <= set(result)
    assert result.get("suberror") == suberror


@pytest.mark.parametrize("upn,password,error,code,suberror,claims", USER_STATES,
                         ids=["%s-%d" % (u[0].split("@")[0], u[3]) for u in USER_STATES])
def test_user_state_errors(emu, upn, password, error, code, suberror, claims):
    result = _acquire(emu.public_app(), upn, password)
    _check_shape(result, error, code, suberror)
    assert ("claims" in result) is claims
    if claims:
        assert "capolids" in json.loads(result["claims"])["access_token"]
    last = emu.requests_log(endpoint="token")[-1]
    assert (last["status"], last["user"]) == (400, upn)


def test_mfa_message_names_graph(emu):
    result = _acquire(emu.public_app(), "mfa@contoso.example", "Mfa-Passw0rd!")
    assert "to access '00000003-0000-0000-c000-000000000000'" in result["error_description"]


def test_state_change_reaches_refresh(emu):
    app = emu.public_app()
    assert "access_token" in _acquire(app, "megan.bowen@contoso.example", "Megan-Passw0rd!")
    account = app.get_accounts()[0]
    try:
        emu.admin("POST", "users/state", {"user": "megan.bowen@contoso.example", "state": "mfa_required"})
        result = app.acquire_token_silent_with_error(["User.Read"], account=account, force_refresh=True)
        _check_shape(result, "interaction_required", 50076, "basic_action")
        emu.admin("POST", "users/state", {"user": "megan.bowen@contoso.example", "state": "disabled"})
        # Other scopes: msal replays an identical failed request from its throttling cache for 60 s.
        result = app.acquire_token_silent_with_error(["User.ReadBasic.All"], account=account, force_refresh=True)
        _check_shape(result, "invalid_grant", 50057, None)
    finally:
        emu.admin("POST", "users/state", {"user": "megan.bowen@contoso.example", "state": "ok"})


def test_unknown_app_is_aadsts700016(emu):
    result = _acquire(emu.public_app(client_id="11111111-1111-1111-1111-111111111111"), emu.demo["username"], emu.demo["password"])
    _check_shape(result, "unauthorized_client", 700016, None)
    assert "'11111111-1111-1111-1111-111111111111' was not found in the directory" in result["error_description"]
    assert emu.requests_log(endpoint="token")[-1]["status"] == 400


def test_public_client_flows_disabled_is_401_aadsts7000218(emu):
    result = _acquire(emu.public_app(client_id="7c2d9e41-5b3a-4e6f-8a1b-0c9d8e7f6a52"), emu.demo["username"], emu.demo["password"])
    _check_shape(result, "invalid_client", 7000218, None)
    assert emu.requests_log(endpoint="token")[-1]["status"] == 401


def test_app_without_consent_is_aadsts65001(emu):
    result = _acquire(emu.public_app(client_id="a3e5f7b9-1c2d-4e8f-b0a1-c2d3e4f5a6b7"), emu.demo["username"], emu.demo["password"])
    _check_shape(result, "invalid_grant", 65001, "consent_required")
    assert "named 'App nobody consented to'" in result["error_description"]


def test_scope_not_consented_is_aadsts65001(emu):
    result = _acquire(emu.public_app(client_id="0d4c6b8a-2e1f-4a3b-9c5d-7e6f8a9b0c1d"), emu.demo["username"], emu.demo["password"],
                      scopes=["User.Read.All"])
    _check_shape(result, "invalid_grant", 65001, "consent_required")


def test_two_resources_is_aadsts28000(emu):
    result = _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"],
                      scopes=["User.Read", "https://management.core.windows.net//user_impersonation"])
    _check_shape(result, "invalid_request", 28000, None)
    assert "contains more than one resource" in result["error_description"]


def test_default_with_second_resource_is_aadsts70011(emu):
    result = _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"],
                      scopes=["https://graph.microsoft.com/.default", "https://management.core.windows.net//.default"])
    _check_shape(result, "invalid_scope", 70011, None)


def test_unknown_resource_is_aadsts500011(emu):
    result = _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"], scopes=["api://nothing-here/.default"])
    _check_shape(result, "invalid_resource", 500011, None)


def test_bad_requests(emu):
    missing = emu.token_post(grant_type="password", username=emu.demo["username"], scope="User.Read")
    assert (missing.json()["error"], missing.json()["error_codes"]) == ("invalid_request", [900144])
    assert "'password'" in missing.json()["error_description"]
    unsupported = emu.token_post(grant_type="urn:example:no-such-grant", scope="User.Read")
    assert (unsupported.json()["error"], unsupported.json()["error_codes"]) == ("unsupported_grant_type", [70003])
    public_cc = emu.token_post(grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    assert public_cc.status_code == 401 and public_cc.json()["error_codes"] == [7000218]
    bogus_rt = emu.token_post(grant_type="refresh_token", refresh_token="1.Anot-a-token", scope="User.Read")
    assert (bogus_rt.json()["error"], bogus_rt.json()["error_codes"]) == ("invalid_grant", [9002313])
    bogus_saml = emu.token_post(grant_type="urn:ietf:params:oauth:grant-type:saml1_1-bearer", assertion="bm9wZQ",
                                scope="User.Read")
    assert bogus_saml.json()["error_codes"] == [50008]
    get = emu.session.get(emu.url + "/contoso.example/oauth2/v2.0/token")
    assert get.status_code == 400 and get.json()["error_codes"] == [900561]
