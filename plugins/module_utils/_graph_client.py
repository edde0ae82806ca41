# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft Graph HTTP client for modules: one exchange, retries, paging.

For internal collection use only. Runs on the managed node with the standard library and
``ansible.module_utils.urls`` only.

Retry policy (Graph's throttling guidance, the Graph SDKs' retry handler):

- 429 and 503 are retried for every method, 504 only for idempotent requests (GET, PUT,
  DELETE, a ``$batch`` of GETs), because a gateway timeout may hide a write that happened;
- the wait is the ``Retry-After`` header (seconds or an HTTP date) when present, otherwise an
  exponential backoff with jitter: ``min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)`` scaled by a
  random factor in [0.5, 1.0] (1-2 s, 2-4 s, 4-8 s, ...);
- at most ``max_retries`` retries per request, and all waits of one client together stay
  within ``max_retry_wait`` seconds: a wait that would cross it is not made and the throttled
  answer is returned (its error says ``retryable: true``);
- a connection refused is retried for every method (nothing was sent), a reset connection or a
  timeout only for idempotent requests; TLS and name resolution failures are not retried.

Every request carries one ``client-request-id`` per client (Graph logs it) and, on retries,
``Retry-Attempt``. Redirects are not followed (the bearer token must not travel to another host).
"""

from __future__ import annotations

import json
import math
import random
import socket
import ssl
import time
import uuid
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, NamedTuple, Optional
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import SSLValidationError, open_url

from ansible_collections.identity.entra.plugins.module_utils._graph_errors import (
    GraphRequestError,
    describe,
    parse_error,
    transport_error,
)

RETRY_STATUSES = (429, 503, 504)
IDEMPOTENT_METHODS = ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS')
BACKOFF_BASE = 2.0
BACKOFF_CAP = 60.0
USER_AGENT = 'identity.entra-graph_request'


class GraphResponse:
    """One HTTP answer: status, headers (lower-case names), raw body, parsed JSON (or None)."""

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = dict((str(k).lower(), v) for k, v in (headers or {}).items())
        self.body = body or b''
        self.url = url
        self._json = None
        self._parsed = False
        self.budget_exhausted = False

    @property
    def ok(self):
        return 200 <= self.status < 400

    @property
    def request_id(self):
        return self.headers.get('request-id')

    def is_json(self):
        return 'json' in self.headers.get('content-type', '').lower()

    def json(self):
        """The parsed body (None when empty or not JSON); GraphRequestError if it claims JSON but is not."""
        if not self._parsed:
            self._parsed = True
            text = self.body.decode('utf-8', 'replace').strip()
            if text and (self.is_json() or text[:1] in '{['):
                try:
                    self._json = json.loads(text)
                except ValueError:
                    if self.is_json():
                        error = transport_error('invalid_response', 'HTTP %s from %s with a body that is not valid JSON: %s'
                                                % (self.status, self.url, text[:120]), True)
                        error['status'] = self.status
                        error['request_id'] = self.request_id
                        raise GraphRequestError(error)
        return self._json

    def text(self):
        return self.body.decode('utf-8', 'replace')

    def error(self):
        """The structured error of this (failed) answer."""
        return parse_error(self.status, self.headers, self.body)


def retry_after(headers, now=None):
    """Seconds the ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    lowered = dict((str(k).lower(), v) for k, v in (headers or {}).items())
    value = lowered.get('retry-after')
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _classify(exc, url):
    """(code, message, retryable, sent) of a transport failure: could the request have reached Graph?"""
    reason = exc.reason if isinstance(exc, URLError) and not isinstance(exc, HTTPError) else exc
    host = url.split('/')[2] if url.count('/') >= 2 else url
    if isinstance(reason, (ssl.SSLError, SSLValidationError)):
        return 'tls_error', 'TLS with %s failed: %s' % (host, reason), False, False
    if isinstance(reason, socket.gaierror):
        return 'name_resolution', 'Cannot resolve %s: %s' % (host, reason), False, False
    if isinstance(reason, ConnectionRefusedError):
        return 'connection_refused', 'Connection to %s refused' % host, True, False
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return 'timeout', '%s did not answer in time (%s)' % (host, reason), True, True
    if isinstance(reason, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, HTTPException)):
        return 'connection_reset', 'Connection to %s was closed without an answer (%s: %s)' % (
            host, type(reason).__name__, reason), True, True
    text = str(reason)
    if 'CERTIFICATE' in text.upper() or 'SSL' in text.upper():
        return 'tls_error', 'TLS with %s failed: %s' % (host, text), False, False
    return 'network_error', 'Request to %s failed: %s: %s' % (host, type(reason).__name__, text), True, True


class GraphClient:
    """Sends Graph requests with a bearer token; counts requests, throttled answers and waits."""

    def __init__(self, target, token, timeout=30, validate_certs=True, ca_path=None, max_retries=5,
                 max_retry_wait=300, sleep=None, rand=None, opener=None):
        self.target = target
        self._token = token
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep or time.sleep
        self._rand = rand or random.random
        self._open = opener or open_url
        self.client_request_id = str(uuid.uuid4())
        self.http_requests = 0
        self.throttled = 0
        self.waited = 0.0
        self.last_request_id = None

    # --- one exchange ---------------------------------------------------------------------
    def send(self, method, url, body=None, headers=None, attempt=0):
        """One HTTP exchange; any HTTP status is a GraphResponse, no answer is a GraphRequestError."""
        sent_headers = {
            'Accept': 'application/json',
            'client-request-id': self.client_request_id,
        }
        sent_headers.update(headers or {})
        sent_headers['Authorization'] = 'Bearer %s' % self._token
        if attempt:
            sent_headers['Retry-Attempt'] = str(attempt)
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode('utf-8')
            elif isinstance(body, bytes):
                data = body
            else:
                data = str(body).encode('utf-8')
            if not any(k.lower() == 'content-type' for k in sent_headers):
                sent_headers['Content-Type'] = 'application/json'
        self.http_requests += 1
        try:
            raw = self._open(url, data=data, headers=sent_headers, method=method, timeout=self.timeout,
                             validate_certs=self.validate_certs, ca_path=self.ca_path, follow_redirects='none',
                             http_agent=USER_AGENT, use_netrc=False, force_basic_auth=False)
            response = GraphResponse(raw.getcode() if hasattr(raw, 'getcode') else raw.status,
                                     raw.headers, raw.read(), url)
        except HTTPError as exc:
            try:
                payload = exc.read() if exc.fp is not None else b''
            except (OSError, HTTPException, ValueError):
                payload = b''
            response = GraphResponse(exc.code, exc.headers, payload, url)
        except (URLError, OSError, HTTPException, ValueError, UrlsConnectionError) as exc:
            code, message, retryable, sent = _classify(exc, url)
            error = transport_error(code, message, retryable)
            error['client_request_id'] = self.client_request_id
            raise GraphRequestError(error, '%s %s: %s' % (method, url, message), sent=sent)
        self.last_request_id = response.request_id or self.last_request_id
        return response

    # --- waits ----------------------------------------------------------------------------
    def backoff(self, attempt):
        """Exponential backoff with jitter for retry number ``attempt`` (0-based)."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
        return ceiling * (0.5 + 0.5 * self._rand())

    def can_wait(self, seconds):
        """Whether a wait of ``seconds`` keeps all waits within max_retry_wait."""
        return self.waited + seconds <= self.max_retry_wait + 1e-9

    def wait(self, seconds):
        self.waited += seconds
        if seconds > 0:
            self._sleep(seconds)

    def delay_for(self, headers, attempt):
        """Retry-After when given, else backoff."""
        seconds = retry_after(headers)
        return self.backoff(attempt) if seconds is None else seconds

    # --- one request with retries ---------------------------------------------------------
    def request(self, method, url, body=None, headers=None, idempotent=None):
        """Send with retries (see the module docstring); returns the last GraphResponse."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                response = self.send(method, url, body, headers, attempt)
            except GraphRequestError as exc:
                retry = exc.error.get('retryable') and (idempotent or not exc.sent)
                if retry and attempt < self.max_retries:
                    delay = self.backoff(attempt)
                    if self.can_wait(delay):
                        self.wait(delay)
                        attempt += 1
                        continue
                raise
            if response.status in RETRY_STATUSES and (idempotent or response.status != 504):
                if attempt < self.max_retries:
                    delay = self.delay_for(response.headers, attempt)
                    if self.can_wait(delay):
                        self.throttled += 1
                        self.wait(delay)
                        attempt += 1
                        continue
                response.budget_exhausted = True
            return response

    # --- paging ---------------------------------------------------------------------------
    def get_pages(self, url, headers=None, max_pages=None):
        """GET ``url`` and follow ``@odata.nextLink`` verbatim (at most ``max_pages`` pages): a ``Paged``.

        Raises GraphRequestError for a page that failed, with ``partial`` holding what came before;
        GraphUrlError for a next link off the Graph host.
        """
        items, pages = [], 0
        first = last = response = None
        next_url = url
        while next_url:
            try:
                response = self.request('GET', next_url, headers=headers)
                if not response.ok:
                    raise GraphRequestError(response.error(), 'GET %s: %s' % (next_url, describe(response.error())))
                body = response.json()
            except GraphRequestError as exc:
                raise GraphRequestError(exc.error, str(exc), sent=exc.sent,
                                        partial=Paged(first, last, items, pages, response)) from None
            pages += 1
            if first is None:
                first = body
            last = body
            if not isinstance(body, dict) or not isinstance(body.get('value'), list):
                break
            items.extend(body['value'])
            link = body.get('@odata.nextLink')
            if not link or (max_pages and pages >= max_pages):
                break
            self.target.check_absolute(link, '@odata.nextLink')
            next_url = link
        return Paged(first, last, items, pages, response)


class Paged(NamedTuple):
    """What ``GraphClient.get_pages`` fetched."""

    first: Any  # parsed body of the first page
    last: Any  # parsed body of the last page fetched (its @odata.nextLink says whether more remain)
    items: list  # the ``value`` items of every page, in order
    pages: int  # pages fetched
    response: Optional[GraphResponse]  # the last answer (None when no page was fetched)
