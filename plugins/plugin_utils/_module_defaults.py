# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One module_defaults group for modules with different options.

For internal collection use only. ``group/identity.entra.entra`` applies every key to every
module of the group, so entra_token would receive graph_request's options and the other way
round. Each action plugin drops the other module's options when, and only when, a group entry
supplied them; options written on the task itself are kept, so a typo still fails.
"""

from __future__ import annotations

from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC

# Options both modules have: a group's value is meant for each of them.
SHARED_OPTIONS = frozenset(('ca_path', 'validate_certs', 'timeout', 'cloud'))
# Options only identity.entra.entra_token has (derived from its option table, so a new one is never missed).
SIGN_IN_OPTIONS = frozenset(OPTION_SPEC) - SHARED_OPTIONS | {'fact_name'}
# Options only identity.entra.graph_request has.
GRAPH_OPTIONS = frozenset((
    'token', 'method', 'path', 'api_version', 'graph_host', 'query', 'body', 'headers', 'consistency_level',
    'all_pages', 'max_pages', 'batch', 'fail_on_inner_error', 'max_retries', 'max_retry_wait',
))


def group_default_keys(module_defaults) -> set:
    """Option names set by any ``group/...`` entry of a task's module_defaults."""
    keys = set()
    entries = module_defaults if isinstance(module_defaults, list) else [module_defaults]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for name, defaults in entry.items():
            if str(name).startswith('group/') and isinstance(defaults, dict):
                keys.update(defaults)
    return keys


def without_foreign_group_defaults(args: dict, module_defaults, foreign: frozenset) -> dict:
    """``args`` less the other module's options that a module_defaults group put there."""
    dropped = foreign & group_default_keys(module_defaults)
    return {key: value for key, value in args.items() if key not in dropped}
