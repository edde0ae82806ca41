# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.identity.entra.plugins.module_utils._graph_options import argument_spec


def test_argument_spec_shape():
    spec = argument_spec()
    assert spec['token']['no_log'] is True and spec['token']['required'] is True
    assert spec['batch']['options']['path']['required'] is True
    assert set(spec['method']['choices']) == {'GET', 'POST', 'PATCH', 'PUT', 'DELETE'}
    assert set(spec['cloud']['choices']) == {'public', 'usgov', 'usgov_dod', 'china'}


def test_each_call_gets_its_own_copy():
    spec = argument_spec()
    spec['token']['no_log'] = False
    assert argument_spec()['token']['no_log'] is True
