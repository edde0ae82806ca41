"""``POST /v1.0/$batch``: JSON batching as Graph documents it (json-batching, throttling).

At most 20 requests with unique ids (case-insensitive) and relative URLs; a malformed batch is
an outer 400, otherwise the outer status is 200 whatever the inner ones are.  ``dependsOn``
orders execution and a request whose dependency failed gets 424.  Each inner request is
authorized and throttled on its own (the ``graph_batch_item`` fault: a 429 becomes that inner
response with its Retry-After in the inner headers).  Responses come back in an arbitrary order,
so clients must correlate by id.  Inner requests inherit the caller's token but not the outer
headers (ConsistencyLevel must be given per inner request).
"""

import json
import random
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .graph_context import GraphContext, GraphError
from .graph_handlers import Call
from .http import Response

MAX_REQUESTS = 20
WRITE_METHODS = ("POST", "PATCH", "PUT")
_DROP_HEADERS = {"request-id", "client-request-id", "date", "strict-transport-security"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validate(payload) -> list:
    """The request list, checked as Graph checks a batch before running any of it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format.")
    requests = payload["requests"]
    if len(requests) > MAX_REQUESTS:
        raise _bad(f"Number of requests inside batch exceed the limit. The maximum is {MAX_REQUESTS}.")
    seen = {}
    for item in requests:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k] for k in ("id", "method", "url")):
            raise _bad("Invalid batch payload format.")
        key = item["id"].lower()
        if key in seen:
            raise _bad(f"Batch request id '{item['id']}' is duplicated. Ids must be unique within a batch.")
        seen[key] = item
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise _bad("Invalid batch payload format.")
        has_type = any(k.lower() == "content-type" for k in headers)
        if item["method"].upper() in WRITE_METHODS and ("body" not in item or not has_type):
            raise _bad(f"Write request id : {item['id']} does not contain Content-Type header or body.")
        if "body" in item and not has_type:
            raise _bad(f"Request id : {item['id']} has a body but no Content-Type header.")
    for item in requests:
        deps = item.get("dependsOn") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise _bad("Invalid batch payload format.")
        for dep in deps:
            if dep.lower() not in seen or dep.lower() == item["id"].lower():
                raise _bad(f"Request id : {item['id']} depends on request id : {dep}, which is not in the batch.")
    return requests


def _order(requests: list) -> list:
    """Requests in an order that runs every dependency first (a cycle is a malformed batch)."""
    done, ordered, pending = set(), [], list(requests)
    while pending:
        ready = [r for r in pending if all(d.lower() in done for d in r.get("dependsOn") or [])]
        if not ready:
            raise _bad("The batch contains a circular dependsOn chain.")
        for item in ready:
            ordered.append(item)
            done.add(item["id"].lower())
            pending.remove(item)
    return ordered


def _header_getter(headers: dict) -> Callable:
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    return lambda name, default=None: lowered.get(name.lower(), default)


def _as_item(ident: str, response: Response) -> dict:
    """An inner response in the batch envelope: id, status, headers and (JSON or text) body."""
    headers = {k: v for k, v in (response.headers or {}).items() if k.lower() not in _DROP_HEADERS}
    item = {"id": ident, "status": response.status, "headers": headers}
    if response.body:
        text = response.body.decode("utf-8", "replace")
        try:
            item["body"] = json.loads(text) if "json" in headers.get("Content-Type", "").lower() else text
        except ValueError:
            item["body"] = text
    return item


def _broken(response: Response) -> bool:
    """A fault that cannot be an inner response (reset, HTML, truncated JSON) breaks the whole batch."""
    if response.reset:
        return True
    if "json" not in (response.headers or {}).get("Content-Type", "").lower():
        return True
    try:
        json.loads(response.body or b"null")
    except ValueError:
        return True
    return False


def run_batch(ctx: GraphContext, body: bytes, execute: Callable, stamp: Callable) -> Response:
    """Run one batch. ``execute(ctx, call)`` answers one inner request (a :class:`Call`);
    ``stamp(ctx, response)`` fills request ids into an injected fault's error body."""
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.") from exc
    requests = _order(_validate(payload))
    results, status_by_id = [], {}
    faults = getattr(ctx.state, "faults", None)
    for item in requests:
        ident, method = item["id"], item["method"].upper()
        failed = [d for d in item.get("dependsOn") or [] if not 200 <= status_by_id[d.lower()] < 300]
        if failed:
            response = ctx.error(424, "FailedDependency", f"The request depends on request id : {failed[0]}, which failed.")
        else:
            fault = faults.take("graph_batch_item", ctx.user) if faults is not None else None
            if fault is not None and _broken(fault):
                return fault
            response = stamp(ctx, fault) if fault is not None else _inner(ctx, method, item, execute)
        status_by_id[ident.lower()] = response.status
        results.append(_as_item(ident, response))
    random.Random(ctx.request_id).shuffle(results)
    return Response(200, json.dumps({"responses": results}).encode("utf-8"), {"Content-Type": "application/json"})


def _inner(ctx: GraphContext, method: str, item: dict, execute: Callable) -> Response:
    url = item["url"].strip()
    if "://" in url:
        return ctx.error(400, "BadRequest", f"Invalid request URL '{url}': batch requests use URLs relative to the version.")
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    if parts.path.rstrip("/").lower() == "/$batch":
        return ctx.error(400, "BadRequest", "A batch request cannot contain another batch request.")
    body = item.get("body")
    raw = b"" if body is None else (body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8"))
    query = parse_qs(parts.query, keep_blank_values=True)
    return execute(ctx, Call(method, parts.path, query, _header_getter(item.get("headers")), raw))
