"""The Graph endpoints themselves: /me, /users, /groups and group members (read, $ref add and remove).

Each handler takes the request context and a :class:`Call` and returns a Response or raises
GraphError; routing, authentication, scopes and faults are done before they run (graph.py), so
the same handlers serve outer requests and ``$batch`` items.
"""

import json
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlparse, unquote

from .graph_context import GraphContext, GraphError, not_found
from .graph_directory import is_guid
from .graph_query import (apply, context_fragment, count_response, next_link, options, page_response, parse_list_query,
                          parse_select)
from .graph_schema import GROUP, USER, EntityType, project
from .http import Response

ALREADY_MEMBER = "One or more added object references already exist for the following modified properties: 'members'."
BAD_JSON = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
CASTS = {"microsoft.graph.user": USER, "microsoft.graph.group": GROUP}
_REF_SETS = ("directoryobjects", "users", "groups")


@dataclass
class Call:
    """One Graph call as handlers see it, whether it came over HTTP or inside a $batch."""

    method: str
    path: str                      # after the version, e.g. /users (used to build nextLinks)
    query: dict                    # parse_qs form
    header: Callable               # case-insensitive header getter
    body: bytes = b""
    params: dict = field(default_factory=dict)


def invalid_id(ident: str) -> GraphError:
    """Graph's answer to a group or reference id that is not a GUID."""
    return GraphError(400, "Request_BadRequest", f"Invalid object identifier '{ident}'.")


def _entity(ctx: GraphContext, call: Call, obj: dict, etype: EntityType) -> Response:
    opts = options(call.query)
    if "expand" in opts:
        raise GraphError(400, "BadRequest", "The query parameter '$expand' is not supported.")
    select = parse_select(opts.get("select"), (etype,))
    body = {"@odata.context": ctx.context_url(context_fragment(etype.entity_set, select, entity=True))}
    body.update(project(obj, etype, select))
    return ctx.ok(body)


def _group(ctx: GraphContext, key: str) -> dict:
    if not is_guid(key):
        raise invalid_id(key)
    group = ctx.tenant.group(key)
    if group is None:
        raise not_found(key)
    return group


def service_document(ctx: GraphContext, call: Call) -> Response:
    """``GET /v1.0/``: the entity sets this emulator serves."""
    del call
    sets = [{"name": n, "kind": "EntitySet", "url": n} for n in ("users", "groups", "directoryObjects")]
    return ctx.ok({"@odata.context": ctx.context_url("").rstrip("#"), "value": sets})


def get_me(ctx: GraphContext, call: Call) -> Response:
    """``GET /me``: the signed-in user (app-only tokens were answered 400 by the router)."""
    oid = ctx.claims.get("oid") or ""
    user = ctx.tenant.user(oid) or ctx.tenant.user(ctx.user)
    if user is None:
        raise not_found(oid)
    return _entity(ctx, call, user, USER)


def list_users(ctx: GraphContext, call: Call) -> Response:
    """``GET /users`` with paging and query options."""
    query = parse_list_query(options(call.query), call.header, USER)
    items = apply(list(ctx.tenant.users), query)
    return page_response(ctx, items, query, call.path, call.query, context_fragment("users", query.select), USER)


def count_users(ctx: GraphContext, call: Call) -> Response:
    """``GET /users/$count`` (needs ConsistencyLevel: eventual)."""
    return count_response(call.header, lambda: len(apply(
        list(ctx.tenant.users), parse_list_query(options(call.query), call.header, USER))))


def get_user(ctx: GraphContext, call: Call) -> Response:
    """``GET /users/{id | userPrincipalName}``."""
    key = call.params["id"]
    user = ctx.tenant.user(key)
    if user is None:
        raise not_found(key)
    return _entity(ctx, call, user, USER)


def list_groups(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups``."""
    query = parse_list_query(options(call.query), call.header, GROUP)
    items = apply(list(ctx.tenant.groups), query)
    return page_response(ctx, items, query, call.path, call.query, context_fragment("groups", query.select), GROUP)


def count_groups(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/$count``."""
    return count_response(call.header, lambda: len(apply(
        list(ctx.tenant.groups), parse_list_query(options(call.query), call.header, GROUP))))


def get_group(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/{id}``."""
    return _entity(ctx, call, _group(ctx, call.params["id"]), GROUP)


def list_members(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/{id}/members`` and its OData casts ``/microsoft.graph.user|group``."""
    group = _group(ctx, call.params["id"])
    cast = CASTS.get(call.params.get("cast") or "")
    etype = cast or USER
    query = parse_list_query(options(call.query), call.header, etype, relationship=True,
                             select_types=(cast,) if cast else (USER, GROUP))
    members = ctx.tenant.members(group)
    if cast:
        members = [m for m in members if m["@odata.type"] == "#" + cast.name]
    items = apply(members, query)
    fragment = context_fragment(cast.entity_set if cast else "directoryObjects", query.select)
    return page_response(ctx, items, query, call.path, call.query, fragment, cast, typed=cast is None)


def count_members(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/{id}/members[/cast]/$count``."""
    group = _group(ctx, call.params["id"])
    cast = CASTS.get(call.params.get("cast") or "")
    return count_response(call.header, lambda: len([
        m for m in ctx.tenant.members(group) if cast is None or m["@odata.type"] == "#" + cast.name]))


def get_member(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/{id}/members/{memberId}``: the member as a directoryObject."""
    group = _group(ctx, call.params["id"])
    key = call.params["member"]
    obj = ctx.tenant.object(key)
    if obj is None or obj["id"].lower() not in group["_member_set"]:
        raise not_found(key)
    etype = CASTS[obj["@odata.type"][1:]]
    body = {"@odata.context": ctx.context_url("directoryObjects/$entity"), "@odata.type": obj["@odata.type"]}
    body.update(project(obj, etype, parse_select(options(call.query).get("select"), (USER, GROUP))))
    return ctx.ok(body)


def list_member_refs(ctx: GraphContext, call: Call) -> Response:
    """``GET /groups/{id}/members/$ref``: the members as ``@odata.id`` links, paged like the members."""
    group = _group(ctx, call.params["id"])
    query = parse_list_query(options(call.query), call.header, USER, relationship=True)
    members = ctx.tenant.members(group)
    end = query.offset + query.top
    body = {"@odata.context": ctx.context_url("directoryObjects")}
    if end < len(members):
        body["@odata.nextLink"] = next_link(ctx, call.path, call.query, end)
    body["value"] = [{"@odata.id": f"{ctx.base_url}/v2/{ctx.tenant.id}/directoryObjects/{m['id']}/Microsoft.DirectoryServices."
                                   f"{m['@odata.type'].rsplit('.', 1)[-1].capitalize()}"} for m in members[query.offset:end]]
    return ctx.ok(body)


def _referenced_id(ref) -> str:
    """The object id inside an ``@odata.id`` such as https://graph.microsoft.com/v1.0/directoryObjects/{id}."""
    if not isinstance(ref, str) or not ref.strip():
        raise GraphError(400, "Request_BadRequest", "Unsupported referenced-object resource identifier for link property 'members'.")
    parts = [unquote(p) for p in urlparse(ref.strip()).path.split("/") if p]
    if len(parts) < 2 or parts[-2].lower() not in _REF_SETS:
        raise GraphError(400, "Request_BadRequest", "Unsupported referenced-object resource identifier for link property 'members'.")
    ident = parts[-1]
    if not is_guid(ident):
        raise invalid_id(ident)
    return ident


def add_member_ref(ctx: GraphContext, call: Call) -> Response:
    """``POST /groups/{id}/members/$ref`` with ``{"@odata.id": ".../directoryObjects/{id}"}``: 204, or 400 if already a member."""
    group = _group(ctx, call.params["id"])
    try:
        payload = json.loads(call.body.decode("utf-8")) if call.body else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(400, "BadRequest", BAD_JSON) from exc
    if not isinstance(payload, dict):
        raise GraphError(400, "BadRequest", BAD_JSON)
    ident = _referenced_id(payload.get("@odata.id"))
    obj = ctx.tenant.object(ident)
    if obj is None:
        raise not_found(ident)
    if obj is group:
        raise GraphError(400, "Request_BadRequest", "An object cannot be added as a member of itself.")
    if not ctx.tenant.add_member(group, obj):
        raise GraphError(400, "Request_BadRequest", ALREADY_MEMBER)
    return Response(204)


def remove_member_ref(ctx: GraphContext, call: Call) -> Response:
    """``DELETE /groups/{id}/members/{memberId}/$ref`` (or ``members/$ref?$id=...``): 204, or 404 if not a member."""
    group = _group(ctx, call.params["id"])
    ident = call.params.get("member")
    if ident is None:
        ref = next((v[-1] for k, v in call.query.items() if k.lower() in ("$id", "id") and v), None)
        ident = _referenced_id(ref)
    elif not is_guid(ident):
        raise invalid_id(ident)
    if not ctx.tenant.remove_member(group, ident):
        raise not_found(ident)
    return Response(204)
