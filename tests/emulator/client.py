"""One client for the Entra ID / Graph emulator: start, stop, and every admin call (stdlib + requests).

Tests, the reliability suite and the benchmarks drive the emulator through this class::

    import sys; sys.path.insert(0, "tests/emulator")
    from client import EmulatorClient

    with EmulatorClient.start("/tmp/emu-state") as emu:      # run.py on port 443 of a free 127.0.0.x
        emu.add_fault(endpoint="token", kind="status", status=429, times=1)
        code = emu.wait_for_device_code()                    # a sign-in someone started
        emu.approve_device_code(code["user_code"], "mfa@contoso.example")
        print(emu.grants())                                  # token requests by grant type

``EmulatorClient.attach(state_dir)`` talks to an emulator started elsewhere (it reads
``ready.json``).  Every admin call raises :class:`AdminError` on an HTTP error, with the
emulator's message.  ``public_app`` / ``confidential_app`` build unmodified msal applications
pointed at the emulator (msal is imported only then).  The full reference is in README.md.
"""

import json
import os
import time

import requests

from launch import DEFAULT_HOSTS, pick_host, start_emulator, stop_emulator


class AdminError(RuntimeError):
    """An admin call answered an HTTP error (``status``, the emulator's ``message``)."""

    def __init__(self, status, message):
        super().__init__("emulator admin API answered %s: %s" % (status, message))
        self.status = status
        self.message = message


class EmulatorClient:  # pylint: disable=too-many-public-methods
    """A running emulator: its ``ready`` document, a session that trusts its CA, and the admin API."""

    def __init__(self, ready, process=None):
        self.ready = ready
        self.process = process
        self.url = ready["url"]
        self.host = ready.get("host")
        self.ca_path = ready["ca_path"]
        self.state_dir = ready.get("state_dir")
        self.demo = ready["demo"]
        self.demo_app = ready.get("demo_app") or {}
        self.tenant_id = ready["tenants"][0]["id"]
        self.session = self.new_session()

    # ---- lifecycle -------------------------------------------------------
    @classmethod
    def start(cls, state_dir, host=None, port=443, scenario=None, seed_users=0, extra_args=(), timeout=60,
              hosts=DEFAULT_HOSTS, env="EMULATOR_HOST"):
        """Start run.py (on ``host``, else ``$env``, else the first of ``hosts`` whose port is free)."""
        args = list(extra_args)
        if scenario:
            args += ["--scenario", scenario]
        if seed_users:
            args += ["--seed-users", str(seed_users)]
        host = host or pick_host(port, hosts, env=env)
        process, ready = start_emulator(state_dir, host=host, port=port, extra_args=args, timeout=timeout)
        return cls(ready, process)

    @classmethod
    def attach(cls, state_dir_or_ready):
        """A client for an emulator already running (its state directory, or its ready.json path)."""
        path = state_dir_or_ready
        if os.path.isdir(path):
            path = os.path.join(path, "ready.json")
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def stop(self):
        """SIGTERM the emulator this client started; return its exit code (None when attached)."""
        self.session.close()
        return stop_emulator(self.process) if self.process is not None else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def new_session(self):
        """A requests session that trusts only the emulator's CA and ignores proxy and CA environment variables."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_path
        return session

    # ---- admin basics ----------------------------------------------------
    def admin(self, method, route, body=None, **params):
        """Call ``/_emulator/<route>``; return the parsed JSON, raise AdminError on an HTTP error."""
        response = self.session.request(method, "%s/_emulator/%s" % (self.url, route), json=body, params=params,
                                        timeout=60)
        if response.status_code >= 300:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise AdminError(response.status_code, message)
        return response.json()

    def health(self):
        """``{"ok": true, "graph": bool}``."""
        return self.admin("GET", "health")

    def reset(self, faults=True, lifetimes=True, clock=True, device_codes=True):
        """Clear the log and counters; by default also faults, lifetime/sign-in-frequency overrides, clock, device codes."""
        return self.admin("POST", "reset", {"faults": faults, "lifetimes": lifetimes, "clock": clock,
                                            "device_codes": device_codes})

    def scenario(self):
        """The normalized scenario, without passwords or secret values."""
        return self.admin("GET", "scenario")

    # ---- log and counters ------------------------------------------------
    def counters(self):
        """Totals per endpoint, user, grant, status and fault (see README)."""
        return self.admin("GET", "counters")

    def grants(self):
        """Token requests by grant type, e.g. ``{"password": 1, "client_credentials": 2}``."""
        return self.counters().get("grants", {})

    def requests_log(self, since=0, endpoint=None, user=None):
        """Log entries (seq, method, path, endpoint, grant_type, user, status, fault, ...)."""
        params = {"since": since}
        params.update({k: v for k, v in (("endpoint", endpoint), ("user", user)) if v})
        return self.admin("GET", "requests", **params)["requests"]

    def token_log(self, user=None):
        """Log entries of token requests (optionally of one user, or of one app by client id)."""
        return self.requests_log(endpoint="token", user=user)

    def token_requests(self, user=None):
        """How many token requests reached the emulator (optionally for one user)."""
        return len(self.token_log(user))

    # ---- faults ----------------------------------------------------------
    def add_fault(self, **fault):
        """Inject one fault (see README "Faults"); return its id."""
        return self.admin("POST", "faults", fault)["ids"][0]

    def add_faults(self, faults):
        """Inject several faults; return the records (with ids, and ``sent`` for cutoff_tokens)."""
        return self.admin("POST", "faults", {"faults": list(faults)})["faults"]

    def faults(self):
        """The active faults with their hit counters."""
        return self.admin("GET", "faults")["faults"]

    def clear_faults(self, fault_id=None):
        """Remove every fault, or one."""
        params = {"id": fault_id} if fault_id is not None else {}
        return self.admin("DELETE", "faults", **params)

    # ---- users, tokens, clock --------------------------------------------
    def advance_clock(self, seconds):
        """Move the emulator's clock forward (token, refresh-token and device-code expiry without sleeping)."""
        return self.admin("POST", "clock", {"advance": seconds})

    def set_lifetimes(self, user=None, token_lifetime=None, refresh_token_lifetime=None):
        """Override access/refresh token lifetimes (seconds) of one user, or everyone."""
        body = {"user": user, "token_lifetime": token_lifetime, "refresh_token_lifetime": refresh_token_lifetime}
        return self.admin("POST", "lifetimes", {k: v for k, v in body.items() if v is not None})

    def set_user_state(self, user, state):
        """Change a user's state (ok, mfa_required, locked, ...)."""
        return self.admin("POST", "users/state", {"user": user, "state": state})

    def set_sign_in_frequency(self, user, seconds):
        """Conditional Access sign-in frequency of a user (None: none): older sessions get AADSTS70043."""
        return self.admin("POST", "users/sign_in_frequency", {"user": user, "seconds": seconds})

    def revoke(self, user):
        """Revoke a user's refresh tokens (AADSTS50173)."""
        return self.admin("POST", "revoke", {"user": user})

    def expire_refresh_tokens(self, user=None):
        """Expire refresh tokens by inactivity (AADSTS700082), of one user or everyone."""
        return self.admin("POST", "refresh_tokens/expire", {"user": user} if user else {})

    def seed_users(self, count):
        """Add ``count`` generated users to the first tenant."""
        return self.admin("POST", "users/seed", {"count": count})

    # ---- device code: the person at the browser ----------------------------
    def device_codes(self, status=None):
        """Device codes issued (user_code, client_id, tenant, status, scope, expires_at, ...; never the device code)."""
        params = {"status": status} if status else {}
        return self.admin("GET", "device_codes", **params)["device_codes"]

    def wait_for_device_code(self, client_id=None, timeout=10.0, poll=0.05):
        """The newest pending device code (of ``client_id``), waiting up to ``timeout`` seconds for one to appear."""
        deadline = time.monotonic() + timeout
        while True:
            codes = [c for c in self.device_codes("pending") if not client_id or c["client_id"] == client_id.lower()]
            if codes:
                return codes[-1]
            if time.monotonic() >= deadline:
                raise TimeoutError("no pending device code appeared within %ss" % timeout)
            time.sleep(poll)

    def approve_device_code(self, user_code, user):
        """The person signs in as ``user`` (MFA satisfied) and approves."""
        return self.admin("POST", "device_codes/approve", {"user_code": user_code, "user": user})

    def decline_device_code(self, user_code):
        """The person declines (authorization_declined)."""
        return self.admin("POST", "device_codes/decline", {"user_code": user_code})

    def expire_device_codes(self, user_code=None):
        """Expire one code, or every pending one (expired_token)."""
        return self.admin("POST", "device_codes/expire", {"user_code": user_code} if user_code else None)["expired"]

    def set_device_code_settings(self, interval=None, expires_in=None):
        """Polling interval and lifetime (seconds) of device codes issued from now on (until reset)."""
        body = {"interval": interval, "expires_in": expires_in}
        return self.admin("POST", "device_codes/settings", {k: v for k, v in body.items() if v is not None})

    # ---- service principals ----------------------------------------------
    def apps(self):
        """Confidential apps: roles, certificates (pem_path, thumbprints), federated credentials."""
        return self.admin("GET", "apps")["apps"]

    def set_app_enabled(self, client_id, enabled):
        """Enable or disable an app (disabled: AADSTS7000112)."""
        return self.admin("POST", "apps/enabled", {"client_id": client_id, "enabled": enabled})

    def mint_federated_token(self, subject, audience="api://AzureADTokenExchange", issuer=None, lifetime=3600,
                             not_before=None, claims=None, tamper=False):
        """A JWT of an emulator OIDC issuer (default: the first, "ci") for a federated credential."""
        body = {"subject": subject, "audience": audience, "issuer": issuer, "lifetime": lifetime,
                "not_before": not_before, "claims": claims, "tamper": tamper}
        return self.admin("POST", "federation/token", {k: v for k, v in body.items() if v is not None})["token"]

    def write_federated_token(self, path, subject=None, **kwargs):
        """Mint a token (default subject: the demo app's federated credential) and write it to ``path`` (0600)."""
        subject = subject or self.demo_app["federated"]["subject"]
        token = self.mint_federated_token(subject, **kwargs)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as handle:
            handle.write(token)
        return path

    # ---- raw requests and msal -------------------------------------------
    def token_post(self, tenant=None, headers=None, **form):
        """A raw token request (client_id defaults to the demo public client)."""
        form.setdefault("client_id", self.demo["client_id"])
        return self.session.post("%s/%s/oauth2/v2.0/token" % (self.url, tenant or self.demo["tenant"]), data=form,
                                 headers=headers or {}, timeout=60)

    def device_code_post(self, tenant=None, **form):
        """A raw device authorization request."""
        form.setdefault("client_id", self.demo["client_id"])
        return self.session.post("%s/%s/oauth2/v2.0/devicecode" % (self.url, tenant or self.demo["tenant"]),
                                 data=form, timeout=60)

    def authority(self, tenant=None):
        """The authority URL msal wants for ``tenant`` (default: the demo tenant)."""
        return "%s/%s" % (self.url, tenant or self.demo["tenant"])

    def public_app(self, client_id=None, tenant=None, **kwargs):
        """An unmodified msal PublicClientApplication pointed at the emulator."""
        import msal  # pylint: disable=import-outside-toplevel
        kwargs.setdefault("http_client", self.new_session())
        return msal.PublicClientApplication(client_id or self.demo["client_id"], authority=self.authority(tenant),
                                            instance_discovery=False, **kwargs)

    def confidential_app(self, client_credential, client_id=None, tenant=None, **kwargs):
        """An unmodified msal ConfidentialClientApplication (default: the demo service principal)."""
        import msal  # pylint: disable=import-outside-toplevel
        kwargs.setdefault("http_client", self.new_session())
        return msal.ConfidentialClientApplication(
            client_id or self.demo_app["client_id"], client_credential=client_credential,
            authority=self.authority(tenant or self.demo_app.get("tenant")), instance_discovery=False, **kwargs)
