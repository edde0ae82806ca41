"""Plain request/response values shared by every handler of the emulator.

Handlers (OAuth, WS-Trust, Graph, admin) take a :class:`Request` and return a
:class:`Response`; only ``server.py`` touches sockets.  Keeping them as small
dataclasses lets the handlers be unit tested without a socket and keeps the
HTTP machinery in one place.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import parse_qs


@dataclass
class Request:
    """One HTTP request as the handlers see it.

    ``path`` is the raw path without the query string; ``query`` is
    ``parse_qs(..., keep_blank_values=True)``; ``headers`` is case-insensitive
    (``http.client.HTTPMessage`` or any mapping with ``.get``); ``client`` is the
    peer address.  Handlers set ``endpoint``, ``user``, ``grant_type`` and ``fault``
    so the server's request log can say what the request was about.
    """

    method: str
    path: str
    query: dict = field(default_factory=dict)
    headers: Any = field(default_factory=dict)
    body: bytes = b""
    client: str = ""
    # Filled in by handlers for the request log (never a password or token):
    endpoint: Optional[str] = None
    user: Optional[str] = None
    grant_type: Optional[str] = None
    fault: Optional[str] = None

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """Case-insensitive header look-up that works for plain dicts too."""
        value = self.headers.get(name) if hasattr(self.headers, "get") else None
        if value is not None:
            return value
        if isinstance(self.headers, Mapping):
            lowered = name.lower()
            for key, val in self.headers.items():
                if key.lower() == lowered:
                    return val
        return default

    def arg(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict:
        """The body as an ``application/x-www-form-urlencoded`` form (first value wins)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """What a handler answers.

    ``reset=True`` means "close the TCP connection abruptly without answering",
    used by fault injection to imitate a dropped connection.  ``stream`` (with
    ``length``) replaces ``body`` for answers too large or too slow to build at once:
    an iterable of byte chunks the server writes as they come; it may stop early, and
    then the server closes the connection (the client sees a short body).
    """

    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    reset: bool = False
    stream: Optional[Iterable[bytes]] = None
    length: Optional[int] = None


def json_response(status: int, obj: Any, headers: Optional[dict] = None) -> Response:
    """A JSON response with the content type Entra and Graph use."""
    merged = {"Content-Type": "application/json; charset=utf-8"}
    if headers:
        merged.update(headers)
    return Response(status, json.dumps(obj, separators=(",", ":")).encode("utf-8"), merged)


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8",
                  headers: Optional[dict] = None) -> Response:
    """A textual (HTML, XML, plain) response."""
    merged = {"Content-Type": content_type}
    if headers:
        merged.update(headers)
    return Response(status, text.encode("utf-8"), merged)
