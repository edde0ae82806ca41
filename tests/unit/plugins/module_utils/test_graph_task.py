# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module's core: parameters in, module result out (changed, check mode, failures, no token)."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.identity.entra.plugins.module_utils import _graph_task as core

TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOnRydWV9.c2VjcmV0LXNpZ25hdHVyZQ'
JSON = {'Content-Type': 'application/json'}


def jwt(claims):
    """An unsigned JWT with ``claims`` (the module reads claims only to explain errors)."""
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip('=')
    return '%s.%s.c2ln' % (part({'typ': 'JWT', 'alg': 'RS256'}), part(claims))


# Claims as Entra puts them into Graph tokens: an app-only token has roles and no scp.
APP_TOKEN = jwt({'aud': 'https://graph.microsoft.com', 'idtyp': 'app', 'roles': ['User.Read.All'], 'oid': 'sp'})
USER_TOKEN = jwt({'aud': 'https://graph.microsoft.com', 'idtyp': 'user', 'scp': 'User.Read', 'upn': 'a@contoso.com'})
ME_APP_ONLY = (400, JSON, {'error': {'code': 'BadRequest', 'message': '/me request is only valid with delegated authentication flow.',
                                     'innerError': {'request-id': 'r-me', 'date': '2024-05-01T10:00:00'}}})


@pytest.fixture
def run(run_task):
    def go(check_mode=False, **kwargs):
        return run_task(kwargs.pop('token', TOKEN), check_mode=check_mode, **kwargs)
    return go


def test_get_is_not_a_change(run, fake_graph):
    fake_graph.script = [(200, JSON, {'@odata.context': 'x', 'value': [{'id': '1'}], '@odata.nextLink':
                                      'https://graph.microsoft.com/v1.0/users?$skiptoken=a'})]
    result = run(path='/users', query={'$top': 1})
    assert result['changed'] is False and 'failed' not in result
    assert result['status'] == 200 and result['pages'] == 1 and result['value'] == [{'id': '1'}]
    assert result['json']['@odata.nextLink'].endswith('skiptoken=a')
    assert result['url'] == 'https://graph.microsoft.com/v1.0/users?$top=1'
    assert result['http_requests'] == 1 and result['throttled'] == 0 and result['request_id']


@pytest.mark.parametrize('method, status', [('POST', 201), ('PATCH', 204), ('PUT', 200), ('DELETE', 204)])
def test_successful_writes_are_changes(run, fake_graph, method, status):
    fake_graph.script = [(status, JSON if status != 204 else {}, {'id': 'new'} if status != 204 else None)]
    body = None if method == 'DELETE' else {'displayName': 'x'}
    result = run(method=method, path='groups/g', body=body)
    assert result['changed'] is True and result['status'] == status
    assert fake_graph.calls[0].method == method


def test_failed_write_is_not_a_change(run, fake_graph, graph_error):
    fake_graph.script = [(400, JSON, graph_error('Request_BadRequest', 'One or more added object references already exist.'))]
    result = run(method='POST', path='groups/g/members/$ref', body={'@odata.id': 'x'})
    assert result['failed'] is True and result['changed'] is False
    assert result['error']['code'] == 'Request_BadRequest' and result['status'] == 400
    assert result['msg'].startswith('POST https://graph.microsoft.com/v1.0/groups/g/members/$ref failed: HTTP 400 Request_BadRequest')


def test_check_mode_sends_no_write(run, fake_graph):
    result = run(check_mode=True, method='PATCH', path='me', body={'jobTitle': 'x'})
    assert fake_graph.calls == []
    assert result['changed'] is True and result['status'] is None and result['http_requests'] == 0
    assert 'not sent' in result['msg']


def test_check_mode_still_reads(run, fake_graph):
    fake_graph.script = [(200, JSON, {'id': 'me'})]
    result = run(check_mode=True, path='me')
    assert result['json'] == {'id': 'me'} and result['changed'] is False and len(fake_graph.calls) == 1


def test_all_pages(run, fake_graph):
    fake_graph.script = [
        (200, JSON, {'@odata.count': 3, 'value': [{'id': 1}, {'id': 2}], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/users?$skiptoken=2'}),
        (200, JSON, {'value': [{'id': 3}], '@odata.context': 'ctx'}),
    ]
    result = run(path='users', query={'$count': 'true'}, consistency_level='eventual', all_pages=True)
    assert result['value'] == [{'id': 1}, {'id': 2}, {'id': 3}] and result['pages'] == 2
    assert result['json'] == {'@odata.context': 'ctx', '@odata.count': 3}
    assert all(c.headers['ConsistencyLevel'] == 'eventual' for c in fake_graph.calls)


def test_all_pages_failure_counts_the_pages_fetched(run, fake_graph):
    fake_graph.script = [
        (200, JSON, {'value': [{'id': 1}], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/users?$skiptoken=2'}),
        ConnectionResetError(104, 'Connection reset by peer'),
    ]
    result = run(path='users', all_pages=True, max_retries=0)
    assert result['failed'] is True and result['error']['code'] == 'connection_reset'
    assert result['pages'] == 1 and result['http_requests'] == 2


def test_text_body(run, fake_graph):
    fake_graph.script = [(200, {'Content-Type': 'text/plain'}, b'2514')]
    result = run(path='users/$count', consistency_level='eventual')
    assert result['json'] is None and result['content'] == '2514'


def test_failure_result(run, fake_graph, graph_error):
    fake_graph.script = [(401, JSON, graph_error('InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'))]
    result = run(path='me')
    assert result['failed'] is True and result['status'] == 401
    assert result['error']['code'] == 'InvalidAuthenticationToken' and result['error']['retryable'] is False
    assert result['error']['request_id'] == '7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918'


def test_transport_failure_result(run, fake_graph):
    fake_graph.script = [ConnectionRefusedError(111, 'Connection refused')]
    result = run(path='me', max_retries=0)
    assert result['failed'] is True and result['error']['code'] == 'connection_refused' and result['status'] is None
    assert 'graph.microsoft.com' in result['msg']


@pytest.mark.parametrize('kwargs, words', [
    ({'path': 'https://evil.example/v1.0/me'}, 'not on the Graph host'),
    ({'path': 'me', 'headers': {'authorization': 'Bearer other'}}, 'Authorization'),
    ({'path': 'me', 'body': {'a': 1}}, 'no body'),
    ({'path': 'me', 'max_retries': -1}, 'negative'),
    ({'path': 'me', 'timeout': 0}, 'timeout'),
    ({'path': 'me', 'graph_host': 'http://127.0.0.1'}, 'https'),
    ({'batch': [{'path': 'me'}], 'query': {'$top': 1}}, 'per request'),
    ({'batch': [{'path': 'me'}], 'method': 'POST'}, 'per request'),
])
def test_refused_before_sending(run, fake_graph, kwargs, words):
    result = run(**kwargs)
    assert result['failed'] is True and words in result['msg']
    assert result['error']['code'] == 'refused_url' and result['http_requests'] == 0
    assert fake_graph.calls == []


@pytest.mark.parametrize('cloud, host', [('public', 'graph.microsoft.com'), ('usgov', 'graph.microsoft.us'),
                                         ('usgov_dod', 'dod-graph.microsoft.us'), ('china', 'microsoftgraph.chinacloudapi.cn')])
def test_cloud_selects_the_host(run, fake_graph, cloud, host):
    result = run(path='me', cloud=cloud, api_version='beta')
    assert fake_graph.calls[0].url == 'https://%s/beta/me' % host == result['url']


def test_batch_result(run, fake_graph, graph_error):
    fake_graph.inner_script = {'2': [(404, JSON, graph_error('Request_ResourceNotFound', 'gone'))]}
    batch = [{'path': 'me'}, {'path': 'users/gone'}, {'path': 'me', 'depends_on': ['2']}]
    result = run(batch=batch, fail_on_inner_error=False)
    assert 'failed' not in result and result['changed'] is False
    assert [r['status'] for r in result['responses']] == [200, 404, 424]
    assert result['url'] == 'https://graph.microsoft.com/v1.0/$batch' and result['status'] == 200

    fake_graph.inner_script = {'2': [(404, JSON, graph_error('Request_ResourceNotFound', 'gone'))]}
    failed = run(batch=batch)
    assert failed['failed'] is True and failed['error']['code'] == 'Request_ResourceNotFound' and failed['error']['id'] == '2'
    assert failed['msg'].startswith('2 of 3 batch requests failed: id 2: HTTP 404 Request_ResourceNotFound')
    assert len(failed['responses']) == 3


def test_batch_writes_change_and_check_mode(run, fake_graph):
    batch = [{'method': 'POST', 'path': 'groups/g/members/$ref', 'body': {'@odata.id': 'x'}}, {'path': 'me'}]
    assert run(batch=batch)['changed'] is True
    fake_graph.calls = []
    result = run(check_mode=True, batch=batch)
    assert result['changed'] is True and result['responses'][0]['skipped'] is True
    assert [r['id'] for r in fake_graph.calls[0].json['requests']] == ['2']
    assert run(batch=[{'path': 'me'}])['changed'] is False


@pytest.mark.parametrize('kwargs', [{'path': 'me'}, {'path': 'users', 'all_pages': True}, {'method': 'POST', 'path': 'groups', 'body': {}}])
def test_refused_token_says_how_to_get_a_new_one(run, fake_graph, graph_error, kwargs):
    fake_graph.script = [(401, JSON, graph_error('InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'))]
    result = run(**kwargs)
    assert result['failed'] is True and result['status'] == 401 and result['http_requests'] == 1
    assert result['error']['code'] == 'InvalidAuthenticationToken'
    assert 'HTTP 401 InvalidAuthenticationToken: Lifetime validation failed' in result['msg']
    assert 'force_refresh: true' in result['msg'] and result['error']['mitigation'] in result['msg']


def test_refused_token_in_a_batch(run, fake_graph, graph_error):
    fake_graph.script = [(401, JSON, graph_error('InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'))]
    result = run(batch=[{'path': 'me'}, {'path': 'users/a'}])
    assert result['failed'] is True and result['status'] == 401
    assert result['error']['code'] == 'InvalidAuthenticationToken' and 'force_refresh: true' in result['msg']
    assert [r['error']['code'] for r in result['responses']] == ['InvalidAuthenticationToken'] * 2


@pytest.mark.parametrize('token, path, explained', [
    (APP_TOKEN, 'me', True),
    (APP_TOKEN, '/me/memberOf', True),
    (APP_TOKEN, 'https://graph.microsoft.com/v1.0/me?$select=id', True),
    (USER_TOKEN, 'me', False),
    (APP_TOKEN, 'users/me', False),
    ('not-a-jwt', 'me', False),
    ('a.%%%.c', 'me', False),
    (jwt(['roles']), 'me', False),
])
def test_me_with_an_app_only_token_is_explained(run, fake_graph, token, path, explained):
    fake_graph.script = [ME_APP_ONLY]
    result = run(path=path, token=token)
    assert result['failed'] is True and result['status'] == 400
    assert result['error']['code'] == 'BadRequest' and result['error']['message'].startswith('/me request is only valid')
    assert ('/users/{id}' in result['msg']) is explained and ('mitigation' in result['error']) is explained
    assert token not in json.dumps(result)


def test_me_with_an_app_only_token_in_a_batch(run, fake_graph):
    fake_graph.inner = lambda req: ME_APP_ONLY if req['url'].startswith('/me') else (200, JSON, {'id': 'u'})
    result = run(batch=[{'path': 'me'}, {'path': 'users/u'}], token=APP_TOKEN)
    assert result['failed'] is True and result['error']['id'] == '1'
    assert 'app-only' in result['responses'][0]['error']['mitigation'] and '/users/{id}' in result['msg']
    assert result['responses'][1]['status'] == 200 and 'error' not in result['responses'][1]


@pytest.mark.parametrize('token, app_only', [
    (APP_TOKEN, True),
    (jwt({'roles': ['Group.Read.All']}), True),  # no idtyp claim
    (jwt({'idtyp': 'app'}), True),  # no application permission granted
    (USER_TOKEN, False),
    (jwt({'scp': 'User.Read', 'roles': ['Admin']}), False),  # a user token carries the user's app roles too
    (TOKEN, False), ('', False), (None, False), ('only.one', False), ('x.e30=.y', False),
])
def test_token_is_app_only(token, app_only):
    assert core.token_is_app_only(token) is app_only
