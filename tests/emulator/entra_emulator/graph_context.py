"""Per-request context of the Graph emulator: ids, service root and Graph-shaped errors.

Every Graph response carries ``request-id``, ``client-request-id`` and ``Date``, and every
error body repeats the ids in ``innerError``.  Holding them in one object lets handlers raise
:class:`GraphError` anywhere without knowing about headers, and lets ``$batch`` reuse the outer
request's ids for its inner responses, as Graph does.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any, Optional

from .http import Response

# Content type Graph puts on successful OData payloads (errors use plain application/json).
ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
ERROR_JSON = "application/json"


class GraphError(Exception):
    """A Graph error to answer with; raised deep in parsing or handlers, answered by the router."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(ident: str) -> GraphError:
    """Graph's 404 for a directory object that does not exist (the wording clients log)."""
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{ident}' does not exist or one of its queried reference-property objects are not present.")


def bad_segment(segment: str) -> GraphError:
    """Graph's 400 for a path segment it cannot route (it is not a 404)."""
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def method_not_allowed() -> GraphError:
    """Graph's 405 for a known resource with an unsupported HTTP method."""
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


@dataclass
class GraphContext:
    """What one Graph call knows besides its URL: ids, caller and where it was addressed."""

    state: Any
    version: str
    base_url: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_request_id: str = ""
    claims: dict = field(default_factory=dict)
    tenant: Any = None

    def __post_init__(self):
        if not self.client_request_id:
            # Graph echoes its own request-id when the client sent no client-request-id.
            self.client_request_id = self.request_id

    @property
    def service_root(self) -> str:
        """``https://host/v1.0``: the prefix of nextLinks and @odata.context URLs."""
        return f"{self.base_url}/{self.version}"

    def context_url(self, fragment: str) -> str:
        """The ``@odata.context`` value for a metadata fragment such as ``users/$entity``."""
        return f"{self.service_root}/$metadata#{fragment}"

    @property
    def user(self) -> str:
        """The caller as faults and logs key it: the user name, or the client id of an app-only token."""
        return self.claims.get("upn") or self.claims.get("preferred_username") or self.claims.get("appid") or ""

    def common_headers(self) -> dict:
        """Headers every Graph response carries."""
        return {
            "request-id": self.request_id,
            "client-request-id": self.client_request_id,
            "Date": formatdate(usegmt=True),
            "Cache-Control": "no-cache",
            "Strict-Transport-Security": "max-age=31536000",
        }

    def error_body(self, code: str, message: str) -> dict:
        """``{"error": {code, message, innerError}}`` exactly as Graph nests it."""
        return {"error": {"code": code, "message": message, "innerError": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": self.request_id,
            "client-request-id": self.client_request_id,
        }}}

    def error(self, status: int, code: str, message: str, headers: Optional[dict] = None) -> Response:
        """A complete Graph error response."""
        merged = {"Content-Type": ERROR_JSON}
        merged.update(headers or {})
        return Response(status, json.dumps(self.error_body(code, message)).encode("utf-8"), merged)

    def from_error(self, err: GraphError) -> Response:
        """The response for a raised :class:`GraphError`."""
        return self.error(err.status, err.code, err.message, err.headers)

    def ok(self, obj: Any, status: int = 200, headers: Optional[dict] = None) -> Response:
        """A successful OData JSON response."""
        merged = {"Content-Type": ODATA_JSON, "OData-Version": "4.0"}
        merged.update(headers or {})
        return Response(status, json.dumps(obj).encode("utf-8"), merged)

    def finish(self, response: Response) -> Response:
        """Add the common headers (without overriding a handler's own) to an outer response."""
        if response.reset:
            return response
        headers = self.common_headers()
        headers.update(response.headers or {})
        response.headers = headers
        return response
