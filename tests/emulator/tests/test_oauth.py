"""Unmodified msal against the emulator: discovery, ROPC, cache, refresh, federation."""

import warnings

import jwt
import pytest

SCOPES = ["User.Read"]
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _acquire(app, username, password, scopes=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return app.acquire_token_by_username_password(username, password, scopes=scopes or SCOPES)


def _token_entries(emu):
    return emu.requests_log(endpoint="token")


def test_openid_configuration_by_domain_guid_and_organizations(emu):
    by_domain = emu.session.get(emu.url + "/contoso.example/v2.0/.well-known/openid-configuration").json()
    by_guid = emu.session.get(emu.url + "/%s/v2.0/.well-known/openid-configuration" % emu.tenant_id).json()
    assert by_domain["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant_id)
    assert by_domain == by_guid
    assert by_domain["issuer"] == "%s/%s/v2.0" % (emu.url, emu.tenant_id)
    orgs = emu.session.get(emu.url + "/organizations/v2.0/.well-known/openid-configuration").json()
    assert orgs["token_endpoint"] == emu.url + "/organizations/oauth2/v2.0/token"
    assert orgs["issuer"] == emu.url + "/{tenantid}/v2.0"


def test_unknown_tenant_is_aadsts90002(emu):
    response = emu.session.get(emu.url + "/nosuch.example/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tenant"
    assert response.json()["error_codes"] == [90002]
    token = emu.token_post(tenant="nosuch.example", grant_type="password", username="a@b.c", password="x",
                           scope="User.Read openid profile offline_access")
    assert token.status_code == 400
    body = token.json()
    assert (body["error"], body["error_codes"]) == ("invalid_request", [90002])
    with pytest.raises(ValueError):
        emu.public_app(tenant="nosuch.example")


def test_managed_success_then_served_from_cache(emu):
    app = emu.public_app()
    result = _acquire(app, emu.demo["username"], emu.demo["password"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert result["scope"] == "User.Read profile openid email"
    assert result["id_token_claims"]["preferred_username"] == emu.demo["username"]
    assert result["token_source"] == "identity_provider"
    accounts = app.get_accounts(username=emu.demo["username"])
    assert len(accounts) == 1
    assert accounts[0]["home_account_id"] == "%s.%s" % (result["id_token_claims"]["oid"], emu.tenant_id)
    cached = app.acquire_token_silent(SCOPES, account=accounts[0])
    assert cached["access_token"] == result["access_token"]
    assert cached["token_source"] == "cache"
    endpoints = [e["endpoint"] for e in emu.requests_log()]
    assert endpoints == ["openid_configuration", "userrealm", "token"]
    assert emu.counters()["grants"] == {"password": 1}


def test_default_scope_echo_and_silent_hit(emu):
    app = emu.public_app()
    result = _acquire(app, emu.demo["username"], emu.demo["password"], GRAPH_DEFAULT)
    assert "access_token" in result, result
    echoed = result["scope"].split()
    assert echoed[:3] == ["profile", "openid", "email"]
    assert "https://graph.microsoft.com/User.Read" in echoed
    assert echoed[-1] == "https://graph.microsoft.com/.default"
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert "User.Read" in claims["scp"].split() and "GroupMember.ReadWrite.All" in claims["scp"].split()
    account = app.get_accounts()[0]
    assert app.acquire_token_silent(GRAPH_DEFAULT, account=account)["token_source"] == "cache"
    assert len(_token_entries(emu)) == 1


def test_other_resource_with_refresh_token(emu):
    app = emu.public_app()
    assert "access_token" in _acquire(app, emu.demo["username"], emu.demo["password"])
    account = app.get_accounts()[0]
    arm = app.acquire_token_silent(["https://management.core.windows.net//.default"], account=account)
    assert arm["scope"] == ("https://management.core.windows.net//user_impersonation "
                            "https://management.core.windows.net//.default")
    claims = jwt.decode(arm["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://management.core.windows.net/"
    assert [e["grant_type"] for e in _token_entries(emu)] == ["password", "refresh_token"]


def test_refresh_after_expiry_rotates_refresh_token(emu):
    app = emu.public_app()
    first = _acquire(app, "short@contoso.example", "Short-Passw0rd!")
    assert first["expires_in"] == 5
    account = app.get_accounts(username="short@contoso.example")[0]
    old_rt = first["refresh_token"]
    # msal refreshes when fewer than 300 s remain, so a 5 s token goes straight to the refresh grant.
    second = app.acquire_token_silent(SCOPES, account=account)
    assert second["token_source"] == "identity_provider"
    assert second["access_token"] != first["access_token"]
    cached_rts = [rt["secret"] for rt in app.token_cache.search(app.token_cache.CredentialType.REFRESH_TOKEN)]
    assert cached_rts and old_rt not in cached_rts
    assert [e["grant_type"] for e in _token_entries(emu)] == ["password", "refresh_token"]
    # Entra does not invalidate a refresh token on use: the old one still redeems.
    again = emu.token_post(grant_type="refresh_token", refresh_token=old_rt, scope="User.Read openid profile offline_access")
    assert again.status_code == 200 and again.json()["refresh_token"] != old_rt


def test_revoked_refresh_token_is_aadsts50173(emu):
    app = emu.public_app()
    assert "access_token" in _acquire(app, "adele.vance@contoso.example", "Adele-Passw0rd!")
    account = app.get_accounts()[0]
    emu.admin("POST", "revoke", {"user": "adele.vance@contoso.example"})
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50173]
    assert result["error_description"].startswith("AADSTS50173: The provided grant has expired due to it being revoked")
    assert _token_entries(emu)[-1]["status"] == 400
    # A fresh password sign-in works again after revocation.
    assert "access_token" in _acquire(emu.public_app(), "adele.vance@contoso.example", "Adele-Passw0rd!")


def test_expired_refresh_token_is_aadsts700082(emu):
    app = emu.public_app()
    assert "access_token" in _acquire(app, "megan.bowen@contoso.example", "Megan-Passw0rd!")
    emu.admin("POST", "clock", {"advance": 86400 + 60})
    result = app.acquire_token_silent_with_error(SCOPES, account=app.get_accounts()[0], force_refresh=True)
    assert (result["error"], result["error_codes"]) == ("invalid_grant", [700082])
    assert "inactive for 1.00:00:00" in result["error_description"]


def test_federated_user_signs_in_through_wstrust(emu):
    app = emu.public_app()
    result = _acquire(app, "alice@fabrikam.example", "Alice-Passw0rd!")
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "alice@fabrikam.example"
    log = emu.requests_log()
    assert [e["endpoint"] for e in log] == ["openid_configuration", "userrealm", "mex", "wstrust", "token"]
    assert log[-1]["grant_type"] == "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
    assert log[-1]["user"] == "alice@fabrikam.example"
    refreshed = app.acquire_token_silent(SCOPES, account=app.get_accounts()[0], force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"


def test_federated_wrong_password_fails_like_adfs(emu):
    app = emu.public_app()
    with pytest.raises(RuntimeError, match="ID3242: The security token could not be authenticated or authorized"):
        _acquire(app, "alice@fabrikam.example", "wrong")
    wstrust = emu.requests_log(endpoint="wstrust")
    assert wstrust[-1]["status"] == 500
    assert not emu.requests_log(endpoint="token")


def test_federated_wstrust_2005_endpoint(emu):
    from msal import wstrust_request  # pylint: disable=import-outside-toplevel
    session = emu.new_session()
    result = wstrust_request.send_request("alice@fabrikam.example", "Alice-Passw0rd!", "urn:federation:MicrosoftOnline",
                                          emu.url + "/adfs/services/trust/2005/usernamemixed", None, session)
    assert result["type"] == "urn:oasis:names:tc:SAML:1.0:assertion"
    assert b"alice@fabrikam.example" in result["token"]


def test_msa_account_is_refused_before_any_token_request(emu):
    with pytest.raises(ValueError, match="Unable to find wstrust endpoint from MEX"):
        _acquire(emu.public_app(), "someone@outlook.example", "whatever")
    assert not emu.requests_log(endpoint="token")


@pytest.mark.parametrize("tenant", ["common", "consumers"])
def test_common_and_consumers_refuse_ropc(emu, tenant):
    result = _acquire(emu.public_app(tenant=tenant), emu.demo["username"], emu.demo["password"])
    assert result["error"] == "invalid_request"
    assert result["error_codes"] == [9001023]
    assert "/organizations or tenant-specific endpoint" in result["error_description"]


def test_organizations_resolves_tenant_from_username(emu):
    app = emu.public_app(tenant="organizations")
    result = _acquire(app, emu.demo["username"], emu.demo["password"])
    assert "access_token" in result, result
    assert result["id_token_claims"]["tid"] == emu.tenant_id
    account = app.get_accounts()[0]
    assert app.acquire_token_silent(SCOPES, account=account)["token_source"] == "cache"
    other = _acquire(emu.public_app(tenant="organizations"), "nora@northwind.example", "Nora-Passw0rd!")
    assert other["id_token_claims"]["tid"] == emu.ready["tenants"][1]["id"]


def test_tokens_verify_against_jwks(emu):
    result = _acquire(emu.public_app(), emu.demo["username"], emu.demo["password"])
    keys = emu.session.get("%s/%s/discovery/v2.0/keys" % (emu.url, emu.demo["tenant"])).json()
    jwk = jwt.PyJWK(keys["keys"][0])
    header = jwt.get_unverified_header(result["access_token"])
    assert header["kid"] == keys["keys"][0]["kid"] == header["x5t"]
    access = jwt.decode(result["access_token"], jwk.key, algorithms=["RS256"], audience="https://graph.microsoft.com",
                        issuer="https://sts.windows.net/%s/" % emu.tenant_id)
    assert access["scp"] == "email openid profile User.Read"
    assert access["appid"] == emu.demo["client_id"]
    assert access["upn"] == emu.demo["username"]
    assert access["ver"] == "1.0"
    assert access["exp"] - access["iat"] == 3600
    id_token = jwt.decode(result["id_token"], jwk.key, algorithms=["RS256"], audience=emu.demo["client_id"],
                          issuer="%s/%s/v2.0" % (emu.url, emu.tenant_id))
    assert id_token["oid"] == access["oid"] and id_token["tid"] == emu.tenant_id


def test_correlation_id_echoes_client_request_id(emu):
    response = emu.token_post(headers={"client-request-id": "11111111-2222-3333-4444-555555555555"},
                              grant_type="password", username=emu.demo["username"], password="bad",
                              scope="User.Read openid profile offline_access")
    body = response.json()
    assert body["correlation_id"] == "11111111-2222-3333-4444-555555555555"
    assert response.headers["client-request-id"] == body["correlation_id"]
    description = body["error_description"]
    assert "\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: " % (body["trace_id"], body["correlation_id"]) in description
    assert body["error_uri"].endswith("/error?code=50126")
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
                         "error_uri"}
