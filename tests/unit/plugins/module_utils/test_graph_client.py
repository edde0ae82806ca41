# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GraphClient: one exchange, retry and backoff bounds, paging."""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest

from ansible.module_utils.urls import SSLValidationError

from ansible_collections.identity.entra.plugins.module_utils._graph_client import retry_after
from ansible_collections.identity.entra.plugins.module_utils._graph_errors import GraphRequestError
from ansible_collections.identity.entra.plugins.module_utils._graph_url import GraphUrlError

JSON = {'Content-Type': 'application/json'}
USERS = 'https://graph.microsoft.com/v1.0/users'


def throttled(seconds=None, status=429, code='TooManyRequests'):
    headers = dict(JSON)
    if seconds is not None:
        headers['Retry-After'] = str(seconds)
    return (status, headers, {'error': {'code': code, 'message': 'Too many requests.', 'innerError': {
        'date': '2024-05-01T10:00:00', 'request-id': 'r-1', 'client-request-id': 'c-1'}}})


def test_one_exchange_sends_token_and_ids(make_client, fake_graph):
    client = make_client()
    response = client.request('GET', USERS)
    assert response.status == 200 and response.json() == {'ok': True}
    call = fake_graph.calls[0]
    assert call.headers['Authorization'].startswith('Bearer eyJ')
    assert call.headers['client-request-id'] == client.client_request_id
    assert 'Retry-Attempt' not in call.headers
    assert call.kwargs['follow_redirects'] == 'none'
    assert call.kwargs['use_netrc'] is False
    assert call.kwargs['validate_certs'] is True
    assert client.http_requests == 1 and client.throttled == 0
    assert client.last_request_id == response.request_id


def test_json_body_and_content_type(make_client, fake_graph):
    make_client().request('POST', USERS, body={'displayName': 'Ada'})
    call = fake_graph.calls[0]
    assert call.json == {'displayName': 'Ada'}
    assert call.headers['Content-Type'] == 'application/json'
    make_client().request('PATCH', USERS + '/x', body='{"a": 1}', headers={'content-type': 'application/json; charset=utf-8'})
    assert fake_graph.calls[1].data == b'{"a": 1}'
    assert 'Content-Type' not in fake_graph.calls[1].headers


def test_429_with_retry_after_is_waited_out(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(1)]
    client = make_client()
    response = client.request('GET', USERS)
    assert response.status == 200
    assert sleeper.waits == [1.0]
    assert client.throttled == 1 and client.http_requests == 2 and client.waited == 1.0
    assert fake_graph.calls[1].headers['Retry-Attempt'] == '1'
    assert fake_graph.calls[0].headers['client-request-id'] == fake_graph.calls[1].headers['client-request-id']


def test_retry_after_http_date(make_client, fake_graph, sleeper):
    now = 1714557600.0  # a whole second, as HTTP dates have no fractions
    assert retry_after({'Retry-After': email.utils.formatdate(now + 5, usegmt=True)}, now=now) == 5.0
    assert 0.0 < retry_after({'Retry-After': email.utils.formatdate(time.time() + 3600, usegmt=True)}) <= 3600.0
    assert retry_after({'retry-after': '2.5'}) == 2.5
    assert retry_after({'Retry-After': '-3'}) == 0.0
    assert retry_after({'Retry-After': 'soon'}) is None
    assert retry_after({}) is None
    fake_graph.script = [(503, {'Retry-After': email.utils.formatdate(time.time() - 60, usegmt=True)}, None)]
    client = make_client()
    assert client.request('GET', USERS).status == 200
    assert sleeper.waits == [] and client.throttled == 1  # a date in the past: retry at once


def test_backoff_without_retry_after_is_exponential_with_jitter(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(None, 503, 'ServiceUnavailable')] * 8
    client = make_client(max_retries=8, max_retry_wait=10000)
    assert client.request('GET', USERS).status == 200
    assert sleeper.waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert client.throttled == 8


def test_jitter_range(make_client):
    low, high = make_client(rand=lambda: 0.0), make_client(rand=lambda: 0.999999)
    for attempt, ceiling in enumerate((2, 4, 8, 16, 32, 60, 60)):
        assert low.backoff(attempt) == ceiling / 2.0
        assert ceiling / 2.0 < high.backoff(attempt) < ceiling
    real = make_client(rand=None)
    assert all(1.0 <= real.backoff(0) <= 2.0 for _i in range(50))


def test_max_retries_bounds_attempts(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(1)] * 10
    client = make_client(max_retries=3)
    response = client.request('GET', USERS)
    assert response.status == 429 and response.budget_exhausted
    assert client.http_requests == 4 and sleeper.waits == [1.0, 1.0, 1.0] and client.throttled == 3
    assert response.error()['retryable'] is True


def test_max_retry_wait_bounds_total_wait(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(10)] * 10
    client = make_client(max_retries=10, max_retry_wait=25)
    response = client.request('GET', USERS)
    assert response.status == 429
    assert sleeper.waits == [10.0, 10.0]
    assert client.http_requests == 3 and client.waited == 20.0


def test_retry_after_longer_than_budget_is_not_waited(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(120)]
    client = make_client(max_retry_wait=60)
    assert client.request('GET', USERS).status == 429
    assert sleeper.waits == [] and client.throttled == 0


def test_zero_retries(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(1)]
    assert make_client(max_retries=0).request('GET', USERS).status == 429
    assert sleeper.waits == []


def test_504_retried_for_get_not_for_post(make_client, fake_graph, sleeper):
    fake_graph.script = [throttled(1, 504, 'GatewayTimeout')]
    assert make_client().request('GET', USERS).status == 200
    fake_graph.script = [throttled(1, 504, 'GatewayTimeout')]
    assert make_client().request('POST', USERS, body={}).status == 504
    fake_graph.script = [throttled(1, 429), throttled(None, 503)]
    assert make_client().request('POST', USERS, body={}).status == 200
    assert sleeper.waits == [1.0, 1.0, 4.0]  # the 503 is the second retry: 2 * 2^1


def test_other_errors_are_not_retried(make_client, fake_graph, sleeper):
    for status in (400, 401, 403, 404, 409, 500, 502):
        fake_graph.script = [throttled(1, status, 'X')]
        assert make_client().request('GET', USERS).status == status
    assert sleeper.waits == []


@pytest.mark.parametrize('exc, code, retry_get, retry_post', [
    (URLError(ConnectionRefusedError(111, 'Connection refused')), 'connection_refused', True, True),
    (ConnectionResetError(104, 'Connection reset by peer'), 'connection_reset', True, False),
    (RemoteDisconnected('Remote end closed connection without response'), 'connection_reset', True, False),
    (URLError(socket.timeout('timed out')), 'timeout', True, False),
    (TimeoutError('The read operation timed out'), 'timeout', True, False),
    (URLError(ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')), 'tls_error', False, False),
    (URLError(socket.gaierror(-2, 'Name or service not known')), 'name_resolution', False, False),
    (URLError(OSError(101, 'Network is unreachable')), 'network_error', True, False),
    (SSLValidationError('Failed to validate the SSL certificate'), 'tls_error', False, False),
])
def test_transport_errors(make_client, fake_graph, sleeper, exc, code, retry_get, retry_post):
    for method, retried in (('GET', retry_get), ('POST', retry_post)):
        fake_graph.calls, sleeper.waits = [], []
        fake_graph.script = [exc]
        client = make_client()
        if retried:
            assert client.request(method, USERS).status == 200
            assert len(fake_graph.calls) == 2 and sleeper.waits == [2.0] and client.throttled == 0
        else:
            with pytest.raises(GraphRequestError) as info:
                client.request(method, USERS)
            error = info.value.error
            assert error['code'] == code and error['status'] is None
            assert error['client_request_id'] == client.client_request_id
            assert 'graph.microsoft.com' in str(info.value)
            assert len(fake_graph.calls) == 1


def test_transport_retries_exhausted(make_client, fake_graph, sleeper):
    fake_graph.script = [URLError(ConnectionRefusedError(111, 'refused'))] * 3
    with pytest.raises(GraphRequestError) as info:
        make_client(max_retries=2).request('GET', USERS)
    assert info.value.error['code'] == 'connection_refused' and info.value.error['retryable'] is True
    assert sleeper.waits == [2.0, 4.0]


def test_invalid_json_answer(make_client, fake_graph):
    fake_graph.script = [(200, JSON, b'{"value": [{"id": ')]
    response = make_client().request('GET', USERS)
    with pytest.raises(GraphRequestError) as info:
        response.json()
    assert info.value.error['code'] == 'invalid_response' and info.value.error['status'] == 200


def test_text_answer(make_client, fake_graph):
    fake_graph.script = [(200, {'Content-Type': 'text/plain'}, b'2514')]
    response = make_client().request('GET', USERS + '/$count')
    assert response.json() is None and response.text() == '2514'


def test_redirect_is_returned_not_followed(make_client, fake_graph):
    fake_graph.script = [(302, {'Location': 'https://download.example/file'}, None)]
    response = make_client().request('GET', USERS + '/x/photo/$value')
    assert response.status == 302 and response.ok and response.headers['location'] == 'https://download.example/file'


# --- paging ------------------------------------------------------------------------------
def _pages(count, per_page, link='https://graph.microsoft.com/v1.0/users?$top=%d&$skiptoken=RFNwdAIAAQAAA%%3d%%3d%d'):
    pages = []
    for number in range(count):
        body = {'@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
                'value': [{'id': 'u%d-%d' % (number, i)} for i in range(per_page)]}
        if number == 0:
            body['@odata.count'] = count * per_page
        if number < count - 1:
            body['@odata.nextLink'] = link % (per_page, number + 1)
        pages.append((200, JSON, body))
    return pages


def test_paging_follows_next_link_verbatim(make_client, fake_graph):
    fake_graph.script = _pages(3, 999)
    client = make_client()
    paged = client.get_pages(USERS + '?$top=999')
    assert paged.pages == 3 and len(paged.items) == 2997 and client.http_requests == 3
    assert paged.items[0]['id'] == 'u0-0' and paged.items[-1]['id'] == 'u2-998'
    assert [c.url for c in fake_graph.calls] == [
        USERS + '?$top=999',
        'https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAA%3d%3d1',
        'https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAA%3d%3d2',
    ]
    assert paged.first['@odata.count'] == 2997 and '@odata.nextLink' not in paged.last and paged.response.status == 200


def test_paging_keeps_headers_on_every_page(make_client, fake_graph):
    fake_graph.script = _pages(2, 1)
    make_client().get_pages(USERS, headers={'ConsistencyLevel': 'eventual'})
    assert all(c.headers['ConsistencyLevel'] == 'eventual' for c in fake_graph.calls)


def test_max_pages(make_client, fake_graph):
    fake_graph.script = _pages(5, 10)
    paged = make_client().get_pages(USERS, max_pages=2)
    assert paged.pages == 2 and len(paged.items) == 20 and len(fake_graph.calls) == 2
    assert paged.last['@odata.nextLink'].endswith('3d2')


def test_paging_retries_a_throttled_page(make_client, fake_graph, sleeper):
    pages = _pages(3, 2)
    fake_graph.script = [pages[0], throttled(2), pages[1], pages[2]]
    client = make_client()
    paged = client.get_pages(USERS)
    assert paged.pages == 3 and len(paged.items) == 6 and client.http_requests == 4 and client.throttled == 1
    assert sleeper.waits == [2.0]


def test_paging_refuses_a_next_link_to_another_host(make_client, fake_graph):
    fake_graph.script = _pages(2, 1, link='https://evil.example/v1.0/users?$top=%d&n=%d')
    with pytest.raises(GraphUrlError):
        make_client().get_pages(USERS)
    assert len(fake_graph.calls) == 1


def test_paging_failure_keeps_partial_counts(make_client, fake_graph, graph_error):
    pages = _pages(3, 2)
    fake_graph.script = [pages[0], (404, JSON, graph_error('Request_ResourceNotFound', 'gone'))]
    with pytest.raises(GraphRequestError) as info:
        make_client().get_pages(USERS)
    assert info.value.error['code'] == 'Request_ResourceNotFound'
    assert info.value.partial.pages == 1 and len(info.value.partial.items) == 2


def test_paging_connection_lost_on_a_later_page_keeps_partial_counts(make_client, fake_graph):
    pages = _pages(3, 2)
    fake_graph.script = [pages[0], ConnectionResetError(104, 'Connection reset by peer')]
    with pytest.raises(GraphRequestError) as info:
        make_client(max_retries=0).get_pages(USERS)
    assert info.value.error['code'] == 'connection_reset' and info.value.sent is True
    assert info.value.partial.pages == 1 and [i['id'] for i in info.value.partial.items] == ['u0-0', 'u0-1']


def test_refused_connection_was_not_sent(make_client, fake_graph):
    fake_graph.script = [URLError(ConnectionRefusedError(111, 'Connection refused'))]
    with pytest.raises(GraphRequestError) as info:
        make_client(max_retries=0).request('POST', USERS, body={})
    assert info.value.sent is False and info.value.partial is None and info.value.responses is None


def test_single_entity_is_one_page(make_client, fake_graph):
    fake_graph.script = [(200, JSON, {'id': 'me'})]
    paged = make_client().get_pages('https://graph.microsoft.com/v1.0/me')
    assert paged.first == {'id': 'me'} and paged.items == [] and paged.pages == 1
