# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.identity.entra.plugins.module_utils._graph_options import argument_spec as graph_argument_spec
from ansible_collections.identity.entra.plugins.plugin_utils._module_defaults import (
    GRAPH_OPTIONS,
    SIGN_IN_OPTIONS,
    group_default_keys,
    without_foreign_group_defaults,
)
from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC


# Options both modules take: a group entry for them reaches both (documented in docs/module-defaults.md).
SHARED = {'cloud', 'ca_path', 'validate_certs', 'timeout'}


def test_option_sets_are_the_modules_own_options_less_the_shared_ones():
    assert not SIGN_IN_OPTIONS & GRAPH_OPTIONS
    assert SIGN_IN_OPTIONS | SHARED == set(OPTION_SPEC) | {'fact_name'}
    assert GRAPH_OPTIONS | SHARED == set(graph_argument_spec())
    assert {'password', 'username', 'tenant', 'fact_name'} <= SIGN_IN_OPTIONS
    assert {'token', 'path', 'batch', 'graph_host'} <= GRAPH_OPTIONS


def test_only_group_entries_count():
    defaults = [{'group/identity.entra.entra': {'tenant': 't', 'graph_host': 'h'}}, {'identity.entra.graph_request': {'path': '/me'}}, 'junk']
    assert group_default_keys(defaults) == {'tenant', 'graph_host'}
    assert group_default_keys({'group/x': {'a': 1}}) == {'a'}
    assert group_default_keys(None) == set()


def test_foreign_options_dropped_only_when_a_group_set_them():
    defaults = [{'group/identity.entra.entra': {'tenant': 't', 'graph_host': 'h'}}]
    args = {'tenant': 't', 'graph_host': 'h', 'username': 'u'}
    assert without_foreign_group_defaults(args, defaults, GRAPH_OPTIONS) == {'tenant': 't', 'username': 'u'}
    assert without_foreign_group_defaults({'path': '/me'}, defaults, GRAPH_OPTIONS) == {'path': '/me'}  # not set by a group: kept
