"""Socket-free checks of the scenario loader, scope rules, faults and error bodies."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from entra_emulator import config, errors, scopes  # noqa: E402
from entra_emulator.faults import FaultSet  # noqa: E402
from entra_emulator.http import Request  # noqa: E402


def test_default_scenario_normalized():
    scenario = config.load_scenario()
    tenant = scenario["tenants"][0]
    states = {u["state"] for u in tenant["users"]}
    assert set(config.USER_STATES) <= states
    demo = next(u for u in tenant["users"] if u["upn"] == "demo@contoso.example")
    assert demo["id"] == config.user_object_id("DEMO@contoso.example")
    assert {"display_name", "given_name", "surname", "mail", "job_title", "federated"} <= set(demo)
    alice = next(u for u in tenant["users"] if u["upn"] == "alice@fabrikam.example")
    assert alice["federated"] is True and "fabrikam.example" in tenant["domains"]
    assert all(g["id"] and isinstance(g["members"], list) for g in tenant["groups"])
    assert scenario["demo"]["password"] == demo["password"]


def test_scenario_from_dict_fills_defaults():
    scenario = config.load_scenario({"tenants": [{"domains": ["Example.Test"], "users": [{"upn": "jo.bloggs@example.test"}],
                                                  "apps": [{"client_id": "ABC"}]}]})
    tenant = scenario["tenants"][0]
    assert tenant["id"] == config.tenant_id_for("example.test")
    assert tenant["users"][0]["display_name"] == "Jo Bloggs"
    assert tenant["apps"][0] == {"client_id": "abc", "display_name": "app abc", "public_client": True,
                                 "consented_scopes": []}
    with pytest.raises(ValueError):
        config.load_scenario({"tenants": [{"domains": ["x.test"], "users": [{"upn": "a@x.test", "state": "weird"}]}]})


APP = {"client_id": "c", "display_name": "App",
       "consented_scopes": ["User.Read", "Group.Read.All", "https://management.core.windows.net//user_impersonation"]}
TENANT = {"display_name": "T", "apps": [APP]}


def _grant(scope, **kwargs):
    return scopes.grant(scopes.parse(scope), APP, TENANT, **kwargs)


def test_scope_echo_rules():
    assert _grant("user.read openid profile offline_access")["echo"] == ["User.Read", "profile", "openid", "email"]
    qualified = _grant("https://graph.microsoft.com/User.Read openid")
    assert qualified["echo"] == ["https://graph.microsoft.com/User.Read", "profile", "openid", "email"]
    default = _grant("https://graph.microsoft.com/.default openid profile offline_access")
    assert default["echo"] == ["profile", "openid", "email", "https://graph.microsoft.com/User.Read",
                               "https://graph.microsoft.com/Group.Read.All", "https://graph.microsoft.com/.default"]
    assert default["scp"] == ["email", "Group.Read.All", "openid", "profile", "User.Read"]
    assert default["aud"] == "https://graph.microsoft.com"
    arm = _grant("https://management.core.windows.net//.default openid")
    assert arm["aud"] == "https://management.core.windows.net/" and arm["scp"] == ["user_impersonation"]


@pytest.mark.parametrize("scope,code", [
    ("User.Read https://management.core.windows.net//user_impersonation", 28000),
    ("https://graph.microsoft.com/.default https://management.core.windows.net//.default", 70011),
    ("https://graph.microsoft.com/.default User.Read", 70011),
    ("api://unknown/.default", 500011),
    ("Mail.Read", 65001),
])
def test_scope_errors(scope, code):
    with pytest.raises(scopes.ScopeError) as caught:
        _grant(scope)
    assert caught.value.code == code


def test_missing_user_consent():
    with pytest.raises(scopes.ScopeError):
        _grant("User.Read", user_consented=False)


def test_fault_take_api():
    slept = []
    faults = FaultSet(sleep=slept.append)
    faults.add([{"endpoint": "graph", "user": "A@x.test", "kind": "status", "status": 429, "retry_after": 3, "times": 1},
                {"endpoint": "graph_batch_item", "kind": "latency", "latency": 0.25},
                {"endpoint": "token", "kind": "reset"}])
    assert faults.take("graph", "b@x.test") is None
    throttled = faults.take("graph", "a@x.test")
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "3"
    assert b'"TooManyRequests"' in throttled.body
    assert faults.take("graph", "a@x.test") is None
    assert faults.take("graph_batch_item") is None and slept == [0.25]
    assert faults.take("token").reset is True
    with pytest.raises(ValueError):
        faults.add({"endpoint": "token", "kind": "explode"})


def test_error_body_shape():
    request = Request("POST", "/t/oauth2/v2.0/token", headers={"client-request-id": "cid"})
    body = errors.error_body(53003, "https://h", request, claims=errors.ca_claims("p"))
    assert body["error"] == "invalid_grant" and body["suberror"] == "message_only"
    assert body["correlation_id"] == "cid"
    assert body["claims"] == '{"access_token":{"capolids":{"essential":true,"values":["p"]}}}'
    response = errors.entra_error(7000218, "https://h", request)
    assert response.status == 401
    assert errors.inactive_span(90 * 86400) == "90.00:00:00"
    assert errors.iso_timestamp(0) == "1970-01-01T00:00:00.0000000Z"


def test_saml2_federation_without_sockets():
    from urllib.parse import urlencode  # pylint: disable=import-outside-toplevel
    from msal import wstrust_request, wstrust_response  # pylint: disable=import-outside-toplevel
    from entra_emulator import token_endpoint, wstrust  # pylint: disable=import-outside-toplevel
    from entra_emulator.state import EmulatorState  # pylint: disable=import-outside-toplevel
    scenario = {"tenants": [{"domains": ["fed.test"], "federated_domains": ["fed.test"], "federation_token_type": "saml2",
                             "apps": [{"client_id": "c1", "consented_scopes": ["User.Read"]}],
                             "users": [{"upn": "u@fed.test", "password": "pw"}]}]}
    state = EmulatorState(scenario, "https://emu.test")
    endpoint = "https://emu.test/adfs/services/trust/13/usernamemixed"
    rst = wstrust_request._build_rst("u@fed.test", "pw", "urn:federation:MicrosoftOnline", endpoint,
                                     "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue")
    reply = wstrust.usernamemixed(state, Request("POST", "/adfs/services/trust/13/usernamemixed", body=rst.encode()), "13")
    parsed = wstrust_response.parse_response(reply.body.decode())
    assert parsed["type"] == "urn:oasis:names:tc:SAML:2.0:assertion"
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer", "client_id": "c1", "client_info": "1",
            "assertion": token_endpoint.base64.urlsafe_b64encode(parsed["token"]).rstrip(b"=").decode(),
            "scope": "User.Read openid profile offline_access"}
    answer = token_endpoint.handle(state, Request("POST", "/fed.test/oauth2/v2.0/token", body=urlencode(form).encode()),
                                   "fed.test")
    assert answer.status == 200, answer.body
    bad = wstrust_request._build_rst("u@fed.test", "nope", "urn:federation:MicrosoftOnline", endpoint,
                                     "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue")
    fault = wstrust.usernamemixed(state, Request("POST", "/x", body=bad.encode()), "13")
    assert fault.status == 500
    assert wstrust_response.parse_error(fault.body.decode()) == {
        "reason": "ID3242: The security token could not be authenticated or authorized.", "code": "a:FailedAuthentication"}
