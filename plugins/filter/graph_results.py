# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The graph_results filter: the identity.entra.graph role's results, one per request name (docs: graph_results.yml)."""

from __future__ import annotations


def graph_results(plan, batched=None, single=None):
    """One result per request name, the same shape whether it went through $batch or alone."""
    results = {}
    for response in (batched or {}).get('responses') or []:
        status = int(response.get('status') or 0)
        body = response.get('body')
        headers = response.get('headers') or {}
        result = {'status': status, 'json': body, 'headers': headers, 'batched': True,
                  'request_id': headers.get('request-id'), 'failed': not 200 <= status < 300}
        if isinstance(body, dict) and isinstance(body.get('error'), dict):
            result['error'] = {'code': body['error'].get('code'), 'message': body['error'].get('message'), 'status': status}
        results[str(response.get('id'))] = result
    for item in (single or {}).get('results') or []:
        request = item.get('item') or {}
        result = {key: value for key, value in item.items() if key not in ('item', 'ansible_loop_var', 'invocation', '_ansible_no_log')}
        status = result.get('status')
        # failed_when may have reset 'failed': judge by Graph's answer itself
        result['failed'] = bool(result.get('error')) or not isinstance(status, int) or not 200 <= status < 300
        result['batched'] = False
        results[request.get('name')] = result
    return {name: results[name] for name in plan.get('order', []) if name in results}


class FilterModule:
    def filters(self):
        return {'graph_results': graph_results}
