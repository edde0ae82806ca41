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
* ``GET  /_emulator/scenario`` — the normalized scenario, passwords removed.
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
    return json_response(200, scenario)


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
}
