"""What every user grant shares: account-state gates, scope grants and the token response.

The password, refresh-token, SAML-bearer and device-code grants end the same way: check the
account, check consent for the scopes, then answer Entra's v2 token response (access, refresh and
ID token, ``client_info``).  A *session* travels with each refresh token: when the person last
signed in (``auth_time``, for Conditional Access sign-in frequency), whether that sign-in
satisfied MFA (``mfa``) and how (``amr``, copied into access tokens).
"""

from . import errors, scopes, tokens
from .errors import Refusal
from .http import json_response

CA_POLICY_ID = "2d5b3c6f-8a1e-4f0b-9c7d-6e5a4b3c2d1e"


def new_session(now, mfa=False, amr=None):
    """A sign-in that happened at ``now``."""
    return {"auth_time": now, "mfa": bool(mfa), "amr": list(amr or (["pwd", "mfa"] if mfa else ["pwd"]))}


def parse_scopes(scope_string):
    """The parsed scope request (see scopes.parse), or the Refusal Entra answers."""
    try:
        return scopes.parse(scope_string)
    except scopes.ScopeError as problem:
        raise Refusal(problem.code, **problem.fmt) from None


def gate(user, password=None, refresh=False):
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


def mfa_gate(user, wanted, refresh=False):
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


def grant_scopes(state, wanted, app, tenant, user):
    """What to issue for the request (see scopes.grant), or the Refusal (500011, 65001)."""
    try:
        return scopes.grant(wanted, app, tenant, user_consented=user["state"] != "consent_missing",
                            extra_resources=state.scenario.get("resources", []))
    except scopes.ScopeError as problem:
        fmt = dict(problem.fmt)
        if problem.code == 65001:
            fmt.update(client_id=app["client_id"], app_name=app["display_name"])
        raise Refusal(problem.code, **fmt) from None


def user_tokens(state, request, tenant, user, app, granted, wanted, session):
    """Entra's v2 token response for a user (fields in Entra's order); the refresh token carries ``session``."""
    access_lifetime, refresh_lifetime = state.lifetimes(user)
    now = state.clock.now()
    body = {
        "token_type": "Bearer",
        "scope": " ".join(granted["echo"]),
        "expires_in": access_lifetime,
        "ext_expires_in": access_lifetime,
        "access_token": tokens.access_token(state.keys, tenant, user, app, granted, now, access_lifetime,
                                            ip_address=request.client or "127.0.0.1", amr=session.get("amr")),
    }
    if "offline_access" in wanted["oidc"]:
        body["refresh_token"] = state.refresh_tokens.issue(tenant["id"], app["client_id"], user["upn"],
                                                           refresh_lifetime, scope=" ".join(wanted["raw"]),
                                                           session=session)
    if "openid" in wanted["oidc"]:
        body["id_token"] = tokens.id_token(state.keys, state.url, tenant, user, app, now)
    if request.form().get("client_info") == "1":
        body["client_info"] = tokens.client_info(user, tenant)
    headers = errors.ests_headers(tokens.new_guid(), errors.correlation_id(request), request)
    return json_response(200, body, headers)
