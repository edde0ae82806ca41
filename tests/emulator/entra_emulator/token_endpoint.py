"""``POST /{tenant}/oauth2/v2.0/token``: dispatch by grant type; the password, refresh_token and SAML grants.

Checks run in the order Entra applies them, so one request shows the first problem:
tenant (AADSTS90002; ``/common`` and ``/consumers`` refuse the password, SAML and client
credentials grants with AADSTS9001023), request shape (900144, 70003), client (700016,
7000218 with 401, or the client credential when one is sent), scope shape (70011, 28000),
credentials and account state (50034, 50053, 50126, 50057, 50055, 53003, 50076/50079, 50158),
resource and consent (500011, 65001).  The device-code grant lives in device_code.py, the
client-credentials grant in client_credentials.py.

Refresh tokens: every redemption returns a new one; the old one stays usable (Entra
does not invalidate on use) until it expires by inactivity (700082), the user's tokens are
revoked (50173) or Conditional Access sign-in frequency ends the session (70043).  The MFA
a device-code sign-in satisfied stays in the session, so its refresh tokens do not hit the
MFA requirement that a password sign-in meets.
"""

import base64
import binascii
import re

from . import client_credentials, device_code, errors
from .errors import Refusal
from .faults import apply as apply_fault
from .issuance import gate, grant_scopes, mfa_gate, new_session, parse_scopes, user_tokens

PASSWORD = "password"
REFRESH = "refresh_token"
SAML11 = "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
SAML2 = "urn:ietf:params:oauth:grant-type:saml2-bearer"
DEVICE_CODE = device_code.GRANT_TYPE
CLIENT_CREDENTIALS = client_credentials.GRANT_TYPE
GRANTS = (PASSWORD, REFRESH, SAML11, SAML2, DEVICE_CODE, CLIENT_CREDENTIALS)

_ASSERTION_ID = re.compile(r'\s(?:AssertionID|ID)="([^"]+)"')


def handle(state, request, segment):
    """Answer one token request; every failure is an Entra error body."""
    form = request.form()
    grant_type = form.get("grant_type")
    context = {"record": None, "assertion": None, "device": None}
    user_hint = _user_hint(state, form, grant_type, context)
    failure = apply_fault(state.faults, request, "token", user=user_hint, grant_type=grant_type)
    if failure is not None:
        return failure
    try:
        return _issue(state, request, segment, form, grant_type, context)
    except Refusal as refusal:
        return refusal.response(state.url, request)


def _user_hint(state, form, grant_type, context):
    """Who the request is about, for faults and the log (never the secret itself).

    Client-credentials requests are about the application: their hint is its client id.
    """
    if grant_type == PASSWORD:
        return form.get("username")
    if grant_type == REFRESH and form.get("refresh_token"):
        context["record"] = state.refresh_tokens.get(form["refresh_token"])
        return context["record"]["upn"] if context["record"] else None
    if grant_type in (SAML11, SAML2) and form.get("assertion"):
        context["assertion"] = _assertion_record(state, form["assertion"])
        return context["assertion"]["upn"] if context["assertion"] else None
    if grant_type == DEVICE_CODE and form.get("device_code"):
        context["device"] = state.device_codes.by_device_code(form["device_code"])
        return (context["device"] or {}).get("user")
    if grant_type == CLIENT_CREDENTIALS:
        return (form.get("client_id") or "").lower() or None
    return None


def _assertion_record(state, encoded):
    """The emulator's record of a SAML assertion it issued, from the base64url form msal posts."""
    try:
        xml = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    match = _ASSERTION_ID.search(xml)
    return state.assertions.get(match.group(1)) if match else None


def _issue(state, request, segment, form, grant_type, context):
    if not grant_type:
        raise Refusal(900144, param="grant_type")
    key = segment.lower()
    if key in ("common", "consumers") and grant_type not in (REFRESH, DEVICE_CODE):
        raise Refusal(9001023)
    if grant_type not in GRANTS:
        raise Refusal(70003, grant_type=grant_type)
    client_id = form.get("client_id")
    if not client_id:
        raise Refusal(900144, param="client_id")
    if grant_type == CLIENT_CREDENTIALS:
        return client_credentials.issue(state, request, segment, form)
    if grant_type == DEVICE_CODE:
        return device_code.redeem(state, request, segment, form, context["device"])
    required = {PASSWORD: ("username", "password"), REFRESH: ("refresh_token",)}.get(grant_type, ("assertion",))
    for name in required:
        if not form.get(name):
            raise Refusal(900144, param=name)

    tenant = _tenant(state, key, segment, form, grant_type, context)
    app = client_credentials.authenticate_client(state, tenant, client_id, form)
    wanted = parse_scopes(form.get("scope") or (context["record"] or {}).get("scope", ""))

    now = state.clock.now()
    if grant_type == PASSWORD:
        user = _password_user(state, tenant, form)
        mfa_gate(user, wanted)
        session = new_session(now)
    elif grant_type == REFRESH:
        user = _refresh_user(state, tenant, app, form, context["record"], wanted)
        session = {k: context["record"][k] for k in ("auth_time", "mfa", "amr") if k in context["record"]}
    else:
        user = _assertion_user(state, tenant, context["assertion"], wanted)
        session = new_session(now, amr=["pwd", "fed"])
    request.user = user["upn"]
    granted = grant_scopes(state, wanted, app, tenant, user)
    return user_tokens(state, request, tenant, user, app, granted, wanted, session)


def _tenant(state, key, segment, form, grant_type, context):
    """The tenant from the path; ``organizations`` (and refresh on ``common``) from the user."""
    if key not in ("organizations", "common"):
        tenant = state.find_tenant(segment)
        if tenant is None:
            raise Refusal(90002, tenant=segment)
        return tenant
    if grant_type == REFRESH:
        record = context["record"]
        if record is None:
            raise Refusal(9002313)
        return state.find_tenant(record["tenant_id"])
    if grant_type == PASSWORD:
        domain = form["username"].rsplit("@", 1)[-1]
        tenant = state.tenant_for_domain(domain)
        if tenant is None:
            raise Refusal(50034, tenant=domain)
        return tenant
    if context["assertion"] is None:
        raise Refusal(50008)
    return state.find_tenant(context["assertion"]["tenant_id"])


def _password_user(state, tenant, form):
    _unused, user = state.find_user(form["username"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    if user.get("federated") and tenant.get("legacy_federated_errors") and form["password"] != user["password"]:
        raise errors.LegacyRefusal([70002, 50126])
    gate(user, password=form["password"])
    return user


def _refresh_user(state, tenant, app, form, record, wanted):
    if record is None:
        raise Refusal(9002313)
    if record["client_id"] != app["client_id"] or record["tenant_id"] != tenant["id"]:
        raise Refusal(70000)
    status = state.refresh_tokens.status(record)
    if status == "revoked":
        raise Refusal(50173, issued=errors.iso_timestamp(record["issued_at"]),
                      valid_from=errors.iso_timestamp(state.refresh_tokens.valid_from(record["upn"])))
    if status == "expired":
        raise Refusal(700082, issued=errors.iso_timestamp(record["issued_at"]),
                      inactive=errors.inactive_span(record["lifetime"]))
    _unused, user = state.find_user(record["upn"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    frequency = state.sign_in_frequency(user)
    auth_time = record.get("auth_time", record["issued_at"])
    if frequency is not None and state.clock.now() > auth_time + frequency:
        raise Refusal(70043, issued=errors.iso_timestamp(auth_time), seconds=frequency)
    gate(user, refresh=True)
    if not record.get("mfa"):
        mfa_gate(user, wanted, refresh=True)
    state.refresh_tokens.touch(form["refresh_token"])
    return user


def _assertion_user(state, tenant, assertion, wanted):
    if assertion is None or assertion["not_on_or_after"] < state.clock.now():
        raise Refusal(50008)
    _unused, user = state.find_user(assertion["upn"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    gate(user)
    mfa_gate(user, wanted)
    return user
