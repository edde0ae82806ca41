# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Graph error bodies, as Graph documents and answers them, into one structured dict."""

from __future__ import annotations

import json

import pytest

from ansible_collections.identity.entra.plugins.module_utils._graph_errors import describe, parse_error, transport_error

HEADERS = {'request-id': 'b2c3d4e5-0000-4000-8000-000000000001', 'client-request-id': 'c3d4e5f6-0000-4000-8000-000000000002',
           'Content-Type': 'application/json'}

# Bodies as Graph answers them (errors, throttling and json-batching pages of the Graph docs).
NOT_FOUND = {"error": {"code": "Request_ResourceNotFound",
                       "message": "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.",
                       "innerError": {"date": "2024-05-01T10:00:00", "request-id": "7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918",
                                      "client-request-id": "11111111-2222-4333-8444-555555555555"}}}
EXPIRED = {"error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation failed, the token is expired.",
                     "innerError": {"date": "2024-05-01T10:00:01", "request-id": "a1", "client-request-id": "a2"}}}
DENIED = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.",
                    "innerError": {"date": "2024-05-01T10:00:02", "request-id": "d1", "client-request-id": "d2"}}}
THROTTLED = {"error": {"code": "TooManyRequests",
                       "innerError": {"code": "429", "date": "2024-05-01T10:00:03", "message": "Please retry after",
                                      "request-id": "t1", "status": "429"},
                       "message": "Please retry again later."}}
NESTED = {"error": {"code": "badRequest", "message": "Uploaded fragment overlaps with existing data.",
                    "innerError": {"code": "invalidRange", "request-id": "n1", "date": "2024-05-01T10:00:04",
                                   "innererror": {"code": "fragmentOverlap"}}}}
DETAILS = {"error": {"code": "BadRequest", "message": "Invalid request.",
                     "details": [{"code": "InvalidValue", "message": "Property mailNickname is invalid.", "target": "mailNickname"}],
                     "innerError": {"request-id": "x1", "date": "2024-05-01T10:00:05"}}}
LOCALIZED = {"error": {"code": "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                       "message": {"lang": "en-US", "value": "The expression is not valid."}}}


@pytest.mark.parametrize('status, body, code, inner, request_id, retryable', [
    (404, NOT_FOUND, 'Request_ResourceNotFound', [], '7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918', False),
    (401, EXPIRED, 'InvalidAuthenticationToken', [], 'a1', False),
    (403, DENIED, 'Authorization_RequestDenied', [], 'd1', False),
    (429, THROTTLED, 'TooManyRequests', ['429'], 't1', True),
    (400, NESTED, 'badRequest', ['invalidRange', 'fragmentOverlap'], 'n1', False),
    (400, DETAILS, 'BadRequest', [], 'x1', False),
    (400, LOCALIZED, '-1, Microsoft.SharePoint.Client.InvalidClientQueryException', [], None, False),
])
def test_graph_bodies(status, body, code, inner, request_id, retryable):
    for raw in (body, json.dumps(body), json.dumps(body).encode('utf-8')):
        error = parse_error(status, {}, raw)
        assert error['code'] == code
        assert error['status'] == status
        assert error['inner_codes'] == inner
        assert error['request_id'] == request_id
        assert error['retryable'] is retryable
        assert error['message']


def test_ids_and_date_come_from_inner_error_first():
    error = parse_error(404, HEADERS, NOT_FOUND)
    assert error['request_id'] == '7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918'
    assert error['client_request_id'] == '11111111-2222-4333-8444-555555555555'
    assert error['date'] == '2024-05-01T10:00:00'
    assert error['message'].startswith("Resource 'nobody@contoso.com'")


def test_ids_fall_back_to_headers():
    error = parse_error(403, HEADERS, {"error": {"code": "Forbidden", "message": "No."}})
    assert error['request_id'] == HEADERS['request-id']
    assert error['client_request_id'] == HEADERS['client-request-id']
    assert error['date'] is None


def test_details_are_kept():
    assert parse_error(400, {}, DETAILS)['details'] == [
        {'code': 'InvalidValue', 'message': 'Property mailNickname is invalid.', 'target': 'mailNickname'}]


@pytest.mark.parametrize('status, body, code, retryable', [
    (502, b'<html><body><h1>502 Bad Gateway</h1></body></html>', 'http_502', True),
    (503, b'', 'http_503', True),
    (500, b'{"value": []}', 'http_500', True),
    (400, b'{"error": "invalid_request"}', 'http_400', False),
    (404, None, 'http_404', False),
])
def test_non_graph_bodies(status, body, code, retryable):
    error = parse_error(status, {}, body)
    assert error['code'] == code and error['retryable'] is retryable and error['status'] == status
    assert str(status) in error['message']


def test_an_answer_without_a_status_is_an_invalid_response_not_http_none():
    """A $batch item with no status (a broken answer): a code the user can branch on, whatever the body."""
    for body in (b'{"error": {"code": "", "message": "x"}}', b'{"error": {"message": "x"}}', b'<html/>', None):
        assert parse_error(None, {}, body)['code'] == 'invalid_response', body


def test_long_messages_are_clipped():
    body = {"error": {"code": "BadRequest", "message": "x" * 5000}}
    assert len(parse_error(400, {}, body)['message']) < 600


def test_describe():
    text = describe(parse_error(400, {}, NESTED))
    assert text == 'HTTP 400 badRequest (invalidRange, fragmentOverlap): Uploaded fragment overlaps with existing data. [request-id n1]'
    assert describe(transport_error('timeout', 'graph.microsoft.com did not answer in time', True)) == \
        'timeout: graph.microsoft.com did not answer in time'


def test_transport_error_shape():
    error = transport_error('connection_refused', 'refused', True)
    assert set(error) == {'code', 'message', 'status', 'request_id', 'client_request_id', 'date', 'retryable', 'inner_codes'}
    assert error['status'] is None


def test_a_refused_token_says_how_to_get_a_new_one():
    body = {'error': {'code': 'InvalidAuthenticationToken', 'message': 'Lifetime validation failed, the token is expired.',
                      'innerError': {'request-id': 'r1', 'date': '2024-05-01T10:00:00'}}}
    error = parse_error(401, {}, body)
    assert error['code'] == 'InvalidAuthenticationToken' and error['status'] == 401 and not error['retryable']
    assert 'force_refresh: true' in error['mitigation'] and 'identity.entra.entra_token' in error['mitigation']
    line = describe(error)
    assert line.startswith('HTTP 401 InvalidAuthenticationToken: Lifetime validation failed, the token is expired. [request-id r1]')
    assert line.endswith(error['mitigation'])


@pytest.mark.parametrize('status, code', [(401, 'Unauthorized'), (401, 'NoPermissionsInAccessToken'),
                                          (403, 'InvalidAuthenticationToken'), (403, 'Authorization_RequestDenied')])
def test_other_refusals_get_no_token_advice(status, code):
    error = parse_error(status, {}, {'error': {'code': code, 'message': 'x'}})
    assert 'mitigation' not in error and 'force_refresh' not in describe(error)
