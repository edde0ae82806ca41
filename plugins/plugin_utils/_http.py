# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP client msal talks through (``http_client=``), on the standard library's http.client.

For internal collection use only. Why our own client rather than msal's requests session:
- ``timeout`` is a deadline for each whole exchange (connect, TLS, headers, body): a
  watchdog shuts the socket when it passes, so a server that drips a byte a second cannot
  hold a task (and the sign-in lock every other fork waits on) for minutes;
- answers larger than :data:`MAX_ANSWER_BYTES` are refused while they are read;
- what msal must never see is refused here, before msal can log it: a redirect, or a
  token answer that is not a JSON object of the right shape (msal logs a non-JSON token
  answer in full, tokens included);
- the CA bundle is ``ca_path`` whatever ``REQUESTS_CA_BUNDLE`` says, and the proxy is the
  ``proxy`` option or the usual HTTPS_PROXY / NO_PROXY;
- transport failures become classified errors (``network_error``, ``tls_error``) whose
  messages name the host and the reason, never a body;
- public discovery documents (OpenID configuration, user realm) can be persisted so that
  later processes skip those round trips;
- a personal or unknown account is refused right after user-realm discovery, before its
  password is sent anywhere.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import socket
import ssl
import threading
import time
from urllib.parse import quote, unquote, urlencode, urlsplit

from ansible_collections.identity.entra.plugins.plugin_utils import _safe_json
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

DISCOVERY_TTL = 24 * 3600
MAX_ANSWER_BYTES = 1024 * 1024  # Entra's answers are a few kB; an AD FS MEX document some tens of kB
MAX_EXCHANGES = 8  # the most requests one acquisition makes (discovery, MEX, WS-Trust, refresh, grant)
_DISCOVERY_MARKERS = ('/.well-known/openid-configuration', '/common/userrealm/')
_TOKEN_PATHS = ('/oauth2/v2.0/token', '/oauth2/token')
_DEVICE_CODE_PATH = '/oauth2/v2.0/devicecode'
_USER_AGENT = 'identity.entra (msal)'


class Headers(dict):
    """Response headers with case-insensitive ``get`` (msal and callers spell them either way)."""

    def __init__(self, pairs=()):
        super().__init__((str(k).lower(), v) for k, v in pairs)

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(str(key).lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())


class Answer:
    """The response shape msal expects (status_code, text, headers, raise_for_status)."""

    def __init__(self, status_code: int, text: str, headers):
        self.status_code = status_code
        self.text = text
        self.headers = headers if isinstance(headers, Headers) else Headers(dict(headers).items())

    def raise_for_status(self):
        if self.status_code >= 400:
            raise HttpStatusError('HTTP Error: %d' % self.status_code)


class HttpStatusError(Exception):
    """What ``raise_for_status`` raises (msal only needs an exception)."""


def _tls_context(request) -> ssl.SSLContext:
    if not request.validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    # The same trust as requests: ca_path, else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's bundle.
    cafile = request.ca_path or os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE')
    if not cafile:
        try:
            import certifi  # pylint: disable=import-outside-toplevel  # requests' own bundle, when present

            cafile = certifi.where()
        except ImportError:
            cafile = None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise EntraTokenError('tls_error', detail='the CA bundle %s cannot be read: %s' % (cafile, exc.__class__.__name__)) from None


def _proxy_for(request, host: str):
    """(host, port, Proxy-Authorization header or None) of the proxy to use for ``host``, or None."""
    url = request.proxy
    if not url:
        import urllib.request  # pylint: disable=import-outside-toplevel  # only on a cache miss

        if urllib.request.proxy_bypass_environment(host):
            return None
        proxies = urllib.request.getproxies_environment()
        url = proxies.get('https') or proxies.get('all')
        if not url:
            return None
        if '://' not in url:
            url = 'http://' + url
    parts = urlsplit(url)
    if parts.scheme != 'http' or not parts.hostname:
        raise EntraTokenError('network_error', detail='the proxy %s://%s from the environment is not supported; '
                              'use an HTTP proxy (http://host:port), or set the proxy option' % (parts.scheme, parts.hostname or ''))
    auth = None
    if parts.username:
        pair = '%s:%s' % (unquote(parts.username), unquote(parts.password or ''))
        auth = 'Basic ' + base64.b64encode(pair.encode('utf-8')).decode('ascii')
    return parts.hostname, parts.port or 3128, auth


class EntraHttpClient:
    """msal's ``http_client``: see the module docstring for what it adds."""

    def __init__(self, request, discovery=None):
        self._request = request
        self._tls = None
        self.discovery = discovery  # a DiscoveryStore, or None
        self.last_answer = None
        self.exchanges = 0
        self.federated_failure = None

    # -- what msal calls -------------------------------------------------------------

    def get(self, url, params=None, headers=None, **_ignored):
        if params:
            url = '%s%s%s' % (url, '&' if '?' in url else '?', urlencode(params))
        is_discovery = any(marker in url for marker in _DISCOVERY_MARKERS)
        if is_discovery and self.discovery is not None:
            stored = self.discovery.get(url)
            if stored is not None:
                answer = Answer(stored['status'], stored['text'], {'content-type': stored.get('content_type', '')})
                self._check_user_realm(url, answer)
                return answer
        answer = self._exchange('GET', url, None, headers)
        if is_discovery and self.discovery is not None and 200 <= answer.status_code < 300 and _json_object(answer.text):
            # Only a readable document is kept: a proxy's HTML page or a cut-off answer must not be
            # replayed to every later process for a day.
            self.discovery.add(url, answer.status_code, answer.text, answer.headers.get('content-type', ''))
        self._check_user_realm(url, answer)
        return answer

    def post(self, url, params=None, data=None, headers=None, **_ignored):
        if params:
            url = '%s%s%s' % (url, '&' if '?' in url else '?', urlencode(params))
        headers = dict(headers or {})
        if isinstance(data, dict):
            body = urlencode(data).encode('utf-8')
            headers.setdefault('Content-Type', 'application/x-www-form-urlencoded')
        elif isinstance(data, str):
            body = data.encode('utf-8')
        else:
            body = data or b''
        answer = self._exchange('POST', url, body, headers)
        self._check_answer_shape(url, answer)
        return answer

    def close(self):
        """Nothing to close: every exchange has its own connection."""

    # -- one exchange ------------------------------------------------------------------

    def _exchange(self, method: str, url: str, body, headers) -> Answer:
        self.exchanges += 1
        if self.exchanges > MAX_EXCHANGES:
            raise EntraTokenError('invalid_response', detail='the sign-in needed more than %d requests, which Entra never asks '
                                  'for; stopped (last: %s)' % (MAX_EXCHANGES, _host(url)))
        parts = urlsplit(url)
        if parts.scheme != 'https' or not parts.hostname:
            raise EntraTokenError('invalid_response', detail='Entra ID sent a URL that is not https (%s)' % _host(url))
        timeout = float(self._request.timeout)
        deadline = time.monotonic() + timeout
        status, reason, answer_headers, raw = self._send(parts, method, body, headers, timeout, deadline)
        if 300 <= status < 400:
            location = urlsplit(answer_headers.get('location') or '')
            raise EntraTokenError(
                'invalid_response', status=status,
                detail='%s answered HTTP %d, a redirect%s, which Entra ID never sends: check authority_host and any proxy'
                       % (_host(url), status, ' to %s' % location.netloc if location.netloc else ''))
        text = raw.decode('utf-8', errors='replace')
        answer = Answer(status, text, answer_headers)
        self.last_answer = answer
        if status >= 400 and _is_federation_exchange(parts, headers, self._request.environment):
            self.federated_failure = 'The federated identity provider %s answered HTTP %d%s' % (
                _host(url), status, _soap_reason(text))
        return answer

    def _send(self, parts, method, body, headers, timeout, deadline):
        """Connect, send, read within the deadline; (status, reason, headers, body bytes)."""
        if self._tls is None:
            self._tls = _tls_context(self._request)
        host, port = parts.hostname, parts.port or 443
        # msal puts the username into the user-realm URL as it is; like requests, percent-encode what is
        # not ASCII (http.client refuses it) and keep existing escapes.
        target = quote((parts.path or '/') + ('?' + parts.query if parts.query else ''), safe="!#$%&'()*+,/:;=?@[]~")
        proxy = _proxy_for(self._request, host)
        for attempt in (1, 2):
            connection = http.client.HTTPSConnection(proxy[0] if proxy else host, proxy[1] if proxy else port,
                                                     timeout=timeout, context=self._tls)
            if proxy:
                connection.set_tunnel(host, port, headers={'Proxy-Authorization': proxy[2]} if proxy[2] else None)
            expired = threading.Event()
            # getresponse() drops connection.sock when the answer says 'Connection: close' (the response
            # keeps reading from it): the watchdog shuts the socket it was given once connected.
            opened = []
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection, opened, expired))
            watchdog.daemon = True
            watchdog.start()
            response = None
            try:
                connection.connect()
                opened.append(connection.sock)
                if expired.is_set():
                    raise socket.timeout()
                connection.putrequest(method, target, skip_accept_encoding=True)
                sent_headers = {'User-Agent': _USER_AGENT, 'Accept-Encoding': 'identity', 'Connection': 'close'}
                sent_headers.update(headers or {})
                if body is not None:
                    sent_headers['Content-Length'] = str(len(body))
                for name, value in sent_headers.items():
                    if value is not None:
                        connection.putheader(name, str(value))
                connection.endheaders(body)
                response = connection.getresponse()
                raw = _read_body(response, deadline, expired, parts)
                return response.status, response.reason, Headers(response.getheaders()), raw
            except EntraTokenError:
                raise
            except ssl.SSLCertVerificationError as exc:
                raise EntraTokenError('tls_error', detail='TLS verification of %s failed: %s'
                                      % (_host_of(parts), _short(exc.verify_message or exc.reason))) from None
            except ssl.SSLError as exc:
                if expired.is_set():
                    raise _late(parts, timeout) from None
                raise EntraTokenError('tls_error', detail='TLS with %s failed: %s' % (_host_of(parts), _short(exc.reason))) from None
            except (socket.timeout, TimeoutError):
                raise _late(parts, timeout) from None
            except (OSError, http.client.HTTPException) as exc:
                if expired.is_set():
                    raise _late(parts, timeout) from None
                never_sent = isinstance(exc, (ConnectionRefusedError, socket.gaierror)) and connection.sock is None
                if attempt == 1 and never_sent and deadline - time.monotonic() > 0.5:
                    continue  # as msal does: once more when nothing reached the server; never replay a sent password
                raise EntraTokenError('network_error', detail='connection to %s failed: %s'
                                      % (_host_of(parts), _describe_failure(exc))) from None
            finally:
                watchdog.cancel()
                if response is not None:
                    response.close()  # the response holds the socket open after connection.close()
                connection.close()
        raise EntraTokenError('network_error', detail='connection to %s failed' % _host_of(parts))  # not reached

    # -- checks ------------------------------------------------------------------------

    def _check_answer_shape(self, url: str, answer: Answer) -> None:
        """A token or device-code answer msal would mishandle is refused here, without quoting it."""
        path = urlsplit(url).path.rstrip('/')
        is_token = path.endswith(_TOKEN_PATHS)
        if not is_token and not path.endswith(_DEVICE_CODE_PATH):
            return
        body = _safe_json.loads_object(answer.text)
        if body is None:
            if answer.status_code == 429:
                raise EntraTokenError('throttled', status=429, detail='Entra ID throttled the request (HTTP 429, Retry-After: %ss)'
                                      % _short(answer.headers.get('retry-after') or '?', 20))
            kind = 'service_unavailable' if answer.status_code >= 500 else 'invalid_response'
            raise EntraTokenError(kind, status=answer.status_code,
                                  detail='%s answered HTTP %d with a body that is not a JSON object (%d bytes; a proxy, '
                                         'or a cut-off answer)' % (_host(url), answer.status_code, len(answer.text)))
        if 200 <= answer.status_code < 300:
            problem = _token_answer_problem(body) if is_token else _device_code_answer_problem(body)
            if problem:
                raise EntraTokenError('invalid_response', status=answer.status_code,
                                      detail='%s answered HTTP %d with a %s answer that %s' % (
                                          _host(url), answer.status_code, 'token' if is_token else 'device code', problem))

    def _check_user_realm(self, url, answer):
        if '/common/userrealm/' not in url or answer.status_code != 200:
            return
        realm = _safe_json.loads_object(answer.text)
        if realm is None:
            return
        account_type = str(realm.get('account_type', '')).lower()
        if account_type == 'unknown':
            raise EntraTokenError('unsupported_account', detail='The domain of %s is not known to Entra ID' % self._request.username)
        if account_type == 'msa' or (account_type == 'federated' and _is_microsoft_account_realm(realm)):
            raise EntraTokenError('unsupported_account', detail='%s is a personal Microsoft account' % self._request.username)


def _is_federation_exchange(parts, headers, environment: str) -> bool:
    """A request to the user's identity provider (AD FS): another host, a SOAP request, or its MEX document."""
    content_type = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == 'content-type'), '')
    return (parts.hostname or '').lower() != environment or 'soap' in content_type.lower() \
        or parts.path.lower().rstrip('/').endswith('/mex')


def _cut(connection, opened, expired) -> None:
    """Watchdog: the deadline passed; shut the socket so whatever blocks on it returns now."""
    expired.set()
    for sock in opened + [connection.sock]:
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _read_body(response, deadline, expired, parts) -> bytes:
    length = response.getheader('content-length')
    if length and length.strip().isascii() and length.strip().isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise _too_large(parts, int(length))
    chunks, total = [], 0
    while True:
        if time.monotonic() > deadline or expired.is_set():
            raise _late(parts, None)
        chunk = response.read1(65536) if hasattr(response, 'read1') else response.read(65536)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise _too_large(parts, total)
        chunks.append(chunk)
    if expired.is_set():
        raise _late(parts, None)
    return b''.join(chunks)


def _late(parts, timeout) -> EntraTokenError:
    return EntraTokenError('network_error', detail='%s did not answer in time (the timeout option bounds each whole request%s)'
                           % (_host_of(parts), ', %gs' % timeout if timeout else ''))


def _too_large(parts, size) -> EntraTokenError:
    return EntraTokenError('invalid_response', detail='%s sent an answer of more than %d bytes (%d), far more than Entra ID '
                           'ever sends; refused' % (_host_of(parts), MAX_ANSWER_BYTES, size))


def _is_text(value, required=False) -> bool:
    return isinstance(value, str) and (bool(value) or not required)


def _is_seconds(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < 10 ** 9
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 10


def _token_answer_problem(body: dict) -> str | None:
    """Why a 2xx token answer cannot be used (None when it can)."""
    if not _is_text(body.get('access_token'), required=True):
        return 'has no access_token string'
    for name in ('refresh_token', 'id_token', 'client_info', 'scope', 'token_type'):
        if name in body and body[name] is not None and not _is_text(body[name]):
            return 'has a %s that is not a string' % name
    for name in ('expires_in', 'ext_expires_in', 'refresh_in'):
        if name in body and body[name] is not None and not _is_seconds(body[name]):
            return 'has an %s that is not a number of seconds' % name
    if 'id_token' in body and body['id_token'] is not None:
        parts = body['id_token'].split('.')
        if len(parts) < 2:
            return 'has an id_token that is not a JWT'
        try:
            claims = _safe_json.loads_object(base64.urlsafe_b64decode(parts[1] + '=' * (-len(parts[1]) % 4)))
        except (ValueError, TypeError):
            claims = None
        if claims is None:
            return 'has an id_token that is not a JWT'
    if 'client_info' in body and body['client_info']:
        try:
            info = _safe_json.loads_object(base64.urlsafe_b64decode(body['client_info'] + '=' * (-len(body['client_info']) % 4)))
        except (ValueError, TypeError):
            return 'has a client_info that cannot be decoded'
        if info is None or not all(isinstance(info.get(key), str) for key in ('uid', 'utid')):
            return 'has a client_info without uid and utid'
    return None


def _device_code_answer_problem(body: dict) -> str | None:
    for name in ('device_code', 'user_code', 'verification_uri'):
        if not _is_text(body.get(name), required=True):
            return 'has no %s' % name
    for name in ('expires_in', 'interval'):
        if name in body and not _is_seconds(body[name]):
            return 'has an %s that is not a number of seconds' % name
    if 'message' in body and not _is_text(body['message']):
        return 'has a message that is not a string'
    return None


def _json_object(text) -> bool:
    return _safe_json.loads_object(text) is not None


def _is_microsoft_account_realm(realm: dict) -> bool:
    """Entra answers 'Federated' for personal-account domains, federated to login.live.com's rst2.srf."""
    endpoint = urlsplit(str(realm.get('federation_active_auth_url') or ''))
    return (endpoint.hostname or '').endswith('live.com') or endpoint.path.endswith('/rst2.srf') \
        or str(realm.get('domain_name', '')).lower() == 'live.com'


def _soap_reason(text: str) -> str:
    """The fault reason of a WS-Trust answer (AD FS says e.g. 'ID3242: ... could not be authenticated')."""
    match = re.search(r'<(?:\w+:)?Text[^>]*>([^<]{1,300})</(?:\w+:)?Text>', text or '')
    return ': %s' % _short(match.group(1)) if match else ''


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _host_of(parts) -> str:
    return parts.netloc


def _short(text, limit=200) -> str:
    """One line of at most ``limit`` characters, without the quotes and brackets exception texts carry."""
    text = ' '.join(str(text or '').split())
    text = re.sub(r'\s*\(_ssl\.c:\d+\)', '', text)
    return text.strip(' "\'.()[]')[:limit]


def _describe_failure(exc) -> str:
    """A short, secret-free reason for a transport failure (system messages, never bodies)."""
    if isinstance(exc, socket.gaierror):
        return 'the host name cannot be resolved (%s)' % _short(exc.strerror or exc)
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(exc, ConnectionResetError):
        return 'connection reset by the server'
    if isinstance(exc, http.client.RemoteDisconnected):
        return 'the server closed the connection without answering'
    if isinstance(exc, http.client.IncompleteRead):
        return 'the answer was cut off'
    if isinstance(exc, OSError) and exc.strerror:
        return _short(exc.strerror)
    return exc.__class__.__name__
