# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The graph_plan filter: which of the identity.entra.graph role's requests go through one $batch (docs: graph_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# Options that keep a request out of a batch: paging, writes, nested batches, per-request transport settings.
_NOT_BATCHABLE = ('all_pages', 'max_pages', 'batch', 'body', 'max_retries', 'max_retry_wait', 'timeout', 'consistency_level')


# The role's $batch call goes to this version; a request for another one stays single.
_BATCH_VERSION = 'v1.0'


def _batchable(request: dict) -> bool:
    return (str(request.get('method') or 'GET').upper() == 'GET' and request.get('path')
            and request.get('api_version') in (None, _BATCH_VERSION)
            and not any(request.get(option) not in (None, False) for option in _NOT_BATCHABLE))


def graph_plan(requests, batch_min=2):
    """Split named requests into plain GETs for one $batch and the rest, keeping names."""
    if not isinstance(requests, list) or not all(isinstance(r, dict) and r.get('name') for r in requests):
        raise AnsibleFilterError('graph_plan expects a list of requests, each a dictionary with a name')
    batchable = [r for r in requests if _batchable(r)]
    if not batch_min or len(batchable) < int(batch_min):
        batchable = []
    batch_names = {r['name'] for r in batchable}
    batch = [dict({'id': r['name'], 'method': 'GET', 'path': r['path']},
                  **{k: r[k] for k in ('query', 'headers') if r.get(k) is not None})
             for r in batchable]
    return {'batch': batch, 'single': [r for r in requests if r['name'] not in batch_names],
            'order': [r['name'] for r in requests]}


class FilterModule:
    def filters(self):
        return {'graph_plan': graph_plan}
