"""The emulator's shared state: scenario, signing key, faults, log, refresh tokens, clock.

One :class:`EmulatorState` is built at start and handed to every handler.  Look-ups
(tenant by GUID or domain, user by UPN, app by client id) live here so OAuth,
WS-Trust and Graph resolve them the same way.
"""

import importlib
import importlib.util
import secrets
import threading
import time

from . import config
from .faults import FaultSet
from .requestlog import RequestLog
from .tokens import SigningKey


class Clock:
    """Wall clock plus an offset that the admin API can advance (to expire tokens without sleeping)."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        """Current emulated time in epoch seconds."""
        return time.time() + self.offset

    def advance(self, seconds):
        """Move emulated time forward."""
        self.offset += float(seconds)


class RefreshTokenStore:
    """Opaque refresh tokens and what they stand for.

    Entra keeps an old refresh token valid after it is redeemed (a new one is issued
    each time, "rotation" from the client's view); tokens end by inactivity expiry
    (AADSTS700082) or by revocation (AADSTS50173, "tokens valid from" moved forward).
    """

    def __init__(self, clock):
        self._lock = threading.Lock()
        self._clock = clock
        self._tokens = {}
        self._valid_from = {}

    def issue(self, tenant_id, client_id, upn, lifetime, scope=""):
        """Create a refresh token; the string looks like Entra's (opaque, starts with ``1.``)."""
        token = "1.A" + secrets.token_urlsafe(48)
        now = self._clock.now()
        with self._lock:
            self._tokens[token] = {"tenant_id": tenant_id, "client_id": client_id, "upn": upn.lower(),
                                   "issued_at": now, "last_used": now, "lifetime": lifetime, "scope": scope}
        return token

    def get(self, token):
        """The record of a token, or None when the emulator never issued it."""
        with self._lock:
            record = self._tokens.get(token)
            return dict(record) if record else None

    def touch(self, token):
        """Mark a token used (inactivity expiry counts from the last use)."""
        with self._lock:
            if token in self._tokens:
                self._tokens[token]["last_used"] = self._clock.now()

    def status(self, record):
        """``ok``, ``expired`` or ``revoked`` for a token record."""
        valid_from = self._valid_from.get(record["upn"])
        if valid_from is not None and record["issued_at"] < valid_from:
            return "revoked"
        if self._clock.now() > record["last_used"] + record["lifetime"]:
            return "expired"
        return "ok"

    def valid_from(self, upn):
        """When the user's tokens became valid again after a revocation (None if never revoked)."""
        return self._valid_from.get(upn.lower())

    def revoke_user(self, upn):
        """Invalidate every refresh token issued to ``upn`` so far; return how many there were."""
        upn = upn.lower()
        with self._lock:
            self._valid_from[upn] = self._clock.now() + 0.000001
            return sum(1 for r in self._tokens.values() if r["upn"] == upn)

    def expire_user(self, upn=None):
        """Make the user's (or everyone's) refresh tokens expired by inactivity."""
        count = 0
        with self._lock:
            for record in self._tokens.values():
                if upn is None or record["upn"] == upn.lower():
                    record["last_used"] = self._clock.now() - record["lifetime"] - 1
                    count += 1
        return count

    def count(self):
        """Number of refresh tokens issued."""
        with self._lock:
            return len(self._tokens)


class EmulatorState:
    """Everything the handlers share; ``url`` is the authority base, e.g. ``https://127.0.0.1``."""

    def __init__(self, scenario, url, state_dir=None):
        self.scenario = config.load_scenario(scenario)
        self.url = url.rstrip("/")
        self.state_dir = state_dir
        self.clock = Clock()
        self.keys = SigningKey.generate(self.url)
        self.faults = FaultSet(self.scenario.get("faults", []))
        self.log = RequestLog(clock=time.time)
        self.refresh_tokens = RefreshTokenStore(self.clock)
        self.assertions = {}
        self.lifetime_overrides = {}
        self.lock = threading.RLock()
        self.graph = self._make_graph()

    def _make_graph(self):
        """The Graph directory, when ``graph.py`` (written separately) is present and loads."""
        name = __package__ + ".graph"
        if importlib.util.find_spec(name) is None:
            return None
        module = importlib.import_module(name)
        factory = getattr(module, "GraphDirectory", None)
        return factory(self) if factory else None

    @property
    def netloc(self):
        """Host[:port] of the emulator, as it appears in URLs."""
        return self.url.split("://", 1)[1]

    @property
    def host(self):
        """Host name without port: what msal calls the environment."""
        netloc = self.netloc
        return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc

    # ---- look-ups -------------------------------------------------------
    def find_tenant(self, segment):
        """A tenant by GUID or by any of its domains (case-insensitive), else None."""
        key = (segment or "").lower()
        for tenant in self.scenario["tenants"]:
            if key == tenant["id"] or key in tenant["domains"]:
                return tenant
        return None

    def tenant_for_domain(self, domain):
        """The tenant that owns a (managed or federated) domain."""
        domain = (domain or "").lower()
        for tenant in self.scenario["tenants"]:
            if domain in tenant["domains"]:
                return tenant
        return None

    def find_user(self, upn, tenant=None):
        """A user by UPN, within ``tenant`` or anywhere; returns (tenant, user) or (None, None)."""
        upn = (upn or "").lower()
        tenants = [tenant] if tenant else self.scenario["tenants"]
        for candidate in tenants:
            for user in candidate["users"]:
                if user["upn"].lower() == upn:
                    return candidate, user
        return None, None

    @staticmethod
    def find_app(tenant, client_id):
        """An app registration (or enterprise app) in the tenant by client id."""
        client_id = (client_id or "").lower()
        for app in tenant["apps"]:
            if app["client_id"] == client_id:
                return app
        return None

    def is_msa_domain(self, domain):
        """True for consumer (Microsoft account) domains like outlook.com."""
        return (domain or "").lower() in self.scenario["msa_domains"]

    def lifetimes(self, user):
        """(access token lifetime, refresh token lifetime) for a user, honouring overrides."""
        override = self.lifetime_overrides.get(user["upn"].lower(), {})
        default = self.lifetime_overrides.get("*", {})
        access = (override.get("token_lifetime") or user.get("token_lifetime") or default.get("token_lifetime")
                  or self.scenario["token_lifetime"])
        refresh = (override.get("refresh_token_lifetime") or user.get("refresh_token_lifetime")
                   or default.get("refresh_token_lifetime") or self.scenario["refresh_token_lifetime"])
        return int(access), int(refresh)

    def set_lifetimes(self, user=None, token_lifetime=None, refresh_token_lifetime=None):
        """Override lifetimes for one user (or ``*`` for everyone)."""
        key = (user or "*").lower()
        entry = self.lifetime_overrides.setdefault(key, {})
        if token_lifetime is not None:
            entry["token_lifetime"] = int(token_lifetime)
        if refresh_token_lifetime is not None:
            entry["refresh_token_lifetime"] = int(refresh_token_lifetime)
        return entry
