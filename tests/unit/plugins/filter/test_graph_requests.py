# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.identity.entra.plugins.filter.graph_requests import graph_plan, graph_results

REQUESTS = [
    {'name': 'me', 'path': '/me'},
    {'name': 'users', 'path': '/users', 'all_pages': True},
    {'name': 'adele', 'path': '/users/adele@contoso.com', 'query': {'$select': 'id'}},
    {'name': 'add', 'method': 'POST', 'path': '/groups/g/members/$ref', 'body': {'@odata.id': 'x'}},
    {'name': 'count', 'path': '/users/$count', 'consistency_level': 'eventual'},
]


def test_plain_gets_are_batched_in_order_and_the_rest_stay_single():
    plan = graph_plan(REQUESTS, 2)
    assert plan['batch'] == [{'id': 'me', 'method': 'GET', 'path': '/me'},
                             {'id': 'adele', 'method': 'GET', 'path': '/users/adele@contoso.com', 'query': {'$select': 'id'}}]
    assert [r['name'] for r in plan['single']] == ['users', 'add', 'count']
    assert plan['order'] == ['me', 'users', 'adele', 'add', 'count']


@pytest.mark.parametrize('batch_min', [0, 3])
def test_no_batch_below_the_minimum(batch_min):
    plan = graph_plan(REQUESTS, batch_min)
    assert plan['batch'] == [] and len(plan['single']) == len(REQUESTS)


@pytest.mark.parametrize('bad', [None, [{'path': '/me'}], ['me'], {'name': 'me'}])
def test_bad_input(bad):
    with pytest.raises(AnsibleFilterError):
        graph_plan(bad)


def test_results_have_one_shape_and_keep_request_order():
    plan = graph_plan(REQUESTS, 2)
    batched = {'responses': [
        {'id': 'adele', 'status': 404, 'headers': {'request-id': 'r2'},
         'body': {'error': {'code': 'Request_ResourceNotFound', 'message': 'gone'}}},
        {'id': 'me', 'status': 200, 'headers': {'request-id': 'r1'}, 'body': {'id': '1'}},
    ]}
    single = {'results': [
        {'item': REQUESTS[1], 'status': 200, 'value': [1, 2], 'pages': 1, 'failed': False, 'ansible_loop_var': 'item'},
        {'item': REQUESTS[3], 'status': 204, 'changed': True, 'failed': False},
        {'item': REQUESTS[4], 'status': 400, 'failed': False, 'error': {'code': 'Request_BadRequest'}},
    ]}
    results = graph_results(plan, batched, single)
    assert list(results) == ['me', 'users', 'adele', 'add', 'count']
    assert results['me'] == {'status': 200, 'json': {'id': '1'}, 'headers': {'request-id': 'r1'}, 'batched': True,
                             'request_id': 'r1', 'failed': False}
    assert results['adele']['failed'] and results['adele']['error']['code'] == 'Request_ResourceNotFound'
    assert results['users']['value'] == [1, 2] and not results['users']['failed'] and 'item' not in results['users']
    assert not results['add']['failed']
    assert results['count']['failed']  # failed_when: false reset 'failed'; the error still counts


def test_results_without_a_batch_call():
    plan = graph_plan(REQUESTS[:1], 2)
    assert graph_results(plan, {'skipped': True}, {'results': [{'item': REQUESTS[0], 'status': 200}]})['me']['status'] == 200
