# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The entra_token action plugin: fact_name never one Ansible defines, options checked, the token returned as a fact."""

from __future__ import annotations

import json
import types

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.identity.entra.plugins.action.entra_token import ActionModule, check_fact_name
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

INTERNAL_NAMES = ('_Ansible', 'Tagged', 'Lazy', '<class', ' object at 0x')


@pytest.mark.parametrize('name', [
    'inventory_hostname', 'inventory_hostname_short', 'omit', 'hostvars', 'groups', 'group_names', 'playbook_dir', 'role_path',
    'role_name', 'play_hosts', 'inventory_dir', 'vars', 'environment', 'item', 'lookup', 'query', 'q',
    'ansible_facts', 'ansible_token', 'ansible_host', 'ansible_password', 'ansible_check_mode',
    'hosts', 'name', 'when', 'register', 'tags', 'become',  # playbook keywords
])
def test_names_ansible_defines_are_refused(name):
    with pytest.raises(EntraTokenError) as caught:
        check_fact_name(name)
    assert caught.value.kind == 'invalid_argument'
    assert "Option 'fact_name'" in caught.value.message and name in caught.value.message


@pytest.mark.parametrize('name', ['', ' token', 'token ', '1token', 'a-b', 'a.b', 't\u00f6ken', 'class', 'import', 'True', 'None', 'true',
                                  'false', 'none'])
def test_names_that_are_no_usable_variable_are_refused(name):
    with pytest.raises(EntraTokenError) as caught:
        check_fact_name(name)
    assert 'must be a valid variable name' in caught.value.message


def _tagged(value):
    try:
        from ansible._internal._datatag._tags import Origin  # pylint: disable=import-outside-toplevel  # ansible-core >= 2.19

        return Origin(description='<unit test>').tag(value)
    except ImportError:
        return type('_AnsibleTaggedList' if isinstance(value, list) else '_AnsibleTaggedDict', (type(value),), {})(value)


@pytest.mark.parametrize('value', [5, None, ['token'], {'a': 1}, True], ids=repr)
def test_values_that_are_not_names_are_refused_without_internal_type_names(value):
    for candidate in (value, _tagged(value) if isinstance(value, (list, dict)) else value):
        with pytest.raises(EntraTokenError) as caught:
            check_fact_name(candidate)
        for internal in INTERNAL_NAMES:
            assert internal not in caught.value.message


@pytest.mark.parametrize('name', ['entra_token', 'graph_token', 'token_2', '_private', 'Token'])
def test_names_of_the_users_own_are_accepted(name):
    assert check_fact_name(name) == name and check_fact_name(name).__class__ is str


# -- the whole action --------------------------------------------------------------------------------------


def run_action(args, module_defaults=None):
    task = Task()
    task.args = args
    task.action = 'identity.entra.entra_token'
    if module_defaults is not None:
        task.module_defaults = module_defaults
    loader = DataLoader()
    connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir=None))  # the action never uses it
    return ActionModule(task, connection, PlayContext(), loader, Templar(loader=loader), None).run(task_vars={})


@pytest.fixture
def warm_cache(tmp_path):
    """A cache directory holding a valid token for the user (msal wrote it)."""
    pytest.importorskip('msal')
    from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import (  # pylint: disable=import-outside-toplevel
        CLIENT,
        HOST,
        TENANT,
        cached_doc,
    )

    args = {'tenant': TENANT, 'client_id': CLIENT, 'username': 'user@contoso.com', 'authority_host': HOST,
            'cache_path': str(tmp_path / 'cache'), 'password': 'canary-password'}
    request = from_mapping(args, environ={})
    CacheDirectory(request.cache_path).account_file(request.account_key).update(lambda current: cached_doc())
    return args


def test_the_token_is_returned_as_a_fact_under_fact_name(warm_cache):
    result = run_action(dict(warm_cache, fact_name='graph_token'))
    assert result.get('failed') is not True, result
    assert result['changed'] is False
    facts = result['ansible_facts']['graph_token']
    assert facts['access_token'] == 'at-user@contoso.com-3600' and facts['source'] == 'cache'
    assert 'canary-password' not in json.dumps(result) and 'rt-secret' not in json.dumps(result)


def test_the_default_fact_name(warm_cache):
    assert 'entra_token' in run_action(dict(warm_cache))['ansible_facts']


@pytest.mark.parametrize('fact_name', ['inventory_hostname', 'omit', 'hostvars', 'groups', 'ansible_facts', 'ansible_token'])
def test_a_refused_fact_name_fails_the_task_without_the_token(warm_cache, fact_name):
    result = run_action(dict(warm_cache, fact_name=fact_name))
    assert result['failed'] is True and result['error']['kind'] == 'invalid_argument'
    assert 'ansible_facts' not in result and 'at-user@contoso.com' not in json.dumps(result)
    assert "Option 'fact_name'" in result['msg']


def test_a_typo_gets_did_you_mean(warm_cache):
    result = run_action(dict(warm_cache, cachepath='/tmp/x'))
    assert result['failed'] is True and result['error']['kind'] == 'invalid_argument'
    assert 'cachepath (did you mean cache_path?)' in result['msg']


def test_graph_request_options_from_a_module_defaults_group_are_dropped_but_not_from_the_task(warm_cache):
    group = [{'group/identity.entra.entra': {'graph_host': 'graph.example', 'api_version': 'beta'}}]
    result = run_action(dict(warm_cache, graph_host='graph.example', api_version='beta'), module_defaults=group)
    assert result.get('failed') is not True, result
    result = run_action(dict(warm_cache, graph_host='graph.example'), module_defaults=[])
    assert result['failed'] is True and 'graph_host' in result['msg']


def test_cache_warnings_reach_the_task_result(warm_cache):
    request = from_mapping(dict(warm_cache), environ={})
    store = CacheDirectory(request.cache_path).account_file(request.account_key)
    store.update(lambda current: dict(current, AccessToken=dict(current['AccessToken'], foreign={'secret': 5})))
    result = run_action(dict(warm_cache))
    assert result['ansible_facts']['entra_token']['source'] == 'cache'
    assert any('skipped 1 AccessToken entry' in warning for warning in result['warnings'])
