"""The emulator's shared state: scenario, signing key, faults, log, refresh tokens, clock.

One :class:`EmulatorState` is built at start and handed to every handler.  Look-ups
(tenant by GUID or domain, user by UPN, app by client id) live here so OAuth,
WS-Trust and Graph resolve them the same way.
"""

import hashlib
import importlib
import importlib.util
import json
import os
import secrets
import threading
import time

from . import config
from .client_credentials import AppCredentials
from .device_code import DeviceCodeStore
from .faults import FaultSet
from .federation_issuer import FederationIssuers
from .keystore import write_file
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
    """Opaque refresh tokens and the sign-in session each one carries.

    Entra keeps an old refresh token valid after it is redeemed (a new one is issued
    each time, "rotation" from the client's view); tokens end by inactivity expiry
    (AADSTS700082), by revocation (AADSTS50173, "tokens valid from" moved forward) or by
    Conditional Access sign-in frequency (AADSTS70043, counted from the session's
    ``auth_time``).  A redeemed token's successor inherits its session: ``auth_time`` (when
    the person last signed in), ``mfa`` (whether that sign-in satisfied MFA) and ``amr``.

    With a ``path`` the store is kept in that JSON file (0600), keyed by a SHA-256 of each
    token (the tokens themselves are never written), so a restarted emulator with the same
    state directory still honours them.  Writes are batched by a background thread (at most
    every ``FLUSH_SECONDS``) and completed by :meth:`close`.
    """

    FLUSH_SECONDS = 1.0

    def __init__(self, clock, path=None):
        self._lock = threading.Lock()
        self._clock = clock
        self._tokens = {}
        self._valid_from = {}
        self._path = path
        self._dirty = False
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._flusher = None
        if path:
            self._load()
            self._flusher = threading.Thread(target=self._flush_loop, name="refresh-token-store", daemon=True)
            self._flusher.start()

    @staticmethod
    def _key(token):
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def issue(self, tenant_id, client_id, upn, lifetime, scope="", session=None):
        """Create a refresh token; the string looks like Entra's (opaque, starts with ``1.``).

        ``session`` holds ``auth_time``, ``mfa`` and ``amr`` of the sign-in (default: a password
        sign-in now, without MFA).
        """
        token = "1.A" + secrets.token_urlsafe(48)
        now = self._clock.now()
        session = dict(session or {})
        with self._lock:
            self._tokens[self._key(token)] = {
                "tenant_id": tenant_id, "client_id": client_id, "upn": upn.lower(), "issued_at": now,
                "last_used": now, "lifetime": lifetime, "scope": scope,
                "auth_time": session.get("auth_time", now), "mfa": bool(session.get("mfa")),
                "amr": list(session.get("amr") or ["pwd"])}
        self._changed()
        return token

    def get(self, token):
        """The record of a token, or None when the emulator never issued it."""
        with self._lock:
            record = self._tokens.get(self._key(token))
            return dict(record) if record else None

    def touch(self, token):
        """Mark a token used (inactivity expiry counts from the last use)."""
        with self._lock:
            record = self._tokens.get(self._key(token))
            if record is not None:
                record["last_used"] = self._clock.now()
        self._changed()

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
            count = sum(1 for r in self._tokens.values() if r["upn"] == upn)
        self._changed()
        return count

    def expire_user(self, upn=None):
        """Make the user's (or everyone's) refresh tokens expired by inactivity."""
        count = 0
        with self._lock:
            for record in self._tokens.values():
                if upn is None or record["upn"] == upn.lower():
                    record["last_used"] = self._clock.now() - record["lifetime"] - 1
                    count += 1
        self._changed()
        return count

    def count(self):
        """Number of refresh tokens issued."""
        with self._lock:
            return len(self._tokens)

    # ---- persistence ------------------------------------------------------
    def _load(self):
        if not os.path.exists(self._path):
            return
        try:
            with open(self._path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return  # a damaged store only loses old tokens; the emulator still starts
        self._tokens = dict(data.get("tokens") or {})
        self._valid_from = dict(data.get("valid_from") or {})

    def _changed(self):
        if self._path:
            with self._lock:
                self._dirty = True
            self._wake.set()

    def flush(self):
        """Write the store now if it changed since the last write."""
        if not self._path:
            return
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self._wake.clear()
            data = json.dumps({"tokens": self._tokens, "valid_from": self._valid_from}, separators=(",", ":"))
        write_file(self._path, data.encode("utf-8"), 0o600)

    def _flush_loop(self):
        while not self._closing.is_set():
            self._wake.wait()
            if self._closing.wait(self.FLUSH_SECONDS):
                break
            try:
                self.flush()
            except OSError:
                pass

    def close(self):
        """Stop the background writer and write what is left."""
        self._closing.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(5)
        self.flush()


class EmulatorState:
    """Everything the handlers share; ``url`` is the authority base, e.g. ``https://127.0.0.1``."""

    def __init__(self, scenario, url, state_dir=None):
        self.scenario = config.load_scenario(scenario)
        self.url = url.rstrip("/")
        self.state_dir = state_dir
        self.clock = Clock()
        self.keys = SigningKey.generate(self.url, state_dir)
        self.faults = FaultSet(self.scenario.get("faults", []), base_url=self.url)
        self.log = RequestLog(clock=time.time)
        self.refresh_tokens = RefreshTokenStore(
            self.clock, os.path.join(state_dir, "refresh_tokens.json") if state_dir else None)
        self.device_codes = DeviceCodeStore(self.clock, self.scenario["device_code_interval"],
                                            self.scenario["device_code_expires_in"])
        self.credentials = AppCredentials(self.scenario, state_dir)
        self.federation = FederationIssuers(self.url, self.scenario, state_dir)
        self.assertions = {}
        self.lifetime_overrides = {}
        self.lock = threading.RLock()
        self.graph = self._make_graph()

    def close(self):
        """Write what must survive a restart (the refresh-token store)."""
        self.refresh_tokens.close()

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

    def sign_in_frequency(self, user):
        """Seconds after a sign-in at which the user's refresh tokens stop (AADSTS70043), or None."""
        override = self.lifetime_overrides.get(user["upn"].lower(), {})
        if "sign_in_frequency" in override:
            return override["sign_in_frequency"]
        value = user.get("sign_in_frequency")
        return int(value) if value else None

    def set_sign_in_frequency(self, upn, seconds):
        """Override one user's sign-in frequency (None: no limit); cleared with the lifetimes."""
        entry = self.lifetime_overrides.setdefault(upn.lower(), {})
        entry["sign_in_frequency"] = int(seconds) if seconds else None
        return entry["sign_in_frequency"]

    def set_lifetimes(self, user=None, token_lifetime=None, refresh_token_lifetime=None):
        """Override lifetimes for one user (or ``*`` for everyone)."""
        key = (user or "*").lower()
        entry = self.lifetime_overrides.setdefault(key, {})
        if token_lifetime is not None:
            entry["token_lifetime"] = int(token_lifetime)
        if refresh_token_lifetime is not None:
            entry["refresh_token_lifetime"] = int(refresh_token_lifetime)
        return entry
