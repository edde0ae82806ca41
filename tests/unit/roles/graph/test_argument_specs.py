# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The graph role's argument spec and tasks against the modules' own option tables.

The role lists entra_token's options (to validate and document entra_graph_auth) and
graph_request's options (for entra_graph_requests): these tests fail when a module gains,
loses or retypes an option and the role does not follow.
"""

from __future__ import annotations

import os

import pytest
import yaml

import ansible_collections.identity.entra as collection
from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS
from ansible_collections.identity.entra.plugins.module_utils._graph_options import argument_spec as graph_argument_spec
from ansible_collections.identity.entra.plugins.plugin_utils._options import NO_LOG, OPTION_SPEC

ROLE = os.path.join(list(collection.__path__)[0], 'roles', 'graph')
# graph_request options the role sets itself, from its own variables, for every request.
ROLE_LEVEL = {'token', 'cloud', 'graph_host', 'ca_path', 'validate_certs'}


def _load(*path):
    with open(os.path.join(ROLE, *path)) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='module')
def spec():
    return _load('meta', 'argument_specs.yml')['argument_specs']['main']['options']


@pytest.fixture(scope='module')
def tasks():
    return {name: _load('tasks', name) for name in ('main.yml', 'sign_in.yml', 'requests.yml')}


def test_entra_graph_auth_lists_exactly_entra_tokens_options(spec):
    auth = spec['entra_graph_auth']['options']
    assert sorted(auth) == sorted(OPTION_SPEC), 'roles/graph/meta/argument_specs.yml: entra_graph_auth options != OPTION_SPEC'


@pytest.mark.parametrize('name', sorted(OPTION_SPEC))
def test_entra_graph_auth_option_types_and_secrets(spec, name):
    option = spec['entra_graph_auth']['options'][name]
    kind = OPTION_SPEC[name][0]
    assert option['type'] == kind
    if kind == 'list':
        assert option['elements'] == 'str'
    assert bool(option.get('no_log')) is (name in NO_LOG)
    if name == 'cloud':
        assert option['choices'] == list(CLOUDS)


def test_requests_take_graph_requests_options_but_the_role_level_ones(spec):
    requests = spec['entra_graph_requests']['options']
    assert set(requests) - {'name'} == set(graph_argument_spec()) - ROLE_LEVEL
    for name, option in requests.items():
        if name != 'name':
            assert option['type'] == graph_argument_spec()[name]['type'], name


def test_role_level_graph_settings(spec):
    assert spec['entra_graph_cloud']['choices'] == list(CLOUDS)


def _task(tasks, file, module):
    found = [t for t in tasks[file] if module in t]
    assert len(found) == 1, '%s: expected one %s task' % (file, module)
    return found[0]


def test_sign_in_passes_entra_graph_auth_whole(tasks):
    task = _task(tasks, 'sign_in.yml', 'identity.entra.entra_token')
    assert task['module_defaults'] == {'identity.entra.entra_token': '{{ entra_graph_auth }}'}
    assert set(task['identity.entra.entra_token']) == {'fact_name', 'force_refresh'}
    assert task['no_log'] is True and task['run_once'] is True


def test_the_loop_passes_every_request_option(tasks):
    loop = [t for t in tasks['requests.yml'] if 'loop' in t]
    assert len(loop) == 1
    args = loop[0]['identity.entra.graph_request']
    assert set(args) - ROLE_LEVEL == set(graph_argument_spec()) - ROLE_LEVEL
    for name in set(args) - ROLE_LEVEL:
        assert args[name].startswith('{{ item.%s | default(' % name), name
