# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted Microsoft Graph behind a stand-in for ``ansible.module_utils.urls.open_url``.

The Graph client code under test is real; only the socket is replaced. ``FakeGraph`` answers
like Graph does: error bodies with ``innerError`` ids, ``$batch`` answers in shuffled order,
``dependsOn`` with 424, inner 429s with ``Retry-After`` in the inner headers.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from email.message import Message
from urllib.error import HTTPError
from urllib.parse import urlsplit

import pytest

from ansible_collections.identity.entra.plugins.module_utils import _graph_task as core
from ansible_collections.identity.entra.plugins.module_utils._graph_client import GraphClient
from ansible_collections.identity.entra.plugins.module_utils._graph_options import argument_spec
from ansible_collections.identity.entra.plugins.module_utils._graph_url import GraphTarget

TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJl'


def graph_error_body(code, message, request_id='7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918',
                     client_request_id='11111111-2222-4333-8444-555555555555', date='2024-05-01T10:00:00', inner=None):
    """A Graph error body, as Graph nests it."""
    inner_error = {'date': date, 'request-id': request_id, 'client-request-id': client_request_id}
    if inner:
        inner_error.update(inner)
    return {'error': {'code': code, 'message': message, 'innerError': inner_error}}


def _message(headers):
    msg = Message()
    for key, value in (headers or {}).items():
        msg[key] = str(value)
    return msg


class FakeAnswer:
    """What open_url returns for a 2xx/3xx answer."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = _message(headers)
        self._body = body

    def getcode(self):
        return self.status

    def read(self):
        return self._body


class Call:
    """One request the client made."""

    def __init__(self, url, data, headers, method, kwargs):
        self.url = url
        self.method = method
        self.headers = headers
        self.kwargs = kwargs
        self.data = data
        self.json = json.loads(data.decode('utf-8')) if data else None

    @property
    def path(self):
        return urlsplit(self.url).path


class FakeGraph:
    """Answers requests from a script; records every call.

    ``script`` is a list consumed in order: each entry is ``(status, headers, body)``, an exception
    to raise, or a callable ``f(call) -> entry``. When the script is empty, ``default`` answers.
    ``$batch`` calls are answered by ``inner`` (``f(request_dict) -> (status, headers, body)``)
    unless the script says otherwise; ``inner_script`` maps request ids to lists of inner answers
    consumed in order (e.g. a 429 first).
    """

    def __init__(self, default=None, inner=None, seed=7):
        self.calls = []
        self.script = []
        self.default = default or (lambda call: (200, {'Content-Type': 'application/json'}, {'ok': True}))
        self.inner = inner or (lambda req: (200, {'Content-Type': 'application/json'}, {'id': req['url'].rsplit('/', 1)[-1]}))
        self.inner_script = {}
        self.inner_seen = []
        self._random = random.Random(seed)

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        call = Call(url, data, dict(headers or {}), method, kwargs)
        self.calls.append(call)
        entry = self.script.pop(0) if self.script else None
        if entry is None:
            entry = self._batch(call) if call.path.endswith('/$batch') else self.default(call)
        if callable(entry) and not isinstance(entry, type):
            entry = entry(call)
        if isinstance(entry, BaseException):
            raise entry
        status, resp_headers, body = entry
        resp_headers = dict(resp_headers or {})
        resp_headers.setdefault('request-id', str(uuid.uuid4()))
        resp_headers.setdefault('client-request-id', call.headers.get('client-request-id', ''))
        raw = body if isinstance(body, bytes) else (b'' if body is None else json.dumps(body).encode('utf-8'))
        if status >= 300:
            raise HTTPError(url, status, 'status %d' % status, _message(resp_headers), io.BytesIO(raw))
        return FakeAnswer(status, resp_headers, raw)

    def _batch(self, call):
        requests = call.json['requests']
        assert len(requests) <= 20, 'Graph refuses more than 20 requests per batch'
        status_by_id, answers = {}, []
        for req in requests:
            self.inner_seen.append(req['id'])
            failed = [d for d in req.get('dependsOn', []) if not 200 <= status_by_id[d.lower()] < 300]
            if failed:
                answer = (424, {'Content-Type': 'application/json'},
                          graph_error_body('FailedDependency', 'The request depends on request id : %s, which failed.' % failed[0]))
            elif self.inner_script.get(req['id']):
                answer = self.inner_script[req['id']].pop(0)
            else:
                answer = self.inner(req)
            status, headers, body = answer
            status_by_id[req['id'].lower()] = status
            item = {'id': req['id'], 'status': status, 'headers': headers}
            if body is not None:
                item['body'] = body
            answers.append(item)
        self._random.shuffle(answers)
        return 200, {'Content-Type': 'application/json'}, {'responses': answers}

    def batch_calls(self):
        return [c for c in self.calls if c.path.endswith('/$batch')]


class Sleeper:
    """Records waits instead of sleeping."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


@pytest.fixture
def fake_graph():
    return FakeGraph()


@pytest.fixture
def sleeper():
    return Sleeper()


@pytest.fixture
def make_client(fake_graph, sleeper):
    """``make_client(**kwargs)``: a GraphClient on graph.microsoft.com talking to ``fake_graph``."""

    def make(host='graph.microsoft.com', api_version='v1.0', rand=lambda: 1.0, **kwargs):
        return GraphClient(GraphTarget(host, api_version), TOKEN, sleep=sleeper, rand=rand, opener=fake_graph, **kwargs)
    return make


@pytest.fixture
def graph_error():
    """``graph_error(code, message, **ids)``: a Graph error body."""
    return graph_error_body


@pytest.fixture
def run_task(fake_graph, sleeper):
    """``run_task(token, check_mode=False, **params)``: graph_request's core over ``fake_graph``; the token is in no result."""

    def factory(target, token, **kwargs):
        return GraphClient(target, token, sleep=sleeper, rand=lambda: 1.0, opener=fake_graph, **kwargs)

    def go(token, check_mode=False, **kwargs):
        params = dict((name, spec.get('default')) for name, spec in argument_spec().items())
        params.update(kwargs, token=token)
        result = core.run(params, check_mode=check_mode, client_factory=factory)
        assert token not in json.dumps(result)
        return result
    return go
