"""Admin API under ``/_emulator/`` (loopback only, no authentication, not logged).

* ``GET  /_emulator/health`` — ``{"ok": true}``.
* ``GET  /_emulator/requests[?since=SEQ&endpoint=E&user=U]`` — ``{"requests": [entries]}``.
* ``GET  /_emulator/counters`` — totals per endpoint, user, grant, status, fault.
* ``POST /_emulator/reset`` ``{"faults": bool, "lifetimes": bool, "clock": bool}`` — clear log
  and counters (and optionally faults, lifetime overrides, clock offset).
* ``GET/POST/DELETE /_emulator/faults`` — list, add (one fault, a list, or ``{"faults": [...]}``),
  remove all (or ``?id=N``).  Format in faults.py.
* ``POST /_emulator/revoke`` ``{"user": upn}`` — revoke the user's refresh tokens (→ AADSTS50173).
* ``POST /_emulator/refresh_tokens/expire`` ``{"user": upn}`` — expire them (→ AADSTS700082).
* ``POST /_emulator/lifetimes`` ``{"user": upn or absent, "token_lifetime": s, "refresh_token_lifetime": s}``.
* ``POST /_emulator/users/state`` ``{"user": upn, "state": "mfa_required"}`` — change a user's state.
* ``POST /_emulator/users/seed`` ``{"count": n}`` — delegated to the Graph directory's ``seed_users``.
* ``POST /_emulator/clock`` ``{"advance": seconds}`` — move the emulator's clock forward.
* ``GET  /_emulator/scenario`` — the normalized scenario, passwords and secret values removed.
* ``GET  /_emulator/device_codes[?status=pending]`` — ``{"device_codes": [{user_code, client_id, tenant,
  tenant_id, status, scope, expires_at, interval, user, polls}]}`` (never the device code itself).
* ``POST /_emulator/device_codes/approve`` ``{"user_code", "user"}`` — the person signed in (MFA
  included) and approved; ``.../decline`` ``{"user_code"}``; ``.../expire`` ``{"user_code"}`` or no
  body (every pending code); ``.../settings`` ``{"interval", "expires_in"}`` for codes issued next.
* ``POST /_emulator/users/sign_in_frequency`` ``{"user", "seconds"}`` — Conditional Access sign-in
  frequency (null: none); refresh tokens older than that since the sign-in get AADSTS70043.
* ``GET  /_emulator/apps`` — confidential apps: roles, certificates (PEM paths, thumbprints), federated
  credentials, secret expiry (never the secret values).
* ``POST /_emulator/apps/enabled`` ``{"client_id", "enabled"}`` — disable an app (AADSTS7000112).
* ``POST /_emulator/federation/token`` ``{"subject", "issuer": "ci", "audience", "lifetime", "not_before",
  "claims", "tamper"}`` — a JWT of an emulator OIDC issuer, for a federated credential test.
"""

import copy

from . import config
from .http import json_response


def _error(status, message):
    return json_response(status, {"error": message})


def _body(request):
    try:
        return request.json() or {}
    except ValueError:
        return None


def handle(state, request):
    """Dispatch one admin request."""
    route = request.path[len("/_emulator"):].strip("/")
    method = request.method
    body = _body(request) if method in ("POST", "PUT", "DELETE") else {}
    if body is None:
        return _error(400, "body must be JSON")
    handler = _ROUTES.get((method, route))
    if handler is None:
        return _error(404, "no admin route %s /_emulator/%s" % (method, route))
    try:
        return handler(state, request, body)
    except (KeyError, TypeError, ValueError) as problem:
        return _error(400, "%s: %s" % (type(problem).__name__, problem))


def _health(state, request, body):
    del request, body
    return json_response(200, {"ok": True, "url": state.url, "graph": state.graph is not None})


def _requests(state, request, body):
    del body
    since = int(request.arg("since", "0"))
    return json_response(200, {"requests": state.log.entries(since, request.arg("endpoint"), request.arg("user"))})


def _counters(state, request, body):
    del request, body
    return json_response(200, state.log.counters())


def _reset(state, request, body):
    del request
    state.log.reset()
    if body.get("faults"):
        state.faults.clear()
    if body.get("lifetimes"):
        state.lifetime_overrides.clear()
    if body.get("clock"):
        state.clock.offset = 0.0
    if body.get("device_codes"):
        state.device_codes.reset()
    return json_response(200, {"reset": True})


def _faults_list(state, request, body):
    del request, body
    return json_response(200, {"faults": state.faults.list()})


def _faults_add(state, request, body):
    del request
    faults = body.get("faults", body) if isinstance(body, dict) else body
    ids = state.faults.add(faults)
    return json_response(201, {"ids": ids, "faults": [f for f in state.faults.list() if f["id"] in ids]})


def _faults_clear(state, request, body):
    del body
    state.faults.clear(request.arg("id"))
    return json_response(200, {"faults": state.faults.list()})


def _user(state, body):
    _unused, user = state.find_user(body["user"])
    if user is None:
        raise ValueError("unknown user %s" % body["user"])
    return user


def _revoke(state, request, body):
    del request
    user = _user(state, body)
    return json_response(200, {"user": user["upn"], "revoked": state.refresh_tokens.revoke_user(user["upn"])})


def _expire(state, request, body):
    del request
    upn = body.get("user")
    return json_response(200, {"expired": state.refresh_tokens.expire_user(upn)})


def _lifetimes(state, request, body):
    del request
    upn = body.get("user")
    if upn:
        upn = _user(state, body)["upn"]
    entry = state.set_lifetimes(upn, body.get("token_lifetime"), body.get("refresh_token_lifetime"))
    return json_response(200, {"user": upn or "*", "lifetimes": entry})


def _user_state(state, request, body):
    del request
    user = _user(state, body)
    if body["state"] not in config.USER_STATES:
        raise ValueError("unknown state %r" % body["state"])
    with state.lock:
        user["state"] = body["state"]
        user["account_enabled"] = body["state"] != "disabled"
    return json_response(200, {"user": user["upn"], "state": user["state"]})


def _seed(state, request, body):
    del request
    if state.graph is None or not hasattr(state.graph, "seed_users"):
        return _error(501, "the Graph directory is not available")
    result = state.graph.seed_users(int(body.get("count", 0)))
    return json_response(200, {"seeded": result if result is not None else int(body.get("count", 0))})


def _clock(state, request, body):
    del request
    state.clock.advance(float(body.get("advance", 0)))
    return json_response(200, {"offset": state.clock.offset, "now": state.clock.now()})


def _scenario(state, request, body):
    del request, body
    scenario = copy.deepcopy(state.scenario)
    for tenant in scenario["tenants"]:
        for user in tenant["users"]:
            user.pop("password", None)
    scenario.get("demo", {}).pop("password", None)
    for tenant in scenario["tenants"]:
        for app in tenant["apps"]:
            for secret in app.get("client_secrets", []):
                secret.pop("value", None)
    if scenario.get("demo_app"):
        scenario["demo_app"].pop("client_secret", None)
    return json_response(200, scenario)


def _device_codes(state, request, body):
    del body
    return json_response(200, {"device_codes": state.device_codes.list(request.arg("status"))})


def _device_entry(state, user_code):
    return next((e for e in state.device_codes.list() if e["user_code"] == str(user_code).strip().upper()), None)


def _device_approve(state, request, body):
    del request
    entry = _device_entry(state, body["user_code"])
    if entry is None:
        return _error(404, "no device code with user_code %r" % body["user_code"])
    tenant = state.find_tenant(entry["tenant_id"]) if entry["tenant_id"] else None
    home, user = state.find_user(body["user"], tenant)
    if user is None:
        raise ValueError("unknown user %s%s" % (body["user"], " in tenant " + entry["tenant"] if tenant else ""))
    return json_response(200, state.device_codes.approve(entry["user_code"], user["upn"], home["id"]))


def _device_decline(state, request, body):
    del request
    if _device_entry(state, body["user_code"]) is None:
        return _error(404, "no device code with user_code %r" % body["user_code"])
    return json_response(200, state.device_codes.decline(body["user_code"]))


def _device_expire(state, request, body):
    del request
    if body.get("user_code") and _device_entry(state, body["user_code"]) is None:
        return _error(404, "no device code with user_code %r" % body["user_code"])
    return json_response(200, {"expired": state.device_codes.expire(body.get("user_code"))})


def _device_settings(state, request, body):
    del request
    return json_response(200, state.device_codes.configure(body.get("interval"), body.get("expires_in")))


def _sign_in_frequency(state, request, body):
    del request
    user = _user(state, body)
    return json_response(200, {"user": user["upn"],
                               "sign_in_frequency": state.set_sign_in_frequency(user["upn"], body.get("seconds"))})


def _app_entry(state, app):
    return {"client_id": app["client_id"], "display_name": app["display_name"], "enabled": app.get("enabled", True),
            "public_client": app["public_client"], "app_roles": list(app.get("app_roles", [])),
            "certificates": state.credentials.describe(app["client_id"]),
            "federated_credentials": [dict(c, issuer_url=state.federation.resolve(c["issuer"]))
                                      for c in app.get("federated_credentials", [])],
            "client_secrets": [{"expires_at": s.get("expires_at")} for s in app.get("client_secrets", [])]}


def _apps(state, request, body):
    del request, body
    return json_response(200, {"apps": [_app_entry(state, app) for tenant in state.scenario["tenants"]
                                        for app in tenant["apps"] if not app["public_client"]
                                        or app.get("client_secrets") or app.get("certificates")]})


def _app_enabled(state, request, body):
    del request
    client_id = str(body["client_id"]).lower()
    apps = [a for t in state.scenario["tenants"] for a in t["apps"] if a["client_id"] == client_id]
    if not apps:
        raise ValueError("unknown client_id %s" % client_id)
    with state.lock:
        for app in apps:
            app["enabled"] = bool(body["enabled"])
    return json_response(200, {"client_id": client_id, "enabled": bool(body["enabled"])})


def _federation_token(state, request, body):
    del request
    name = body.get("issuer") or state.federation.names[0]
    now = state.clock.now()
    lifetime = float(body.get("lifetime", 3600))
    not_before = body.get("not_before")
    token = state.federation.mint(name, body["subject"], body.get("audience", "api://AzureADTokenExchange"), now=now,
                                  lifetime=lifetime, not_before=None if not_before is None else now + float(not_before),
                                  claims=body.get("claims"), tamper=bool(body.get("tamper")))
    return json_response(200, {"token": token, "issuer": state.federation.url(name), "expires_at": int(now + lifetime)})


_ROUTES = {
    ("GET", "health"): _health,
    ("GET", ""): _health,
    ("GET", "requests"): _requests,
    ("GET", "counters"): _counters,
    ("POST", "reset"): _reset,
    ("GET", "faults"): _faults_list,
    ("POST", "faults"): _faults_add,
    ("DELETE", "faults"): _faults_clear,
    ("POST", "revoke"): _revoke,
    ("POST", "refresh_tokens/expire"): _expire,
    ("POST", "lifetimes"): _lifetimes,
    ("POST", "users/state"): _user_state,
    ("POST", "users/seed"): _seed,
    ("POST", "clock"): _clock,
    ("GET", "scenario"): _scenario,
    ("GET", "device_codes"): _device_codes,
    ("POST", "device_codes/approve"): _device_approve,
    ("POST", "device_codes/decline"): _device_decline,
    ("POST", "device_codes/expire"): _device_expire,
    ("POST", "device_codes/settings"): _device_settings,
    ("POST", "users/sign_in_frequency"): _sign_in_frequency,
    ("GET", "apps"): _apps,
    ("POST", "apps/enabled"): _app_enabled,
    ("POST", "federation/token"): _federation_token,
}
