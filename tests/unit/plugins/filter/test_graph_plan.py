# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.identity.entra.plugins.filter.graph_plan import graph_plan


def test_plain_gets_are_batched_in_order_and_the_rest_stay_single(requests):
    plan = graph_plan(requests, 2)
    assert plan['batch'] == [{'id': 'me', 'method': 'GET', 'path': '/me'},
                             {'id': 'adele', 'method': 'GET', 'path': '/users/adele@contoso.com', 'query': {'$select': 'id'}}]
    assert [r['name'] for r in plan['single']] == ['users', 'add', 'count']
    assert plan['order'] == ['me', 'users', 'adele', 'add', 'count']


@pytest.mark.parametrize('batch_min', [0, 3])
def test_no_batch_below_the_minimum(requests, batch_min):
    plan = graph_plan(requests, batch_min)
    assert plan['batch'] == [] and len(plan['single']) == len(requests)


@pytest.mark.parametrize('bad', [None, [{'path': '/me'}], ['me'], {'name': 'me'}])
def test_bad_input(bad):
    with pytest.raises(AnsibleFilterError):
        graph_plan(bad)


def test_batch_items_carry_only_what_a_batch_request_takes(requests):
    requests += [{'name': 'beta_me', 'path': '/me', 'api_version': 'beta'},
                 {'name': 'v1_me', 'path': '/me', 'api_version': 'v1.0', 'headers': {'Prefer': 'x'}}]
    plan = graph_plan(requests, 2)
    # graph_request's batch items take id, method, path, query, body, headers, depends_on; the $batch call is v1.0
    assert all(set(item) <= {'id', 'method', 'path', 'query', 'headers'} for item in plan['batch'])
    assert [item['id'] for item in plan['batch']] == ['me', 'adele', 'v1_me']
    assert 'beta_me' in [r['name'] for r in plan['single']]
