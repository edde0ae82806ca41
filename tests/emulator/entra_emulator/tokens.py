"""RS256 tokens with Entra's claims, the signing key, its JWKS and ``client_info``.

Access tokens are v1.0 tokens, which is what Entra issues for Microsoft Graph (Graph
does not accept v2 tokens): ``iss = https://sts.windows.net/{tid}/``, ``ver = 1.0``,
``aud = https://graph.microsoft.com`` (the emulator always uses the URI form of
Graph's audience; Entra also writes its app id ``00000003-...`` in some cases),
``scp`` space-separated, ``appid``, ``upn``/``unique_name``.  ID tokens are v2.0:
``iss = {authority host}/{tid}/v2.0``, ``aud = client_id``, ``preferred_username``.

Not imitated: Graph access tokens carry a ``nonce`` header that makes their signature
unverifiable by anyone but Graph; the emulator's tokens verify normally against the
JWKS (``/{tenant}/discovery/v2.0/keys``).  Clients must treat them as opaque anyway.
"""

import base64
import hashlib
import json
import secrets
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

from . import keystore

GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000",
                   "https://graph.microsoft.com/")


def b64url(data):
    """Unpadded base64url, as JOSE and client_info use."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_uint(value):
    """An unsigned integer as JWK writes it (big-endian, unpadded base64url)."""
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def access_token_issuer(tenant_id):
    """The ``iss`` of v1.0 access tokens (the kind Graph receives)."""
    return "https://sts.windows.net/%s/" % tenant_id


def id_token_issuer(base_url, tenant_id):
    """The ``iss`` of v2.0 ID tokens, matching the openid-configuration ``issuer``."""
    return "%s/%s/v2.0" % (base_url, tenant_id)


class SigningKey:
    """The RSA key that signs every token; ``kid`` equals the certificate's ``x5t`` like Entra's keys."""

    def __init__(self, private_key, certificate):
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.certificate = certificate
        der = certificate.public_bytes(serialization.Encoding.DER)
        self.kid = b64url(hashlib.sha1(der).digest())  # nosec - x5t is defined as a SHA-1 thumbprint
        self.x5c = base64.b64encode(der).decode("ascii")

    @classmethod
    def generate(cls, base_url, state_dir=None):
        """The signing key kept in ``state_dir`` (created on first start), or a fresh one without a state directory.

        Keeping it means a restarted emulator still accepts the tokens it issued before.
        """
        key, cert, _unused = keystore.key_and_certificate(state_dir, "token-signing", "accounts.emulator " + base_url)
        return cls(key, cert)

    def jwk(self, issuer=None):
        """This key as a JWK, in Entra's layout (kty, use, kid, x5t, n, e, x5c, issuer)."""
        numbers = self.public_key.public_numbers()
        key = {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
               "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e), "x5c": [self.x5c]}
        if issuer:
            key["issuer"] = issuer
        return key

    def jwks(self, issuer=None):
        """The JWKS document served at ``/{tenant}/discovery/v2.0/keys``."""
        return {"keys": [self.jwk(issuer)]}

    def sign(self, claims):
        """An RS256 JWT with Entra's header fields (typ, alg, x5t, kid)."""
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"x5t": self.kid, "kid": self.kid})

    def verify(self, token, audience=None, issuer=None, leeway=0):
        """Decode and check signature, expiry (and audience/issuer when given); raises jwt errors."""
        options = {"verify_aud": audience is not None}
        return jwt.decode(token, self.public_key, algorithms=["RS256"], audience=audience, issuer=issuer,
                          options=options, leeway=leeway)


def client_info(user, tenant):
    """``client_info``: base64url of ``{"uid": oid, "utid": tid}`` (msal's home account id)."""
    return b64url(json.dumps({"uid": user["id"], "utid": tenant["id"]}, separators=(",", ":")))


def pairwise_sub(user, client_id):
    """Entra's ``sub`` differs per application; derive it deterministically."""
    return b64url(hashlib.sha256(("%s|%s" % (user["id"], client_id)).encode("utf-8")).digest())[:43]


def _opaque(length=24):
    return b64url(secrets.token_bytes(length))


def access_token(key, tenant, user, app, granted, now, lifetime, ip_address="127.0.0.1", amr=None):
    """A v1.0 access token for ``granted`` (see scopes.grant) issued to ``user`` via ``app``."""
    claims = {
        "aud": granted["aud"],
        "iss": access_token_issuer(tenant["id"]),
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + int(lifetime),
        "acct": 0,
        "acr": "1",
        "aio": _opaque(),
        "amr": amr or ["pwd"],
        "app_displayname": app["display_name"],
        "appid": app["client_id"],
        "appidacr": "0",
        "family_name": user.get("surname") or "",
        "given_name": user.get("given_name") or "",
        "idtyp": "user",
        "ipaddr": ip_address,
        "name": user.get("display_name") or user["upn"],
        "oid": user["id"],
        "rh": "0." + _opaque(),
        "scp": " ".join(granted["scp"]),
        "sub": pairwise_sub(user, granted["aud"]),
        "tenant_region_scope": "NA",
        "tid": tenant["id"],
        "unique_name": user["upn"],
        "upn": user["upn"],
        "uti": _opaque(16),
        "ver": "1.0",
    }
    return key.sign(claims)


def service_principal_id(app):
    """The object id of an app's service principal in a tenant (stable per client id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "serviceprincipal:" + app["client_id"]))


def app_access_token(key, tenant, app, aud, roles, now, lifetime, appidacr="1"):
    """A v1.0 app-only access token (client credentials): ``roles``, no ``scp``, ``idtyp: app``.

    ``appidacr`` is "1" for a client secret, "2" for a certificate or federated assertion.
    """
    issuer = access_token_issuer(tenant["id"])
    oid = service_principal_id(app)
    claims = {
        "aud": aud,
        "iss": issuer,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + int(lifetime),
        "aio": _opaque(),
        "app_displayname": app["display_name"],
        "appid": app["client_id"],
        "appidacr": appidacr,
        "idp": issuer,
        "idtyp": "app",
        "oid": oid,
        "rh": "0." + _opaque(),
        "sub": oid,
        "tid": tenant["id"],
        "uti": _opaque(16),
        "ver": "1.0",
    }
    if roles:
        claims["roles"] = list(roles)
    return key.sign(claims)


def id_token(key, base_url, tenant, user, app, now, lifetime=3600):
    """A v2.0 ID token (msal reads preferred_username, oid, tid, sub from it)."""
    claims = {
        "aud": app["client_id"],
        "iss": id_token_issuer(base_url, tenant["id"]),
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + int(lifetime),
        "name": user.get("display_name") or user["upn"],
        "oid": user["id"],
        "preferred_username": user["upn"],
        "rh": "0." + _opaque(),
        "sub": pairwise_sub(user, app["client_id"]),
        "tid": tenant["id"],
        "uti": _opaque(16),
        "ver": "2.0",
    }
    return key.sign(claims)


def new_guid():
    """A random GUID string."""
    return str(uuid.uuid4())
