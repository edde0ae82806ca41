# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of identity.entra.graph_request: its argument spec, the one source of their names.

For internal collection use only. Kept apart from the Graph client so that the controller
(the module_defaults filtering of both action plugins) can read the option names without
importing the HTTP code. Documented in plugins/modules/graph_request.py; sanity's
validate-modules keeps the two in step.
"""

from __future__ import annotations

from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS, DEFAULT_CLOUD
from ansible_collections.identity.entra.plugins.module_utils._graph_url import API_VERSIONS

WRITE_METHODS = ('POST', 'PATCH', 'PUT', 'DELETE')
METHODS = ('GET',) + WRITE_METHODS
MUTUALLY_EXCLUSIVE = [('path', 'batch')]
REQUIRED_ONE_OF = [('path', 'batch')]


def argument_spec():
    """A fresh copy of the module's argument spec."""
    batch_item = dict(
        id=dict(type='str'),
        method=dict(type='str', default='GET', choices=list(METHODS)),
        path=dict(type='str', required=True),
        query=dict(type='dict'),
        body=dict(type='raw'),
        headers=dict(type='dict'),
        depends_on=dict(type='list', elements='str'),
    )
    return dict(
        token=dict(type='str', required=True, no_log=True),
        method=dict(type='str', default='GET', choices=list(METHODS)),
        path=dict(type='str'),
        api_version=dict(type='str', default='v1.0', choices=list(API_VERSIONS)),
        cloud=dict(type='str', default=DEFAULT_CLOUD, choices=list(CLOUDS)),
        graph_host=dict(type='str'),
        query=dict(type='dict'),
        body=dict(type='raw'),
        headers=dict(type='dict'),
        consistency_level=dict(type='str', choices=['eventual']),
        all_pages=dict(type='bool', default=False),
        max_pages=dict(type='int', default=0),
        batch=dict(type='list', elements='dict', options=batch_item),
        fail_on_inner_error=dict(type='bool', default=True),
        max_retries=dict(type='int', default=5),
        max_retry_wait=dict(type='int', default=300),
        timeout=dict(type='int', default=30),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
    )
