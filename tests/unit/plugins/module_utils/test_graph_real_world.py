# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Microsoft Graph answers, as Microsoft Learn documents them or as users pasted them in public issues.

Each fixture names its source. Only the HTTP status, headers and JSON are quoted; ids that the source
redacted (``xxxxxxxx-...``) stay redacted. The whole module path runs (``_graph_task.run`` with the real
GraphClient, BatchRunner and error parsing); only the socket is replaced by ``fake_graph``.
"""

from __future__ import annotations

import base64
import json

import pytest


TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzY3AiOiJVc2VyLlJlYWQiLCJpZHR5cCI6InVzZXIifQ.cmVhbC13b3JsZC1zaWc'
APP_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJpZHR5cCI6ImFwcCIsInJvbGVzIjpbIlVzZXIuUmVhZC5BbGwiXX0.YXBwLXNpZw'
JSON = {'Content-Type': 'application/json'}
ODATA_JSON = {'Content-Type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8'}

# --- error answers -------------------------------------------------------------------------------

# https://github.com/microsoftgraph/python-sample-auth/issues/12 (innerError without client-request-id)
DENIED = (403, JSON, {'error': {'code': 'Authorization_RequestDenied', 'message': 'Insufficient privileges to complete the operation.',
                                'innerError': {'request-id': '15038357-2dee-45b7-9d84-a3adae7b7c47', 'date': '2018-12-12T21:43:28'}}})
# https://github.com/besscroft/diyfile/issues/1
EXPIRED = (401, JSON, {'error': {'code': 'InvalidAuthenticationToken', 'message': 'Access token has expired or is not yet valid.',
                                 'innerError': {'date': '2023-02-20T05:06:48', 'request-id': 'b04ace1e-13a0-4940-b489-f86dcca10985',
                                                'client-request-id': 'b04ace1e-13a0-4940-b489-f86dcca10985'}}})
# https://github.com/microsoftgraph/python-sample-auth/issues/10
COMPACT_TOKEN = (401, JSON, {'error': {'code': 'InvalidAuthenticationToken',
                                       'message': 'CompactToken validation failed with reason code: 80049228.',
                                       'innerError': {'request-id': 'c2920885-4c71-4dea-bee7-dbe21c52ec1e', 'date': '2018-08-02T21:52:02'}}})
# Message: https://github.com/s1t5/mail-archiver/issues/267 and
# https://github.com/microsoftgraph/microsoft-graph-explorer/issues/172 (the issues quote the message only)
LIFETIME = (401, JSON, {'error': {'code': 'InvalidAuthenticationToken', 'message': 'Lifetime validation failed, the token is expired.'}})
# Message: https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/7618
NOT_FOUND = (404, JSON, {'error': {'code': 'Request_ResourceNotFound',
                                   'message': 'Resource does not exist or one of its queried reference-property objects are not present.'}})
# https://github.com/microsoftgraph/msgraph-sdk-php/issues/1163 (code and message; an app-only token asked for /me)
ME_APP_ONLY = (400, JSON, {'error': {'code': 'BadRequest', 'message': '/me request is only valid with delegated authentication flow.'}})
# https://github.com/microsoft/MHA/issues/77 (Outlook errors come without innerError)
ITEM_NOT_FOUND = (404, JSON, {'error': {'code': 'ErrorItemNotFound', 'message': (
    'The specified object was not found in the store., The process failed to get the correct properties.')}})
# https://learn.microsoft.com/en-us/graph/errors (concepts/errors.md: the example body, basic codes itemNotFound,
# accessDenied, serviceNotAvailable "There may be a Retry-After header")
ERRORS_DOC_EXAMPLE = (416, JSON, {'error': {'code': 'invalidRange', 'message': 'Uploaded fragment overlaps with existing data.',
                                            'innerError': {'request-id': 'request-id', 'date': 'date-time'}}})
# https://github.com/OneDrive/onedrive-api-docs/issues/1307 (429 without Retry-After, inner code throttledRequest)
ACTIVITY_LIMIT_NO_RETRY_AFTER = (429, {'Content-Type': 'application/json', 'request-id': 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx',
                                       'client-request-id': 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'},
                                 {'error': {'code': 'activityLimitReached', 'message': 'The request has been throttled',
                                            'innerError': {'code': 'throttledRequest', 'date': '2020-07-01T11:08:23',
                                                           'request-id': 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'}}})
# https://github.com/OneDrive/onedrive-api-docs/issues/744 (429 with Retry-After: 120)
ACTIVITY_LIMIT_120 = (429, {'Content-Type': 'application/json', 'Retry-After': '120',
                            'request-id': '37dc824c-f890-44d2-99a5-4fe5e4b74e8e'},
                      {'error': {'code': 'activityLimitReached', 'message': 'The request has been throttled',
                                 'innerError': {'request-id': '37dc824c-f890-44d2-99a5-4fe5e4b74e8e', 'date': '2018-03-20T04:06:44'}}})
# https://github.com/OneDrive/onedrive-api-docs/issues/843 (lower-case innererror, no ids at all)
ACTIVITY_LIMIT_LOWER = (429, JSON, {'error': {'code': 'activityLimitReached', 'innererror': {'code': 'throttledRequest'},
                                              'message': 'The request has been throttled'}})
# https://github.com/magodo/terraform-provider-outlook/issues/21 (Outlook mailbox concurrency, no innerError)
MAILBOX_CONCURRENCY = (429, JSON, {'error': {'code': 'ApplicationThrottled', 'message': 'Application is over its MailboxConcurrency limit.'}})
# https://learn.microsoft.com/en-us/graph/throttling (sample response; fractional Retry-After)
THROTTLED_SAMPLE = (429, {'Content-Type': 'application/json', 'Retry-After': '2.128'},
                    {'error': {'code': 'TooManyRequests', 'innerError': {
                        'code': '429', 'date': '2020-08-18T12:51:51', 'message': 'Please retry after',
                        'request-id': '94fb3b52-452a-4535-a601-69e0a90e3aa2', 'status': '429'}, 'message': 'Please retry again later.'}})
# Code and meaning: https://learn.microsoft.com/en-us/graph/errors ("serviceNotAvailable ... There may be a Retry-After header")
SERVICE_NOT_AVAILABLE = (503, {'Content-Type': 'application/json', 'Retry-After': '3'},
                         {'error': {'code': 'serviceNotAvailable', 'message': 'The service is not available. Try the request again after a delay.'}})
# A gateway's HTML page (https://github.com/chubin/wttr.in/issues/25); Graph says 504 comes from a proxy
# (https://learn.microsoft.com/en-us/graph/errors), so the body need not be Graph's JSON.
GATEWAY_TIMEOUT_HTML = (504, {'Content-Type': 'text/html'}, (
    b'<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body bgcolor="white">\r\n'
    b'<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx/1.2.6</center>\r\n</body>\r\n</html>\r\n'))
# https://learn.microsoft.com/en-us/graph/aad-advanced-queries ($search without ConsistencyLevel)
SEARCH_NEEDS_EVENTUAL = (400, JSON, {'error': {
    'code': 'Request_UnsupportedQuery',
    'message': "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    'innerError': {'date': '2021-05-27T14:26:47', 'request-id': '9b600954-ba11-4899-8ce9-6abad341f299',
                   'client-request-id': '7964ef27-13a3-6ca4-ed7b-73c271110867'}}})
# https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/2716 (/users/$count)
COUNT_NOT_SUPPORTED = (400, JSON, {'error': {'code': 'Request_BadRequest', 'message': '$count is not currently supported.',
                                             'innerError': {'date': '2021-11-29T20:44:59', 'request-id': '641ded75-e733-4d7d-a1ee-5291ad90b7da',
                                                            'client-request-id': '02d96d92-a91b-4eee-5cdd-6e63587fff8d'}}})
# Intune behind Graph nests its own JSON, with CR LF, in "message":
# https://github.com/smcallister594/scotscottmca (blog post "Hitting the max application limit in Intune", 2022-09-01)
INTUNE_NESTED = (400, JSON, {'error': {
    'code': 'BadRequest',
    'message': ('{\r\n  "_version": 3,\r\n  "Message": "New apps may not be created at this time. - Operation ID (for customer support): '
                '00000000-0000-0000-0000-000000000000 - Activity ID: ca6749a9-93ac-454a-a970-5c8a90978635 - Url: '
                'https://fef.msub06.manage.microsoft.com/AppLifecycle_2208/StatelessAppMetadataFEService/deviceAppManagement/mobileApps'
                '?api-version=5022-07-06",\r\n  "CustomApiErrorPhrase": "",\r\n  "RetryAfter": null,\r\n  "ErrorSourceService": "",'
                '\r\n  "HttpHeaders": "{}"\r\n}'),
    'innerError': {'date': '2022-08-30T17:17:03', 'request-id': 'ca6749a9-93ac-454a-a970-5c8a90978635',
                   'client-request-id': 'ca6749a9-93ac-454a-a970-5c8a90978635'}}})
# Header: https://learn.microsoft.com/entra/identity-platform/claims-challenge (401 with a claims challenge);
# body: https://github.com/microsoftgraph/msgraph-sdk-powershell/issues/1741 (the CAE message Graph answers)
CLAIMS_CHALLENGE = (401, {'Content-Type': 'application/json', 'WWW-Authenticate': (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="')},
    {'error': {'code': 'InvalidAuthenticationToken', 'message': (
        'Continuous access evaluation resulted in claims challenge with result: InteractionRequired and code: '
        'TokenIssuedBeforeRevocationTimestamp')}})

# --- successful answers --------------------------------------------------------------------------

# https://learn.microsoft.com/en-us/graph/delta-query-users (initial, nextLink and final nextLink responses, trimmed to two items)
DELTA_PAGES = [
    (200, JSON, {'@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users(displayName,givenName,surname)',
                 '@odata.nextLink': ('https://graph.microsoft.com/v1.0/users/delta?$skiptoken=oEBwdSP6uehIAxQOWq_3Ksh_TLol6KIm3stvdc6h'
                                     'GhZRi1hQ7Spe__dpvm3U4zReE4CYXC2zOtaKdi7KHlUtC2CbRiBIUwOxPKLa'),
                 'value': [{'displayName': 'Cameron White', 'givenName': 'Cameron', 'surname': 'White',
                            'id': 'ffff7b1a-13b6-477b-8c0c-380905cd99f7'},
                           {'id': '86462606-fde0-4fc4-9e0c-a20eb73e54c6', '@removed': {'reason': 'deleted'}}]}),
    (200, JSON, {'@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
                 '@odata.nextLink': ('https://graph.microsoft.com/v1.0/users/delta?$skiptoken=pqwSUjGYvb3jQpbwVAwEL7yuI3dU1LecfkkfLPtnIjtQ5'
                                     'LOhVoS7qQG_wdVCHHlbQpga7'),
                 'value': [{'displayName': 'Mallory Cortez', 'givenName': 'Mallory', 'surname': 'Cortez',
                            'id': 'd8c37826-ffff-4cae-b348-e2725b1e814b'}]}),
    (200, JSON, {'@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
                 '@odata.deltaLink': ('https://graph.microsoft.com/v1.0/users/delta?$deltatoken=oEcOySpF_hWYmTIUZBOIfPzcwisr_rPe8o9M54L45q'
                                      'EXQGmvQC6T2dbL-9O7nSU-njKhFiGlAZqewNAThmCVnNxqPu5gOBegrm1CaVZ-ZtFZ2tPOAO98OD9y0ao460'),
                 'value': [{'displayName': 'Lidia Holloway', 'givenName': 'Lidia', 'surname': 'Holloway',
                            'id': '25dcffff-959e-4ece-9973-e5d9b800e8cc'}]}),
]

# https://learn.microsoft.com/en-us/graph/json-batching (example JSON batch response: ids 1-5, a 403 whose code is "",
# a directoryRole with @odata.type, @odata.count, and a nextLink with $skiptoken inside an inner body)
BATCH_DOC_ANSWERS = {
    '1': {'id': '1', 'status': 200, 'headers': {'Cache-Control': 'no-cache', 'x-ms-resource-unit': '1', 'OData-Version': '4.0',
                                                'Content-Type': ODATA_JSON['Content-Type']},
          'body': {'@odata.context': 'https://graph.microsoft.com/beta/$metadata#directoryObjects',
                   '@odata.nextLink': ('https://graph.microsoft.com/beta/me/memberOf?$top=1&$skiptoken=RFNwdAoAAQAAAAAAAAAAFAAAAI45VMy0CO9Ei'
                                       '1L3Lr1q95UBAAAAAAAAAAAAAAAAAAAXMS4yLjg0MC4xMTM1NTYuMS40LjIzMzEGAAAAAAABURXWGePFEEGbudEn3SOTuQEDAQAAAQAAAAA'),
                   'value': [{'@odata.type': '#microsoft.graph.directoryRole', 'id': '21004afc-7bb2-4fe6-a1e1-074ebd3e52c1',
                              'deletedDateTime': None, 'displayName': 'User Administrator',
                              'roleTemplateId': 'fe930be7-5e62-47db-91af-98c3a49a38b1'}]}},
    '2': {'id': '2', 'status': 403, 'headers': {'Cache-Control': 'no-cache', 'X-ProxyCluster': 'wus-001.tasks.osi.office.net',
                                                'Content-Type': 'application/json'},
          'body': {'error': {'code': '', 'message': 'You do not have the required permissions to access this item.',
                             'innerError': {'date': '2025-02-13T10:17:05', 'request-id': '93b6f17e-c05d-4f45-ad2a-6665c708d8a0',
                                            'client-request-id': 'e70c5c1b-8b47-68c0-3171-3d22f5e0bd54'}}}},
    '3': {'id': '3', 'status': 403, 'headers': {'Cache-Control': 'no-cache', 'x-ms-resource-unit': '1', 'Content-Type': 'application/json'},
          'body': {'error': {'code': 'Authorization_RequestDenied', 'message': 'Insufficient privileges to complete the operation.',
                             'innerError': {'date': '2025-02-13T10:17:06', 'request-id': '93b6f17e-c05d-4f45-ad2a-6665c708d8a0',
                                            'client-request-id': 'e70c5c1b-8b47-68c0-3171-3d22f5e0bd54'}}}},
    '4': {'id': '4', 'status': 405, 'headers': {'Cache-Control': 'no-cache', 'x-ms-resource-unit': '1', 'Content-Type': 'application/json'},
          'body': {'error': {'code': 'Request_BadRequest', 'message': 'Specified HTTP method is not allowed for the request target.',
                             'innerError': {'date': '2025-02-13T10:21:18', 'request-id': '3a3b1bf7-3596-4493-8264-de81e028071f',
                                            'client-request-id': 'e5f9a304-2796-b7e8-ccce-dd989953ebc4'}}}},
    '5': {'id': '5', 'status': 200, 'headers': {'Cache-Control': 'no-cache', 'x-ms-resource-unit': '1', 'OData-Version': '4.0',
                                                'Content-Type': ODATA_JSON['Content-Type']},
          'body': {'@odata.context': 'https://graph.microsoft.com/beta/$metadata#users(id,displayName,userPrincipalName)',
                   '@odata.count': 36,
                   'value': [{'id': '10a1d484-cd1a-4162-a5a4-832370bac356', 'displayName': 'Lynne Robbins',
                              'userPrincipalName': 'LynneR@contoso.com'}]}},
}
BATCH_DOC_REQUESTS = [
    {'id': '1', 'path': '/me/memberOf'},
    {'id': '2', 'path': '/me/planner/tasks'},
    {'id': '3', 'method': 'DELETE', 'path': '/groups/0e226165-c685-41ce-8bfc-df8360ab325d'},
    {'id': '4', 'method': 'POST', 'path': '/users/161ab652-cdbc-490d-82a4-0ada1f0db247/getPasswordSingleSignOnCredentials', 'body': {}},
    {'id': '5', 'path': '/users', 'query': {'$select': 'id,displayName,userPrincipalName', '$filter': 'city eq null', '$count': 'true'},
     'headers': {'ConsistencyLevel': 'eventual'}},
]


@pytest.fixture
def run(run_task):
    def go(**kwargs):
        result = run_task(kwargs.pop('token', TOKEN), **kwargs)
        text = json.dumps(result)
        assert TOKEN not in text and APP_TOKEN not in text
        for key in ('msg',):
            if key in result:
                assert '\n' not in result[key] and '\r' not in result[key], result[key]
        return result
    return go


def one_line(text):
    return '\n' not in text and '\r' not in text


# --- errors: the kind, the ids, no retry where none helps ------------------------------------------

@pytest.mark.parametrize('answer, code, inner, request_id', [
    (DENIED, 'Authorization_RequestDenied', [], '15038357-2dee-45b7-9d84-a3adae7b7c47'),
    (EXPIRED, 'InvalidAuthenticationToken', [], 'b04ace1e-13a0-4940-b489-f86dcca10985'),
    (COMPACT_TOKEN, 'InvalidAuthenticationToken', [], 'c2920885-4c71-4dea-bee7-dbe21c52ec1e'),
    (LIFETIME, 'InvalidAuthenticationToken', [], 'from-header'),
    (NOT_FOUND, 'Request_ResourceNotFound', [], 'from-header'),
    (ITEM_NOT_FOUND, 'ErrorItemNotFound', [], 'from-header'),
    (ERRORS_DOC_EXAMPLE, 'invalidRange', [], 'request-id'),
    (SEARCH_NEEDS_EVENTUAL, 'Request_UnsupportedQuery', [], '9b600954-ba11-4899-8ce9-6abad341f299'),
    (COUNT_NOT_SUPPORTED, 'Request_BadRequest', [], '641ded75-e733-4d7d-a1ee-5291ad90b7da'),
    (INTUNE_NESTED, 'BadRequest', [], 'ca6749a9-93ac-454a-a970-5c8a90978635'),
])
def test_error_answers_keep_their_code_and_ids_and_are_not_retried(run, fake_graph, sleeper, answer, code, inner, request_id):
    status, headers, body = answer
    headers = dict(headers, **{'request-id': headers.get('request-id', 'from-header')})
    fake_graph.script = [(status, headers, body)]
    result = run(path='/users/nobody@contoso.com')
    assert result['failed'] is True
    assert result['status'] == status
    error = result['error']
    assert error['code'] == code and error['inner_codes'] == inner
    assert error['request_id'] == request_id
    assert error['retryable'] is False
    assert result['http_requests'] == 1 and sleeper.waits == []
    assert error['code'] in result['msg'] and request_id in result['msg']
    assert one_line(error['message'])


@pytest.mark.parametrize('answer', [EXPIRED, COMPACT_TOKEN, LIFETIME])
def test_refused_token_says_what_to_do(run, fake_graph, answer):
    fake_graph.script = [answer]
    result = run(path='/me')
    assert result['error']['mitigation'] and 'force_refresh' in result['msg']


def test_me_with_an_app_only_token(run, fake_graph):
    # Graph answers 400 BadRequest; the module explains it because the token it was given is app-only.
    fake_graph.script = [ME_APP_ONLY]
    result = run(path='/me', token=APP_TOKEN)
    assert result['error']['code'] == 'BadRequest' and '/users/{id}' in result['error']['mitigation']
    fake_graph.script = [ME_APP_ONLY]
    assert 'mitigation' not in run(path='/me')['error']  # a delegated token: nothing to explain


def test_nested_service_json_in_the_message_stays_one_line(run, fake_graph):
    fake_graph.script = [INTUNE_NESTED]
    result = run(path='/deviceAppManagement/mobileApps', method='POST', body={'displayName': 'FakeApp#1'})
    assert 'New apps may not be created at this time.' in result['msg']
    assert one_line(result['msg']) and one_line(result['error']['message'])
    assert result['changed'] is False


def test_claims_challenge_keeps_the_challenge_and_is_not_retried(run, fake_graph, sleeper):
    fake_graph.script = [CLAIMS_CHALLENGE]
    result = run(path='/me')
    assert result['status'] == 401 and result['error']['code'] == 'InvalidAuthenticationToken'
    assert 'insufficient_claims' in result['headers']['www-authenticate']
    assert result['http_requests'] == 1 and sleeper.waits == []
    assert one_line(result['msg'])
    # a claims challenge is not "the token looked expired": the error says so and what to do when a refresh is not enough
    assert result['error']['claims_challenge'] is True
    assert 'claims challenge' in result['error']['mitigation'] and 'Conditional Access' in result['error']['mitigation']
    assert 'identity.entra.sign_in' in result['msg']


def test_a_refused_token_without_a_challenge_is_no_claims_challenge(run, fake_graph):
    status, headers, body = CLAIMS_CHALLENGE
    fake_graph.script = [(status, {'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm=""'}, body)]
    result = run(path='/me')
    assert result['error']['claims_challenge'] is False
    assert result['error']['mitigation'].startswith('Graph refused the access token.')


def test_html_gateway_timeout_is_retried_then_reported_in_one_line(run, fake_graph, sleeper):
    fake_graph.script = [GATEWAY_TIMEOUT_HTML] * 3
    result = run(path='/users', max_retries=2)
    assert result['http_requests'] == 3 and len(sleeper.waits) == 2  # GET: 504 is retried with backoff
    error = result['error']
    assert error['code'] == 'http_504' and error['retryable'] is True and error['status'] == 504
    assert '504 Gateway Time-out' in error['message'] and one_line(result['msg'])
    assert 'not retried further' in result['msg']


def test_html_gateway_timeout_of_a_write_is_not_repeated(run, fake_graph, sleeper):
    fake_graph.script = [GATEWAY_TIMEOUT_HTML]
    result = run(path='/groups', method='POST', body={'displayName': 'x'})
    assert result['http_requests'] == 1 and sleeper.waits == [] and result['error']['code'] == 'http_504'


# --- throttling -------------------------------------------------------------------------------------

def test_documented_429_waits_the_fractional_retry_after(run, fake_graph, sleeper):
    fake_graph.script = [THROTTLED_SAMPLE]
    result = run(path='/users')
    assert 'failed' not in result and result['status'] == 200
    assert sleeper.waits == [2.128] and result['throttled'] == 1 and result['http_requests'] == 2
    assert fake_graph.calls[1].headers['Retry-Attempt'] == '1'


def test_retry_after_beyond_the_budget_is_not_waited(run, fake_graph, sleeper):
    fake_graph.script = [ACTIVITY_LIMIT_120]
    result = run(path='/sites/root', max_retry_wait=60)
    assert sleeper.waits == [] and result['http_requests'] == 1
    assert result['error']['code'] == 'activityLimitReached' and result['error']['retryable'] is True
    assert 'not retried further' in result['msg'] and one_line(result['msg'])
    fake_graph.script = [ACTIVITY_LIMIT_120]
    sleeper.waits[:] = []
    assert run(path='/sites/root', max_retry_wait=300)['status'] == 200 and sleeper.waits == [120.0]


@pytest.mark.parametrize('answer, inner', [
    (ACTIVITY_LIMIT_NO_RETRY_AFTER, ['throttledRequest']),
    (ACTIVITY_LIMIT_LOWER, ['throttledRequest']),
    (MAILBOX_CONCURRENCY, []),
])
def test_429_without_retry_after_backs_off_and_reports_the_throttle(run, fake_graph, sleeper, answer, inner):
    fake_graph.script = [answer] * 4
    result = run(path='/sites/root', max_retries=3)
    assert result['http_requests'] == 4 and sleeper.waits == [2.0, 4.0, 8.0]  # exponential, rand fixed at 1.0
    assert result['error']['status'] == 429 and result['error']['inner_codes'] == inner
    assert result['error']['retryable'] is True and one_line(result['msg'])


def test_service_not_available_honours_retry_after_for_a_write(run, fake_graph, sleeper):
    fake_graph.script = [SERVICE_NOT_AVAILABLE, (201, JSON, {'id': 'new'})]
    result = run(path='/groups', method='POST', body={'displayName': 'x'})
    assert result['status'] == 201 and result['changed'] is True and sleeper.waits == [3.0]


# --- paging -----------------------------------------------------------------------------------------

def test_delta_pages_follow_skiptoken_links_verbatim_and_keep_the_delta_link(run, fake_graph):
    fake_graph.script = list(DELTA_PAGES)
    result = run(path='/users/delta', query={'$select': 'displayName,givenName,surname'}, all_pages=True)
    assert result['pages'] == 3 and [u['id'] for u in result['value']] == [
        'ffff7b1a-13b6-477b-8c0c-380905cd99f7', '86462606-fde0-4fc4-9e0c-a20eb73e54c6', 'd8c37826-ffff-4cae-b348-e2725b1e814b',
        '25dcffff-959e-4ece-9973-e5d9b800e8cc']
    assert fake_graph.calls[1].url == DELTA_PAGES[0][2]['@odata.nextLink']
    assert fake_graph.calls[2].url == DELTA_PAGES[1][2]['@odata.nextLink']
    assert result['json']['@odata.deltaLink'] == DELTA_PAGES[2][2]['@odata.deltaLink']
    assert '@odata.nextLink' not in result['json']


def test_advanced_query_keeps_the_count_and_the_header_on_every_page(run, fake_graph):
    first = dict(BATCH_DOC_ANSWERS['5']['body'])
    first['@odata.nextLink'] = 'https://graph.microsoft.com/v1.0/users?$count=true&$skiptoken=RFNwdAoAAQAAAAAAAAAAFAAAAI45VMy0'
    last = {'@odata.context': first['@odata.context'], 'value': [{'id': 'second-page-user'}]}
    fake_graph.script = [(200, ODATA_JSON, first), (200, ODATA_JSON, last)]
    result = run(path='/users', query={'$count': 'true'}, consistency_level='eventual', all_pages=True)
    assert result['json']['@odata.count'] == 36 and len(result['value']) == 2
    assert all(call.headers.get('ConsistencyLevel') == 'eventual' for call in fake_graph.calls)


def test_a_throttled_later_page_is_retried_and_paging_goes_on(run, fake_graph, sleeper):
    fake_graph.script = [DELTA_PAGES[0], THROTTLED_SAMPLE, DELTA_PAGES[1], DELTA_PAGES[2]]
    result = run(path='/users/delta', all_pages=True)
    assert result['pages'] == 3 and sleeper.waits == [2.128] and fake_graph.calls[1].url == fake_graph.calls[2].url


# --- $batch -----------------------------------------------------------------------------------------

def doc_batch(call):
    """Graph's documented batch answer, in an order other than the requests'."""
    ids = [r['id'] for r in call.json['requests']]
    return 200, JSON, {'responses': [BATCH_DOC_ANSWERS[i] for i in reversed(ids)]}


def test_documented_batch_answer(run, fake_graph):
    fake_graph.script = [doc_batch]
    result = run(path='/', batch=BATCH_DOC_REQUESTS, fail_on_inner_error=False)
    assert [r['id'] for r in result['responses']] == ['1', '2', '3', '4', '5']
    assert [r['status'] for r in result['responses']] == [200, 403, 403, 405, 200]
    ok, planner, denied, method, users = result['responses']
    assert ok['body']['value'][0]['@odata.type'] == '#microsoft.graph.directoryRole'
    assert users['body']['@odata.count'] == 36
    assert denied['error']['code'] == 'Authorization_RequestDenied'
    assert method['error']['code'] == 'Request_BadRequest' and method['error']['status'] == 405
    # Graph left "code" empty: the error still has a code to branch on, and says where it came from.
    assert planner['error']['code'] == 'http_403'
    assert planner['error']['request_id'] == '93b6f17e-c05d-4f45-ad2a-6665c708d8a0'
    assert result['changed'] is False  # the DELETE and the POST failed
    sent = fake_graph.calls[0].json['requests']
    assert sent[4]['headers']['ConsistencyLevel'] == 'eventual' and sent[3]['headers']['Content-Type'] == 'application/json'


def test_documented_batch_answer_fails_the_task_in_one_line(run, fake_graph):
    fake_graph.script = [doc_batch]
    result = run(path='/', batch=BATCH_DOC_REQUESTS)
    assert result['failed'] is True and result['msg'].startswith('3 of 5 batch requests failed')
    assert 'id 2: HTTP 403 http_403: You do not have the required permissions' in result['msg']
    assert one_line(result['msg'])


def test_inner_429_with_fractional_retry_after_retries_only_that_request(run, fake_graph, sleeper):
    # Inner Retry-After values such as 0.249 are what Graph sends inside $batch answers:
    # https://github.com/microsoftgraph/microsoft-graph-docs/issues/3877
    status, headers, body = THROTTLED_SAMPLE
    fake_graph.inner_script = {'2': [(status, dict(headers, **{'Retry-After': '0.249'}), body)]}
    result = run(path='/', batch=[{'path': '/users/a'}, {'path': '/users/b'}, {'path': '/users/c'}])
    assert [r['status'] for r in result['responses']] == [200, 200, 200]
    assert sleeper.waits == [0.249] and result['throttled'] == 1
    assert [r['id'] for r in fake_graph.calls[1].json['requests']] == ['2']


def test_inner_body_in_base64_is_returned_as_given(run, fake_graph):
    # Graph base64-encodes inner bodies that are not JSON, and some JSON ones (an upload's driveItem):
    # https://learn.microsoft.com/en-us/answers/questions/1352007/using-batching-with-the-graph-api-returns-the-body
    encoded = base64.b64encode(json.dumps({'id': '01ABC', 'name': 'a.txt'}).encode()).decode()
    fake_graph.inner = lambda req: (201, {'Content-Type': 'application/json'}, encoded)
    result = run(path='/', batch=[{'method': 'PUT', 'path': '/me/drive/root:/a.txt:/content', 'body': 'aGVsbG8=',
                                   'headers': {'Content-Type': 'text/plain'}}])
    assert 'failed' not in result and result['changed'] is True
    assert result['responses'][0]['body'] == encoded
