"""Service principals: msal's ConfidentialClientApplication (secret, certificate, assertion) against the emulator."""

import datetime
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from entra_emulator import keystore

GRAPH = ["https://graph.microsoft.com/.default"]
SECRET = "Automation-S3cret-Value~1"
NO_ROLES = "3f8a2d6e-1b4c-4e7d-9a5f-0c1b2d3e4f5a"
DISABLED = "6d1e9f3a-2c5b-4a8e-b7d0-1e2f3a4b5c6d"
ROLES = ["Group.Read.All", "GroupMember.ReadWrite.All", "User.Read.All"]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class RecordingSession(requests.Session):
    """A session that keeps the form of every POST, to see what msal sends."""

    def __init__(self, ca_path):
        super().__init__()
        self.trust_env = False
        self.verify = ca_path
        self.forms = []

    def post(self, url, data=None, **kwargs):  # pylint: disable=arguments-differ
        self.forms.append(dict(data or {}))
        return super().post(url, data=data, **kwargs)


def _claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def _pem(emu, name="current"):
    demo = next(a for a in emu.apps() if a["client_id"] == emu.demo_app["client_id"])
    cert = next(c for c in demo["certificates"] if c["name"] == name)
    with open(cert["pem_path"], encoding="ascii") as handle:
        data = handle.read()
    key, cert_pem = data[: data.index("-----BEGIN CERTIFICATE-----")], data[data.index("-----BEGIN CERTIFICATE-----"):]
    return key, cert_pem, cert


def _error(result, error, code):
    assert (result["error"], result["error_codes"]) == (error, [code]), result
    assert result["error_description"].startswith("AADSTS%d: " % code)


def _assertion(emu, key_pem, header, **claims):
    now = time.time()
    payload = {"aud": "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant_id), "iss": emu.demo_app["client_id"],
               "sub": emu.demo_app["client_id"], "exp": now + 600, "jti": str(uuid.uuid4())}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key_pem, algorithm="RS256", headers=header)


def test_secret_gives_an_app_only_token(emu):
    app = emu.confidential_app(SECRET)
    result = app.acquire_token_for_client(GRAPH)
    assert result["token_type"] == "Bearer" and result["token_source"] == "identity_provider", result
    assert not {"refresh_token", "id_token", "client_info", "id_token_claims"} & set(result)
    claims = _claims(result["access_token"])
    assert claims["roles"] == ROLES and "scp" not in claims
    assert (claims["idtyp"], claims["appid"], claims["appidacr"]) == ("app", emu.demo_app["client_id"], "1")
    assert claims["oid"] == claims["sub"] and claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == "https://sts.windows.net/%s/" % emu.tenant_id
    assert app.acquire_token_for_client(GRAPH)["token_source"] == "cache"
    assert emu.grants() == {"client_credentials": 1}
    assert emu.token_log()[0]["user"] == emu.demo_app["client_id"]


def test_raw_answer_has_exactly_entras_fields(emu):
    response = emu.token_post(client_id=emu.demo_app["client_id"], client_secret=SECRET, grant_type="client_credentials",
                              scope=GRAPH[0], client_info="1")
    assert response.status_code == 200
    assert set(response.json()) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert response.json()["expires_in"] == 3600


@pytest.mark.parametrize("secret,code", [("Expired-S3cret-Value~0", 7000222), ("not-the-secret", 7000215)])
def test_bad_secrets(emu, secret, code):
    result = emu.confidential_app(secret).acquire_token_for_client(GRAPH)
    _error(result, "invalid_client", code)
    if code == 7000222:
        assert ("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys"
                % emu.demo_app["client_id"]) in result["error_description"]
    else:
        assert "not the client secret ID" in result["error_description"]
    assert emu.token_log()[0]["status"] == 401


def test_certificate_with_sha1_thumbprint_is_rs256_x5t(emu):
    key_pem, _cert_pem, cert = _pem(emu)
    session = RecordingSession(emu.ca_path)
    app = emu.confidential_app({"private_key": key_pem, "thumbprint": cert["thumbprint"]}, http_client=session)
    result = app.acquire_token_for_client(GRAPH)
    assert _claims(result["access_token"])["appidacr"] == "2", result
    sent = session.forms[-1]
    assert sent["client_assertion_type"] == JWT_BEARER and "client_secret" not in sent
    header, claims = jwt.get_unverified_header(sent["client_assertion"]), _claims(sent["client_assertion"])
    assert header["alg"] == "RS256" and "x5t" in header and "x5c" not in header
    assert claims["aud"] == "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant_id)
    assert claims["iss"] == claims["sub"] == emu.demo_app["client_id"] and claims["jti"] and "nbf" not in claims


def test_certificate_with_public_certificate_is_ps256_x5t_s256(emu):
    key_pem, cert_pem, _cert = _pem(emu)
    session = RecordingSession(emu.ca_path)
    app = emu.confidential_app({"private_key": key_pem, "public_certificate": cert_pem}, http_client=session)
    assert "access_token" in app.acquire_token_for_client(GRAPH)
    header = jwt.get_unverified_header(session.forms[-1]["client_assertion"])
    assert header["alg"] == "PS256" and "x5t#S256" in header and "x5t" not in header and header["x5c"]


def test_ready_json_names_the_demo_certificate(emu):
    assert emu.demo_app["certificate_path"].endswith(".pem")
    with open(emu.demo_app["certificate_path"], encoding="ascii") as handle:
        data = handle.read()
    assert "PRIVATE KEY" in data and "CERTIFICATE" in data
    cert = keystore.read_certificate(emu.demo_app["certificate_path"])
    assert keystore.thumbprints(cert)[0] == emu.demo_app["certificate_thumbprint"]


def test_unregistered_certificate_is_700027(emu):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = keystore.self_signed(key, "not registered", *keystore.validity())
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # nosec - what msal computes
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    result = emu.confidential_app({"private_key": key_pem, "thumbprint": thumbprint}).acquire_token_for_client(GRAPH)
    _error(result, "invalid_client", 700027)
    assert ("The certificate with identifier used to sign the client assertion is not registered on application. "
            "[Reason - The key was not found., Thumbprint of key used by client: '%s'" % thumbprint
            ) in result["error_description"]


def test_expired_certificate_is_700027(emu):
    key_pem, _cert_pem, cert = _pem(emu, "expired")
    result = emu.confidential_app({"private_key": key_pem, "thumbprint": cert["thumbprint"]}).acquire_token_for_client(GRAPH)
    _error(result, "invalid_client", 700027)
    assert "The key used is expired." in result["error_description"]


def test_wrong_key_for_a_registered_thumbprint_is_an_invalid_signature(emu):
    _key, _cert_pem, cert = _pem(emu)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    x5t = keystore.b64url_thumbprint(cert["thumbprint"])
    assertion = _assertion(emu, other, {"x5t": x5t})
    result = emu.confidential_app({"client_assertion": lambda: assertion}).acquire_token_for_client(GRAPH)
    _error(result, "invalid_client", 700027)
    assert "Client assertion contains an invalid signature." in result["error_description"]


@pytest.mark.parametrize("claims,code", [
    ({"exp": 1000000000}, 700024),
    ({"nbf": time.time() + 3600}, 700024),
    ({"aud": "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"}, 50012),
    ({"iss": "00000000-0000-0000-0000-000000000001", "sub": "00000000-0000-0000-0000-000000000001"}, 700021),
    ({"jti": None}, 50027),
])
def test_assertion_claims(emu, claims, code):
    key_pem, _cert_pem, cert = _pem(emu)
    assertion = _assertion(emu, key_pem, {"x5t": keystore.b64url_thumbprint(cert["thumbprint"])}, **claims)
    result = emu.confidential_app({"client_assertion": lambda: assertion}).acquire_token_for_client(GRAPH)
    assert result["error_codes"] == [code], result
    if code == 700024 and "exp" in claims:
        assert "assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2001-09-09T01:46:40" \
            in result["error_description"]


def test_msal_assertion_outside_the_emulators_clock_is_700024(emu):
    key_pem, _cert_pem, cert = _pem(emu)
    emu.advance_clock(3600)
    result = emu.confidential_app({"private_key": key_pem, "thumbprint": cert["thumbprint"]}).acquire_token_for_client(GRAPH)
    _error(result, "invalid_client", 700024)


def test_not_a_jwt_is_50027(emu):
    response = emu.token_post(client_id=emu.demo_app["client_id"], grant_type="client_credentials", scope=GRAPH[0],
                              client_assertion="not-a-jwt", client_assertion_type=JWT_BEARER)
    assert response.json()["error_codes"] == [50027]
    no_type = emu.token_post(client_id=emu.demo_app["client_id"], grant_type="client_credentials", scope=GRAPH[0],
                             client_assertion="not-a-jwt")
    assert no_type.json()["error_codes"] == [900144]


def test_federated_credential_from_a_token_file(emu, tmp_path):
    path = emu.write_federated_token(str(tmp_path / "token"))

    def read_token():
        with open(path, encoding="ascii") as handle:
            return handle.read()
    app = emu.confidential_app({"client_assertion": read_token})
    result = app.acquire_token_for_client(GRAPH)
    claims = _claims(result["access_token"])
    assert claims["roles"] == ROLES and claims["appidacr"] == "2", result
    issuer = _claims(read_token())["iss"]
    assert issuer == emu.demo_app["federated"]["issuer_url"] == emu.url + "/federation/ci"
    config = emu.session.get(issuer + "/.well-known/openid-configuration").json()
    keys = emu.session.get(config["jwks_uri"]).json()["keys"]
    assert config["issuer"] == issuer
    jwt.decode(read_token(), jwt.PyJWK(keys[0]).key, algorithms=["RS256"], audience="api://AzureADTokenExchange")


@pytest.mark.parametrize("mint,code", [
    ({"subject": "repo:contoso/other:ref:refs/heads/main"}, 700213),
    ({"audience": "api://SomethingElse"}, 700212),
    ({"claims": {"iss": "https://token.actions.githubusercontent.com"}}, 700211),
    ({"tamper": True}, 50027),
    ({"lifetime": -600}, 700024),
])
def test_federated_mismatches(emu, mint, code):
    mint.setdefault("subject", emu.demo_app["federated"]["subject"])
    token = emu.mint_federated_token(**mint)
    result = emu.confidential_app({"client_assertion": lambda: token}).acquire_token_for_client(GRAPH)
    assert result["error_codes"] == [code], result
    if code == 700213:
        _error(result, "invalid_client", code)
        assert ("No matching federated identity record found for presented assertion subject "
                "'repo:contoso/other:ref:refs/heads/main'. Check your federated identity credential Subject, Audience "
                "and Issuer against the presented assertion.") in result["error_description"]
    if code == 700211:
        assert "assertion issuer 'https://token.actions.githubusercontent.com'" in result["error_description"]


def test_app_without_federated_credentials_is_70021(emu):
    token = emu.mint_federated_token("system:serviceaccount:default:app")
    result = emu.confidential_app({"client_assertion": lambda: token}, client_id=NO_ROLES).acquire_token_for_client(GRAPH)
    _error(result, "invalid_request", 70021)
    assert ("Assertion Issuer: '%s/federation/ci'. Assertion Subject: 'system:serviceaccount:default:app'. "
            "Assertion Audience: 'api://AzureADTokenExchange'." % emu.url) in result["error_description"]


def test_app_without_roles_gets_a_token_without_roles(emu):
    result = emu.confidential_app("NoRoles-S3cret-Value~1", client_id=NO_ROLES).acquire_token_for_client(GRAPH)
    claims = _claims(result["access_token"])
    assert "roles" not in claims and "scp" not in claims and claims["idtyp"] == "app"


def test_disabled_and_unknown_apps(emu):
    disabled = emu.confidential_app("Disabled-S3cret-Value~1", client_id=DISABLED).acquire_token_for_client(GRAPH)
    _error(disabled, "unauthorized_client", 7000112)
    assert "Application '%s'(Disabled automation) is disabled." % DISABLED in disabled["error_description"]
    emu.set_app_enabled(emu.demo_app["client_id"], False)
    try:
        assert emu.confidential_app(SECRET).acquire_token_for_client(GRAPH)["error_codes"] == [7000112]
    finally:
        emu.set_app_enabled(emu.demo_app["client_id"], True)
    unknown = emu.confidential_app(SECRET, client_id=str(uuid.uuid4())).acquire_token_for_client(GRAPH)
    _error(unknown, "unauthorized_client", 700016)


@pytest.mark.parametrize("scope,code", [
    ("User.Read.All", 1002012), ("openid", 1002012), ("https://graph.microsoft.com/User.Read.All", 1002012),
    ("", 90014), ("api://nothing-here/.default", 500011),
    ("https://graph.microsoft.com/.default https://management.core.windows.net//.default", 70011),
])
def test_scope_errors(emu, scope, code):
    response = emu.token_post(client_id=emu.demo_app["client_id"], client_secret=SECRET, grant_type="client_credentials",
                              scope=scope)
    body = response.json()
    assert response.status_code == 400 and body["error_codes"] == [code], body
    if code == 1002012:
        assert body["error"] == "invalid_scope"
        assert ("The provided value for scope %s is not valid. Client credential flows must have a scope value with "
                "/.default suffixed to the resource identifier (application ID URI)." % scope) in body["error_description"]
    if code == 90014:
        assert "The required field 'scope' is missing from the credential." in body["error_description"]


def test_tenant_endpoints(emu):
    form = {"client_id": emu.demo_app["client_id"], "client_secret": SECRET, "grant_type": "client_credentials",
            "scope": GRAPH[0]}
    assert emu.token_post(tenant="common", **form).json()["error_codes"] == [9001023]
    assert emu.token_post(tenant="organizations", **form).json()["error_codes"] == [700016]
    assert emu.token_post(tenant="nosuch.example", **form).json()["error_codes"] == [90002]
    assert emu.token_post(tenant="northwind.example", **form).json()["error_codes"] == [700016]
    assert emu.token_post(tenant=emu.tenant_id, **form).status_code == 200


def test_apps_admin_never_shows_secret_values(emu):
    apps = emu.apps()
    assert SECRET not in str(apps) and SECRET not in str(emu.scenario())
    demo = next(a for a in apps if a["client_id"] == emu.demo_app["client_id"])
    assert [c["name"] for c in demo["certificates"]] == ["current", "expired"]
    assert [c["expired"] for c in demo["certificates"]] == [False, True]
    assert demo["client_secrets"][1]["expires_at"] == datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
