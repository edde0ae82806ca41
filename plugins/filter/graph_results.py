# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The graph_results filter: the identity.entra.graph role's results, one per request name (docs: graph_results.yml)."""

from __future__ import annotations

_LOOP_KEYS = ('item', 'ansible_loop_var', 'invocation', '_ansible_no_log')


def _is_success(status):
    return isinstance(status, int) and 200 <= status < 300


def _batched_result(response):
    """A $batch response in the shape of a single request's result."""
    headers = response.get('headers') or {}
    error = response.get('error')
    status = response.get('status')
    result = {'status': status, 'json': response.get('body'), 'headers': headers, 'batched': True,
              'request_id': headers.get('request-id'), 'failed': bool(error) or not _is_success(status)}
    if isinstance(error, dict):  # graph_request's structured error; the $batch call's own when it got no answer
        result['error'] = error
        result['request_id'] = result['request_id'] or error.get('request_id')
        if not isinstance(status, int):
            result['status'] = error.get('status')
    return result


def _unanswered_result(batched):
    """A request of the batch the $batch task returned nothing for (refused before sending, module failure)."""
    result = {'status': batched.get('status'), 'json': None, 'headers': {}, 'batched': True,
              'request_id': batched.get('request_id'), 'failed': True, 'msg': batched.get('msg') or 'no response'}
    if isinstance(batched.get('error'), dict):
        result['error'] = batched['error']
    return result


def graph_results(plan, batched=None, single=None):
    """One result per request name, the same shape whether it went through $batch or alone."""
    batched = batched or {}
    results = {}
    for response in batched.get('responses') or []:
        results[str(response.get('id'))] = _batched_result(response)
    if not batched.get('skipped'):
        for request in plan.get('batch') or []:
            if request['id'] not in results:
                results[request['id']] = _unanswered_result(batched)
    for item in (single or {}).get('results') or []:
        request = item.get('item') or {}
        result = {key: value for key, value in item.items() if key not in _LOOP_KEYS}
        # failed_when may have reset 'failed': judge by Graph's answer itself
        result['failed'] = bool(result.get('error')) or not _is_success(result.get('status'))
        result['batched'] = False
        results[request.get('name')] = result
    return {name: results[name] for name in plan.get('order', []) if name in results}


class FilterModule:
    def filters(self):
        return {'graph_results': graph_results}
