"""/me and /users: default properties, paging with nextLink, $select, $filter, $count, $search, $orderby, errors."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from graph_support import ALICE, BOB, FakeState, call, token

USER_DEFAULT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
                "preferredLanguage", "surname", "userPrincipalName", "id"]
EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture(name="state")
def fixture_state():
    return FakeState()


@pytest.fixture(name="big", scope="module")
def fixture_big():
    """3 scenario users + 2 500 seeded ones."""
    return FakeState(seed=2500)


def test_me_has_the_default_property_set(state):
    answer = call(state, "GET", "/v1.0/me", token(state))
    assert answer.status == 200
    body = answer.json
    assert body.pop("@odata.context") == "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    assert sorted(body) == sorted(USER_DEFAULT)
    assert body["userPrincipalName"] == ALICE and body["displayName"] == "Alice Adams"
    assert body["businessPhones"] == [] and body["jobTitle"] == "Engineer"
    assert answer.headers["content-type"].startswith("application/json;odata.metadata=minimal")


def test_me_select_and_beta(state):
    body = call(state, "GET", "/beta/me?$select=displayName,accountEnabled,department", token(state)).json
    assert body == {"@odata.context": "https://graph.microsoft.com/beta/$metadata#users(displayName,accountEnabled,department)/$entity",
                    "displayName": "Alice Adams", "accountEnabled": True, "department": "IT"}


def test_get_user_by_upn_and_id(state):
    tok = token(state)
    by_upn = call(state, "GET", "/v1.0/users/BOB@contoso.example", tok).json
    by_id = call(state, "GET", f"/v1.0/users/{by_upn['id']}", tok).json
    assert by_upn == by_id and by_upn["userPrincipalName"] == BOB


def test_unknown_user_is_404(state):
    answer = call(state, "GET", "/v1.0/users/nobody@contoso.example", token(state))
    assert answer.status == 404
    assert answer.error["code"] == "Request_ResourceNotFound"
    assert answer.error["message"] == ("Resource 'nobody@contoso.example' does not exist or one of its queried "
                                       "reference-property objects are not present.")


def test_unknown_segment_and_method(state):
    answer = call(state, "GET", "/v1.0/usres", token(state))
    assert (answer.status, answer.error["code"], answer.error["message"]) == (400, "BadRequest", "Resource not found for the segment 'usres'.")
    assert call(state, "GET", f"/v1.0/users/{ALICE}/foo", token(state)).error["message"] == "Resource not found for the segment 'foo'."
    answer = call(state, "DELETE", "/v1.0/users", token(state))
    assert (answer.status, answer.error["code"]) == (405, "Request_BadRequest")


def test_list_users_default_page(state):
    body = call(state, "GET", "/v1.0/users", token(state)).json
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users"
    assert "@odata.nextLink" not in body and "@odata.count" not in body
    assert [u["userPrincipalName"] for u in body["value"]] == [ALICE, BOB, "carol@contoso.example"]
    assert all(list(u) == USER_DEFAULT for u in body["value"])


def test_paging_2500_users_with_top_999_is_three_pages(big):
    tok = token(big)
    url, pages, seen = "/v1.0/users?$top=999&$select=id,userPrincipalName", [], []
    while url:
        answer = call(big, "GET", url, tok)
        assert answer.status == 200
        pages.append(len(answer.json["value"]))
        seen += [u["userPrincipalName"] for u in answer.json["value"]]
        url = answer.json.get("@odata.nextLink")
        if url:
            parts = urlsplit(url)
            assert parts.scheme == "https" and parts.netloc == "graph.microsoft.com" and parts.path == "/v1.0/users"
            query = parse_qs(parts.query)
            assert query["$top"] == ["999"] and query["$select"] == ["id,userPrincipalName"] and query["$skiptoken"]
    assert pages == [999, 999, 505]
    assert len(set(seen)) == 2503 and seen[3] == "user00001@contoso.example"


def test_default_page_size_is_100(big):
    body = call(big, "GET", "/v1.0/users", token(big)).json
    assert len(body["value"]) == 100 and body["@odata.nextLink"]


def test_top_limits(state):
    tok = token(state)
    answer = call(state, "GET", "/v1.0/users?$top=1000", tok)
    assert (answer.status, answer.error["code"]) == (400, "Request_UnsupportedQuery")
    assert answer.error["message"] == "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    assert call(state, "GET", "/v1.0/users?$top=0", tok).status == 400
    assert call(state, "GET", "/v1.0/users?$top=abc", tok).error["code"] == "BadRequest"
    body = call(state, "GET", "/v1.0/users?$top=1", tok).json
    assert len(body["value"]) == 1 and "$skiptoken=" in body["@odata.nextLink"]


def test_tampered_skiptoken(state):
    answer = call(state, "GET", "/v1.0/users?$skiptoken=abc", token(state))
    assert (answer.status, answer.error["code"]) == (400, "Directory_ExpiredPageToken")


def test_select(state):
    body = call(state, "GET", "/v1.0/users?$select=displayName,id", token(state)).json
    assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users(displayName,id)"
    assert all(list(u) == ["displayName", "id"] for u in body["value"])
    answer = call(state, "GET", "/v1.0/users?$select=displayName,nope", token(state))
    assert (answer.status, answer.error["message"]) == (400, "Could not find a property named 'nope' on type 'microsoft.graph.user'.")


def test_filter_eq_is_case_insensitive(state):
    tok = token(state)
    body = call(state, "GET", "/v1.0/users?$filter=userPrincipalName eq 'BOB@contoso.example'", tok).json
    assert [u["userPrincipalName"] for u in body["value"]] == [BOB]
    body = call(state, "GET", "/v1.0/users?$filter=accountEnabled eq false", tok).json
    assert [u["displayName"] for u in body["value"]] == ["Carol Clark"]
    body = call(state, "GET", "/v1.0/users?$filter=jobTitle eq 'Engineer' or displayName eq 'Bob Brown'", tok).json
    assert len(body["value"]) == 2
    body = call(state, "GET", "/v1.0/users?$filter=displayName in ('alice adams', 'Carol Clark')", tok).json
    assert len(body["value"]) == 2


def test_filter_startswith(state):
    body = call(state, "GET", "/v1.0/users?$filter=startswith(displayName,'al')", token(state)).json
    assert [u["userPrincipalName"] for u in body["value"]] == [ALICE]


def test_filter_errors(state):
    tok = token(state)
    answer = call(state, "GET", "/v1.0/users?$filter=foo eq 'x'", tok)
    assert answer.error["message"] == "Could not find a property named 'foo' on type 'microsoft.graph.user'."
    answer = call(state, "GET", "/v1.0/users?$filter=displayName eq", tok)
    assert (answer.status, answer.error["code"]) == (400, "BadRequest")
    answer = call(state, "GET", "/v1.0/users?$filter=businessPhones eq '1'", tok)
    assert answer.error["code"] == "Request_UnsupportedQuery"


def test_advanced_operators_need_advanced_query_parameters(state):
    tok = token(state)
    for flt in ("displayName ne 'Bob Brown'", "endswith(mail,'@contoso.example')", "not(displayName eq 'x')"):
        answer = call(state, "GET", f"/v1.0/users?$filter={flt}", tok)
        assert (answer.status, answer.error["code"]) == (400, "Request_UnsupportedQuery"), flt
        assert "ConsistencyLevel:eventual" in answer.error["message"]
        # header alone is not enough: $count=true is required too
        assert call(state, "GET", f"/v1.0/users?$filter={flt}", tok, headers=EVENTUAL).status == 400
    body = call(state, "GET", "/v1.0/users?$filter=displayName ne 'Bob Brown'&$count=true", tok, headers=EVENTUAL).json
    assert body["@odata.count"] == 2 and BOB not in [u["userPrincipalName"] for u in body["value"]]


def test_count_with_and_without_consistency_level(big):
    tok = token(big)
    body = call(big, "GET", "/v1.0/users?$count=true&$top=5", tok, headers=EVENTUAL).json
    assert body["@odata.count"] == 2503 and len(body["value"]) == 5
    assert "$count=true" in body["@odata.nextLink"]
    # documented: without ConsistencyLevel, ?$count=true is silently ignored
    body = call(big, "GET", "/v1.0/users?$count=true&$top=5", tok).json
    assert "@odata.count" not in body
    body = call(big, "GET", "/v1.0/users?$count=true&$filter=startswith(displayName,'User 0001')", tok, headers=EVENTUAL).json
    assert body["@odata.count"] == 10
    assert call(big, "GET", "/v1.0/users?$count=maybe", tok).error["code"] == "BadRequest"


def test_count_segment(big):
    tok = token(big)
    answer = call(big, "GET", "/v1.0/users/$count", tok)
    assert (answer.status, answer.error["code"], answer.error["message"]) == (400, "Request_BadRequest", "$count is not currently supported.")
    answer = call(big, "GET", "/v1.0/users/$count", tok, headers=EVENTUAL)
    assert (answer.status, answer.raw) == (200, b"2503")
    assert answer.headers["content-type"].startswith("text/plain")


def test_search_needs_consistency_level(state):
    tok = token(state)
    answer = call(state, "GET", '/v1.0/users?$search="displayName:bob"', tok)
    assert answer.error["code"] == "Request_UnsupportedQuery"
    assert "ConsistencyLevel: eventual" in answer.error["message"]
    body = call(state, "GET", '/v1.0/users?$search="displayName:bro"', tok, headers=EVENTUAL).json
    assert [u["userPrincipalName"] for u in body["value"]] == [BOB]


def test_orderby(state):
    tok = token(state)
    body = call(state, "GET", "/v1.0/users?$orderby=displayName desc", tok).json
    assert [u["displayName"] for u in body["value"]] == ["Carol Clark", "Bob Brown", "Alice Adams"]
    answer = call(state, "GET", "/v1.0/users?$orderby=displayName&$filter=accountEnabled eq true", tok)
    assert answer.error["message"] == "Sorting not supported for current query."
    answer = call(state, "GET", "/v1.0/users?$orderby=displayName&$filter=accountEnabled eq true&$count=true", tok, headers=EVENTUAL)
    assert answer.status == 200


def test_unsupported_options(state):
    tok = token(state)
    assert call(state, "GET", "/v1.0/users?$skip=5", tok).error["message"] == "'$skip' is not supported by the service."
    assert call(state, "GET", "/v1.0/users?$bogus=1", tok).status == 400


def test_seed_10000_users_is_deterministic():
    state = FakeState()
    started = time.monotonic()
    assert state.graph.seed_users(10000) == 10000
    assert time.monotonic() - started < 60  # only a hang or a quadratic seeding reaches this
    assert len(state.graph.tenant().users) == 10003
    assert state.user("user00001@contoso.example") and state.user("user10000@contoso.example")
    again = FakeState()
    again.graph.seed_users(4000)
    again.graph.seed_users(6000)
    assert again.user("user10000@contoso.example")["id"] == state.user("user10000@contoso.example")["id"]
