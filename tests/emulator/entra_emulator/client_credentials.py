"""Confidential clients: client authentication on every grant, and the client-credentials grant.

An app of the scenario may hold three kinds of credential, as an app registration does:

* ``client_secrets``: ``[{"value", "expires"}]`` -- a wrong value is AADSTS7000215, a value
  whose ``expires`` passed is AADSTS7000222 (both ``invalid_client``, HTTP 401);
* ``certificates``: ``[{"name", "expired", "path"}]`` -- generated into the state directory
  (``app-<client id>-<name>.pem``: key then certificate) or read from ``path``; msal signs a
  ``client_assertion`` JWT with the key (RS256 with ``x5t`` when given a SHA-1 thumbprint, PS256
  with ``x5t#S256`` when given the certificate).  An unknown thumbprint or a bad signature is
  AADSTS700027, an expired certificate AADSTS700027 too ("The key used is expired"), an
  assertion outside ``nbf``/``exp`` AADSTS700024, ``iss``/``sub`` other than the client id
  AADSTS700021, another ``aud`` than the token endpoint AADSTS50012, a malformed JWT AADSTS50027;
* ``federated_credentials``: ``[{"name", "issuer", "subject", "audiences"}]`` -- a JWT from an
  OIDC issuer (the emulator serves its own, see federation_issuer.py); no credential for that
  issuer is AADSTS700211, for that subject AADSTS700213, for that audience AADSTS700212, an app
  with no federated credential at all AADSTS70021.

The grant (``grant_type=client_credentials``) needs ``scope=<resource>/.default`` (anything
else is AADSTS1002012, none AADSTS90014) and answers an app-only access token: ``roles`` (the
application permissions granted with admin consent, scenario key ``app_roles``), no ``scp``,
``idtyp: app``; no refresh token, no ID token, no ``client_info``.  A disabled app
(``"enabled": false``) is AADSTS7000112, an unknown one AADSTS700016.
"""

import base64
import binascii
import datetime
import hmac
import os

import jwt

from . import errors, keystore, scopes, tokens
from .errors import Refusal
from .http import json_response
from .tls import not_valid_after, not_valid_before

GRANT_TYPE = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300  # seconds of leeway on nbf/exp, as Entra's token validation allows
ALGORITHMS = ("RS256", "PS256")


class AppCredentials:
    """The certificates of every app, loaded or generated once at start (keyed by thumbprint)."""

    def __init__(self, scenario, state_dir):
        self._by_app = {}
        for tenant in scenario["tenants"]:
            for app in tenant["apps"]:
                entries = [self._load(app, cert, state_dir) for cert in app.get("certificates", [])]
                self._by_app.setdefault(app["client_id"], []).extend(entries)

    @staticmethod
    def _load(app, spec, state_dir):
        name = spec.get("name") or "certificate"
        if spec.get("path"):
            cert = keystore.read_certificate(spec["path"])
            pem_path = os.path.abspath(spec["path"])
        else:
            stem = "app-%s-%s" % (app["client_id"], name)
            _key, cert, pem_path = keystore.key_and_certificate(state_dir, stem, "%s (%s)" % (app["display_name"], name),
                                                                expired=bool(spec.get("expired")))
        sha1, sha256 = keystore.thumbprints(cert)
        return {"name": name, "cert": cert, "sha1": sha1, "sha256": sha256, "pem_path": pem_path,
                "not_before": not_valid_before(cert), "not_after": not_valid_after(cert)}

    def for_app(self, client_id):
        """The certificate entries of an app (``cert`` is the x509 object)."""
        return list(self._by_app.get(client_id.lower(), []))

    def describe(self, client_id):
        """JSON-safe description for the admin API and ready.json (paths, thumbprints, validity)."""
        return [{"name": e["name"], "thumbprint": e["sha1"], "thumbprint_sha256": e["sha256"],
                 "pem_path": e["pem_path"], "not_before": e["not_before"].isoformat(),
                 "not_after": e["not_after"].isoformat(),
                 "expired": e["not_after"] < datetime.datetime.now(datetime.timezone.utc)}
                for e in self.for_app(client_id)]


def authenticate_client(state, tenant, client_id, form):
    """The app, once the client has authenticated as it must; raise the Refusal Entra answers."""
    return _authenticate(state, tenant, client_id, form)[0]


def _authenticate(state, tenant, client_id, form):
    """``(app, method)``: method is None (public client), ``secret``, ``certificate`` or ``federated``."""
    app = state.find_app(tenant, client_id)
    if app is None:
        raise Refusal(700016, client_id=client_id, tenant_name=tenant["display_name"])
    if not app.get("enabled", True):
        raise Refusal(7000112, client_id=app["client_id"], app_name=app["display_name"])
    secret, assertion = form.get("client_secret"), form.get("client_assertion")
    if secret is None and not assertion:
        if not app["public_client"]:
            raise Refusal(7000218)
        return app, None
    if assertion:
        if not form.get("client_assertion_type"):
            raise Refusal(900144, param="client_assertion_type")
        if form["client_assertion_type"] != JWT_BEARER:
            raise Refusal(50027)
        return app, _verify_assertion(state, tenant, app, assertion)
    _verify_secret(state, app, secret)
    return app, "secret"


def _verify_secret(state, app, secret):
    matches = [s for s in app.get("client_secrets", []) if hmac.compare_digest(s["value"].encode(), secret.encode())]
    if not matches:
        raise Refusal(7000215, client_id=app["client_id"])
    now = state.clock.now()
    if all(s.get("expires_at") is not None and s["expires_at"] < now for s in matches):
        raise Refusal(7000222, client_id=app["client_id"])


def _iso(epoch):
    return errors.iso_timestamp(epoch) if isinstance(epoch, (int, float)) else "1970-01-01T00:00:00.0000000Z"


def _check_times(state, claims):
    """AADSTS700024 unless now is within [nbf, exp] (with Entra's leeway); nbf is optional (msal sends none)."""
    now = state.clock.now()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or (nbf is not None and not isinstance(nbf, (int, float))):
        raise Refusal(50027)
    if now > exp + CLOCK_SKEW or (nbf is not None and now < nbf - CLOCK_SKEW):
        raise Refusal(700024, now=errors.iso_timestamp(now), nbf=_iso(nbf), exp=_iso(exp))


def _verify_assertion(state, tenant, app, assertion):
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise Refusal(50027) from None
    if "x5t#S256" in header or "x5t" in header:
        _verify_certificate_assertion(state, tenant, app, assertion, header, claims)
        return "certificate"
    _verify_federated_assertion(state, app, assertion, claims)
    return "federated"


def _thumbprint(header):
    """``(kind, upper-case hex)`` of the certificate the assertion names."""
    kind = "sha256" if "x5t#S256" in header else "sha1"
    raw = header["x5t#S256"] if kind == "sha256" else header["x5t"]
    try:
        return kind, binascii.hexlify(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))).decode().upper()
    except (binascii.Error, ValueError, TypeError):
        raise Refusal(50027) from None


def token_endpoints(state, tenant):
    """Audiences a client assertion may name: this tenant's token endpoints (by id or domain, v2 or v1)."""
    names = [tenant["id"]] + list(tenant["domains"])
    return {"%s/%s/oauth2/%s" % (state.url, name, path) for name in names for path in ("v2.0/token", "token")}


def _verify_certificate_assertion(state, tenant, app, assertion, header, claims):
    kind, thumbprint = _thumbprint(header)
    entry = next((e for e in state.credentials.for_app(app["client_id"]) if e[kind] == thumbprint), None)
    if entry is None:
        raise Refusal("700027:not_registered", thumbprint=thumbprint, client_id=app["client_id"])
    found = {"thumbprint": thumbprint, "start": entry["not_before"].strftime("%m/%d/%Y %H:%M:%S"),
             "end": entry["not_after"].strftime("%m/%d/%Y %H:%M:%S")}
    now = datetime.datetime.fromtimestamp(state.clock.now(), datetime.timezone.utc)
    if not entry["not_before"] <= now <= entry["not_after"]:
        raise Refusal("700027:expired_key", **found)
    if header.get("alg") not in ALGORITHMS:
        raise Refusal(50027)
    try:
        jwt.decode(assertion, entry["cert"].public_key(), algorithms=[header["alg"]],
                   options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.InvalidTokenError:
        raise Refusal("700027:signature", **found) from None
    if not isinstance(claims.get("aud"), str) or not claims.get("jti"):
        raise Refusal(50027)
    if claims["aud"].rstrip("/").lower() not in {a.lower() for a in token_endpoints(state, tenant)}:
        raise Refusal(50012)
    if str(claims.get("iss", "")).lower() != app["client_id"] or str(claims.get("sub", "")).lower() != app["client_id"]:
        raise Refusal(700021)
    _check_times(state, claims)


def _verify_federated_assertion(state, app, assertion, claims):
    issuer, subject, audience = claims.get("iss"), claims.get("sub"), claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    shown = {"issuer": issuer, "subject": subject, "audience": ",".join(str(a) for a in audiences)}
    credentials = app.get("federated_credentials", [])
    if not credentials:
        raise Refusal(70021, **shown)
    by_issuer = [c for c in credentials if state.federation.resolve(c["issuer"]) == issuer]
    if not by_issuer:
        raise Refusal(700211, issuer=issuer)
    by_subject = [c for c in by_issuer if c["subject"] == subject]
    if not by_subject:
        raise Refusal(700213, subject=subject)
    if not any(a in c["audiences"] for c in by_subject for a in audiences):
        raise Refusal(700212, audience=shown["audience"])
    if not state.federation.verify(issuer, assertion):
        raise Refusal(50027)
    _check_times(state, claims)


def _resource(state, tenant, scope_string):
    """The resource named by ``<resource>/.default``, or the Refusal (90014, 1002012, 500011)."""
    items = [s for s in (scope_string or "").split(" ") if s]
    if not items:
        raise Refusal(90014, field="scope")
    bad = [s for s in items if not s.endswith("/.default")]
    if bad:
        raise Refusal(1002012, scope=bad[0])
    if len(items) > 1:
        raise Refusal(70011, scope=" ".join(items))
    resource = items[0][: -len("/.default")]
    key = scopes.resource_key(resource)
    known = scopes.known_resources(tenant, state.scenario.get("resources", []))
    known.update(scopes.resource_key(r) for a in tenant["apps"] for r, _p in app_roles(a))
    if key not in known:
        raise Refusal(500011, resource=resource, tenant_name=tenant["display_name"])
    return key, (scopes.GRAPH if key == scopes.GRAPH else resource)


def app_roles(app):
    """``[(resource key, role)]`` of the app's application permissions (bare names are Graph's)."""
    out = []
    for role in app.get("app_roles", []):
        resource, perm = scopes.split(role)
        out.append((scopes.resource_key(resource or scopes.GRAPH), perm))
    return out


def issue(state, request, segment, form):
    """``grant_type=client_credentials``: an app-only access token."""
    key = segment.lower()
    tenant = None if key == "organizations" else state.find_tenant(segment)
    if tenant is None:
        if key == "organizations":
            raise Refusal(700016, client_id=form["client_id"], tenant_name="organizations")
        raise Refusal(90002, tenant=segment)
    if not form.get("scope"):
        raise Refusal(90014, field="scope")
    app, method = _authenticate(state, tenant, form["client_id"], form)
    if method is None:
        raise Refusal(7000218)
    request.user = app["client_id"]
    resource_key, aud = _resource(state, tenant, form["scope"])
    roles = sorted({role for res, role in app_roles(app) if res == resource_key}, key=str.lower)
    lifetime = int(app.get("token_lifetime") or state.scenario["token_lifetime"])
    token = tokens.app_access_token(state.keys, tenant, app, aud, roles, state.clock.now(), lifetime,
                                    appidacr="1" if method == "secret" else "2")
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    return json_response(200, body, errors.ests_headers(tokens.new_guid(), errors.correlation_id(request), request))
