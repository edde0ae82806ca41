# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft Graph errors as one structured dict.

For internal collection use only. Graph answers errors as
``{"error": {"code", "message", "innerError": {"request-id", "date", "client-request-id", "code"?,
"innerError"?}, "details"?}}``; callers must branch on ``code`` (and the nested inner codes),
never on ``message``. Every failure of the Graph client, whether Graph answered or the
connection failed, becomes::

    {"code", "message", "status", "request_id", "client_request_id", "date", "retryable",
     "inner_codes", "details"?, "claims_challenge"?, "mitigation"?}

``claims_challenge`` (HTTP 401 and 403 only) tells whether ``WWW-Authenticate`` asked for claims.
``mitigation`` says what to do where the code alone leaves the user guessing (a refused token).

Transport failures use snake_case codes that Graph never answers (``connection_refused``,
``connection_reset``, ``timeout``, ``tls_error``, ``name_resolution``, ``network_error``,
``invalid_response``, ``refused_url``) and ``status: null``.
"""

from __future__ import annotations

import json

# Statuses after which the same request may succeed later (the client retries 429, 503, 504 itself).
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
_MAX_MESSAGE = 500
# Graph's code for a token it does not accept (expired, revoked, wrong audience or signature): HTTP 401.
TOKEN_REFUSED = 'InvalidAuthenticationToken'
TOKEN_REFUSED_MITIGATION = (
    'Graph refused the access token. Get a new one with identity.entra.entra_token and force_refresh: true (without it, '
    'a cached token that still looks valid is served again), then repeat the request; the identity.entra.graph role '
    'does this once by itself. If a fresh token is refused too, check that it is for the Graph of this cloud.')
# A 401/403 whose WWW-Authenticate says error="insufficient_claims": Continuous Access Evaluation revoked the session
# (password reset, account disabled, a new location) or Conditional Access asks for more than the token shows.
CLAIMS_CHALLENGE_MITIGATION = (
    'Graph sent a claims challenge (insufficient_claims): Continuous Access Evaluation ended this sign-in, or Conditional '
    'Access asks for more than this token shows. Get a new token with identity.entra.entra_token and force_refresh: true '
    '(the identity.entra.graph role does this once by itself); when Entra refuses that refresh, its error says how to sign '
    'in again (a user: ansible-playbook identity.entra.sign_in). If a fresh token is refused too, a Conditional Access '
    'policy asks for what this sign-in cannot give (MFA, a compliant device, a trusted location): ask an administrator of the tenant.')


class GraphRequestError(Exception):
    """A failure with its structured ``error`` dict (see the module docstring).

    ``sent``: whether the request may have reached Graph (False: nothing was sent, so sending
    it again is safe whatever the method). ``partial``: when paging, the ``Paged`` result of the
    pages fetched before the failure. ``responses``: when batching, one response per request
    (those that did not get an answer carry this error).
    """

    def __init__(self, error, msg=None, sent=True, partial=None, responses=None):
        self.error = error
        self.sent = sent
        self.partial = partial
        self.responses = responses
        super().__init__(msg or describe(error))


def _lower_headers(headers):
    return dict((str(k).lower(), v) for k, v in (headers or {}).items())


def _text(body):
    if body is None:
        return ''
    if isinstance(body, bytes):
        return body.decode('utf-8', 'replace')
    if isinstance(body, str):
        return body
    return json.dumps(body)


def _graph_error(body):
    """The ``error`` object of a Graph error body (bytes, text or parsed), or None."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(_text(body))
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get('error'), dict):
        return body['error']
    return None


def _inner(obj):
    """The inner error object Graph nests under ``innerError`` (or ``innererror``)."""
    for key in ('innerError', 'innererror', 'InnerError'):
        value = obj.get(key)
        if isinstance(value, dict):
            return value
    return None


def parse_error(status, headers=None, body=None):
    """The structured error of an HTTP answer with ``status`` >= 400 (any body: Graph's, HTML, empty)."""
    headers = _lower_headers(headers)
    error = {
        'code': None,
        'message': None,
        'status': status,
        'request_id': None,
        'client_request_id': None,
        'date': None,
        'retryable': status in RETRYABLE_STATUSES,
        'inner_codes': [],
    }
    graph = _graph_error(body)
    if graph is None:
        text = ' '.join(_text(body).split())
        error['request_id'] = headers.get('request-id')
        error['client_request_id'] = headers.get('client-request-id')
        error['code'] = 'http_%s' % status if status is not None else 'invalid_response'
        error['message'] = ('HTTP %s with a body that is not a Graph error: %s' % (status, text[:200])) if text \
            else 'HTTP %s with an empty body' % status
        return error
    # Some workloads answer "code": "" (the json-batching docs show one); that is no code to branch on.
    error['code'] = graph.get('code') if isinstance(graph.get('code'), str) and graph.get('code').strip() else None
    message = graph.get('message')
    if isinstance(message, dict):  # some older workloads nest {"lang", "value"}
        message = message.get('value')
    error['message'] = _clip(message if isinstance(message, str) else '')
    inner, depth = _inner(graph), 0
    while isinstance(inner, dict) and depth < 10:
        for src, dst in (('request-id', 'request_id'), ('client-request-id', 'client_request_id'), ('date', 'date')):
            if inner.get(src) and not error.get(dst):
                error[dst] = inner[src]
        code = inner.get('code')
        if isinstance(code, str) and code:
            error['inner_codes'].append(code)
        inner, depth = _inner(inner), depth + 1
    # innerError speaks for the failed request itself (in a batch, the inner headers carry no ids).
    error['request_id'] = error['request_id'] or headers.get('request-id')
    error['client_request_id'] = error['client_request_id'] or headers.get('client-request-id')
    details = graph.get('details')
    if isinstance(details, list) and details:
        error['details'] = [dict((k, d.get(k)) for k in ('code', 'message', 'target') if k in d)
                            for d in details if isinstance(d, dict)]
    if error['code'] is None:
        error['code'] = 'http_%s' % status if status is not None else 'invalid_response'
    if status in (401, 403):
        error['claims_challenge'] = 'insufficient_claims' in str(headers.get('www-authenticate') or '')
    if error.get('claims_challenge'):
        error['mitigation'] = CLAIMS_CHALLENGE_MITIGATION
    elif status == 401 and error['code'] == TOKEN_REFUSED:
        error['mitigation'] = TOKEN_REFUSED_MITIGATION
    return error


def transport_error(code, message, retryable):
    """The structured error of a request that got no HTTP answer."""
    return {'code': code, 'message': _clip(message), 'status': None, 'request_id': None, 'client_request_id': None,
            'date': None, 'retryable': retryable, 'inner_codes': []}


def describe(error):
    """One line for ``msg``: status, code (with inner codes), message, the request id and what to do."""
    parts = []
    if error.get('status') is not None:
        parts.append('HTTP %s' % error['status'])
    code = error.get('code') or 'error'
    if error.get('inner_codes'):
        code += ' (%s)' % ', '.join(error['inner_codes'])
    parts.append(code)
    text = ' '.join(parts)
    if error.get('message'):
        text += ': %s' % error['message']
    if error.get('request_id'):
        text += ' [request-id %s]' % error['request_id']
    if error.get('mitigation'):
        text += ' %s' % error['mitigation']
    return text


def _clip(text):
    """``text`` on one line (services behind Graph put indented JSON with CR LF into messages), at most _MAX_MESSAGE long."""
    text = ' '.join((text or '').split())
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + '...'
