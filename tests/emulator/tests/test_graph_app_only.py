"""Graph with app-only tokens from the client-credentials grant: /me is 400, application roles are enforced."""

import pytest

GRAPH = ["https://graph.microsoft.com/.default"]
SECRET = "Automation-S3cret-Value~1"
NO_ROLES = ("3f8a2d6e-1b4c-4e7d-9a5f-0c1b2d3e4f5a", "NoRoles-S3cret-Value~1")
USERS_ONLY = ("6d1e9f3a-2c5b-4a8e-b7d0-1e2f3a4b5c6d", "Disabled-S3cret-Value~1")  # roles: User.Read.All
DENIED = "Insufficient privileges to complete the operation."

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _token(emu, secret=SECRET, client_id=None):
    result = emu.confidential_app(secret, client_id=client_id).acquire_token_for_client(GRAPH)
    assert "access_token" in result, result
    return result["access_token"]


def _get(emu, token, path, method="GET", headers=None, **kwargs):
    headers = dict(headers or {}, Authorization="Bearer " + token)
    return emu.session.request(method, emu.url + "/v1.0" + path, headers=headers, timeout=30, **kwargs)


def _error(response, status, code, message):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])


@pytest.mark.parametrize("app", ["demo", "no_roles"])
def test_me_is_400_for_an_app_token(emu, app):
    token = _token(emu) if app == "demo" else _token(emu, NO_ROLES[1], NO_ROLES[0])
    _error(_get(emu, token, "/me"), 400, "BadRequest", "/me request is only valid with delegated authentication flow.")


def test_roles_grant_users_groups_and_members(emu):
    token = _token(emu)
    users = _get(emu, token, "/users")
    assert users.status_code == 200 and any(u["userPrincipalName"] == emu.demo["username"] for u in users.json()["value"])
    assert _get(emu, token, "/users/" + emu.demo["username"]).status_code == 200
    groups = _get(emu, token, "/groups", params={"$filter": "displayName eq 'Empty Group'"}).json()["value"]
    assert len(groups) == 1
    members = "/groups/%s/members" % groups[0]["id"]
    assert _get(emu, token, members).json()["value"] == []
    user_id = _get(emu, token, "/users/" + emu.demo["username"]).json()["id"]
    ref = {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + user_id}
    assert _get(emu, token, members + "/$ref", method="POST", json=ref).status_code == 204
    try:
        assert [m["id"] for m in _get(emu, token, members).json()["value"]] == [user_id]
    finally:
        assert _get(emu, token, "%s/%s/$ref" % (members, user_id), method="DELETE").status_code == 204
    assert emu.requests_log(endpoint="graph")[-1]["user"] == emu.demo_app["client_id"]


def test_no_roles_is_403_on_users_and_groups(emu):
    token = _token(emu, NO_ROLES[1], NO_ROLES[0])
    for path in ("/users", "/users/" + emu.demo["username"], "/groups", "/users/$count"):
        _error(_get(emu, token, path, headers={"ConsistencyLevel": "eventual"}) if path.endswith("$count")
               else _get(emu, token, path), 403, "Authorization_RequestDenied", DENIED)


def test_user_read_all_alone_does_not_open_groups(emu):
    emu.set_app_enabled(USERS_ONLY[0], True)
    try:
        token = _token(emu, USERS_ONLY[1], USERS_ONLY[0])
    finally:
        emu.set_app_enabled(USERS_ONLY[0], False)
    assert _get(emu, token, "/users").status_code == 200
    _error(_get(emu, token, "/groups"), 403, "Authorization_RequestDenied", DENIED)


def test_group_read_all_alone_cannot_add_members(emu):
    token = _token(emu)  # has GroupMember.ReadWrite.All: writes allowed; an app token never gets delegated scopes
    group = _get(emu, token, "/groups", params={"$filter": "displayName eq 'Empty Group'"}).json()["value"][0]
    no_roles = _token(emu, NO_ROLES[1], NO_ROLES[0])
    ref = {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + group["id"]}
    _error(_get(emu, no_roles, "/groups/%s/members/$ref" % group["id"], method="POST", json=ref),
           403, "Authorization_RequestDenied", DENIED)


def test_batch_items_are_judged_like_outer_requests(emu):
    token = _token(emu)
    batch = {"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "2", "method": "GET", "url": "/users"}]}
    responses = {r["id"]: r for r in _get(emu, token, "/$batch", method="POST", json=batch).json()["responses"]}
    assert responses["1"]["status"] == 400 and responses["1"]["body"]["error"]["code"] == "BadRequest"
    assert responses["2"]["status"] == 200


def test_delegated_tokens_keep_working(emu):
    body = emu.token_post(grant_type="password", username=emu.demo["username"], password=emu.demo["password"],
                          scope="User.Read openid profile offline_access").json()
    me = _get(emu, body["access_token"], "/me")
    assert me.status_code == 200 and me.json()["userPrincipalName"] == emu.demo["username"]
