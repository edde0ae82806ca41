# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""JSON batching: chunks of 20, request order, inner retries with dependsOn, 424."""

from __future__ import annotations

import pytest

from ansible_collections.identity.entra.plugins.module_utils._graph_batch import (
    BatchRunner,
    check_mode_skips,
    prepare,
)
from ansible_collections.identity.entra.plugins.module_utils._graph_errors import GraphRequestError
from ansible_collections.identity.entra.plugins.module_utils._graph_url import GraphTarget, GraphUrlError

TARGET = GraphTarget('graph.microsoft.com', 'v1.0')
JSON = {'Content-Type': 'application/json'}


def gets(count, prefix='user'):
    return [{'path': 'users/%s%02d' % (prefix, n)} for n in range(1, count + 1)]


def inner_429(seconds=1):
    return (429, {'Retry-After': str(seconds), 'Content-Type': 'application/json'},
            {'error': {'code': 'TooManyRequests', 'message': 'Too many requests.',
                       'innerError': {'date': '2024-05-01T10:00:00', 'request-id': 'r', 'client-request-id': 'c'}}})


def run(client, requests, skip=None, consistency_level=None):
    items = prepare(client.target, requests, consistency_level)
    runner = BatchRunner(client, items, skip)
    return runner, runner.run()


def sent_ids(call):
    return [r['id'] for r in call.json['requests']]


def test_prepare_defaults_and_headers():
    items = prepare(TARGET, [
        {'path': '/me'},
        {'id': 'create', 'method': 'POST', 'path': 'groups', 'body': {'displayName': 'x'}},
        {'path': 'users', 'query': {'$count': True, '$search': '"displayName:a"'}, 'depends_on': ['create']},
        {'path': 'users', 'headers': {'consistencylevel': 'session'}},
    ], consistency_level='eventual')
    assert [i.id for i in items] == ['1', 'create', '3', '4']
    assert items[0].payload([]) == {'id': '1', 'method': 'GET', 'url': '/me', 'headers': {'ConsistencyLevel': 'eventual'}}
    assert items[1].headers['Content-Type'] == 'application/json'
    assert items[2].url == '/users?$count=true&$search=%22displayName:a%22'
    assert items[2].deps == [1]
    assert items[3].headers == {'consistencylevel': 'session'}


@pytest.mark.parametrize('requests, words', [
    ([], 'empty'),
    ([{'id': 'A', 'path': 'me'}, {'id': 'a', 'path': 'me'}], 'twice'),
    ([{'path': 'me'}, {'id': '1', 'path': 'me'}], 'twice'),
    ([{'path': 'me', 'depends_on': ['9']}], 'not in the batch'),
    ([{'id': 'x', 'path': 'me', 'depends_on': ['x']}], 'itself'),
    ([{'id': 'a', 'path': 'me', 'depends_on': ['c']}, {'id': 'b', 'path': 'me', 'depends_on': ['a']},
      {'id': 'c', 'path': 'me', 'depends_on': ['b']}], 'cycle'),
    ([{'path': 'https://evil.example/v1.0/me'}], 'not on the Graph host'),
    ([{'path': 'https://graph.microsoft.com/beta/me'}], 'api_version'),
    ([{'path': '$batch'}], '$batch'),
    ([{'path': 'me', 'headers': {'Authorization': 'Bearer x'}}], 'Authorization'),
    ([{'path': 'me', 'method': 'HEAD'}], 'not supported'),
])
def test_prepare_refuses(requests, words):
    with pytest.raises(GraphUrlError) as info:
        prepare(TARGET, requests)
    assert words in str(info.value)


def test_45_gets_in_three_calls_in_request_order(make_client, fake_graph):
    client = make_client()
    _runner, responses = run(client, gets(45))
    calls = fake_graph.batch_calls()
    assert [len(c.json['requests']) for c in calls] == [20, 20, 5]
    assert all(c.url == 'https://graph.microsoft.com/v1.0/$batch' and c.method == 'POST' for c in calls)
    assert [r['id'] for r in responses] == [str(n) for n in range(1, 46)]
    assert [r['body']['id'] for r in responses] == ['user%02d' % n for n in range(1, 46)]
    assert all(r['status'] == 200 and 'error' not in r for r in responses)
    assert client.http_requests == 3 and client.throttled == 0


def test_answers_are_matched_by_id_case_insensitively(make_client, fake_graph):
    original = fake_graph._batch

    def upper_ids(call):
        status, headers, body = original(call)
        for answer in body['responses']:
            answer['id'] = answer['id'].upper()
        return status, headers, body
    fake_graph.script = [upper_ids]
    _runner, responses = run(make_client(), [{'id': 'me', 'path': 'me'}, {'id': 'them', 'path': 'users'}])
    assert [r['id'] for r in responses] == ['me', 'them'] and [r['status'] for r in responses] == [200, 200]


def test_inner_429_is_retried_in_a_later_call(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'6': [inner_429(1)]}
    client = make_client()
    _runner, responses = run(client, gets(45))
    calls = fake_graph.batch_calls()
    assert len(calls) == 3
    # the full second chunk goes without waiting; the last one has room, waits, and takes '6' along
    assert sent_ids(calls[1]) == [str(n) for n in range(21, 41)]
    assert sorted(sent_ids(calls[2]), key=int) == ['6'] + [str(n) for n in range(41, 46)]
    assert sleeper.waits == [1.0] and client.throttled == 1 and client.http_requests == 3
    assert [r['id'] for r in responses] == [str(n) for n in range(1, 46)]
    assert all(r['status'] == 200 for r in responses)
    assert fake_graph.inner_seen.count('6') == 2
    assert all(fake_graph.inner_seen.count(str(n)) == 1 for n in range(1, 46) if n != 6)


def test_throttled_chunks_share_one_wait(make_client, fake_graph, sleeper):
    """Other chunks are sent while a throttled request waits, and one wait serves every chunk."""
    fake_graph.inner_script = {'6': [inner_429(1)], '26': [inner_429(1)]}
    client = make_client()
    _runner, responses = run(client, gets(60))
    calls = fake_graph.batch_calls()
    assert [len(sent_ids(call)) for call in calls] == [20, 20, 20, 2]
    assert sorted(sent_ids(calls[3]), key=int) == ['6', '26']
    assert sleeper.waits == [1.0] and client.throttled == 2
    assert all(r['status'] == 200 for r in responses)


def test_largest_inner_retry_after_is_honoured(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'2': [inner_429(3)], '4': [inner_429(7)]}
    client = make_client()
    _runner, responses = run(client, gets(5))
    assert sleeper.waits == [7.0] and client.throttled == 2
    assert sent_ids(fake_graph.batch_calls()[1]) == ['2', '4']
    assert [r['status'] for r in responses] == [200] * 5


def test_inner_retry_without_retry_after_backs_off(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'1': [(503, {}, None), (503, {}, None)]}
    _runner, responses = run(make_client(), gets(1))
    assert sleeper.waits == [2.0, 4.0] and responses[0]['status'] == 200


def test_dependent_of_a_throttled_request_goes_again_with_it(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'a': [inner_429(2)]}
    requests = [{'id': 'a', 'method': 'PATCH', 'path': 'users/x', 'body': {'jobTitle': 'Engineer'}},
                {'id': 'b', 'path': 'users/x', 'depends_on': ['a']},
                {'id': 'c', 'path': 'me'}]
    client = make_client()
    _runner, responses = run(client, requests)
    first, second = fake_graph.batch_calls()
    assert sent_ids(first) == ['a', 'b', 'c'] and first.json['requests'][1]['dependsOn'] == ['a']
    assert sent_ids(second) == ['a', 'b'] and second.json['requests'][1]['dependsOn'] == ['a']
    assert [r['status'] for r in responses] == [200, 200, 200]
    assert client.throttled == 1 and sleeper.waits == [2.0]


def test_chain_of_dependents_is_retried_together(make_client, fake_graph):
    fake_graph.inner_script = {'a': [inner_429(1)]}
    requests = [{'id': 'a', 'path': 'me'}, {'id': 'b', 'path': 'me', 'depends_on': ['a']},
                {'id': 'c', 'path': 'me', 'depends_on': ['b']}]
    _runner, responses = run(make_client(), requests)
    assert sent_ids(fake_graph.batch_calls()[1]) == ['a', 'b', 'c']
    assert [r['status'] for r in responses] == [200, 200, 200]


def test_dependency_in_an_earlier_call_is_not_resent(make_client, fake_graph):
    requests = gets(25)
    requests[22]['depends_on'] = ['1']
    _runner, responses = run(make_client(), requests)
    first, second = fake_graph.batch_calls()
    assert '1' in sent_ids(first) and '23' in sent_ids(second)
    assert 'dependsOn' not in second.json['requests'][sent_ids(second).index('23')]
    assert [r['status'] for r in responses] == [200] * 25


def test_forward_dependency_waits_for_its_target(make_client, fake_graph):
    requests = gets(25)
    requests[0]['depends_on'] = ['25']
    _runner, responses = run(make_client(), requests)
    first, second = fake_graph.batch_calls()
    assert '1' not in sent_ids(first) and len(sent_ids(first)) == 20
    ids = sent_ids(second)
    assert ids.index('25') < ids.index('1')
    assert second.json['requests'][ids.index('1')]['dependsOn'] == ['25']
    assert [r['id'] for r in responses] == [str(n) for n in range(1, 26)]


def test_failed_dependency_in_an_earlier_call_gives_424_without_sending(make_client, fake_graph, graph_error):
    fake_graph.inner_script = {'1': [(404, JSON, graph_error('Request_ResourceNotFound', "Resource 'user01' does not exist."))]}
    requests = gets(22)
    requests[21]['depends_on'] = ['1']
    _runner, responses = run(make_client(), requests)
    assert len(fake_graph.batch_calls()) == 2
    assert '22' not in sent_ids(fake_graph.batch_calls()[1])
    assert responses[21]['status'] == 424 and responses[21]['error']['code'] == 'FailedDependency'
    assert responses[0]['status'] == 404 and responses[0]['error']['code'] == 'Request_ResourceNotFound'
    assert responses[0]['error']['request_id'] == '7f6d5e4c-3b2a-4190-8f7e-6d5c4b3a2918'


def test_424_from_graph_for_a_real_failure_is_final(make_client, fake_graph, graph_error, sleeper):
    fake_graph.inner_script = {'a': [(403, JSON, graph_error('Authorization_RequestDenied', 'Insufficient privileges.'))]}
    _runner, responses = run(make_client(), [{'id': 'a', 'path': 'users'}, {'id': 'b', 'path': 'me', 'depends_on': ['a']}])
    assert len(fake_graph.batch_calls()) == 1 and sleeper.waits == []
    assert [r['status'] for r in responses] == [403, 424]
    assert responses[1]['error']['code'] == 'FailedDependency'


def test_inner_retries_are_bounded(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'1': [inner_429(1)] * 10}
    client = make_client(max_retries=2)
    _runner, responses = run(client, gets(2))
    assert len(fake_graph.batch_calls()) == 3 and sleeper.waits == [1.0, 1.0]
    assert responses[0]['status'] == 429 and responses[0]['error']['retryable'] is True
    assert responses[1]['status'] == 200


def test_inner_retry_after_over_budget_is_final(make_client, fake_graph, sleeper):
    fake_graph.inner_script = {'1': [inner_429(100)]}
    _runner, responses = run(make_client(max_retry_wait=30), gets(3))
    assert len(fake_graph.batch_calls()) == 1 and sleeper.waits == []
    assert responses[0]['status'] == 429


def test_inner_504_of_a_write_is_not_retried(make_client, fake_graph):
    fake_graph.inner_script = {'1': [(504, {}, None)], '2': [(504, {}, None)]}
    _runner, responses = run(make_client(), [{'method': 'POST', 'path': 'groups', 'body': {}}, {'path': 'me'}])
    assert [r['status'] for r in responses] == [504, 200]


def test_outer_429_is_retried(make_client, fake_graph, sleeper):
    fake_graph.script = [(429, {'Retry-After': '3'}, None)]
    client = make_client()
    _runner, responses = run(client, gets(2))
    assert [r['status'] for r in responses] == [200, 200]
    assert client.http_requests == 2 and client.throttled == 1 and sleeper.waits == [3.0]


def test_outer_failure_lists_every_request(make_client, fake_graph, graph_error):
    fake_graph.script = [None, (400, JSON, graph_error('BadRequest', 'Invalid batch payload format.'))]
    with pytest.raises(GraphRequestError) as info:
        run(make_client(), gets(30))
    assert info.value.error['code'] == 'BadRequest'
    responses = info.value.responses
    assert len(responses) == 30
    assert all(r['status'] == 200 for r in responses[:20])
    assert all(r['status'] is None and r['error']['code'] == 'BadRequest' for r in responses[20:])


def test_batch_answer_that_is_not_json_lists_every_request(make_client, fake_graph):
    fake_graph.script = [None, (200, JSON, b'{"responses": [{"id": ')]
    with pytest.raises(GraphRequestError) as info:
        run(make_client(), gets(25))
    assert info.value.error['code'] == 'invalid_response'
    responses = info.value.responses
    assert [r['id'] for r in responses] == [str(n) for n in range(1, 26)]
    assert all(r['status'] == 200 for r in responses[:20])
    assert all(r['status'] is None and r['error']['code'] == 'invalid_response' for r in responses[20:])


def test_missing_inner_answer(make_client, fake_graph):
    fake_graph.script = [(200, JSON, {'responses': [{'id': '1', 'status': 200, 'headers': {}, 'body': {}}]})]
    _runner, responses = run(make_client(), gets(2))
    assert responses[1]['status'] is None and responses[1]['error']['code'] == 'invalid_response'


def test_check_mode_skips_writes_and_their_dependents(make_client, fake_graph):
    requests = [
        {'id': 'me', 'path': 'me'},
        {'id': 'add', 'method': 'POST', 'path': 'groups/g/members/$ref', 'body': {'@odata.id': 'x'}},
        {'id': 'members', 'path': 'groups/g/members', 'depends_on': ['add']},
        {'id': 'after-members', 'path': 'me', 'depends_on': ['members']},
        {'id': 'delete', 'method': 'DELETE', 'path': 'groups/g/members/u/$ref'},
        {'id': 'read', 'path': 'groups/g', 'depends_on': ['me']},
    ]
    items = prepare(TARGET, requests)
    skip = check_mode_skips(items)
    assert sorted(items[i].id for i in skip) == ['add', 'after-members', 'delete', 'members']
    runner = BatchRunner(make_client(), items, skip)
    responses = runner.run()
    assert sent_ids(fake_graph.batch_calls()[0]) == ['me', 'read']
    assert [r['id'] for r in responses] == [r['id'] for r in requests]
    assert [bool(r.get('skipped')) for r in responses] == [False, True, True, True, True, False]
    assert all(r['status'] is None for r in responses if r.get('skipped'))


def test_check_mode_with_only_writes_sends_nothing(make_client, fake_graph):
    items = prepare(TARGET, [{'method': 'PATCH', 'path': 'me', 'body': {}}])
    responses = BatchRunner(make_client(), items, check_mode_skips(items)).run()
    assert fake_graph.calls == [] and responses[0]['skipped']
