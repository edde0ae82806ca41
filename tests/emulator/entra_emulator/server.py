"""HTTPS server: routing, request logging, and the socket side of fault injection.

Handlers are plain functions ``(state, Request, ...) -> Response``; this module is the
only one that touches sockets.  TLS is negotiated in the per-connection thread, so a
slow client cannot stall ``accept``.  A ``Response(reset=True)`` closes the TCP
connection with an RST and no answer.  Admin requests are not logged; everything else
is, without passwords or tokens (see requestlog.py).
"""

import re
import socket
import ssl
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import admin, device_code, discovery, errors, federation_issuer, token_endpoint, wstrust
from .http import Request, json_response, text_response

_TENANT = r"^/(?P<tenant>[^/]+)"
ROUTES = [
    ("GET", re.compile(r"^/common/discovery/instance/?$"), "instance_discovery",
     lambda s, r, m: discovery.instance_discovery(s, r)),
    ("GET", re.compile(r"^/[^/]+/userrealm/(?P<user>[^/]+)/?$"), "userrealm",
     lambda s, r, m: discovery.user_realm(s, r, m.group("user"))),
    ("GET", re.compile(_TENANT + r"/v2\.0/\.well-known/openid-configuration/?$"), "openid_configuration",
     lambda s, r, m: discovery.openid_configuration(s, r, m.group("tenant"))),
    ("GET", re.compile(_TENANT + r"/discovery(?:/v2\.0)?/keys/?$"), "jwks",
     lambda s, r, m: discovery.jwks(s, r, m.group("tenant"))),
    ("POST", re.compile(_TENANT + r"/oauth2/v2\.0/token/?$"), "token",
     lambda s, r, m: token_endpoint.handle(s, r, m.group("tenant"))),
    ("POST", re.compile(_TENANT + r"/oauth2/v2\.0/devicecode/?$"), "devicecode",
     lambda s, r, m: device_code.initiate(s, r, m.group("tenant"))),
    ("GET", re.compile(r"^/devicelogin/?$"), "devicelogin", lambda s, r, m: device_code.verification_page(s, r)),
    ("GET", re.compile(r"^/federation/(?P<name>[^/]+)/\.well-known/openid-configuration/?$"), "federation",
     lambda s, r, m: federation_issuer.openid_configuration(s, r, m.group("name"))),
    ("GET", re.compile(r"^/federation/(?P<name>[^/]+)/jwks/?$"), "federation",
     lambda s, r, m: federation_issuer.jwks(s, r, m.group("name"))),
    ("GET", re.compile(r"^/adfs/services/trust/mex/?$"), "mex", lambda s, r, m: wstrust.mex(s, r)),
    ("POST", re.compile(r"^/adfs/services/trust/(?P<version>13|2005)/usernamemixed/?$"), "wstrust",
     lambda s, r, m: wstrust.usernamemixed(s, r, m.group("version"))),
    ("GET", re.compile(r"^/_msa/FederationMetadata/2007-06/FederationMetadata\.xml$"), "mex",
     lambda s, r, m: discovery.msa_federation_metadata(s, r)),
]


def route(state, request):
    """Find the handler for a request and run it."""
    if request.path == "/_emulator" or request.path.startswith("/_emulator/"):
        request.endpoint = "admin"
        return admin.handle(state, request)
    if request.path.startswith(("/v1.0/", "/beta/")) or request.path in ("/v1.0", "/beta"):
        request.endpoint = request.endpoint or "graph"
        if state.graph is None:
            return json_response(404, {"error": {"code": "NotImplemented", "message": "Graph is not loaded."}})
        return state.graph.handle(request)
    allowed = []
    for method, pattern, name, func in ROUTES:
        match = pattern.match(request.path)
        if match:
            if method == request.method:
                request.endpoint = name
                return func(state, request, match)
            allowed.append((method, name))
    if allowed:
        request.endpoint = allowed[0][1]
        if allowed[0][0] == "POST":
            return errors.entra_error(900561, state.url, request, method=request.method)
        return text_response(405, "Method Not Allowed")
    request.endpoint = "unknown"
    return text_response(404, "<html><body><h1>404 - Not Found</h1></body></html>", "text/html; charset=utf-8")


class Handler(BaseHTTPRequestHandler):
    """One connection: parse, route, answer, log."""

    protocol_version = "HTTP/1.1"
    server_version = "EntraEmulator/1.0"
    sys_version = ""
    timeout = 120

    def do_GET(self):  # pylint: disable=invalid-name
        """GET."""
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def version_string(self):
        """``Server`` header without the Python version."""
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet by default: the request log is the record (``--verbose`` prints a summary)."""

    def _dispatch(self):
        state = self.server.state
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, body,
                          client=self.client_address[0] if self.client_address else "")
        try:
            response = route(state, request)
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"error": "server_error", "error_description": "emulator handler crashed"})
        if response.reset:
            self._reset()
        else:
            self._send(response)
        if request.endpoint != "admin":
            status = 0 if response.reset else response.status
            duration = round((time.monotonic() - started) * 1000, 1)
            state.log.record(request.method, request.path, request.endpoint, status, user=request.user,
                             grant_type=request.grant_type, fault=request.fault, duration_ms=duration,
                             client_request_id=request.header("client-request-id"))
            if self.server.verbose:
                print("%s %s -> %s [%s%s]" % (request.method, request.path, status, request.endpoint,
                                              ", fault " + request.fault if request.fault else ""), flush=True)

    def _send(self, response):
        """Status line, headers (exactly one ``Server`` and one ``Date``), then the body or stream."""
        self.send_response_only(response.status)
        headers = dict(response.headers)
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        names = {name.lower() for name in headers}
        if "server" not in names:
            self.send_header("Server", self.version_string())
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for name, value in headers.items():
            self.send_header(name, value)
        length = response.length if response.stream is not None else len(response.body)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.stream is None:
            self.wfile.write(response.body)
            return
        sent = 0
        for chunk in response.stream:
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
        if length is None or sent != length:
            self.close_connection = True

    def _reset(self):
        """Abort the connection: SO_LINGER 0 makes close() send a TCP RST, no TLS close_notify."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass


class EmulatorServer(ThreadingHTTPServer):
    """Threaded HTTPS server; TLS handshakes happen in the worker threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state, ssl_context, verbose=False):
        self.state = state
        self.ssl_context = ssl_context
        self.verbose = verbose
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        request.settimeout(Handler.timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Connection-level errors (client went away) are not worth a traceback."""
        del request, client_address


def make_ssl_context(cert_path, key_path):
    """Server-side TLS context for the generated leaf certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


def serve(state, host, port, cert_path, key_path, verbose=False):
    """Bind and return the server (call ``serve_forever`` on it)."""
    return EmulatorServer((host, port), state, make_ssl_context(cert_path, key_path), verbose=verbose)
