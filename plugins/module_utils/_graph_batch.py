# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft Graph JSON batching: any number of requests through ``$batch`` calls of at most 20.

For internal collection use only. What it guarantees:

- requests keep their ids (default: their position, ``"1"``, ``"2"``, ...); ids are unique
  (case-insensitively, as Graph compares them) and ``depends_on`` names ids of the same list,
  without cycles; all of this is checked before anything is sent;
- a chunk holds up to 20 requests in list order; a request goes into a chunk only when each
  of its dependencies is either finished (then the ``dependsOn`` is dropped, or, if the
  dependency failed, the request is answered 424 locally without being sent) or in the same
  chunk (then ``dependsOn`` is sent and Graph orders them);
- inner answers are matched by id (Graph returns them in any order) and returned in request order;
- inner 429/503 (and 504 for GETs) are retried in a later chunk, honouring the largest inner
  ``Retry-After`` (else backoff), within the client's ``max_retries``/``max_retry_wait``; a request
  that got 424 only because its dependency in the same chunk was throttled goes again with it;
  nothing else is sent twice;
- a 424 whose dependency really failed is a failure like any other.
"""

from __future__ import annotations

from ansible_collections.identity.entra.plugins.module_utils._graph_client import RETRY_STATUSES
from ansible_collections.identity.entra.plugins.module_utils._graph_errors import (
    GraphRequestError,
    describe,
    parse_error,
)
from ansible_collections.identity.entra.plugins.module_utils._graph_options import METHODS, WRITE_METHODS
from ansible_collections.identity.entra.plugins.module_utils._graph_url import GraphUrlError

MAX_BATCH = 20


class BatchItem:
    """One request of the batch list, validated and with its URL relative to the version root."""

    def __init__(self, index, ident, method, url, headers, body, depends_on):
        self.index = index
        self.id = ident
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.depends_on = depends_on  # ids as given
        self.deps = []  # indices of the dependencies

    @property
    def is_write(self):
        return self.method in WRITE_METHODS

    def payload(self, depends_on_ids):
        entry = {'id': self.id, 'method': self.method, 'url': self.url}
        if self.headers:
            entry['headers'] = self.headers
        if self.body is not None:
            entry['body'] = self.body
        if depends_on_ids:
            entry['dependsOn'] = depends_on_ids
        return entry


def prepare(target, requests, consistency_level=None):
    """BatchItems from the module's ``batch`` list; GraphUrlError for anything Graph would refuse."""
    if not requests:
        raise GraphUrlError('batch is empty')
    items, seen = [], {}
    for position, raw in enumerate(requests, start=1):
        if not isinstance(raw, dict):
            raise GraphUrlError('batch[%d] must be a dict' % (position - 1))
        ident = raw.get('id')
        ident = str(position) if ident is None or str(ident) == '' else str(ident)
        if ident.lower() in seen:
            raise GraphUrlError('batch id %s is used twice (ids are compared case-insensitively)' % ident)
        method = str(raw.get('method') or 'GET').upper()
        if method not in METHODS:
            raise GraphUrlError('batch id %s: method %s is not supported' % (ident, method))
        try:
            url = target.relative(raw.get('path'), raw.get('query'))
        except GraphUrlError as exc:
            raise GraphUrlError('batch id %s: %s' % (ident, exc))
        if url.split('?', 1)[0].rstrip('/').lower() == '/$batch':
            raise GraphUrlError('batch id %s: a batch cannot contain $batch' % ident)
        headers = dict((str(k), str(v)) for k, v in (raw.get('headers') or {}).items())
        if any(k.lower() == 'authorization' for k in headers):
            raise GraphUrlError('batch id %s: inner requests use the token of the batch; do not set Authorization' % ident)
        if consistency_level and not any(k.lower() == 'consistencylevel' for k in headers):
            headers['ConsistencyLevel'] = consistency_level
        body = raw.get('body')
        if body is not None and not any(k.lower() == 'content-type' for k in headers):
            headers['Content-Type'] = 'application/json'
        depends_on = [str(d) for d in (raw.get('depends_on') or [])]
        item = BatchItem(len(items), ident, method, url, headers, body, depends_on)
        seen[ident.lower()] = item.index
        items.append(item)
    for item in items:
        for dep in item.depends_on:
            if dep.lower() not in seen:
                raise GraphUrlError('batch id %s depends on %s, which is not in the batch' % (item.id, dep))
            if seen[dep.lower()] == item.index:
                raise GraphUrlError('batch id %s depends on itself' % item.id)
            item.deps.append(seen[dep.lower()])
    _check_cycles(items)
    return items


def _check_cycles(items):
    state = {}

    def visit(idx, chain):
        if state.get(idx) == 2:
            return
        if state.get(idx) == 1:
            raise GraphUrlError('batch depends_on has a cycle: %s' % ' -> '.join(items[i].id for i in chain + [idx]))
        state[idx] = 1
        for dep in items[idx].deps:
            visit(dep, chain + [idx])
        state[idx] = 2

    for item in items:
        visit(item.index, [])


def check_mode_skips(items):
    """Indices not sent in check mode: writes and whatever depends on them (directly or not)."""
    skipped = set(i.index for i in items if i.is_write)
    grew = True
    while grew:
        grew = False
        for item in items:
            if item.index not in skipped and any(d in skipped for d in item.deps):
                skipped.add(item.index)
                grew = True
    return skipped


def _result(item, status, headers=None, body=None):
    result = {'id': item.id, 'method': item.method, 'url': item.url, 'status': status,
              'headers': headers or {}, 'body': body}
    if status is None or status >= 400:
        result['error'] = parse_error(status, headers, body)
    return result


class BatchRunner:
    """Runs prepared BatchItems through a GraphClient."""

    def __init__(self, client, items, skip=None):
        self.client = client
        self.items = items
        self.skip = set(skip or ())
        self.results = {}
        self.attempts = dict((i.index, 0) for i in items)
        # index -> the client's total wait after which a throttled request may go again. Measured on
        # the client's wait clock, so other chunks are sent meanwhile and one wait serves them all.
        self.not_before = {}
        self.last_response = None

    def run(self):
        """Responses in request order; GraphRequestError (``responses`` lists every request) if a $batch call itself fails."""
        for idx in self.skip:
            item = self.items[idx]
            self.results[idx] = {'id': item.id, 'method': item.method, 'url': item.url, 'status': None,
                                 'headers': {}, 'body': None, 'skipped': True}
        pending = [i.index for i in self.items if i.index not in self.skip]
        while pending:
            chunk = self._next_chunk(pending)
            throttled = [self.not_before[idx] for idx in pending if self.not_before.get(idx, 0.0) > self.client.waited]
            if len(chunk) < MAX_BATCH and throttled:
                # Full chunks go first; a chunk with room waits for the throttled requests and takes them along.
                self.client.wait(min(throttled) - self.client.waited)
                chunk = self._next_chunk([idx for idx in pending if idx not in self.results])
            if chunk:
                self._send(chunk)
            elif not throttled:  # nothing ready and nothing throttled: cannot happen with checked dependencies
                break
            pending = [idx for idx in pending if idx not in self.results]
        return self.ordered()

    def ordered(self):
        return [self.results[i.index] for i in self.items if i.index in self.results]

    def _next_chunk(self, pending):
        """[(index, [in-chunk dependency indices])] of up to MAX_BATCH requests that can go now."""
        chunk, in_chunk = [], set()
        progress = True
        while progress and len(chunk) < MAX_BATCH:
            progress = False
            for idx in pending:
                if idx in in_chunk or idx in self.results:
                    continue
                if self.not_before.get(idx, 0.0) > self.client.waited:
                    continue  # throttled: goes again once its Retry-After has been waited out
                item = self.items[idx]
                failed = [d for d in item.deps if d in self.results and not _ok(self.results[d])]
                if failed:
                    dep = self.items[failed[0]]
                    self.results[idx] = _result(item, 424, {'Content-Type': 'application/json'}, {'error': {
                        'code': 'FailedDependency',
                        'message': 'The request depends on request id : %s, which failed (not sent).' % dep.id}})
                    progress = True
                    continue
                waiting = [d for d in item.deps if d not in self.results]
                if all(d in in_chunk for d in waiting):
                    chunk.append((idx, waiting))
                    in_chunk.add(idx)
                    progress = True
                    if len(chunk) >= MAX_BATCH:
                        break
        return chunk

    def _send(self, chunk):
        payload = {'requests': [self.items[idx].payload([self.items[d].id for d in deps]) for idx, deps in chunk]}
        read_only = all(not self.items[idx].is_write for idx, _deps in chunk)
        url = self.client.target.batch_url()
        try:
            response = self.client.request('POST', url, body=payload, idempotent=read_only)
        except GraphRequestError as exc:
            self._fail_rest(exc.error)
            raise self._failure(exc.error, 'POST %s: %s' % (url, describe(exc.error)))
        self.last_response = response
        if not response.ok:
            error = response.error()
            self._fail_rest(error)
            raise self._failure(error, 'POST %s: %s' % (url, describe(error)))
        try:
            body = response.json()
        except GraphRequestError as exc:
            self._fail_rest(exc.error)
            raise self._failure(exc.error, 'POST %s: %s' % (url, describe(exc.error)))
        answers = body.get('responses') if isinstance(body, dict) else None
        if not isinstance(answers, list):
            error = parse_error(response.status, response.headers, response.body)
            error.update(code='invalid_response', message='The $batch answer has no responses list', retryable=True)
            self._fail_rest(error)
            raise self._failure(error, 'POST %s: %s' % (url, describe(error)))
        by_id = {}
        for answer in answers:
            if isinstance(answer, dict) and answer.get('id') is not None:
                by_id[str(answer['id']).lower()] = answer
        self._settle(chunk, by_id)

    def _settle(self, chunk, by_id):
        answers = {}
        for idx, _deps in chunk:
            item = self.items[idx]
            answer = by_id.get(item.id.lower())
            if answer is None:
                answers[idx] = (None, {}, {'error': {'code': 'invalid_response',
                                                     'message': 'The $batch answer has no response for id %s' % item.id}})
            else:
                status = answer.get('status')
                answers[idx] = (status if isinstance(status, int) else None, answer.get('headers') or {}, answer.get('body'))
        client = self.client
        retry = [idx for idx, _deps in chunk
                 if answers[idx][0] in RETRY_STATUSES and (answers[idx][0] != 504 or not self.items[idx].is_write)
                 and self.attempts[idx] < client.max_retries]
        again = set()
        if retry:
            delay = max(client.delay_for(answers[idx][1], self.attempts[idx]) for idx in retry)
            if client.can_wait(delay):
                client.throttled += len(retry)
                again = set(retry)
                for idx in retry:
                    self.attempts[idx] += 1
                    self.not_before[idx] = client.waited + delay
                grew = True
                while grew:
                    grew = False
                    for idx, deps in chunk:
                        if idx not in again and answers[idx][0] == 424 and any(d in again for d in deps):
                            again.add(idx)
                            grew = True
        for idx, _deps in chunk:
            if idx not in again:
                status, headers, body = answers[idx]
                self.results[idx] = _result(self.items[idx], status, headers, body)

    def _fail_rest(self, error):
        for item in self.items:
            if item.index not in self.results:
                result = _result(item, None)
                result['error'] = dict(error)
                self.results[item.index] = result

    def _failure(self, error, msg):
        return GraphRequestError(error, msg, responses=self.ordered())


def _ok(result):
    status = result.get('status')
    return isinstance(status, int) and 200 <= status < 300
