"""Conditional Access sign-in frequency: refresh tokens end a fixed time after the sign-in (AADSTS70043)."""

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCOPE = "User.Read openid profile offline_access"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _password(emu, user, password):
    return emu.token_post(grant_type="password", username=user, password=password, scope=SCOPE).json()


def _refresh(emu, token):
    return emu.token_post(grant_type="refresh_token", refresh_token=token, scope=SCOPE)


def test_scenario_user_refresh_ends_after_the_frequency(emu):
    first = _password(emu, "frequent@contoso.example", "Frequent-Passw0rd!")
    emu.advance_clock(43000)
    second = _refresh(emu, first["refresh_token"]).json()
    assert "access_token" in second, "a refresh inside the frequency works"
    emu.advance_clock(300)
    for token in (first["refresh_token"], second["refresh_token"]):  # rotation does not restart the clock
        dead = _refresh(emu, token)
        body = dead.json()
        assert dead.status_code == 400
        assert (body["error"], body["error_codes"], body.get("suberror")) == ("invalid_grant", [70043], "token_expired")
        assert ("AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional "
                "access. The token was issued on ") in body["error_description"]
        assert "and the maximum allowed lifetime for this request is 43200." in body["error_description"]
    fresh = _password(emu, "frequent@contoso.example", "Frequent-Passw0rd!")
    assert "access_token" in _refresh(emu, fresh["refresh_token"]).json(), "a new sign-in starts a new session"


def test_admin_frequency_and_a_new_device_code_sign_in(emu):
    user = emu.demo["username"]
    old = _password(emu, user, emu.demo["password"])
    emu.set_sign_in_frequency(user, 60)
    emu.advance_clock(61)
    assert _refresh(emu, old["refresh_token"]).json()["error_codes"] == [70043]
    app = emu.public_app()
    emu.set_device_code_settings(interval=1)
    flow = app.initiate_device_flow(scopes=["User.Read"])
    emu.approve_device_code(flow["user_code"], user)
    result = app.acquire_token_by_device_flow(flow)
    account = app.get_accounts(username=user)[0]
    assert "access_token" in app.acquire_token_silent_with_error(["User.Read"], account=account, force_refresh=True)
    emu.advance_clock(61)
    late = app.acquire_token_silent_with_error(["User.Read"], account=account, force_refresh=True)
    assert late["error_codes"] == [70043], late
    emu.set_sign_in_frequency(user, None)
    assert "access_token" in _refresh(emu, result["refresh_token"]).json()
    assert emu.grants()[GRANT] == 1


def test_reset_clears_the_admin_frequency(emu):
    user = emu.demo["username"]
    emu.set_sign_in_frequency(user, 1)
    emu.reset()
    tokens = _password(emu, user, emu.demo["password"])
    emu.advance_clock(5)
    assert "access_token" in _refresh(emu, tokens["refresh_token"]).json()
