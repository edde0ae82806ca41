# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""EntraHttpClient against real local sockets: a threaded TLS server whose certificate is made here.

Time is only ever bounded with generous slack (the deadline plus 3 s); what proves a deadline
holds is how little the dripping server managed to send.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import select
import socket
import ssl
import threading
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _http as http
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
CANARY = 'eyJ-CANARY-SECRET'
HANG = 60
SLACK = 3.0  # beyond the timeout: only catches a deadline that does not hold


# -- certificates ----------------------------------------------------------------------------------


def make_ca_and_leaf(directory, name, names=('localhost', '127.0.0.1')):
    """A CA and a server certificate for 127.0.0.1 / localhost it signed (strict X.509, as Python 3.13 checks)."""
    pytest.importorskip('cryptography')
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # pylint: disable=import-outside-toplevel

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'unit test CA %s' % name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
                                                        for n in names]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {kind: os.path.join(directory, '%s-%s.pem' % (name, kind)) for kind in ('ca', 'cert', 'key')}
    with open(paths['ca'], 'wb') as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths['cert'], 'wb') as handle:
        handle.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths['key'], 'wb') as handle:
        handle.write(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('pki'))
    return {'good': make_ca_and_leaf(directory, 'good'), 'other': make_ca_and_leaf(directory, 'other')}


# -- the server -------------------------------------------------------------------------------------


class Connection:
    """What a behaviour writes to; counts the bytes that really left."""

    def __init__(self, sock, stop):
        self.sock = sock
        self.stop = stop
        self.sent = 0

    def send(self, data: bytes):
        self.sock.sendall(data)
        self.sent += len(data)

    def drip(self, data: bytes, interval: float):
        """One byte per ``interval``; stops as soon as the client has gone (or the server stops)."""
        for index in range(len(data)):
            if self.stop.is_set() or self.client_gone(interval if index else 0):
                return
            self.send(data[index:index + 1])

    def client_gone(self, wait: float) -> bool:
        readable = select.select([self.sock], [], [], wait)[0]
        if not readable:
            return False
        try:
            return not self.sock.recv(1)
        except (OSError, ssl.SSLError):
            return True

    def answer(self, status, body=b'', headers=None, reason='OK'):
        if isinstance(body, str):
            body = body.encode()
        head = {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': str(len(body)), 'Connection': 'close'}
        head.update(headers or {})
        lines = ['HTTP/1.1 %d %s' % (status, reason)] + ['%s: %s' % item for item in head.items() if item[1] is not None]
        self.send(('\r\n'.join(lines) + '\r\n\r\n').encode() + body)


def read_request(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed before the request was complete')
        data += chunk
    head, body = data.split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    method, target, _version = lines[0].split(' ', 2)
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(':', 1) for line in lines[1:])}
    while len(body) < int(headers.get('content-length', 0)):
        body += sock.recv(65536)
    return {'method': method, 'target': target, 'headers': headers, 'body': body.decode()}


class TlsServer:
    """HTTPS on 127.0.0.1 with a certificate of our own; ``behaviour(connection, request)`` answers each request."""

    def __init__(self, cert, key):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = 'https://127.0.0.1:%d' % self.port
        self.behaviour = lambda connection, request: connection.answer(200, '{}')
        self.requests, self.sent, self.accepted = [], [], 0
        self.stop = threading.Event()
        self.threads = []
        self.done = threading.Condition()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                raw = self.listener.accept()[0]
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, raw):
        raw.settimeout(HANG)
        connection = None
        try:
            sock = self.context.wrap_socket(raw, server_side=True)
            connection = Connection(sock, self.stop)
            request = read_request(sock)
            self.requests.append(request)
            self.behaviour(connection, request)
        except (OSError, ValueError):
            pass  # the client went away (that is what several tests make it do)
        finally:
            with self.done:
                self.sent.append(connection.sent if connection else 0)
                self.done.notify_all()
            raw.close()

    def wait_for_connections(self, count):
        """Until ``count`` connections have ended on the server side (a dripping handler ends when its client is gone)."""
        with self.done:
            assert self.done.wait_for(lambda: len(self.sent) >= count, HANG), 'the server is still sending'

    def close(self):
        self.stop.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(HANG)


@pytest.fixture
def server(pki):
    running = TlsServer(pki['good']['cert'], pki['good']['key'])
    yield running
    running.close()


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch):
    for name in ('HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(name, raising=False)


def client_for(server, pki, **kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=server.url,
                ca_path=pki['good']['ca'], timeout=5)
    args.update(kw)
    return http.EntraHttpClient(from_mapping(args, environ={}))


def token_url(server):
    return '%s/%s/oauth2/v2.0/token' % (server.url, TENANT)


def failure(call, *args, **kwargs) -> EntraTokenError:
    with pytest.raises(EntraTokenError) as caught:
        call(*args, **kwargs)
    message = caught.value.message
    assert CANARY not in message and '\n' not in message
    for stray in ('_ssl.c', '\\"', '".', '(_', 'Traceback'):
        assert stray not in message, message
    return caught.value


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip('=')


GOOD_TOKEN = {'token_type': 'Bearer', 'scope': 'https://graph.microsoft.com/.default', 'expires_in': 3599, 'ext_expires_in': 3599,
              'access_token': 'at', 'refresh_token': 'rt', 'id_token': 'h.%s.s' % b64({'tid': TENANT}),
              'client_info': b64({'uid': 'u', 'utid': TENANT})}


# -- ordinary exchanges -------------------------------------------------------------------------------


def test_a_token_answer_reaches_msal_as_msal_expects_it(server, pki):
    server.behaviour = lambda c, r: c.answer(200, json.dumps(GOOD_TOKEN), {'Retry-After': '5', 'X-Ms-Request-Id': 'rid'})
    client = client_for(server, pki)
    answer = client.post(token_url(server), data={'grant_type': 'password', 'password': 'pw&=x'}, headers={'X-Client-Sku': 'MSAL'})
    assert answer.status_code == 200 and json.loads(answer.text) == GOOD_TOKEN
    assert answer.headers.get('retry-after') == '5' and answer.headers['X-MS-REQUEST-ID'] == 'rid' and 'Retry-After' in answer.headers
    answer.raise_for_status()
    request = server.requests[0]
    assert request['method'] == 'POST' and request['target'] == '/%s/oauth2/v2.0/token' % TENANT
    assert request['headers']['content-type'] == 'application/x-www-form-urlencoded'
    assert request['body'] == 'grant_type=password&password=pw%26%3Dx'
    assert request['headers']['x-client-sku'] == 'MSAL' and request['headers']['accept-encoding'] == 'identity'
    assert client.exchanges == 1 and client.last_answer is answer


def test_get_with_params_and_error_answers_pass_through(server, pki):
    server.behaviour = lambda c, r: c.answer(400, json.dumps({'error': 'invalid_grant', 'error_codes': [50126]}))
    client = client_for(server, pki)
    answer = client.get('%s/x?a=1' % server.url, params={'b': '2 3'})
    assert answer.status_code == 400 and json.loads(answer.text)['error'] == 'invalid_grant'
    assert server.requests[0]['target'] == '/x?a=1&b=2+3'
    with pytest.raises(http.HttpStatusError):
        answer.raise_for_status()
    answer = client.post(token_url(server), data={'grant_type': 'password'})  # a JSON error body goes to msal to classify
    assert answer.status_code == 400


# -- the deadline -----------------------------------------------------------------------------------------

PAYLOAD = 2000  # bytes a dripping server would send, one every DRIP seconds: 100 s without a deadline
DRIP = 0.05


def drip_headers(connection, request):
    head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: %s\r\n\r\n{}' % ('p' * PAYLOAD)
    connection.drip(head.encode(), DRIP)


def drip_body(connection, request):
    body = json.dumps(dict(GOOD_TOKEN, padding='p' * PAYLOAD)).encode()
    connection.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n'
                    % len(body))
    connection.drip(body, DRIP)


@pytest.mark.parametrize('behaviour', [drip_headers, drip_body], ids=['headers', 'body'])
def test_the_timeout_is_a_deadline_for_the_whole_exchange(server, pki, behaviour):
    server.behaviour = behaviour
    timeout = 1
    client = client_for(server, pki, timeout=timeout)
    started = time.monotonic()
    error = failure(client.post, token_url(server), data={'grant_type': 'password'})
    elapsed = time.monotonic() - started
    assert error.kind == 'network_error' and error.retryable
    assert 'did not answer in time (the timeout option bounds each whole request' in error.message
    assert elapsed < timeout + SLACK
    server.wait_for_connections(1)
    assert server.sent[0] < PAYLOAD / 4  # the server was cut off early, not read to the end a byte at a time


def test_the_deadline_holds_when_each_byte_comes_just_before_the_socket_timeout(server, pki):
    """Each read returns just in time, so only the watchdog can end the exchange at its deadline (not after two timeouts)."""
    timeout = 4
    body = json.dumps(GOOD_TOKEN).encode()

    head = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n' % len(body)

    def stall(connection, request):
        connection.send(head)
        connection.drip(body, timeout - 0.3)

    server.behaviour = stall
    started = time.monotonic()
    error = failure(client_for(server, pki, timeout=timeout).post, token_url(server), data={})
    assert error.kind == 'network_error' and time.monotonic() - started < timeout + SLACK
    server.wait_for_connections(1)
    assert server.sent[0] - len(head) < len(body) / 4


def test_a_server_that_never_answers_is_cut_at_the_deadline(server, pki):
    server.behaviour = lambda c, r: c.stop.wait(HANG)
    started = time.monotonic()
    error = failure(client_for(server, pki, timeout=1).get, server.url + '/slow')
    assert error.kind == 'network_error' and time.monotonic() - started < 1 + SLACK


# -- size, redirects and shapes ---------------------------------------------------------------------------


def test_an_answer_over_1_mib_is_invalid_response(server, pki):
    chunk = (json.dumps({'access_token': CANARY}) + ' ' * 65000).encode()

    def endless(connection, request):
        connection.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n')
        while not connection.stop.is_set():
            connection.send(chunk)

    server.behaviour = endless
    error = failure(client_for(server, pki).post, token_url(server), data={})
    assert error.kind == 'invalid_response'
    assert 'sent an answer of more than 1048576 bytes' in error.message and '127.0.0.1:%d' % server.port in error.message
    server.wait_for_connections(1)  # the endless server noticed the connection was closed
    # what the server sent includes what the kernel buffered for a reader that had stopped (some MB on loopback)
    assert server.sent[0] < 32 * http.MAX_ANSWER_BYTES


def test_a_content_length_over_the_cap_is_refused_before_reading(server, pki):
    def announce_and_wait(connection, request):
        connection.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400000000\r\n\r\n')
        connection.stop.wait(HANG)  # never sends the body: reading it would end in the deadline, not in a refusal

    server.behaviour = announce_and_wait
    error = failure(client_for(server, pki, timeout=30).post, token_url(server), data={})
    assert error.kind == 'invalid_response' and '(400000000)' in error.message


@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_a_redirect_is_invalid_response_naming_the_target_host(server, pki, status):
    server.behaviour = lambda c, r: c.answer(status, '', {'Location': 'https://evil.example:8443/steal?code=%s' % CANARY}, reason='Found')
    error = failure(client_for(server, pki).post, token_url(server), data={'password': 'pw'})
    assert error.kind == 'invalid_response' and error.status == status
    assert 'answered HTTP %d, a redirect to evil.example:8443' % status in error.message
    assert 'steal' not in error.message and len(server.requests) == 1  # not followed


def test_a_redirect_without_a_location_is_refused_too(server, pki):
    server.behaviour = lambda c, r: c.answer(302, '')
    error = failure(client_for(server, pki).get, server.url + '/x')
    assert error.kind == 'invalid_response' and 'a redirect, which Entra ID never sends' in error.message


CUT_OFF = '{"access_token": "%s", "refresh_token": "rt-%s", "id_token": "x.y' % (CANARY, CANARY)


@pytest.mark.parametrize('body, problem', [
    (CUT_OFF, 'with a body that is not a JSON object'),
    ('<html>%s</html>' % CANARY, 'with a body that is not a JSON object'),
    (json.dumps([CANARY]), 'with a body that is not a JSON object'),
    (json.dumps({'access_token': 5, 'refresh_token': CANARY}), 'has no access_token string'),
    (json.dumps({'access_token': '', 'refresh_token': CANARY}), 'has no access_token string'),
    (json.dumps({'refresh_token': CANARY}), 'has no access_token string'),
    (json.dumps(dict(GOOD_TOKEN, refresh_token=[CANARY])), 'has a refresh_token that is not a string'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, expires_in='soon')), 'has an expires_in that is not a number of seconds'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, expires_in=True)), 'has an expires_in that is not a number of seconds'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, id_token=CANARY)), 'has an id_token that is not a JWT'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, id_token='a.%s.c' % b64([CANARY]))), 'has an id_token that is not a JWT'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, client_info='!!' + CANARY)), 'has a client_info that cannot be decoded'),
    (json.dumps(dict(GOOD_TOKEN, access_token=CANARY, client_info=b64({'uid': 5}))), 'has a client_info without uid and utid'),
])
@pytest.mark.parametrize('path', ['/%s/oauth2/v2.0/token' % TENANT, '/%s/oauth2/token' % TENANT])
def test_a_2xx_token_answer_of_the_wrong_shape_never_reaches_msal_and_is_never_quoted(server, pki, body, problem, path):
    server.behaviour = lambda c, r: c.answer(200, body)
    error = failure(client_for(server, pki).post, server.url + path, data={'grant_type': 'password'})
    assert error.kind == 'invalid_response' and error.status == 200
    assert problem in error.message
    assert 'rt-' not in error.message and 'access_token": ' not in error.message


@pytest.mark.parametrize('body, problem', [
    (json.dumps({'device_code': CANARY, 'verification_uri': 'https://microsoft.com/devicelogin'}), 'has no user_code'),
    (json.dumps({'device_code': CANARY, 'user_code': 'ABC', 'verification_uri': 'u', 'interval': 'x'}),
     'has an interval that is not a number of seconds'),
    ('{"device_code": "%s", "user_co' % CANARY, 'with a body that is not a JSON object'),
])
def test_a_device_code_answer_of_the_wrong_shape_is_refused(server, pki, body, problem):
    server.behaviour = lambda c, r: c.answer(200, body)
    error = failure(client_for(server, pki).post, '%s/%s/oauth2/v2.0/devicecode' % (server.url, TENANT), data={})
    assert error.kind == 'invalid_response' and problem in error.message


@pytest.mark.parametrize('status, kind', [(500, 'service_unavailable'), (503, 'service_unavailable'), (429, 'throttled'),
                                          (404, 'invalid_response')])
def test_a_token_error_answer_that_is_not_json_is_classified_without_quoting_it(server, pki, status, kind):
    server.behaviour = lambda c, r: c.answer(status, '<html>%s</html>' % CANARY, {'Retry-After': '7'})
    error = failure(client_for(server, pki).post, token_url(server), data={})
    assert error.kind == kind and error.status == status
    if kind == 'throttled':
        assert 'Retry-After: 7s' in error.message


def test_other_answers_are_not_shape_checked(server, pki):
    server.behaviour = lambda c, r: c.answer(200, 'not json at all')
    assert client_for(server, pki).post(server.url + '/adfs/services/trust/13/usernamemixed', data='<soap/>').text == 'not json at all'


def test_more_exchanges_than_any_sign_in_needs_are_refused(server, pki):
    client = client_for(server, pki)
    for _exchange in range(http.MAX_EXCHANGES):
        client.get(server.url + '/x')
    error = failure(client.get, server.url + '/x')
    assert error.kind == 'invalid_response' and 'more than %d requests' % http.MAX_EXCHANGES in error.message
    assert len(server.requests) == http.MAX_EXCHANGES


def test_only_https_urls_are_followed(server, pki):
    error = failure(client_for(server, pki).get, 'http://127.0.0.1:%d/x' % server.port)
    assert error.kind == 'invalid_response' and server.accepted == 0


# -- transport failures ---------------------------------------------------------------------------------------


def free_port():
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_connection_refused_is_network_error_after_one_retry(pki, monkeypatch):
    port = free_port()
    attempts = []
    real = socket.create_connection

    def counting(address, *args, **kwargs):
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, 'create_connection', counting)
    client = http.EntraHttpClient(from_mapping(dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', timeout=5,
                                                    authority_host='https://127.0.0.1:%d' % port, ca_path=pki['good']['ca']), environ={}))
    error = failure(client.post, 'https://127.0.0.1:%d/%s/oauth2/v2.0/token' % (port, TENANT), data={'password': 'pw'})
    assert error.kind == 'network_error' and error.retryable
    assert error.message.startswith('connection to 127.0.0.1:%d failed: connection refused.' % port)
    assert attempts == [('127.0.0.1', port)] * 2


def test_a_reset_after_the_request_was_sent_is_not_retried(server, pki):
    def reset(connection, request):
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        connection.sock.close()

    server.behaviour = reset
    error = failure(client_for(server, pki).post, token_url(server), data={'password': 'pw'})
    assert error.kind == 'network_error' and len(server.requests) == 1  # a sent password is never replayed


def test_an_untrusted_certificate_is_tls_error(server, pki):
    error = failure(client_for(server, pki, ca_path=pki['other']['ca']).get, server.url + '/x')
    assert error.kind == 'tls_error' and not error.retryable
    assert error.message.startswith('TLS verification of 127.0.0.1:%d failed: ' % server.port)
    assert 'issuer certificate' in error.message or 'certificate verify failed' in error.message
    assert server.requests == []  # nothing was sent over an unverified connection


def test_a_certificate_for_another_name_is_tls_error(pki, tmp_path):
    named = make_ca_and_leaf(str(tmp_path), 'named', names=('login.example.test',))
    other = TlsServer(named['cert'], named['key'])
    try:
        error = failure(client_for(other, pki, ca_path=named['ca']).get, other.url + '/x')
    finally:
        other.close()
    assert error.kind == 'tls_error' and '127.0.0.1' in error.message and other.requests == []


def test_requests_ca_bundle_in_the_environment_does_not_override_ca_path(server, pki, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', pki['good']['ca'])
    monkeypatch.setenv('CURL_CA_BUNDLE', pki['good']['ca'])
    error = failure(client_for(server, pki, ca_path=pki['other']['ca']).get, server.url + '/x')
    assert error.kind == 'tls_error'
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', pki['other']['ca'])
    monkeypatch.setenv('CURL_CA_BUNDLE', pki['other']['ca'])
    assert client_for(server, pki, ca_path=pki['good']['ca']).get(server.url + '/x').status_code == 200


def test_validate_certs_false_accepts_the_certificate(server, pki):
    assert client_for(server, pki, ca_path=pki['other']['ca'], validate_certs=False).get(server.url + '/x').status_code == 200


def test_an_unreadable_ca_bundle_is_tls_error(server, pki, tmp_path):
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('not a certificate')
    error = failure(client_for(server, pki, ca_path=str(bundle)).get, server.url + '/x')
    assert error.kind == 'tls_error' and str(bundle) in error.message


def test_a_server_that_closes_without_answering_is_network_error(server, pki):
    server.behaviour = lambda c, r: None
    error = failure(client_for(server, pki).get, server.url + '/x')
    assert error.kind == 'network_error' and error.message.startswith('connection to 127.0.0.1:%d failed: ' % server.port)


# -- proxies ---------------------------------------------------------------------------------------------------


class ConnectProxy:
    """An HTTP proxy that tunnels with CONNECT, recording what it was asked."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.asked = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        try:
            data = b''
            while b'\r\n\r\n' not in data:
                data += client.recv(4096)
            head = data.split(b'\r\n\r\n')[0].decode()
            self.asked.append(head)
            host, port = head.split()[1].rsplit(':', 1)
            upstream = socket.create_connection((host, int(port)), timeout=HANG)
            client.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()
        except OSError:
            client.close()

    @staticmethod
    def _pipe(source, target):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


@pytest.fixture
def proxy():
    running = ConnectProxy()
    yield running
    running.close()


def test_the_proxy_option_tunnels_with_basic_auth(server, pki, proxy):
    client = client_for(server, pki, proxy='http://ops%40corp:p%3Ass@127.0.0.1:' + str(proxy.port))
    assert client.get(server.url + '/x').status_code == 200
    assert proxy.asked[0].startswith('CONNECT 127.0.0.1:%d HTTP/1.' % server.port)
    assert 'Proxy-Authorization: Basic %s' % base64.b64encode(b'ops@corp:p:ss').decode() in proxy.asked[0]


def test_https_proxy_from_the_environment_is_used_and_no_proxy_honoured(server, pki, proxy, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', '127.0.0.1:%d' % proxy.port)
    assert client_for(server, pki).get(server.url + '/x').status_code == 200
    assert len(proxy.asked) == 1
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    assert client_for(server, pki).get(server.url + '/x').status_code == 200
    assert len(proxy.asked) == 1


def test_a_socks_proxy_from_the_environment_is_a_clear_error(server, pki, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'socks5://127.0.0.1:1080')
    error = failure(client_for(server, pki).get, server.url + '/x')
    assert error.kind == 'network_error' and 'socks5://127.0.0.1 from the environment is not supported' in error.message
    assert server.accepted == 0


# -- discovery and user realm ------------------------------------------------------------------------------------


def openid_url(server):
    return '%s/%s/v2.0/.well-known/openid-configuration' % (server.url, TENANT)


def test_discovery_documents_are_kept_and_replayed_without_a_request(server, pki):
    document = {'token_endpoint': '%s/%s/oauth2/v2.0/token' % (server.url, TENANT)}
    server.behaviour = lambda c, r: c.answer(200, json.dumps(document))
    discovery = DiscoveryStore(None)
    first = http.EntraHttpClient(client_for(server, pki)._request, discovery)
    assert json.loads(first.get(openid_url(server)).text) == document
    second = http.EntraHttpClient(client_for(server, pki)._request, discovery)
    assert json.loads(second.get(openid_url(server)).text) == document
    assert len(server.requests) == 1 and second.exchanges == 0


@pytest.mark.parametrize('body', ['<html>proxy login</html>', '{"token_endpoint": "cut', '[1]'])
def test_an_unreadable_discovery_answer_is_not_kept(server, pki, body):
    server.behaviour = lambda c, r: c.answer(200, body)
    discovery = DiscoveryStore(None)
    http.EntraHttpClient(client_for(server, pki)._request, discovery).get(openid_url(server))
    assert discovery.get(openid_url(server)) is None


@pytest.mark.parametrize('realm, text', [
    ({'account_type': 'MSA', 'domain_name': 'outlook.com'}, 'is a personal Microsoft account'),
    ({'account_type': 'Unknown'}, 'The domain of user@contoso.com is not known to Entra ID'),
    ({'account_type': 'Federated', 'federation_active_auth_url': 'https://login.live.com/rst2.srf'}, 'is a personal Microsoft account'),
])
def test_a_personal_or_unknown_account_is_refused_after_user_realm_discovery(server, pki, realm, text):
    server.behaviour = lambda c, r: c.answer(200, json.dumps(realm))
    error = failure(client_for(server, pki).get, '%s/common/userrealm/user@contoso.com?api-version=1.0' % server.url)
    assert error.kind == 'unsupported_account' and text in error.message


def test_a_managed_account_passes_user_realm_discovery(server, pki):
    server.behaviour = lambda c, r: c.answer(200, json.dumps({'account_type': 'Managed'}))
    assert client_for(server, pki).get('%s/common/userrealm/user@contoso.com?api-version=1.0' % server.url).status_code == 200


def test_a_failure_at_another_host_is_named_as_the_federated_provider(server, pki):
    fault = ('<s:Envelope><s:Body><s:Fault><s:Reason><s:Text xml:lang="en-US">ID3242: The security token could not be '
             'authenticated.</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>')
    server.behaviour = lambda c, r: c.answer(500, fault, {'Content-Type': 'application/soap+xml'})
    client = client_for(server, pki, authority_host='https://login.example.test')
    client.post(server.url + '/adfs/services/trust/13/usernamemixed', data='<soap/>')
    assert client.federated_failure == ('The federated identity provider 127.0.0.1:%d answered HTTP 500: ID3242: The security token '
                                        'could not be authenticated' % server.port)
