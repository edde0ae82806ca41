# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.identity.entra.plugins.filter.graph_plan import graph_plan
from ansible_collections.identity.entra.plugins.filter.graph_results import graph_results


def test_results_have_one_shape_and_keep_request_order(requests):
    plan = graph_plan(requests, 2)
    batched = {'responses': [
        {'id': 'adele', 'status': 404, 'headers': {'request-id': 'r2'},
         'body': {'error': {'code': 'Request_ResourceNotFound', 'message': 'gone'}},
         'error': {'code': 'Request_ResourceNotFound', 'message': 'gone', 'status': 404, 'request_id': 'r2'}},
        {'id': 'me', 'status': 200, 'headers': {'request-id': 'r1'}, 'body': {'id': '1'}},
    ]}
    single = {'results': [
        {'item': requests[1], 'status': 200, 'value': [1, 2], 'pages': 1, 'failed': False, 'ansible_loop_var': 'item'},
        {'item': requests[3], 'status': 204, 'changed': True, 'failed': False},
        {'item': requests[4], 'status': 400, 'failed': False, 'error': {'code': 'Request_BadRequest'}},
    ]}
    results = graph_results(plan, batched, single)
    assert list(results) == ['me', 'users', 'adele', 'add', 'count']
    assert results['me'] == {'status': 200, 'json': {'id': '1'}, 'headers': {'request-id': 'r1'}, 'batched': True,
                             'request_id': 'r1', 'failed': False}
    assert results['adele']['failed'] and results['adele']['error']['code'] == 'Request_ResourceNotFound'
    assert results['users']['value'] == [1, 2] and not results['users']['failed'] and 'item' not in results['users']
    assert not results['add']['failed']
    assert results['count']['failed']  # failed_when: false reset 'failed'; the error still counts


def test_results_without_a_batch_call(requests):
    plan = graph_plan(requests[:1], 2)
    assert graph_results(plan, {'skipped': True}, {'results': [{'item': requests[0], 'status': 200}]})['me']['status'] == 200


REFUSED = {'code': 'InvalidAuthenticationToken', 'message': 'Lifetime validation failed, the token is expired.', 'status': 401,
           'request_id': 'outer', 'mitigation': 'Get a new one with identity.entra.entra_token and force_refresh: true'}


def test_a_refused_batch_call_gives_each_request_the_401(requests):
    plan = graph_plan(requests, 2)
    # graph_request's answer when the $batch call itself got 401: no inner status, the outer error on each request
    batched = {'failed': True, 'status': 401, 'error': REFUSED, 'responses': [
        {'id': 'me', 'status': None, 'headers': {}, 'body': None, 'error': REFUSED},
        {'id': 'adele', 'status': None, 'headers': {}, 'body': None, 'error': REFUSED}]}
    results = graph_results(plan, batched, {'results': []})
    assert list(results) == ['me', 'adele']
    for name in ('me', 'adele'):
        assert results[name]['failed'] and results[name]['batched']
        assert results[name]['status'] == 401 and results[name]['error']['code'] == 'InvalidAuthenticationToken'
        assert results[name]['request_id'] == 'outer'


def test_a_batch_call_refused_before_sending_fails_each_of_its_requests(requests):
    plan = graph_plan(requests, 2)
    batched = {'failed': True, 'status': None, 'msg': "batch id me: path /me/.. contains . or .. segments",
               'error': {'code': 'refused_url', 'status': None}}
    results = graph_results(plan, batched, {'results': []})
    assert set(results) == {'me', 'adele'}
    assert all(r['failed'] and r['error']['code'] == 'refused_url' and 'segments' in r['msg'] for r in results.values())
    module_failure = graph_results(plan, {'failed': True, 'msg': 'Unsupported parameters'}, {'results': []})
    assert all(r['failed'] and r['msg'] == 'Unsupported parameters' for r in module_failure.values())
