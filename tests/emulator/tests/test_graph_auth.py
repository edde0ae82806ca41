"""Graph bearer validation and permissions: Graph's 401/403 bodies, audiences per cloud, common headers."""

import pytest

from graph_support import ALICE, BOB, OTHER_KEY, FakeState, call, token


@pytest.fixture(name="state")
def fixture_state():
    return FakeState()


def _assert_401(answer, message):
    assert answer.status == 401
    assert answer.error["code"] == "InvalidAuthenticationToken"
    assert answer.error["message"] == message
    assert answer.headers["www-authenticate"].startswith('Bearer realm="", authorization_uri="https://login.microsoftonline.com/')


def test_missing_token_is_empty_token(state):
    _assert_401(call(state, "GET", "/v1.0/me"), "Access token is empty.")
    _assert_401(call(state, "GET", "/v1.0/me", headers={"Authorization": "Bearer "}), "Access token is empty.")


def test_opaque_token_is_not_well_formed(state):
    answer = call(state, "GET", "/v1.0/me", "not-a-jwt")
    assert answer.status == 401
    assert answer.error["message"].startswith("IDX14100: JWT is not well formed, there are no dots (.).")


def test_bad_signature(state):
    _assert_401(call(state, "GET", "/v1.0/me", token(state, key=OTHER_KEY)), "Access token validation failure.")


def test_unknown_kid(state):
    _assert_401(call(state, "GET", "/v1.0/me", token(state, kid="another")), "Access token validation failure.")


def test_expired_token(state):
    _assert_401(call(state, "GET", "/v1.0/me", token(state, lifetime=-5)), "Lifetime validation failed, the token is expired.")


def test_expiry_follows_the_emulator_clock(state):
    tok = token(state, lifetime=60)
    assert call(state, "GET", "/v1.0/me", tok).status == 200
    state.clock.offset += 61
    _assert_401(call(state, "GET", "/v1.0/me", tok), "Lifetime validation failed, the token is expired.")


def test_wrong_audience(state):
    tok = token(state, aud="https://management.core.windows.net/")
    _assert_401(call(state, "GET", "/v1.0/me", tok), "Access token validation failure. Invalid audience.")


@pytest.mark.parametrize("aud", ["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"])
def test_global_audiences_accepted(state, aud):
    assert call(state, "GET", "/v1.0/me", token(state, aud=aud)).status == 200


def test_tokens_do_not_cross_clouds(state):
    us_token = token(state, aud="https://graph.microsoft.us")
    assert call(state, "GET", "/v1.0/me", us_token, host="graph.microsoft.us").status == 200
    answer = call(state, "GET", "/v1.0/me", us_token, host="graph.microsoft.com")
    assert answer.error["message"] == "Access token validation failure. Invalid audience."
    answer = call(state, "GET", "/v1.0/me", token(state), host="graph.microsoft.us")
    assert answer.status == 401
    assert "login.microsoftonline.us" in answer.headers["www-authenticate"]


def test_loopback_host_follows_scenario_cloud_and_overrides():
    state = FakeState()
    state.scenario["cloud_instance_name"] = "microsoftonline.us"
    assert call(state, "GET", "/v1.0/me", token(state, aud="https://dod-graph.microsoft.us"), host="127.0.0.1:8443").status == 200
    assert call(state, "GET", "/v1.0/me", token(state), host="127.0.0.1:8443").status == 401
    state.graph_audiences = {"127.0.0.1:8443": ["api://custom"]}
    assert call(state, "GET", "/v1.0/me", token(state, aud="api://custom"), host="127.0.0.1:8443").status == 200


def test_error_body_and_common_headers(state):
    answer = call(state, "GET", "/v1.0/me", headers={"client-request-id": "abc-123"})
    inner = answer.error["innerError"]
    assert inner["request-id"] == answer.headers["request-id"]
    assert inner["client-request-id"] == "abc-123" == answer.headers["client-request-id"]
    assert len(inner["date"]) == 19 and inner["date"][10] == "T"
    assert answer.headers["date"].endswith("GMT")


def test_client_request_id_defaults_to_request_id(state):
    answer = call(state, "GET", "/v1.0/me", token(state))
    assert answer.headers["client-request-id"] == answer.headers["request-id"]


def test_user_read_allows_me_but_not_the_directory(state):
    tok = token(state, scp="User.Read")
    assert call(state, "GET", "/v1.0/me", tok).status == 200
    for url in ("/v1.0/users", f"/v1.0/users/{BOB}", "/v1.0/groups"):
        answer = call(state, "GET", url, tok)
        assert answer.status == 403, url
        assert answer.error == {**answer.error, "code": "Authorization_RequestDenied",
                                "message": "Insufficient privileges to complete the operation."}


def test_user_read_may_read_itself_by_id_or_upn(state):
    tok = token(state, scp="User.Read")
    assert call(state, "GET", f"/v1.0/users/{ALICE}", tok).status == 200
    assert call(state, "GET", f"/v1.0/users/{state.user(ALICE)['id']}", tok).status == 200


def test_no_scope_at_all_is_forbidden(state):
    assert call(state, "GET", "/v1.0/me", token(state, scp="Mail.Read")).status == 403


def test_members_write_needs_a_write_scope(state):
    group = state.graph.tenant().groups[0]["id"]
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{state.user(BOB)['id']}"}
    answer = call(state, "POST", f"/v1.0/groups/{group}/members/$ref", token(state, scp="Group.Read.All User.Read"), body=ref)
    assert answer.status == 403
    assert call(state, "POST", f"/v1.0/groups/{group}/members/$ref", token(state, scp="Directory.ReadWrite.All"),
                body=ref).status == 204


def test_app_only_token_roles(state):
    tok = token(state, roles=["User.Read.All"])
    assert call(state, "GET", "/v1.0/users", tok).status == 200
    answer = call(state, "GET", "/v1.0/me", tok)
    assert answer.status == 400
    assert answer.error["message"] == "/me request is only valid with delegated authentication flow."
    assert call(state, "GET", "/v1.0/groups", tok).status == 403


def test_outer_fault_after_authentication(state):
    state.faults.add({"endpoint": "graph", "user": ALICE, "status": 429, "retry_after": 7, "times": 1})
    assert call(state, "GET", "/v1.0/me").status == 401  # unauthenticated requests are not throttled for a user
    answer = call(state, "GET", "/v1.0/me", token(state))
    assert answer.status == 429
    assert answer.headers["retry-after"] == "7"
    assert answer.error["code"] == "TooManyRequests"
    assert answer.error["innerError"]["request-id"] == answer.headers["request-id"]
    assert call(state, "GET", "/v1.0/me", token(state)).status == 200


def test_reset_fault(state):
    state.faults.add({"endpoint": "graph", "kind": "reset", "times": 1})
    assert call(state, "GET", "/v1.0/me", token(state)).reset
