"""``POST /{tenant}/oauth2/v2.0/token``: the password, refresh_token and SAML bearer grants.

Checks run in the order Entra applies them, so one request shows the first problem:
tenant (AADSTS90002; ``/common`` and ``/consumers`` refuse the password and SAML grants
with AADSTS9001023), request shape (900144, 70003), client (700016, 7000218 with 401),
scope shape (70011, 28000), credentials and account state (50034, 50053, 50126, 50057,
50055, 53003, 50076/50079, 50158), resource and consent (500011, 65001).

Refresh tokens: every redemption returns a new one; the old one stays usable (Entra
does not invalidate on use) until it expires by inactivity (700082) or the user's
tokens are revoked (50173).
"""

import base64
import binascii
import re

from . import errors, scopes, tokens
from .faults import apply as apply_fault
from .http import json_response

PASSWORD = "password"
REFRESH = "refresh_token"
SAML11 = "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
SAML2 = "urn:ietf:params:oauth:grant-type:saml2-bearer"
GRANTS = (PASSWORD, REFRESH, SAML11, SAML2)
CA_POLICY_ID = "2d5b3c6f-8a1e-4f0b-9c7d-6e5a4b3c2d1e"

_ASSERTION_ID = re.compile(r'\s(?:AssertionID|ID)="([^"]+)"')


class Refusal(Exception):
    """Stop processing and answer with an Entra error (``code``, message fields, extras)."""

    def __init__(self, code, claims=None, error=None, **fmt):
        super().__init__(code)
        self.code = code
        self.claims = claims
        self.error = error
        self.fmt = fmt


def handle(state, request, segment):
    """Answer one token request; every failure is an Entra error body."""
    form = request.form()
    grant_type = form.get("grant_type")
    context = {"record": None, "assertion": None}
    user_hint = _user_hint(state, form, grant_type, context)
    failure = apply_fault(state.faults, request, "token", user=user_hint, grant_type=grant_type)
    if failure is not None:
        return failure
    try:
        return _issue(state, request, segment, form, grant_type, context)
    except Refusal as refusal:
        return errors.entra_error(refusal.code, state.url, request, claims=refusal.claims, error=refusal.error,
                                  **refusal.fmt)


def _user_hint(state, form, grant_type, context):
    """Who the request is about, for faults and the log (never the secret itself)."""
    if grant_type == PASSWORD:
        return form.get("username")
    if grant_type == REFRESH and form.get("refresh_token"):
        context["record"] = state.refresh_tokens.get(form["refresh_token"])
        return context["record"]["upn"] if context["record"] else None
    if grant_type in (SAML11, SAML2) and form.get("assertion"):
        context["assertion"] = _assertion_record(state, form["assertion"])
        return context["assertion"]["upn"] if context["assertion"] else None
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
    if key in ("common", "consumers") and grant_type != REFRESH:
        raise Refusal(9001023)
    if grant_type not in GRANTS:
        raise Refusal(70003, grant_type=grant_type)
    client_id = form.get("client_id")
    if not client_id:
        raise Refusal(900144, param="client_id")
    if grant_type == PASSWORD:
        for name in ("username", "password"):
            if not form.get(name):
                raise Refusal(900144, param=name)
    if grant_type == REFRESH and not form.get("refresh_token"):
        raise Refusal(900144, param="refresh_token")
    if grant_type in (SAML11, SAML2) and not form.get("assertion"):
        raise Refusal(900144, param="assertion")

    tenant = _tenant(state, key, segment, form, grant_type, context)
    app = _client(state, tenant, client_id, form)
    scope_string = form.get("scope") or (context["record"] or {}).get("scope", "")
    try:
        wanted = scopes.parse(scope_string)
    except scopes.ScopeError as problem:
        raise Refusal(problem.code, **problem.fmt) from None

    if grant_type == PASSWORD:
        user = _password_user(state, tenant, form)
        _mfa_gate(user, wanted)
    elif grant_type == REFRESH:
        user = _refresh_user(state, tenant, app, form, context["record"], wanted)
    else:
        user = _assertion_user(state, tenant, context["assertion"], wanted)
    request.user = user["upn"]

    try:
        granted = scopes.grant(wanted, app, tenant, user_consented=user["state"] != "consent_missing",
                               extra_resources=state.scenario.get("resources", []))
    except scopes.ScopeError as problem:
        fmt = dict(problem.fmt)
        if problem.code == 65001:
            fmt.update(client_id=app["client_id"], app_name=app["display_name"])
        raise Refusal(problem.code, **fmt) from None
    return _success(state, request, tenant, user, app, granted, wanted)


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


def _client(state, tenant, client_id, form):
    """The application: it must exist in the tenant and be allowed to use public client flows."""
    app = state.find_app(tenant, client_id)
    if app is None:
        raise Refusal(700016, client_id=client_id, tenant_name=tenant["display_name"])
    secret = form.get("client_secret")
    if secret is not None or form.get("client_assertion"):
        if app.get("client_secret") and secret == app["client_secret"]:
            return app
        raise Refusal(7000215, client_id=app["client_id"])
    if not app["public_client"]:
        raise Refusal(7000218)
    return app


def _gate(user, password=None, refresh=False):
    """Account-state checks after the credentials; raise the matching Refusal."""
    status = user["state"]
    if status == "locked":
        raise Refusal(50053)
    if password is not None and password != user["password"]:
        raise Refusal(50126)
    if status == "disabled" or not user.get("account_enabled", True):
        raise Refusal(50057)
    if status == "password_expired" and not refresh:
        raise Refusal(50055)
    if status == "conditional_access":
        raise Refusal(53003, claims=errors.ca_claims(user.get("ca_policy_id", CA_POLICY_ID)))


def _mfa_gate(user, wanted, refresh=False):
    """MFA and external challenges (the message names the resource's app id)."""
    status = user["state"]
    resource_app = scopes.GRAPH_APP_ID if wanted["resource"] == scopes.GRAPH else wanted["written"]
    error = "interaction_required" if refresh else None
    claims = errors.ca_claims(user["ca_policy_id"]) if user.get("ca_policy_id") else None
    if status == "mfa_required":
        raise Refusal(50076, claims=claims, error=error, resource_app=resource_app)
    if status == "mfa_enrollment":
        raise Refusal(50079, claims=claims, error=error, resource_app=resource_app)
    if status == "external_challenge":
        raise Refusal(50158)


def _password_user(state, tenant, form):
    _unused, user = state.find_user(form["username"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    _gate(user, password=form["password"])
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
    _gate(user, refresh=True)
    _mfa_gate(user, wanted, refresh=True)
    state.refresh_tokens.touch(form["refresh_token"])
    return user


def _assertion_user(state, tenant, assertion, wanted):
    if assertion is None or assertion["not_on_or_after"] < state.clock.now():
        raise Refusal(50008)
    _unused, user = state.find_user(assertion["upn"], tenant)
    if user is None:
        raise Refusal(50034, tenant=tenant["id"])
    _gate(user)
    _mfa_gate(user, wanted)
    return user


def _success(state, request, tenant, user, app, granted, wanted):
    """Entra's v2 token response (fields in Entra's order)."""
    access_lifetime, refresh_lifetime = state.lifetimes(user)
    now = state.clock.now()
    body = {
        "token_type": "Bearer",
        "scope": " ".join(granted["echo"]),
        "expires_in": access_lifetime,
        "ext_expires_in": access_lifetime,
        "access_token": tokens.access_token(state.keys, tenant, user, app, granted, now, access_lifetime,
                                            ip_address=request.client or "127.0.0.1"),
    }
    if "offline_access" in wanted["oidc"]:
        body["refresh_token"] = state.refresh_tokens.issue(tenant["id"], app["client_id"], user["upn"],
                                                           refresh_lifetime, scope=" ".join(wanted["raw"]))
    if "openid" in wanted["oidc"]:
        body["id_token"] = tokens.id_token(state.keys, state.url, tenant, user, app, now)
    if request.form().get("client_info") == "1":
        body["client_info"] = tokens.client_info(user, tenant)
    headers = errors.ests_headers(tokens.new_guid(), errors.correlation_id(request), request)
    return json_response(200, body, headers)
