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

