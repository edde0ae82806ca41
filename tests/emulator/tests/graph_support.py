"""Helpers for the Graph unit tests: a small fake emulator state, signed tokens, and a call helper.

The fake state has exactly what ``graph.handle`` reads (scenario, keys, faults, graph, clock),
so Graph behaviour is tested without sockets; the end-to-end test covers the real server.
"""

import json
import os
import sys
import time
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from entra_emulator import graph  # noqa: E402
from entra_emulator.config import load_scenario  # noqa: E402
from entra_emulator.faults import FaultSet  # noqa: E402
from entra_emulator.graph_directory import GraphDirectory  # noqa: E402
from entra_emulator.http import Request  # noqa: E402

TENANT = "11111111-2222-4333-8444-555555555555"
DOMAIN = "contoso.example"
ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
ALL_READ = "User.Read User.ReadBasic.All Group.Read.All GroupMember.ReadWrite.All"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

SCENARIO = {"tenants": [{
    "id": TENANT, "domains": [DOMAIN],
    "apps": [{"client_id": "4f1b2c3d-0a6e-4b8f-9c71-2d5e6f7a8b90", "consented_scopes": ["User.Read"]}],
    "users": [
        {"upn": ALICE, "password": "x", "given_name": "Alice", "surname": "Adams", "display_name": "Alice Adams",
         "job_title": "Engineer", "department": "IT"},
        {"upn": BOB, "password": "x", "given_name": "Bob", "surname": "Brown", "display_name": "Bob Brown",
         "job_title": "Manager"},
        {"upn": "carol@contoso.example", "password": "x", "state": "disabled", "display_name": "Carol Clark"},
    ],
    "groups": [
        {"display_name": "Engineering", "members": [ALICE]},
        {"display_name": "Empty Group"},
    ],
}]}


class Keys:  # pylint: disable=too-few-public-methods
    """What graph_auth reads from ``state.keys``."""

    def __init__(self):
        self.private_key = KEY
        self.public_key = KEY.public_key()
        self.kid = "test-kid"


class Clock:  # pylint: disable=too-few-public-methods
    """An adjustable clock like the emulator's."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        """Emulated time."""
        return time.time() + self.offset


class FakeState:  # pylint: disable=too-few-public-methods
    """The parts of EmulatorState that Graph uses."""

    def __init__(self, scenario=None, seed=0):
        self.scenario = load_scenario(scenario or SCENARIO)
        self.keys = Keys()
        self.clock = Clock()
        self.faults = FaultSet(sleep=lambda _s: None)
        self.graph = GraphDirectory(self)
        if seed:
            self.graph.seed_users(seed)

    def user(self, upn):
        """A directory user by UPN."""
        return self.graph.tenant(TENANT).user(upn)


def token(state, upn=ALICE, scp=ALL_READ, aud="https://graph.microsoft.com", lifetime=3600, key=None,
          roles=None, kid="test-kid", **extra):
    """A signed access token like the emulator's token endpoint issues."""
    user = state.user(upn)
    now = int(state.clock.now())
    claims = {"aud": aud, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now, "nbf": now, "exp": now + lifetime,
              "tid": TENANT, "oid": user["id"] if user else "00000000-0000-0000-0000-000000000000",
              "upn": upn, "unique_name": upn, "ver": "1.0"}
    if scp is not None:
        claims["scp"] = scp
    if roles is not None:
        claims["roles"] = roles
        claims.pop("scp", None)
    claims.update(extra)
    return jwt.encode(claims, key or KEY, algorithm="RS256", headers={"kid": kid})


class Answer:  # pylint: disable=too-few-public-methods
    """A response with its body decoded."""

    def __init__(self, response):
        self.status = response.status
        self.headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        self.raw = response.body
        self.reset = response.reset
        try:
            self.json = json.loads(response.body) if response.body else None
        except ValueError:
            self.json = None

    @property
    def error(self):
        """The ``error`` object of an error body."""
        return (self.json or {}).get("error", {})


def call(state, method, url, tok=None, headers=None, body=None, host="graph.microsoft.com"):
    """Send one request to ``graph.handle``; ``url`` may be relative or an absolute nextLink."""
    parts = urlsplit(url)
    hdrs = {"Host": parts.netloc or host}
    if tok is not None:
        hdrs["Authorization"] = f"Bearer {tok}"
    hdrs.update(headers or {})
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    request = Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True), hdrs, raw)
    return Answer(graph.handle(state, request))
