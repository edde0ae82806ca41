"""OData query options on directory collections: $top, $select, $filter, $orderby, $search, $count, paging.

Graph's rules, as documented (paging, query-parameters, aad-advanced-queries):
  * ``$top`` is the page size (1..999 for directory objects, default 100); out of range is a 400;
  * every page but the last carries ``@odata.nextLink``, an absolute URL with an opaque
    ``$skiptoken`` that clients must follow verbatim;
  * ``?$count=true`` only yields ``@odata.count`` with ``ConsistencyLevel: eventual`` (without the
    header it is silently ignored), while the ``/$count`` segment without it is a 400;
  * ``ne``, ``not``, ``endsWith``, ``$filter`` with ``$orderby``, and any ``$filter``/``$orderby``/``$search``
    on a relationship such as ``members`` need the advanced query parameters (header and
    ``$count=true``); ``$search`` needs the header.
"""

import base64
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import quote, urlencode

from .graph_context import GraphContext, GraphError
from .graph_filter import compile_filter
from .graph_schema import BY_NAME, EntityType, project
from .http import Response

KNOWN_OPTIONS = ("top", "select", "filter", "count", "orderby", "search", "skiptoken", "skip", "expand", "format")
_TOKEN_PREFIX = "RFNwdAIAAQAAA"
_TOKEN_SECRET = os.urandom(16)  # per process: a restarted emulator "expires" old page tokens
_SEARCH_CLAUSE = re.compile(r'\s*"([^"]*)"\s*(?:(AND|OR)\s*|$)', re.IGNORECASE)


def options(query: dict) -> dict:
    """Query options by lower-case name without ``$`` (Graph accepts ``$Top`` and, in beta, ``top``)."""
    out = {}
    for key, values in (query or {}).items():
        name = key.lower()
        bare = name[1:] if name.startswith("$") else name
        if name.startswith("$") and bare not in KNOWN_OPTIONS:
            raise GraphError(400, "BadRequest", f"The query parameter '{key}' is not supported.")
        if bare in KNOWN_OPTIONS:
            out[bare] = values[-1] if values else ""
    return out


def eventual(headers_get: Callable) -> bool:
    """Whether the request carries ``ConsistencyLevel: eventual``."""
    return (headers_get("ConsistencyLevel") or "").strip().lower() == "eventual"


def parse_select(text: Optional[str], types: tuple) -> Optional[tuple]:
    """``$select`` as a tuple of property names, validated against the possible types."""
    if text is None or text.strip() == "":
        return None
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    for name in names:
        if not any(name in t.properties for t in types):
            raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type '{types[0].name}'.")
    return names


def _search_predicate(text: str, etype: EntityType) -> Callable[[dict], bool]:
    clauses, pos = [], 0
    while pos < len(text):
        match = _SEARCH_CLAUSE.match(text, pos)
        if not match or ":" not in match.group(1):
            raise GraphError(400, "Request_UnsupportedQuery", f"Invalid $search query: '{text}'.")
        prop, term = match.group(1).split(":", 1)
        if prop not in etype.search:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported or invalid search clause specified for property '{prop}' of resource '{etype.resource}'.")
        clauses.append((prop, term.lower(), (match.group(2) or "").upper()))
        pos = match.end()

    def matches(obj, prop, term):
        value = obj.get(prop)
        if not isinstance(value, str):
            return False
        words = [w for w in re.split(r"[^0-9A-Za-z]+|(?<=[a-z])(?=[A-Z])", value) if w]
        return value.lower().startswith(term) or any(w.lower().startswith(term) for w in words)

    def pred(obj):
        result, joiner = None, ""
        for prop, term, nxt in clauses:
            hit = matches(obj, prop, term)
            result = hit if result is None else (result and hit if joiner == "AND" else result or hit)
            joiner = nxt
        return bool(result)
    return pred


@dataclass
class ListQuery:
    """The parsed options of one collection request."""

    top: int
    select: Optional[tuple]
    predicate: Optional[Callable]
    orderby: Optional[tuple]
    with_count: bool
    offset: int


def parse_list_query(opts: dict, headers_get: Callable, etype: EntityType, relationship: bool = False,
                     select_types: tuple = ()) -> ListQuery:
    """Validate and parse a collection request's options as Graph would, or raise its error."""
    header = eventual(headers_get)
    count = (opts.get("count") or "").lower()
    if "count" in opts and count not in ("true", "false"):
        raise GraphError(400, "BadRequest", f"'{opts['count']}' is not a valid count option.")
    advanced = header and count == "true"
    if "skip" in opts:
        raise GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")
    if "expand" in opts:
        raise GraphError(400, "BadRequest", "The query parameter '$expand' is not supported.")

    top = 100
    if "top" in opts:
        raw = opts["top"]
        if not re.fullmatch(r"-?\d+", raw.strip() or "x"):
            raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '$top'.")
        top = int(raw)
        if not 1 <= top <= 999:
            raise GraphError(400, "Request_UnsupportedQuery", f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")

    preds = []
    if opts.get("filter"):
        if relationship and not advanced:
            raise GraphError(400, "Request_UnsupportedQuery", "The specified filter to the reference property query is currently not supported.")
        preds.append(compile_filter(opts["filter"], etype, advanced))
    if "search" in opts:
        if not header:
            raise GraphError(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special "
                             "request header: 'ConsistencyLevel: eventual'")
        preds.append(_search_predicate(opts["search"], etype))

    orderby = None
    if opts.get("orderby"):
        parts = opts["orderby"].split()
        prop, direction = parts[0], (parts[1].lower() if len(parts) > 1 else "asc")
        if prop not in etype.properties:
            raise GraphError(400, "BadRequest", f"Could not find a property named '{prop}' on type '{etype.name}'.")
        allowed = prop in etype.orderby or (advanced and prop in etype.orderby_advanced)
        needs_advanced = relationship or bool(opts.get("filter"))
        if len(parts) > 2 or direction not in ("asc", "desc") or not allowed or (needs_advanced and not advanced):
            raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
        orderby = (prop, direction == "desc")

    offset = decode_skiptoken(opts["skiptoken"]) if "skiptoken" in opts else 0
    predicate = (lambda o: all(p(o) for p in preds)) if preds else None
    return ListQuery(top, parse_select(opts.get("select"), select_types or (etype,)), predicate, orderby, advanced, offset)


def encode_skiptoken(offset: int) -> str:
    """An opaque, signed continuation token (clients must follow nextLink, never build or parse it)."""
    raw = struct.pack(">Q", offset)
    mac = hmac.new(_TOKEN_SECRET, raw, hashlib.sha256).digest()[:12]
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    """The offset inside a token made by :func:`encode_skiptoken` in this process, or Graph's expired-token 400."""
    try:
        if not token.startswith(_TOKEN_PREFIX):
            raise ValueError(token)
        body = token[len(_TOKEN_PREFIX):]
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raw, mac = data[:8], data[8:]
        if len(raw) != 8 or not hmac.compare_digest(mac, hmac.new(_TOKEN_SECRET, raw, hashlib.sha256).digest()[:12]):
            raise ValueError(token)
        return struct.unpack(">Q", raw)[0]
    except (ValueError, TypeError) as exc:
        raise GraphError(400, "Directory_ExpiredPageToken",
                         "The specified page token value has expired and can no longer be included in your request.") from exc


def apply(items: list, query: ListQuery) -> list:
    """Filter, search and sort ``items`` (the whole result set before paging)."""
    if query.predicate:
        items = [o for o in items if query.predicate(o)]
    if query.orderby:
        prop, desc = query.orderby
        present = [o for o in items if o.get(prop) is not None]
        missing = [o for o in items if o.get(prop) is None]
        present.sort(key=lambda o: str(o[prop]).lower(), reverse=desc)
        items = present + missing
    return items


def context_fragment(entity_set: str, select: Optional[tuple], entity: bool = False) -> str:
    """``users``, ``users(displayName,id)`` or ``users/$entity`` as Graph writes @odata.context."""
    frag = f"{entity_set}({','.join(select)})" if select else entity_set
    return frag + "/$entity" if entity else frag


def render(obj: dict, etype: Optional[EntityType], select: Optional[tuple], typed: bool = False) -> dict:
    """One object as JSON; ``typed`` adds ``@odata.type`` as Graph does in directoryObject collections."""
    kind = etype or BY_NAME[obj["@odata.type"][1:]]
    body = project(obj, kind, select)
    if typed:
        return {"@odata.type": obj["@odata.type"], **body}
    return body


def next_link(ctx: GraphContext, path: str, raw_query: dict, offset: int) -> str:
    """The absolute nextLink: the same request with every option kept and a new ``$skiptoken``."""
    pairs = [(k, v) for k, vals in (raw_query or {}).items() if k.lower().lstrip("$") != "skiptoken" for v in vals]
    pairs.append(("$skiptoken", encode_skiptoken(offset)))
    return f"{ctx.service_root}{path}?{urlencode(pairs, quote_via=quote, safe='$,()')}"


def page_response(ctx: GraphContext, items: list, query: ListQuery, path: str, raw_query: dict,
                  fragment: str, etype: Optional[EntityType], typed: bool = False) -> Response:
    """One page of ``items`` (already filtered and sorted) in Graph's collection envelope."""
    end = query.offset + query.top
    body = {"@odata.context": ctx.context_url(fragment)}
    if query.with_count:
        body["@odata.count"] = len(items)
    if end < len(items):
        body["@odata.nextLink"] = next_link(ctx, path, raw_query, end)
    body["value"] = [render(o, etype, query.select, typed) for o in items[query.offset:end]]
    return ctx.ok(body)


def count_response(headers_get: Callable, number_of: Callable[[], int]) -> Response:
    """The ``/$count`` segment: a bare number as text, only with ``ConsistencyLevel: eventual``."""
    if not eventual(headers_get):
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    return Response(200, str(number_of()).encode(), {"Content-Type": "text/plain"})
