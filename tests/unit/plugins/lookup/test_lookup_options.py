# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lookup's option definitions: what Ansible would build from its documentation, registered before it does.

These tests need Ansible's collection loader (ansible-test units installs it); run directly with
pytest, they are skipped unless it was installed before the collection was imported.
"""

from __future__ import annotations

import json
import sys

import pytest

from ansible import constants as C

NAME = 'ansible_collections.identity.entra.plugins.lookup.entra_token'


@pytest.fixture
def lookup_module():
    from ansible.plugins.loader import lookup_loader  # pylint: disable=import-outside-toplevel

    if lookup_loader.get('identity.entra.entra_token', class_only=True) is None:
        pytest.skip("Ansible's collection loader is not installed (ansible-test units installs it)")
    return sys.modules[NAME]


def test_the_definitions_are_what_ansible_builds_from_the_documentation(lookup_module):
    """Ansible's own loader, asked to build them from DOCUMENTATION and the doc fragments, builds the same."""
    from ansible.plugins.loader import lookup_loader  # pylint: disable=import-outside-toplevel

    registered = C.config._plugins['lookup']  # pylint: disable=protected-access
    ours = registered.pop(NAME)
    try:
        lookup_loader._load_config_defs(NAME, lookup_module, lookup_module.__file__)  # pylint: disable=protected-access
        derived = C.config.get_configuration_definitions('lookup', NAME)
    finally:
        registered[NAME] = ours
    assert derived is not lookup_module.OPTIONS  # really built from the documentation
    assert json.loads(json.dumps(derived)) == lookup_module.OPTIONS, 'stale: run python3 hacking/render_lookup_options.py'


def test_ansible_uses_the_registered_definitions(lookup_module):
    """Loading the lookup registered them before the loader asked, so it did not parse the documentation."""
    assert C.config.get_configuration_definitions('lookup', NAME) is lookup_module.OPTIONS
    assert lookup_module.register_option_definitions(NAME) is False  # known: never replaced


def test_only_a_collection_plugin_registers(lookup_module):
    assert lookup_module.register_option_definitions('entra_token') is False
    assert not C.config.has_configuration_definition('lookup', 'entra_token')
