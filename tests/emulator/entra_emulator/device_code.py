"""The device authorization grant (RFC 8628) as Entra ID runs it, and the store of pending codes.

* ``POST /{tenant}/oauth2/v2.0/devicecode`` (advertised as ``device_authorization_endpoint``)
  answers ``user_code``, ``device_code``, ``verification_uri``, ``expires_in`` (900),
  ``interval`` (5; scenario key ``device_code_interval``) and Entra's English ``message``.
* The token endpoint's ``urn:ietf:params:oauth:grant-type:device_code`` grant answers, each
  with HTTP 400 in Entra's body format: ``authorization_pending`` (AADSTS70016) until someone
  signs in, ``slow_down`` when polled faster than the interval (the interval then grows by 5 s,
  as RFC 8628 says), ``authorization_declined``, ``expired_token`` (AADSTS70020, "This device
  code has expired.") and ``bad_verification_code`` for a code it never issued.  An app without
  public client flows gets ``invalid_client`` AADSTS7000218 (401) on every poll, as with ROPC.
* Nobody browses to the verification page here: the admin API plays the person
  (``/_emulator/device_codes/approve|decline|expire``).  An approved code issues tokens like
  the password grant; the sign-in satisfied MFA, so users whose password grant demands MFA
  get tokens, and the MFA stays in the refresh token's session.
"""

import secrets
import threading

from . import errors
from .errors import Refusal
from .faults import apply as apply_fault
from .http import json_response, text_response
from .issuance import gate, grant_scopes, new_session, parse_scopes, user_tokens

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_PATH = "/devicelogin"
MESSAGE = "To sign in, use a web browser to open the page {uri} and enter the code {code} to authenticate."
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USER_CODE_LENGTH = 9
MULTI_TENANT = ("common", "organizations", "consumers")
MAX_CODES = 5000


class DeviceCodeStore:
    """Device codes and what the person did with them (thread-safe, bounded).

    ``status`` is ``pending``, ``approved``, ``declined``, ``expired`` or ``redeemed``; a pending
    or approved code past ``expires_at`` (the emulator's clock) reads as ``expired``.
    """

    def __init__(self, clock, interval=5, expires_in=900):
        self._lock = threading.Lock()
        self._clock = clock
        self._codes = {}
        self._defaults = (int(interval), int(expires_in))
        self.interval, self.expires_in = self._defaults

    def configure(self, interval=None, expires_in=None, defaults=False):
        """Change the interval and lifetime of codes issued from now on (``defaults=True``: also on reset)."""
        if interval is not None:
            if int(interval) < 1:
                raise ValueError("interval must be at least 1 second (msal polls in whole seconds)")
            self.interval = int(interval)
        if expires_in is not None:
            if int(expires_in) < 1:
                raise ValueError("expires_in must be at least 1 second")
            self.expires_in = int(expires_in)
        if defaults:
            self._defaults = (self.interval, self.expires_in)
        return {"interval": self.interval, "expires_in": self.expires_in}

    def reset(self):
        """Forget every code and go back to the scenario's interval and lifetime."""
        with self._lock:
            self._codes = {}
        self.interval, self.expires_in = self._defaults

    def create(self, tenant_segment, tenant_id, client_id, scope):
        """A new pending code; returns its record (including the device code)."""
        now = self._clock.now()
        device_code = "DAQABIQEAAAB" + secrets.token_urlsafe(96)
        record = {"device_code": device_code, "tenant": tenant_segment, "tenant_id": tenant_id,
                  "client_id": client_id.lower(), "scope": scope, "created_at": now,
                  "expires_at": now + self.expires_in, "interval": self.interval, "status": "pending",
                  "user": None, "approved_at": None, "last_poll": None, "polls": 0}
        with self._lock:
            while True:
                record["user_code"] = "".join(secrets.choice(USER_CODE_ALPHABET) for _unused in range(USER_CODE_LENGTH))
                if all(r["user_code"] != record["user_code"] for r in self._codes.values()):
                    break
            self._codes[device_code] = record
            self._trim()
            return dict(record)

    def _trim(self):
        if len(self._codes) <= MAX_CODES:
            return
        finished = [k for k, r in self._codes.items() if self._status(r) != "pending"]
        for key in (finished or list(self._codes))[: len(self._codes) - MAX_CODES]:
            del self._codes[key]

    def _status(self, record):
        if record["status"] in ("pending", "approved") and self._clock.now() > record["expires_at"]:
            return "expired"
        return record["status"]

    def by_device_code(self, device_code):
        """A copy of the record of ``device_code`` (status brought up to date), or None."""
        with self._lock:
            record = self._codes.get(device_code)
            return dict(record, status=self._status(record)) if record else None

    def _by_user_code(self, user_code):
        wanted = (user_code or "").strip().upper()
        for record in self._codes.values():
            if record["user_code"] == wanted:
                return record
        raise KeyError("no device code with user_code %r" % user_code)

    def poll(self, device_code):
        """Record a poll; return ``(status, interval, too_fast)`` (a too fast poll adds 5 s to the interval)."""
        now = self._clock.now()
        with self._lock:
            record = self._codes[device_code]
            status = self._status(record)
            too_fast = (status == "pending" and record["last_poll"] is not None
                        and now - record["last_poll"] < record["interval"] - 0.25)
            if too_fast:
                record["interval"] += 5
            record["last_poll"] = now
            record["polls"] += 1
            return status, record["interval"], too_fast

    def redeem(self, device_code):
        """Approved -> redeemed, once; return the record, or None when it was not (still) approved."""
        with self._lock:
            record = self._codes.get(device_code)
            if record is None or self._status(record) != "approved":
                return None
            record["status"] = "redeemed"
            return dict(record)

    def approve(self, user_code, upn, tenant_id):
        """The person signed in (MFA included) and approved: the next poll gets tokens."""
        with self._lock:
            record = self._by_user_code(user_code)
            self._require_pending(record)
            record.update(status="approved", user=upn.lower(), tenant_id=tenant_id, approved_at=self._clock.now())
            return self._public(record)

    def decline(self, user_code):
        """The person declined: the next poll gets authorization_declined."""
        with self._lock:
            record = self._by_user_code(user_code)
            self._require_pending(record)
            record["status"] = "declined"
            return self._public(record)

    def expire(self, user_code=None):
        """Expire one code, or every pending or approved one; return the public entries expired."""
        with self._lock:
            records = [self._by_user_code(user_code)] if user_code else list(self._codes.values())
            done = []
            for record in records:
                if self._status(record) in ("pending", "approved"):
                    record["status"] = "expired"
                    done.append(self._public(record))
            return done

    def _require_pending(self, record):
        status = self._status(record)
        if status != "pending":
            raise ValueError("device code %s is %s, not pending" % (record["user_code"], status))

    def _public(self, record):
        """What the admin API shows: never the device code itself."""
        return {"user_code": record["user_code"], "client_id": record["client_id"], "tenant": record["tenant"],
                "tenant_id": record["tenant_id"], "status": self._status(record), "scope": record["scope"],
                "expires_at": round(record["expires_at"], 3), "interval": record["interval"],
                "user": record["user"], "polls": record["polls"]}

    def list(self, status=None):
        """Public entries, oldest first, optionally of one status."""
        with self._lock:
            entries = [self._public(r) for r in sorted(self._codes.values(), key=lambda r: r["created_at"])]
        return [e for e in entries if status is None or e["status"] == status]


def _app_anywhere(state, client_id):
    """A tenant that registers ``client_id`` (for /organizations and /common), or None."""
    for tenant in state.scenario["tenants"]:
        if state.find_app(tenant, client_id):
            return tenant
    return None


def initiate(state, request, segment):
    """``POST /{tenant}/oauth2/v2.0/devicecode``."""
    failure = apply_fault(state.faults, request, "devicecode")
    if failure is not None:
        return failure
    form = request.form()
    try:
        key = segment.lower()
        tenant = None if key in MULTI_TENANT else state.find_tenant(segment)
        if key not in MULTI_TENANT and tenant is None:
            raise Refusal(90002, tenant=segment)
        client_id = form.get("client_id")
        if not client_id:
            raise Refusal(900144, param="client_id")
        if not form.get("scope"):
            raise Refusal(900144, param="scope")
        home = tenant or _app_anywhere(state, client_id)
        if home is None or state.find_app(home, client_id) is None:
            raise Refusal(700016, client_id=client_id, tenant_name=(tenant or {}).get("display_name", segment))
        parse_scopes(form["scope"])
    except Refusal as refusal:
        return refusal.response(state.url, request)
    record = state.device_codes.create(segment, tenant["id"] if tenant else None, client_id, form["scope"])
    uri = state.url + VERIFICATION_PATH
    body = {"user_code": record["user_code"], "device_code": record["device_code"], "verification_uri": uri,
            "expires_in": state.device_codes.expires_in, "interval": record["interval"],
            "message": MESSAGE.format(uri=uri, code=record["user_code"])}
    return json_response(200, body, errors.ests_headers(errors.correlation_id(None), errors.correlation_id(request),
                                                        request))


def redeem(state, request, segment, form, record):
    """The device_code grant on the token endpoint (``record``: the code's record, looked up by the caller)."""
    if not form.get("device_code"):
        raise Refusal(900144, param="device_code")
    client_id = form["client_id"].lower()
    if record is None or record["client_id"] != client_id or not _same_tenant(state, segment, record):
        raise Refusal(70018)
    tenant = state.find_tenant(record["tenant_id"]) if record["tenant_id"] else _app_anywhere(state, client_id)
    app = state.find_app(tenant, client_id) if tenant else None
    if app is None:
        raise Refusal(700016, client_id=client_id, tenant_name=(tenant or {}).get("display_name", segment))
    from .client_credentials import authenticate_client  # pylint: disable=import-outside-toplevel
    app = authenticate_client(state, tenant, client_id, form)
    status, interval, too_fast = state.device_codes.poll(form["device_code"])
    if status == "expired":
        raise Refusal(70020)
    if status == "declined":
        raise Refusal("70000:declined")
    if status == "pending":
        raise Refusal("70016:slow_down", interval=interval) if too_fast else Refusal(70016)
    claimed = state.device_codes.redeem(form["device_code"])
    if claimed is None:  # already redeemed (by this poll's twin, or earlier)
        raise Refusal(70000)
    _unused, user = state.find_user(claimed["user"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    request.user = user["upn"]
    gate(user, refresh=True)  # the person signed in interactively: an expired password was changed there
    wanted = parse_scopes(claimed["scope"])
    granted = grant_scopes(state, wanted, app, tenant, user)
    session = new_session(claimed["approved_at"], mfa=True)
    return user_tokens(state, request, tenant, user, app, granted, wanted, session)


def _same_tenant(state, segment, record):
    """The poll names the tenant the code was issued for (by the same segment, GUID or a domain of it)."""
    if segment.lower() == record["tenant"].lower():
        return True
    tenant = state.find_tenant(segment)
    return tenant is not None and record["tenant_id"] == tenant["id"]


def verification_page(state, request):
    """``GET /devicelogin``: there is no person here; the page says how tests play one."""
    del request
    return text_response(200, "<html><body><h1>Enter code</h1><p>This is the Entra ID emulator: approve a code with "
                              "POST %s/_emulator/device_codes/approve {\"user_code\", \"user\"}.</p></body></html>"
                         % state.url, "text/html; charset=utf-8")
