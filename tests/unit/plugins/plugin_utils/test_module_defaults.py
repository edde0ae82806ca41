# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.identity.entra.plugins.module_utils._graph_request import argument_spec
from ansible_collections.identity.entra.plugins.plugin_utils._module_defaults import (
    GRAPH_OPTIONS,
    SHARED_OPTIONS,
    SIGN_IN_OPTIONS,
    group_default_keys,
    without_foreign_group_defaults,
)
from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC


def test_option_sets_do_not_overlap_and_cover_entra_token():
    assert not SIGN_IN_OPTIONS & GRAPH_OPTIONS
    assert set(OPTION_SPEC) - SHARED_OPTIONS <= SIGN_IN_OPTIONS
    for new in ('flow', 'device_code_timeout', 'client_secret', 'client_certificate_path', 'client_certificate_password',
                'client_certificate_send_chain', 'client_assertion_file', 'fact_name'):
        assert new in SIGN_IN_OPTIONS, new


def test_option_sets_follow_both_argument_specs():
    """GRAPH_OPTIONS is graph_request's argument spec less what both modules take."""
    graph = set(argument_spec())
    assert SHARED_OPTIONS == graph & set(OPTION_SPEC)
    assert GRAPH_OPTIONS == graph - SHARED_OPTIONS


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


def test_a_service_principal_secret_in_a_group_never_reaches_graph_request():
    defaults = [{'group/identity.entra.entra': {'tenant': 't', 'client_secret': 's', 'client_certificate_path': '/p', 'flow': 'password',
                                                'timeout': 10}}]
    args = {'tenant': 't', 'client_secret': 's', 'client_certificate_path': '/p', 'flow': 'password', 'timeout': 10, 'path': '/me'}
    assert without_foreign_group_defaults(args, defaults, SIGN_IN_OPTIONS) == {'timeout': 10, 'path': '/me'}
