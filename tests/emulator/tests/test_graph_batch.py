"""POST /$batch: limits, ids, dependsOn and 424, inner statuses, inner 429s, per-request headers and scopes."""

import pytest

from graph_support import ALICE, BOB, FakeState, call, token


@pytest.fixture(name="state")
def fixture_state():
    return FakeState(seed=30)


def _batch(state, requests, tok=None, **kwargs):
    return call(state, "POST", "/v1.0/$batch", tok or token(state), body={"requests": requests}, **kwargs)


def _by_id(answer):
    assert answer.status == 200, answer.json
    return {r["id"]: r for r in answer.json["responses"]}


def test_twenty_requests_ok_in_any_order(state):
    requests = [{"id": str(i), "method": "GET", "url": f"/users/user{i:05d}@contoso.example?$select=id,displayName"}
                for i in range(1, 21)]
    answer = _batch(state, requests)
    assert answer.headers["content-type"].startswith("application/json")
    responses = _by_id(answer)
    assert sorted(responses, key=int) == [str(i) for i in range(1, 21)]
    assert [r["id"] for r in answer.json["responses"]] != [str(i) for i in range(1, 21)]  # not in request order
    for ident, item in responses.items():
        assert item["status"] == 200
        assert item["body"]["displayName"] == f"User {int(ident):05d}"
        assert item["headers"]["Content-Type"].startswith("application/json")


def test_twenty_one_requests_refused(state):
    answer = _batch(state, [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)])
    assert (answer.status, answer.error["code"]) == (400, "BadRequest")
    assert "limit" in answer.error["message"]
    assert answer.error["innerError"]["request-id"] == answer.headers["request-id"]


def test_malformed_batches(state):
    tok = token(state)
    assert _batch(state, [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]).status == 400
    assert _batch(state, [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]).status == 400
    assert _batch(state, [{"method": "GET", "url": "/me"}]).status == 400
    assert _batch(state, [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]).status == 400
    assert _batch(state, [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]},
                          {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}]).status == 400
    answer = _batch(state, [{"id": "1", "method": "POST", "url": "/groups/x/members/$ref", "body": {"@odata.id": "x"}}])
    assert answer.error["message"] == "Write request id : 1 does not contain Content-Type header or body."
    assert call(state, "POST", "/v1.0/$batch", tok, body=b"{").error["code"] == "BadRequest"
    assert call(state, "GET", "/v1.0/$batch", tok).status == 405
    assert call(state, "POST", "/v1.0/$batch", body={"requests": []}).status == 401


def test_inner_statuses_are_independent(state):
    responses = _by_id(_batch(state, [
        {"id": "ok", "method": "GET", "url": "/me"},
        {"id": "missing", "method": "GET", "url": "/users/nobody@contoso.example"},
        {"id": "segment", "method": "GET", "url": "/nothing"},
        {"id": "nested", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"}, "body": {}},
        {"id": "absolute", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"},
    ]))
    assert responses["ok"]["status"] == 200 and responses["ok"]["body"]["userPrincipalName"] == ALICE
    assert responses["missing"]["status"] == 404
    assert responses["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert responses["segment"]["status"] == 400
    assert responses["nested"]["status"] == 400
    assert responses["absolute"]["status"] == 400


def test_depends_on_failure_gives_424(state):
    responses = _by_id(_batch(state, [
        {"id": "1", "method": "GET", "url": "/users/nobody@contoso.example"},
        {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/me", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/me"},
    ]))
    assert [responses[i]["status"] for i in "1234"] == [404, 424, 424, 200]
    assert responses["2"]["body"]["error"]["code"] == "FailedDependency"


def test_depends_on_orders_writes_before_reads(state):
    group = state.graph.tenant().groups[1]["id"]
    bob = state.user(BOB)["id"]
    responses = _by_id(_batch(state, [
        {"id": "list", "method": "GET", "url": f"/groups/{group}/members?$select=userPrincipalName", "dependsOn": ["add"]},
        {"id": "add", "method": "POST", "url": f"/groups/{group}/members/$ref", "headers": {"Content-Type": "application/json"},
         "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{bob}"}},
        {"id": "again", "method": "POST", "url": f"/groups/{group}/members/$ref", "dependsOn": ["list"],
         "headers": {"Content-Type": "application/json"},
         "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{bob}"}},
    ]))
    assert responses["add"]["status"] == 204 and "body" not in responses["add"]
    assert responses["list"]["body"]["value"] == [{"@odata.type": "#microsoft.graph.user", "userPrincipalName": BOB}]
    assert responses["again"]["status"] == 400
    assert responses["again"]["body"]["error"]["message"].startswith("One or more added object references already exist")


def test_inner_429_with_retry_after(state):
    state.faults.add({"endpoint": "graph_batch_item", "status": 429, "retry_after": 3, "skip": 1, "times": 2})
    answer = _batch(state, [{"id": str(i), "method": "GET", "url": "/me"} for i in range(1, 5)])
    statuses = sorted(r["status"] for r in answer.json["responses"])
    assert answer.status == 200 and statuses == [200, 200, 429, 429]
    throttled = [r for r in answer.json["responses"] if r["status"] == 429]
    for item in throttled:
        assert item["headers"]["Retry-After"] == "3"
        assert item["body"]["error"]["code"] == "TooManyRequests"
        assert item["body"]["error"]["innerError"]["request-id"] == answer.headers["request-id"]


def test_broken_inner_fault_breaks_the_batch(state):
    state.faults.add({"endpoint": "graph_batch_item", "kind": "truncated", "times": 1})
    answer = _batch(state, [{"id": "1", "method": "GET", "url": "/me"}])
    assert answer.json is None and answer.raw.startswith(b'{"responses"')


def test_inner_headers_and_scopes(state):
    responses = _by_id(_batch(state, [
        {"id": "count", "method": "GET", "url": "users?$count=true&$top=1", "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "nocount", "method": "GET", "url": "users?$count=true&$top=1"},
        {"id": "segment", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
    ], headers={"ConsistencyLevel": "eventual"}))
    assert responses["count"]["body"]["@odata.count"] == 33
    assert "@odata.count" not in responses["nocount"]["body"]  # outer headers do not reach inner requests
    assert responses["segment"]["body"] == "33"
    limited = token(state, scp="User.Read")
    responses = _by_id(_batch(state, [{"id": "me", "method": "GET", "url": "/me"},
                                      {"id": "users", "method": "GET", "url": "/users"}], tok=limited))
    assert responses["me"]["status"] == 200 and responses["users"]["status"] == 403
    assert responses["users"]["body"]["error"]["code"] == "Authorization_RequestDenied"


def test_inner_next_link_is_absolute(state):
    responses = _by_id(_batch(state, [{"id": "1", "method": "GET", "url": "/users?$top=10"}]))
    assert responses["1"]["body"]["@odata.nextLink"].startswith("https://graph.microsoft.com/v1.0/users?$top=10&$skiptoken=")
