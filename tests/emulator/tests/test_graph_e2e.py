"""End to end: run.py serves Graph over HTTPS; tokens come from the emulator's own token endpoint.

Most tests start their own emulator with 2 500 seeded users on a free loopback port (Graph
does not need port 443; only msal's user-realm call does), so seeding does not disturb the
shared session emulator, and use urllib with the emulator's CA so no proxy or
REQUESTS_CA_BUNDLE setting interferes.  The last one uses the shared emulator (conftest) and
unmodified msal.
"""

import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from client import EmulatorClient

SEEDED = 2500
EVENTUAL = {"ConsistencyLevel": "eventual"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(name="graph_emu", scope="module")
def fixture_graph_emu(tmp_path_factory):
    """A running emulator with 2 500 seeded users: its ready.json plus an SSL context and a token."""
    client = EmulatorClient.start(str(tmp_path_factory.mktemp("graph-e2e")), port=_free_port(), seed_users=SEEDED)
    ready = dict(client.ready)
    ready["ssl"] = ssl.create_default_context(cafile=ready["ca_path"])
    ready["token"] = _password_token(ready)
    yield ready
    client.stop()


def _request(emu, method, url, token=None, headers=None, body=None, form=None):
    url = url if url.startswith("https://") else emu["graph_url"] + url
    hdrs = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url.replace(" ", "%20").replace("'", "%27"), data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, context=emu["ssl"], timeout=30) as resp:  # nosec - loopback test server
            status, raw, rheaders = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        status, raw, rheaders = err.code, err.read(), err.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode()
    return status, parsed, rheaders


def _password_token(emu):
    demo = emu["demo"]
    status, body, _unused = _request(emu, "POST", f"{emu['url']}/{demo['tenant']}/oauth2/v2.0/token", form={
        "client_id": demo["client_id"], "grant_type": "password", "username": demo["username"],
        "password": demo["password"], "scope": "https://graph.microsoft.com/.default offline_access openid profile",
        "client_info": "1"})
    assert status == 200, body
    return body["access_token"]


def test_me(graph_emu):
    status, body, headers = _request(graph_emu, "GET", "/v1.0/me", graph_emu["token"], headers={"client-request-id": "e2e-1"})
    assert status == 200
    assert body["userPrincipalName"].lower() == graph_emu["demo"]["username"].lower()
    assert body["@odata.context"] == f"{graph_emu['graph_url']}/v1.0/$metadata#users/$entity"
    assert headers["client-request-id"] == "e2e-1" and headers["request-id"] and headers["Date"]


def test_paging_follows_next_links(graph_emu):
    status, count, _unused = _request(graph_emu, "GET", "/v1.0/users/$count", graph_emu["token"], headers=EVENTUAL)
    assert status == 200 and int(count) > SEEDED
    url, sizes = "/v1.0/users?$top=999&$select=id", []
    while url:
        status, body, _unused = _request(graph_emu, "GET", url, graph_emu["token"])
        assert status == 200, body
        sizes.append(len(body["value"]))
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(graph_emu["graph_url"] + "/v1.0/users?")
    assert sizes[:2] == [999, 999] and len(sizes) == 3 and sum(sizes) == int(count)


def test_filter_select_and_count(graph_emu):
    url = "/v1.0/users?$filter=startswith(userPrincipalName,'user0001')&$count=true&$select=userPrincipalName"
    _unused, body, _unused = _request(graph_emu, "GET", url, graph_emu["token"], headers=EVENTUAL)
    assert body["@odata.count"] == 10 and all(list(u) == ["userPrincipalName"] for u in body["value"])
    _unused, body, _unused = _request(graph_emu, "GET", "/v1.0/users?$filter=userPrincipalName eq 'user00042@contoso.example'", graph_emu["token"])
    assert [u["displayName"] for u in body["value"]] == ["User 00042"]


def test_errors(graph_emu):
    status, body, headers = _request(graph_emu, "GET", "/v1.0/me")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken" and "WWW-Authenticate" in headers
    status, body, _unused = _request(graph_emu, "GET", "/v1.0/users/nobody@contoso.example", graph_emu["token"])
    assert status == 404 and body["error"]["code"] == "Request_ResourceNotFound"
    assert body["error"]["innerError"]["request-id"]


def test_batch_limits_and_inner_throttling(graph_emu):
    requests = [{"id": str(i), "method": "GET", "url": f"/users/user{i:05d}@contoso.example"} for i in range(1, 22)]
    status, body, _unused = _request(graph_emu, "POST", "/v1.0/$batch", graph_emu["token"], body={"requests": requests})
    assert status == 400 and body["error"]["code"] == "BadRequest"
    admin = graph_emu["admin_url"]
    _request(graph_emu, "POST", admin + "/faults", body={"endpoint": "graph_batch_item", "status": 429, "retry_after": 2, "times": 1})
    status, body, _unused = _request(graph_emu, "POST", "/v1.0/$batch", graph_emu["token"], body={"requests": requests[:20]})
    assert status == 200
    statuses = sorted(r["status"] for r in body["responses"])
    assert statuses == [200] * 19 + [429]
    assert [r["headers"]["Retry-After"] for r in body["responses"] if r["status"] == 429] == ["2"]


def test_members_ref_add_and_duplicate(graph_emu):
    token = graph_emu["token"]
    _unused, groups, _unused = _request(graph_emu, "GET", "/v1.0/groups?$select=id,displayName", token)
    group = groups["value"][0]["id"]
    _unused, user, _unused = _request(graph_emu, "GET", "/v1.0/users/user00007@contoso.example?$select=id", token)
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user['id']}"}
    status, _unused, _unused = _request(graph_emu, "POST", f"/v1.0/groups/{group}/members/$ref", token, body=ref)
    assert status == 204
    status, body, _unused = _request(graph_emu, "POST", f"/v1.0/groups/{group}/members/$ref", token, body=ref)
    assert status == 400 and body["error"]["code"] == "Request_BadRequest"
    assert body["error"]["message"] == "One or more added object references already exist for the following modified properties: 'members'."
    status, _unused, _unused = _request(graph_emu, "DELETE", f"/v1.0/groups/{group}/members/{user['id']}/$ref", token)
    assert status == 204


def test_expiry_via_emulator_clock(graph_emu):
    token = _password_token(graph_emu)
    assert _request(graph_emu, "GET", "/v1.0/me", token)[0] == 200
    _request(graph_emu, "POST", graph_emu["admin_url"] + "/clock", body={"advance": 7200})
    try:
        status, body, _unused = _request(graph_emu, "GET", "/v1.0/me", token)
        assert status == 401 and body["error"]["message"] == "Lifetime validation failed, the token is expired."
    finally:
        _request(graph_emu, "POST", graph_emu["admin_url"] + "/reset", body={"clock": True, "faults": True})


def test_msal_token_works_on_graph(emu):
    """The issue's story: unmodified msal signs in by username/password, Graph /me accepts the token."""
    app = emu.public_app()
    result = app.acquire_token_by_username_password(emu.demo["username"], emu.demo["password"], scopes=["User.Read"])
    assert "access_token" in result, result
    response = emu.session.get(emu.ready["graph_url"] + "/v1.0/me", headers={"Authorization": "Bearer " + result["access_token"]},
                               timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["userPrincipalName"].lower() == emu.demo["username"].lower()
    users = emu.session.get(emu.ready["graph_url"] + "/v1.0/users", headers={"Authorization": "Bearer " + result["access_token"]},
                            timeout=30)
    assert users.status_code == 403 and users.json()["error"]["code"] == "Authorization_RequestDenied"
