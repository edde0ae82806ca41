"""/groups and group members: listing, paging, casts, $count, members $ref add (incl. duplicate) and remove."""

import pytest

from graph_support import ALICE, BOB, FakeState, call, token

EVENTUAL = {"ConsistencyLevel": "eventual"}
ALREADY = "One or more added object references already exist for the following modified properties: 'members'."


@pytest.fixture(name="state")
def fixture_state():
    return FakeState()


def _group(state, name="Engineering"):
    return next(g for g in state.graph.tenant().groups if g["displayName"] == name)


def _ref(object_id):
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"}


def test_list_and_get_groups(state):
    tok = token(state)
    body = call(state, "GET", "/v1.0/groups", tok).json
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#groups"
    assert [g["displayName"] for g in body["value"]] == ["Engineering", "Empty Group"]
    assert body["value"][0]["securityEnabled"] is True and body["value"][0]["groupTypes"] == []
    group = call(state, "GET", f"/v1.0/groups/{body['value'][0]['id']}?$select=id,displayName", tok).json
    assert group == {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName)/$entity",
                     "id": body["value"][0]["id"], "displayName": "Engineering"}
    body = call(state, "GET", "/v1.0/groups?$filter=displayName eq 'empty group'", tok).json
    assert [g["displayName"] for g in body["value"]] == ["Empty Group"]


def test_group_ids(state):
    tok = token(state)
    answer = call(state, "GET", "/v1.0/groups/not-a-guid", tok)
    assert (answer.status, answer.error["code"], answer.error["message"]) == (400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'.")
    missing = "0b0b0b0b-0000-4000-8000-000000000000"
    answer = call(state, "GET", f"/v1.0/groups/{missing}/members", tok)
    assert (answer.status, answer.error["code"]) == (404, "Request_ResourceNotFound")
    assert answer.error["message"].startswith(f"Resource '{missing}' does not exist")


def test_members_are_typed_directory_objects(state):
    body = call(state, "GET", f"/v1.0/groups/{_group(state)['id']}/members", token(state)).json
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"
    assert body["value"][0]["@odata.type"] == "#microsoft.graph.user"
    assert body["value"][0]["userPrincipalName"] == ALICE


def test_add_member_then_duplicate_then_remove(state):
    tok = token(state)
    group = _group(state)["id"]
    bob = state.user(BOB)["id"]
    answer = call(state, "POST", f"/v1.0/groups/{group}/members/$ref", tok, body=_ref(bob))
    assert (answer.status, answer.raw) == (204, b"")
    assert answer.headers["request-id"]
    members = call(state, "GET", f"/v1.0/groups/{group}/members?$select=userPrincipalName", tok).json["value"]
    assert [m["userPrincipalName"] for m in members] == [ALICE, BOB]
    answer = call(state, "POST", f"/v1.0/groups/{group}/members/$ref", tok, body=_ref(bob))
    assert (answer.status, answer.error["code"], answer.error["message"]) == (400, "Request_BadRequest", ALREADY)
    assert call(state, "DELETE", f"/v1.0/groups/{group}/members/{bob}/$ref", tok).status == 204
    answer = call(state, "DELETE", f"/v1.0/groups/{group}/members/{bob}/$ref", tok)
    assert (answer.status, answer.error["code"]) == (404, "Request_ResourceNotFound")


def test_remove_member_with_id_query(state):
    tok = token(state)
    group, alice = _group(state)["id"], state.user(ALICE)["id"]
    url = f"/v1.0/groups/{group}/members/$ref?$id=https://graph.microsoft.com/v1.0/directoryObjects/{alice}"
    assert call(state, "DELETE", url, tok).status == 204
    assert call(state, "GET", f"/v1.0/groups/{group}/members", tok).json["value"] == []


def test_add_member_errors(state):
    tok = token(state)
    group = _group(state)["id"]
    url = f"/v1.0/groups/{group}/members/$ref"
    answer = call(state, "POST", url, tok, body=_ref("0b0b0b0b-0000-4000-8000-000000000000"))
    assert (answer.status, answer.error["code"]) == (404, "Request_ResourceNotFound")
    answer = call(state, "POST", url, tok, body=_ref("nope"))
    assert answer.error["message"] == "Invalid object identifier 'nope'."
    assert call(state, "POST", url, tok, body=b"{not json").error["code"] == "BadRequest"
    assert call(state, "POST", url, tok, body={"id": "x"}).error["code"] == "Request_BadRequest"
    assert call(state, "POST", url, tok, body=_ref(group)).status == 400  # itself


def test_add_group_as_member_and_casts(state):
    tok = token(state)
    eng, empty = _group(state)["id"], _group(state, "Empty Group")["id"]
    assert call(state, "POST", f"/beta/groups/{eng}/members/$ref", tok,
                body={"@odata.id": f"https://graph.microsoft.com/beta/groups/{empty}"}).status == 204
    body = call(state, "GET", f"/v1.0/groups/{eng}/members", tok).json
    assert [m["@odata.type"] for m in body["value"]] == ["#microsoft.graph.user", "#microsoft.graph.group"]
    body = call(state, "GET", f"/v1.0/groups/{eng}/members/microsoft.graph.group", tok).json
    assert body["@odata.context"].endswith("#groups") and [g["id"] for g in body["value"]] == [empty]
    answer = call(state, "GET", f"/v1.0/groups/{eng}/members/microsoft.graph.user/$count", tok, headers=EVENTUAL)
    assert answer.raw == b"1"
    assert call(state, "GET", f"/v1.0/groups/{eng}/members/$count", tok).status == 400


def test_member_paging(state):
    tok = token(state)
    tenant = state.graph.tenant()
    group = _group(state, "Empty Group")
    state.graph.seed_users(250)
    for number in range(1, 251):
        tenant.add_member(group, tenant.user(f"user{number:05d}@contoso.example"))
    url, sizes = f"/v1.0/groups/{group['id']}/members", []
    while url:
        body = call(state, "GET", url, tok).json
        sizes.append(len(body["value"]))
        url = body.get("@odata.nextLink")
    assert sizes == [100, 100, 50]
    body = call(state, "GET", f"/v1.0/groups/{group['id']}/members?$top=999&$count=true", tok, headers=EVENTUAL).json
    assert body["@odata.count"] == 250 and len(body["value"]) == 250


def test_member_filter_needs_advanced_query(state):
    tok = token(state)
    url = f"/v1.0/groups/{_group(state)['id']}/members?$filter=startswith(displayName,'a')"
    answer = call(state, "GET", url, tok)
    assert (answer.status, answer.error["code"]) == (400, "Request_UnsupportedQuery")
    body = call(state, "GET", url + "&$count=true", tok, headers=EVENTUAL).json
    assert body["@odata.count"] == 1


def test_get_member_and_member_refs(state):
    tok = token(state)
    group, alice = _group(state)["id"], state.user(ALICE)["id"]
    body = call(state, "GET", f"/v1.0/groups/{group}/members/{alice}", tok).json
    assert body["@odata.type"] == "#microsoft.graph.user" and body["id"] == alice
    assert call(state, "GET", f"/v1.0/groups/{group}/members/{state.user(BOB)['id']}", tok).status == 404
    refs = call(state, "GET", f"/v1.0/groups/{group}/members/$ref", tok).json["value"]
    assert len(refs) == 1 and alice in refs[0]["@odata.id"]
