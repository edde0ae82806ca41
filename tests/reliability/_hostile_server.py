"""A hostile token endpoint the emulator cannot play: answers streamed without Content-Length.

The emulator's oversize and drip faults announce their length, so the HTTP client can refuse an
oversized answer from its headers alone. This server answers the tenant's OpenID configuration
normally and every token request with ``200`` and no Content-Length (the end of the body is the
end of the connection), then streams ``mode``: ``flood`` (an endless JSON-looking body as fast
as the socket takes it) or ``drip`` (one byte every ``interval`` seconds). It counts the token
requests and the bytes it managed to send. Its TLS certificate is signed by a CA made here.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _certificates(directory, host):
    """(CA bundle path, certificate chain path, key path) for ``host`` (an IP address)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hostile test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(str(directory), name) for name in ("hostile-ca.pem", "hostile-cert.pem", "hostile-key.pem")]
    with open(paths[0], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as handle:
        handle.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return paths


class HostileTokenServer:
    """Start with ``with HostileTokenServer(directory, mode) as server:``; ``server.url``, ``server.ca_path``."""

    def __init__(self, directory, mode: str, interval: float = 0.5, host: str = "127.0.0.1"):
        self.mode, self.interval = mode, interval
        self.token_requests = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self.ca_path, cert, key = _certificates(directory, host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._httpd = ThreadingHTTPServer((host, 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = "https://%s:%d" % (host, self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def _count(self, sent: int):
        with self._lock:
            self.bytes_sent += sent

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection does

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                tenant = self.path.strip("/").split("/")[0]
                base = "%s/%s" % (server.url, tenant)
                body = json.dumps({
                    "token_endpoint": base + "/oauth2/v2.0/token",
                    "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                    "issuer": base + "/v2.0"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # pylint: disable=invalid-name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:  # pylint: disable=protected-access
                    server.token_requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")  # and no Content-Length
                self.end_headers()
                try:
                    if server.mode == "flood":
                        self.wfile.write(b'{"token_type":"Bearer","access_token":"')
                        block = b"A" * 65536
                        for _block in range(16384):  # at most 1 GiB, then give up
                            self.wfile.write(block)
                            server._count(len(block))  # pylint: disable=protected-access
                    else:
                        for _byte in range(600):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            server._count(1)  # pylint: disable=protected-access
                            time.sleep(server.interval)
                except OSError:
                    pass  # the client hung up: what it was meant to do

        return Handler
