"""Entry point of the Microsoft Graph emulator: ``handle(state, request)`` for /v1.0/... and /beta/...

The order is Graph's: authenticate the bearer token (401), apply injected faults for the
caller (throttling and outages happen to authenticated requests), route the URL (400 unknown
segment, 405 method), check the token's permissions for that endpoint (403), then run the
handler.  ``$batch`` runs each inner request through the same route/permission/handler path.
Every response gets request-id, client-request-id and Date.
"""

import json
from urllib.parse import unquote

from .faults import apply as apply_fault
from .graph_auth import ME, authenticate, is_delegated, require
from .graph_batch import run_batch
from .graph_context import GraphContext, GraphError, bad_segment, method_not_allowed
from .graph_directory import GraphDirectory as _Directory
from .graph_handlers import Call
from .graph_routes import resolve
from .http import Response

VERSIONS = ("v1.0", "beta")


class GraphDirectory(_Directory):
    """The directory plus the HTTP entry point, so the server can call ``state.graph.handle(request)``."""

    def __init__(self, state):
        super().__init__(state)
        self.state = state

    def handle(self, request) -> Response:
        """Answer one Graph request against this directory's state."""
        return handle(self.state, request)


def _directory(state) -> _Directory:
    directory = getattr(state, "graph", None)
    if directory is None:
        directory = GraphDirectory(state)
        state.graph = directory
    return directory


def stamp_fault(ctx: GraphContext, response: Response) -> Response:
    """Give an injected Graph error the request ids Graph puts in ``innerError``."""
    if response.reset or not response.body:
        return response
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    inner = body.get("error", {}).get("innerError") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    if isinstance(inner, dict):
        inner.setdefault("request-id", ctx.request_id)
        inner.setdefault("client-request-id", ctx.client_request_id)
        response.body = json.dumps(body).encode("utf-8")
    return response


def execute(ctx: GraphContext, call: Call) -> Response:
    """Route, authorize and run one Graph call (outer or inside a batch); errors become responses."""
    segs = [unquote(s) for s in call.path.split("/") if s]
    try:
        route = resolve(call.method, segs)
        if route.delegated_only and not is_delegated(ctx.claims):
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        perms = route.perms
        if route.self_key is not None and _is_self(ctx, route.self_key):
            perms = ME
        if perms is not None:
            require(ctx.claims, perms)
        call.params = route.params
        return route.handler(ctx, call)
    except GraphError as err:
        return ctx.from_error(err)


def _is_self(ctx: GraphContext, key: str) -> bool:
    user = ctx.tenant.user(key)
    return user is not None and user["id"].lower() == (ctx.claims.get("oid") or "").lower()


def _base_url(request) -> str:
    host = request.header("Host") or "graph.microsoft.com"
    return f"https://{host}"


def handle(state, request) -> Response:
    """Answer one HTTP request whose path starts with /v1.0/ or /beta/."""
    parts = request.path.lstrip("/").split("/", 1)
    version, rest = parts[0], "/" + (parts[1] if len(parts) > 1 else "")
    ctx = GraphContext(state, version if version in VERSIONS else "v1.0", _base_url(request),
                       client_request_id=request.header("client-request-id") or "")
    host = request.header("Host") or "graph.microsoft.com"
    try:
        if version not in VERSIONS:
            raise bad_segment(version)
        clock = getattr(state, "clock", None)
        ctx.claims = authenticate(state, request.header("Authorization"), host, clock.now() if clock else None)
        ctx.tenant = _directory(state).tenant(ctx.claims.get("tid") or "")
        if ctx.tenant is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer or tenant.")
    except GraphError as err:
        return ctx.finish(ctx.from_error(err))
    request.user = ctx.user or None
    faults = getattr(state, "faults", None)
    fault = apply_fault(faults, request, "graph", user=ctx.user) if faults is not None else None
    if fault is not None:
        return ctx.finish(stamp_fault(ctx, fault))
    if unquote(rest).rstrip("/").lower() == "/$batch":
        if request.method.upper() != "POST":
            return ctx.finish(ctx.from_error(method_not_allowed()))
        try:
            return ctx.finish(run_batch(ctx, request.body, execute, stamp_fault))
        except GraphError as err:
            return ctx.finish(ctx.from_error(err))
    return ctx.finish(execute(ctx, Call(request.method.upper(), rest, request.query or {}, request.header, request.body)))
