"""OIDC issuers for workload identity federation: what GitHub Actions, Kubernetes or a CI would be.

Each issuer named in the scenario (``"federation_issuers": ["ci"]``, default ``["ci"]``) lives
at ``{url}/federation/{name}``: it serves ``/.well-known/openid-configuration`` and its JWKS at
``/jwks``, and signs RS256 JWTs with its own key (kept in the state directory).  Tests mint a
token with the admin call ``POST /_emulator/federation/token`` and write it to the file that the
client reads (``client_assertion_file``, ``AZURE_FEDERATED_TOKEN_FILE``); Entra then checks it
against the app's federated credentials (client_credentials.py).  An app credential's ``issuer``
is the issuer URL, or just the issuer's name.
"""

import secrets
import uuid

import jwt

from . import keystore
from .faults import apply as apply_fault
from .http import json_response, text_response
from .tokens import b64url, b64url_uint

DEFAULT_ISSUERS = ("ci",)
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"


class FederationIssuers:
    """The emulator's issuers: URLs, keys, minting and verification."""

    def __init__(self, base_url, scenario, state_dir=None):
        self.base_url = base_url.rstrip("/")
        names = scenario.get("federation_issuers") or list(DEFAULT_ISSUERS)
        self._keys = {}
        for name in names:
            key, cert, _unused = keystore.key_and_certificate(state_dir, "federation-" + name, "issuer " + name)
            kid = keystore.thumbprints(cert)[0][:16].lower()
            self._keys[name] = (key, kid)

    @property
    def names(self):
        """Names of the issuers."""
        return list(self._keys)

    def url(self, name):
        """The issuer URL (the ``iss`` of its tokens) of issuer ``name``."""
        return "%s/federation/%s" % (self.base_url, name)

    def resolve(self, issuer):
        """An app credential's issuer as a URL (a bare name means the emulator's issuer of that name)."""
        return self.url(issuer) if issuer in self._keys else issuer

    def name_of(self, issuer_url):
        """The name of the emulator issuer with that URL, or None."""
        for name in self._keys:
            if self.url(name) == issuer_url:
                return name
        return None

    def mint(self, name, subject, audience=DEFAULT_AUDIENCE, now=0.0, lifetime=3600, not_before=None,
             claims=None, tamper=False):
        """A signed JWT from issuer ``name``; ``tamper`` breaks its signature (for hostile tests)."""
        if name not in self._keys:
            raise KeyError("no federation issuer %r (known: %s)" % (name, ", ".join(self._keys)))
        key, kid = self._keys[name]
        payload = {"iss": self.url(name), "sub": subject, "aud": audience, "iat": int(now),
                   "nbf": int(now if not_before is None else not_before), "exp": int(now + lifetime),
                   "jti": str(uuid.uuid4())}
        payload.update(claims or {})
        token = jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
        if tamper:
            head, body, _sig = token.split(".")
            token = "%s.%s.%s" % (head, body, b64url(secrets.token_bytes(256)))
        return token

    def verify(self, issuer_url, token):
        """True when ``token`` carries a valid signature of the emulator issuer at ``issuer_url``."""
        name = self.name_of(issuer_url)
        if name is None:
            return False  # Entra would fetch a foreign issuer's keys; the emulator cannot, offline
        key, _kid = self._keys[name]
        try:
            jwt.decode(token, key.public_key(), algorithms=["RS256"],
                       options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidTokenError:
            return False
        return True

    def jwks(self, name):
        """The issuer's public key as a JWKS."""
        key, kid = self._keys[name]
        numbers = key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64url_uint(numbers.n),
                          "e": b64url_uint(numbers.e)}]}

    def configuration(self, name):
        """The issuer's OpenID configuration (the fields Entra reads: issuer, jwks_uri)."""
        url = self.url(name)
        return {"issuer": url, "jwks_uri": url + "/jwks", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"]}


def _serve(state, request, name, build):
    """Fault first, 404 for an unknown issuer, else ``build(name)`` as JSON."""
    failure = apply_fault(state.faults, request, "federation")
    if failure is not None:
        return failure
    if name not in state.federation.names:
        return text_response(404, "Not Found")
    return json_response(200, build(name))


def openid_configuration(state, request, name):
    """``GET /federation/{name}/.well-known/openid-configuration``."""
    return _serve(state, request, name, state.federation.configuration)


def jwks(state, request, name):
    """``GET /federation/{name}/jwks``."""
    return _serve(state, request, name, state.federation.jwks)
