"""Fault injection: make chosen endpoints slow, throttled, broken or cut off.

A fault is a JSON object::

    {"endpoint": "token",              # openid_configuration, userrealm, token, devicecode, mex,
                                       # wstrust, jwks, federation, graph, graph_batch_item, or "*"
     "user": "demo@contoso.example",   # optional: only requests made for this user (app: client id)
     "grant_type": "refresh_token",    # optional: only token requests with this grant (a URN grant
                                       # also matches its last part, e.g. "device_code")
     "kind": "status",                 # see KINDS
     "status": 429, "retry_after": 2,  # for status (and html/truncated/aadsts/redirect: the status)
     "latency": 1.5,                   # seconds to wait first (the only effect of kind latency)
     "body": "...",                    # optional body override
     "skip": 0,                        # let this many matching requests through first
     "times": 1,                       # how many matching requests it hits (absent: all)
     "probability": 0.5}               # or: hit each matching request with this chance

Kinds: ``latency``; ``status`` (an Entra or Graph error body); ``reset`` (TCP RST, no answer);
``html``; ``truncated`` (half a JSON document); ``cutoff_tokens`` (200 whose body stops in the
middle of a token answer full of token-like strings -- listed in the fault's ``sent``, each
holding a marker of fault_streams.CUTOFF_MARKERS); ``drip`` (status and headers at once, then
the body one byte every ``interval`` seconds, for ``duration`` seconds at most, then the
connection closes); ``oversize`` (a 200 body of ``size`` bytes, streamed); ``redirect``
(``status`` 302 by default, to ``location``); ``aadsts`` (an Entra error body carrying
``codes``, e.g. ``[70002, 50126]`` in the older wording, with ``error`` and ``status``).

Handlers call :meth:`FaultSet.take` once per request; it sleeps for latency and
returns the :class:`Response` to send instead of the real one (``None`` = go on).
"""

import itertools
import json
import random
import threading
import time

from . import errors, fault_streams
from .http import Response

ENDPOINTS = ("openid_configuration", "userrealm", "token", "devicecode", "mex", "wstrust", "jwks", "federation",
             "graph", "graph_batch_item", "*")
KINDS = ("latency", "status", "reset", "html", "truncated", "cutoff_tokens", "drip", "oversize", "redirect", "aadsts")
DEFAULT_LOCATION = "https://login.example.invalid/redirected"

_STATUS_BODIES = {
    429: {"error": "temporarily_unavailable",
          "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop."},
    500: {"error": "server_error",
          "error_description": "AADSTS50000: There was an error issuing a token or an issue with our sign-in service."},
    503: {"error": "temporarily_unavailable",
          "error_description": "AADSTS90033: A transient error has occurred. Please try again."},
}

_GRAPH_STATUS = {
    429: ("TooManyRequests", "Too many requests."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}

_HTML = ("<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
         "<h1>Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p>"
         "</body></html>")

_TRUNCATED = {
    "token": '{"token_type":"Bearer","scope":"User.Read profile openid email","expires_in":3599,"access_tok',
    "openid_configuration": '{"token_endpoint":"https://',
    "userrealm": '{"ver":"1.0","account_type":"Man',
    "jwks": '{"keys":[{"kty":"RSA","use":"sig","kid":"',
    "graph": '{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[{"id":"',
    "graph_batch_item": '{"responses":[{"id":"1","status":200,"bo',
    "mex": '<?xml version="1.0" encoding="utf-8"?><wsdl:definitions',
    "wstrust": '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>',
}


def validate_fault(fault):
    """Check and normalize one fault dict; raise ValueError with a readable message."""
    if not isinstance(fault, dict):
        raise ValueError("a fault must be a JSON object")
    out = dict(fault)
    if out.get("endpoint", "*") not in ENDPOINTS:
        raise ValueError("unknown endpoint %r; known: %s" % (out.get("endpoint"), ", ".join(ENDPOINTS)))
    out.setdefault("endpoint", "*")
    kind = out.setdefault("kind", "status" if "status" in out else "latency")
    if kind not in KINDS:
        raise ValueError("unknown kind %r; known: %s" % (kind, ", ".join(KINDS)))
    if kind == "status" and "status" not in out:
        raise ValueError("a status fault needs 'status'")
    for key in ("latency", "probability", "interval", "duration"):
        if key in out and out[key] is not None:
            out[key] = float(out[key])
    for key in ("times", "skip", "status", "size"):
        if key in out and out[key] is not None:
            out[key] = int(out[key])
    if out.get("user"):
        out["user"] = out["user"].lower()
    _validate_kind(kind, out)
    return out


def _validate_kind(kind, out):
    """Bounds and defaults of the hostile kinds (every loop they drive ends by itself)."""
    if kind == "cutoff_tokens":
        out["sent"] = fault_streams.cutoff_strings()
    elif kind == "drip":
        out.setdefault("interval", 1.0)
        out.setdefault("duration", 30.0)
        if not 0.001 <= out["interval"] <= 60 or not 0 < out["duration"] <= fault_streams.MAX_DURATION:
            raise ValueError("drip needs 0.001 <= interval <= 60 and 0 < duration <= %d" % fault_streams.MAX_DURATION)
    elif kind == "oversize":
        out.setdefault("size", 2 * 1024 * 1024)
        if not 0 < out["size"] <= fault_streams.MAX_SIZE:
            raise ValueError("oversize needs 0 < size <= %d" % fault_streams.MAX_SIZE)
    elif kind == "redirect":
        out.setdefault("status", 302)
        out.setdefault("location", DEFAULT_LOCATION)
        if not 300 <= out["status"] < 400:
            raise ValueError("a redirect needs a 3xx status")
    elif kind == "aadsts":
        codes = out.get("codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, int) for c in codes):
            raise ValueError("an aadsts fault needs 'codes', a list of AADSTS numbers, e.g. [70002, 50126]")


class FaultSet:
    """Thread-safe list of active faults, consumed by request handlers."""

    def __init__(self, faults=None, sleep=time.sleep, base_url="https://login.microsoftonline.com"):
        self.base_url = base_url
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)
        self._sleep = sleep
        self._random = random.Random()
        self.add(faults or [])

    def add(self, faults):
        """Add one fault or a list of them; return the new ids."""
        if isinstance(faults, dict):
            faults = [faults]
        checked = [validate_fault(f) for f in faults]
        ids = []
        with self._lock:
            for fault in checked:
                fault["id"] = next(self._ids)
                fault["hits"] = 0
                fault["seen"] = 0
                self._faults.append(fault)
                ids.append(fault["id"])
        return ids

    def clear(self, fault_id=None):
        """Remove all faults, or only the one with ``fault_id``."""
        with self._lock:
            if fault_id is None:
                self._faults = []
            else:
                self._faults = [f for f in self._faults if f["id"] != int(fault_id)]

    def list(self):
        """A copy of the active faults (with their hit counters)."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def _match(self, fault, endpoint, user, grant_type):
        if fault["endpoint"] not in ("*", endpoint):
            return False
        if fault.get("user") and (user or "").lower() != fault["user"]:
            return False
        if fault.get("grant_type") and fault["grant_type"] not in (grant_type, (grant_type or "").rsplit(":", 1)[-1]):
            return False
        return True

    def _pick(self, endpoint, user, grant_type):
        with self._lock:
            for fault in self._faults:
                if not self._match(fault, endpoint, user, grant_type):
                    continue
                fault["seen"] += 1
                if fault["seen"] <= (fault.get("skip") or 0):
                    continue
                times = fault.get("times")
                if times is not None and fault["hits"] >= times:
                    continue
                probability = fault.get("probability")
                if probability is not None and self._random.random() >= probability:
                    continue
                fault["hits"] += 1
                return dict(fault)
        return None

    def take(self, endpoint, user=None, grant_type=None):
        """Apply the first matching fault: sleep for its latency, return its Response or None."""
        return self.take_with_kind(endpoint, user, grant_type)[1]

    def take_with_kind(self, endpoint, user=None, grant_type=None, request=None):
        """Like :meth:`take`, also returning the fault's kind (None when no fault applied)."""
        fault = self._pick(endpoint, user, grant_type)
        if fault is None:
            return None, None
        if fault.get("latency"):
            self._sleep(fault["latency"])
        return fault["kind"], build_response(fault, endpoint, self.base_url, request, self._sleep)


def apply(faultset, request, endpoint, user=None, grant_type=None):
    """Label ``request`` for the log and apply any matching fault; return its Response or None."""
    request.endpoint = endpoint
    if user:
        request.user = user
    if grant_type:
        request.grant_type = grant_type
    kind, response = faultset.take_with_kind(endpoint, user, grant_type, request)
    if kind:
        request.fault = kind
    return response


def build_response(fault, endpoint, base_url="https://login.microsoftonline.com", request=None, sleep=time.sleep):
    """The Response a fault answers with (None for pure latency)."""
    kind = fault["kind"]
    if kind == "latency":
        return None
    if kind == "reset":
        return Response(0, reset=True)
    hostile = _hostile_response(fault, base_url, request, sleep)
    if hostile is not None:
        return hostile
    headers = {}
    if fault.get("retry_after") is not None:
        headers["Retry-After"] = str(fault["retry_after"])
    if kind == "html":
        body = fault.get("body") or _HTML
        headers["Content-Type"] = "text/html; charset=utf-8"
        return Response(fault.get("status", 200), body.encode("utf-8"), headers)
    if kind == "truncated":
        body = fault.get("body") or _TRUNCATED.get(endpoint, '{"value":[{"id":"')
        headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(fault.get("status", 200), body.encode("utf-8"), headers)
    status = fault["status"]
    if fault.get("body") is not None:
        body = fault["body"]
    elif endpoint.startswith("graph"):
        code, message = _GRAPH_STATUS.get(status, ("UnknownError", "Injected fault."))
        body = json.dumps({"error": {"code": code, "message": message,
                                     "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())}}})
    else:
        body = json.dumps(_STATUS_BODIES.get(status, {"error": "server_error", "error_description": "Injected fault."}))
    headers["Content-Type"] = "application/json; charset=utf-8"
    return Response(status, body.encode("utf-8"), headers)


def _hostile_response(fault, base_url, request, sleep):
    """The Response of the kinds cutoff_tokens, drip, oversize, redirect and aadsts (else None)."""
    kind = fault["kind"]
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "cutoff_tokens":
        return Response(fault.get("status", 200), fault_streams.cutoff_body(fault["sent"]), json_type)
    if kind == "drip":
        body = fault["body"].encode("utf-8") if fault.get("body") else fault_streams.default_drip_body()
        stream = fault_streams.drip(body, fault["interval"], fault["duration"], sleep=sleep)
        return Response(fault.get("status", 200), headers=json_type, stream=stream, length=len(body))
    if kind == "oversize":
        return Response(fault.get("status", 200), headers=json_type, stream=fault_streams.oversize(fault["size"]),
                        length=fault["size"])
    if kind == "redirect":
        return Response(fault["status"], b"<html><head><title>Object moved</title></head><body><h2>Object moved to "
                        b"<a href=\"" + fault["location"].encode("utf-8") + b"\">here</a>.</h2></body></html>",
                        {"Location": fault["location"], "Content-Type": "text/html; charset=utf-8"})
    if kind == "aadsts":
        body = errors.multi_error_body(fault["codes"], base_url, request, error=fault.get("error"),
                                       legacy=fault.get("legacy", True))
        return errors.error_response(body, request, fault.get("status"))
    return None
