# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One identity.entra.graph_request task: its parameters in, its module result out.

For internal collection use only. ``run(params, check_mode)`` returns the module result
(with ``failed``/``msg`` on failure); the module only validates the parameters against
``_graph_options.argument_spec()`` and exits. The token is used for the Authorization header
and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlsplit

from ansible_collections.identity.entra.plugins.module_utils._graph_client import GraphClient
from ansible_collections.identity.entra.plugins.module_utils._graph_batch import (
    BatchRunner,
    check_mode_skips,
    prepare,
)
from ansible_collections.identity.entra.plugins.module_utils._graph_errors import (
    GraphRequestError,
    describe,
    transport_error,
)
from ansible_collections.identity.entra.plugins.module_utils._graph_url import (
    API_VERSIONS,
    GraphTarget,
    GraphUrlError,
    graph_host,
)

ME_NEEDS_A_USER = (
    '/me is the signed-in user, and this token is app-only (a service principal\'s, from client credentials): it has no '
    'user, so Graph answers /me only for delegated (user) tokens. Ask for the user by id or user principal name instead, '
    '/users/{id} (application permission User.Read.All), or sign in as a user.')


def _refused(message):
    error = transport_error('refused_url', message, False)
    return {'failed': True, 'msg': message, 'error': error, 'changed': False, 'status': None, 'http_requests': 0,
            'throttled': 0, 'waited': 0.0, 'request_id': None}


def _check_params(params):
    if params.get('batch') and (params.get('query') or params.get('body') is not None or params.get('all_pages')
                                or params.get('method', 'GET') != 'GET'):
        return 'With batch, give method, query and body per request; all_pages does not apply.'
    if params.get('body') is not None and params.get('method', 'GET') in ('GET', 'DELETE'):
        return 'A %s request takes no body.' % params.get('method', 'GET')
    for name in ('max_retries', 'max_retry_wait', 'max_pages'):
        if (params.get(name) or 0) < 0:
            return '%s must not be negative.' % name
    if (params.get('timeout') or 0) <= 0:
        return 'timeout must be positive.'
    for key in (params.get('headers') or {}):
        if str(key).lower() == 'authorization':
            return 'Do not set an Authorization header; the module sends the token option as a bearer token.'
    return None


def run(params, check_mode=False, client_factory=GraphClient):
    """The module result for ``params`` (AnsibleModule.params shape)."""
    problem = _check_params(params)
    if problem:
        return _refused(problem)
    try:
        target = GraphTarget(graph_host(params.get('cloud'), params.get('graph_host')), params.get('api_version') or 'v1.0')
    except GraphUrlError as exc:
        return _refused(str(exc))
    client = client_factory(
        target, params['token'], timeout=params.get('timeout') or 30,
        validate_certs=params.get('validate_certs', True), ca_path=params.get('ca_path'),
        max_retries=params.get('max_retries', 5), max_retry_wait=params.get('max_retry_wait', 300))
    app_only = token_is_app_only(params['token'])
    if params.get('batch'):
        return _run_batch(client, target, params, check_mode, app_only)
    return _run_single(client, target, params, check_mode, app_only)


def token_is_app_only(token):
    """Whether ``token`` is an app-only access token (roles, no scp). Read only to explain errors, never trusted."""
    try:
        payload = token.split('.')[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
    except (AttributeError, IndexError, TypeError, ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and not claims.get('scp') and (claims.get('idtyp') == 'app' or bool(claims.get('roles')))


def _explain(error, url, app_only):
    """Add a mitigation to an error whose code alone does not say what to do (an app-only token asking for /me)."""
    segments = [seg for seg in urlsplit(url).path.split('/') if seg]
    if segments and segments[0] in API_VERSIONS:
        segments = segments[1:]
    if app_only and error.get('status') == 400 and segments[:1] == ['me'] and not error.get('mitigation'):
        error['mitigation'] = ME_NEEDS_A_USER
    return error


def _headers(params):
    headers = dict((str(k), str(v)) for k, v in (params.get('headers') or {}).items())
    if params.get('consistency_level') and not any(k.lower() == 'consistencylevel' for k in headers):
        headers['ConsistencyLevel'] = params['consistency_level']
    return headers


def _counters(client, result):
    result['http_requests'] = client.http_requests
    result['throttled'] = client.throttled
    result['waited'] = round(client.waited, 3)
    result['request_id'] = client.last_request_id
    return result


def _run_single(client, target, params, check_mode, app_only):
    method = params.get('method') or 'GET'
    try:
        url = target.url(params['path'], params.get('query'))
    except GraphUrlError as exc:
        return _refused(str(exc))
    result = {'changed': False, 'url': url, 'status': None, 'pages': 0}
    if method != 'GET' and check_mode:
        result.update(changed=True, status=None, msg='Check mode: %s %s was not sent.' % (method, url))
        return _counters(client, result)
    headers = _headers(params)
    try:
        if method == 'GET' and params.get('all_pages'):
            return _counters(client, _paged(client, url, headers, params.get('max_pages') or 0, result, app_only))
        response = client.request(method, url, body=params.get('body'), headers=headers)
        result['status'] = response.status
        result['headers'] = response.headers
        if not response.ok:
            error = _explain(response.error(), url, app_only)
            return _counters(client, _failed(result, error, method, url, response.budget_exhausted))
        body = response.json()
    except GraphRequestError as exc:
        return _counters(client, _failed(result, exc.error, method, url))
    except GraphUrlError as exc:
        return _counters(client, _failed(result, transport_error('refused_url', str(exc), False), method, url))
    result['pages'] = 1
    result['json'] = body
    if body is None and response.body:
        result['content'] = response.text()
    if isinstance(body, dict) and isinstance(body.get('value'), list):
        result['value'] = body['value']
    result['changed'] = method != 'GET' and 200 <= response.status < 300
    return _counters(client, result)


def _paged(client, url, headers, max_pages, result, app_only):
    try:
        paged = client.get_pages(url, headers=headers, max_pages=max_pages)
    except GraphRequestError as exc:
        if exc.partial is not None:
            result['pages'] = exc.partial.pages
        result['status'] = exc.error.get('status')
        return _failed(result, _explain(exc.error, url, app_only), 'GET', url)
    except GraphUrlError as exc:
        return _failed(result, transport_error('refused_url', str(exc), False), 'GET', url)
    first, last = paged.first, paged.last
    result['status'] = paged.response.status
    result['headers'] = paged.response.headers
    result['pages'] = paged.pages
    if isinstance(first, dict) and isinstance(first.get('value'), list):
        body = dict((k, v) for k, v in last.items() if k != 'value')
        if '@odata.count' in first and '@odata.count' not in body:
            body['@odata.count'] = first['@odata.count']
        result['json'] = body
        result['value'] = paged.items
    else:
        result['json'] = first
    return result


def _failed(result, error, method, url, budget_exhausted=False):
    result['failed'] = True
    result['error'] = error
    if result.get('status') is None and error.get('status') is not None:
        result['status'] = error['status']
    msg = '%s %s failed: %s' % (method, url, describe(error))
    if budget_exhausted:
        msg += ' (not retried further: max_retries or max_retry_wait reached)'
    result['msg'] = msg
    return result


def _run_batch(client, target, params, check_mode, app_only):
    try:
        items = prepare(target, params['batch'], params.get('consistency_level'))
    except GraphUrlError as exc:
        return _refused(str(exc))
    skip = check_mode_skips(items) if check_mode else set()
    runner = BatchRunner(client, items, skip)
    result = {'changed': False, 'url': target.batch_url(), 'status': None}
    try:
        responses = runner.run()
    except GraphRequestError as exc:
        result['responses'] = exc.responses if exc.responses is not None else runner.ordered()
        result['status'] = exc.error.get('status')
        return _counters(client, _failed(result, exc.error, 'POST', target.batch_url()))
    for response in responses:
        if response.get('error'):
            _explain(response['error'], response['url'], app_only)
    result['responses'] = responses
    result['status'] = runner.last_response.status if runner.last_response is not None else None
    by_index = dict(zip((i.index for i in items), responses))
    if check_mode:
        result['changed'] = any(items[idx].is_write for idx in skip)
        if skip:
            result['msg'] = 'Check mode: %d write request(s) and their dependents were not sent.' % len(skip)
    else:
        result['changed'] = any(item.is_write and isinstance(by_index[item.index]['status'], int)
                                and 200 <= by_index[item.index]['status'] < 300 for item in items)
    failures = [r for r in responses if r.get('error') and not r.get('skipped')]
    if failures and params.get('fail_on_inner_error', True):
        first = dict(failures[0]['error'])
        first['id'] = failures[0]['id']
        result['failed'] = True
        result['error'] = first
        shown = '; '.join('id %s: %s' % (r['id'], describe(r['error'])) for r in failures[:3])
        more = ' (and %d more)' % (len(failures) - 3) if len(failures) > 3 else ''
        result['msg'] = '%d of %d batch requests failed: %s%s' % (len(failures), len(responses), shown, more)
    return _counters(client, result)
