# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One attempt per credential: what Entra refused is not sent again by any process; the file holds no secret."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _failure_memory as failure_memory
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._failure_memory import FailureMemory
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import FORK, mode_of

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
PASSWORD = 'Wr0ng-Passw0rd-CANARY'
HANG = 60


def request(cache_path, **kw):
    args = dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', cache_path=cache_path)
    args.update(kw)
    return from_mapping(args, environ={})


def refusal(**kw) -> EntraTokenError:
    fields = dict(aadsts=50126, error='invalid_grant', description='AADSTS50126: Error validating credentials due to invalid username '
                  'or password.', correlation_id='corr-1', trace_id='trace-1', timestamp='2026-11-27 10:00:00Z', status=400)
    fields.update(kw)
    return EntraTokenError(fields.pop('kind', 'invalid_credentials'), **fields)


@pytest.fixture
def cache(tmp_path):
    return CacheDirectory(str(tmp_path / 'cache'))


@pytest.fixture
def memory(cache):
    return FailureMemory(cache, request(cache.path))


def failure_file(cache, req):
    return cache.failure_file(req.sign_in_key).path


def records(cache, req):
    with open(failure_file(cache, req)) as handle:
        return json.load(handle)['records']


def rewrite_records(cache, req, change):
    def apply(current):
        for record in current['records']:
            change(record)
        return current

    cache.failure_file(req.sign_in_key).update(apply)


def _remember_in_child(path, kind, secret, error_kind, retry_after, done):
    FailureMemory(CacheDirectory(path), request(path)).remember(refusal(kind=error_kind), kind, secret, retry_after=retry_after)
    done.set()


def remember_elsewhere(cache, kind='password', secret=PASSWORD, error_kind='invalid_credentials', retry_after=None):
    """Another process (a fork of another worker) meets the failure and records it."""
    done = FORK.Event()
    child = FORK.Process(target=_remember_in_child, args=(cache.path, kind, secret, error_kind, retry_after, done))
    child.start()
    child.join(HANG)
    assert child.exitcode == 0 and done.is_set()


# -- verdicts on credentials ---------------------------------------------------------------------


def test_a_refused_password_is_not_sent_again_by_another_process(cache, memory):
    remember_elsewhere(cache)
    with pytest.raises(EntraTokenError) as caught:
        memory.check_credential('password', PASSWORD)
    error = caught.value
    assert (error.kind, error.aadsts, error.correlation_id, error.status) == ('invalid_credentials', 50126, 'corr-1', 400)
    assert 'not sent again: Entra ID refused this password' in error.message
    assert 'tried again when it changes or after 15 minutes' in error.message
    assert PASSWORD not in error.message and PASSWORD not in json.dumps(error.as_dict())


def test_a_changed_password_is_tried_at_once(cache, memory):
    remember_elsewhere(cache)
    memory.check_credential('password', PASSWORD + '-changed')
    memory.check_credential('password', None)  # nothing to check: a sign-in without a password


def test_the_verdict_belongs_to_one_account_app_and_tenant(cache):
    remember_elsewhere(cache)
    path = cache.path
    for other in (request(path, username='other@contoso.com'), request(path, client_id='aaaaaaaa-bbbb-cccc-dddd-ffffffffffff'),
                  request(path, tenant='99999999-2222-3333-4444-555555555555')):
        FailureMemory(cache, other).check_credential('password', PASSWORD)
    with pytest.raises(EntraTokenError):  # another scope of the same account: still the same password verdict
        FailureMemory(cache, request(path, scopes=['User.Read'])).check_credential('password', PASSWORD)


def test_the_file_holds_salted_slow_hashes_only_and_is_private(cache, memory):
    req = request(cache.path)
    memory.remember(refusal(), 'password', PASSWORD)
    memory.remember(refusal(), 'password', PASSWORD)
    path = failure_file(cache, req)
    assert mode_of(path) == 0o600 and mode_of(os.path.dirname(path)) == 0o700
    with open(path, 'rb') as handle:
        raw = handle.read()
    forms = [PASSWORD, PASSWORD.encode().hex(), base64.b64encode(PASSWORD.encode()).decode(), PASSWORD.lower(),
             hashlib.sha256(PASSWORD.encode()).hexdigest(), hashlib.md5(PASSWORD.encode()).hexdigest(),  # nosec - looking for it
             hashlib.sha1(PASSWORD.encode()).hexdigest()]  # nosec
    for form in forms:
        assert form.encode() not in raw, form
    first, second = (record['credential'] for record in records(cache, req))
    assert first['salt'] != second['salt'] and first['hash'] != second['hash']  # salted: equal passwords, unequal records
    assert len(bytes.fromhex(first['salt'])) == 16 and len(first['hash']) == 64


def test_other_processes_check_against_every_salt(cache, memory):
    """Each record has its own salt; a check recomputes the hash with it (not a shared, guessable digest)."""
    memory.remember(refusal(), 'password', 'first-wrong')
    memory.remember(refusal(), 'password', PASSWORD)
    for secret in ('first-wrong', PASSWORD):
        with pytest.raises(EntraTokenError):
            memory.check_credential('password', secret)


def test_the_verdict_lapses_after_15_minutes_but_not_within_the_same_run(cache, memory):
    req = request(cache.path)
    memory.remember(refusal(), 'password', PASSWORD)
    old = time.time() - failure_memory.VERDICT_SECONDS - 5
    rewrite_records(cache, req, lambda record: record.update(at=old))  # the same run: still refused
    with pytest.raises(EntraTokenError):
        memory.check_credential('password', PASSWORD)
    rewrite_records(cache, req, lambda record: record.update(run='1:another-run'))
    memory.check_credential('password', PASSWORD)  # another run, long ago: tried again


def test_forget_drops_verdicts_of_that_kind_only(cache, memory):
    req = request(cache.path)
    memory.remember(refusal(), 'password', PASSWORD)
    memory.remember(refusal(kind='refresh_token_expired', aadsts=700082), 'refresh_token', 'dead-refresh-token')
    memory.forget('password')
    memory.check_credential('password', PASSWORD)
    with pytest.raises(EntraTokenError) as caught:
        memory.check_credential('refresh_token', 'dead-refresh-token')
    assert caught.value.kind == 'refresh_token_expired' and 'refresh token' in caught.value.message
    fingerprint = cache.failure_file(req.sign_in_key).stat_fingerprint()
    memory.forget('password')  # nothing left to forget: the file is not rewritten
    assert cache.failure_file(req.sign_in_key).stat_fingerprint() == fingerprint


def test_a_dead_refresh_token_is_remembered_by_its_hash(cache, memory):
    memory.remember(refusal(kind='refresh_token_expired', aadsts=70043), 'refresh_token', 'rt-DEAD')
    with pytest.raises(EntraTokenError):
        memory.check_credential('refresh_token', 'rt-DEAD')
    memory.check_credential('refresh_token', 'rt-NEW')  # a new refresh token is tried
    memory.check_credential('password', 'rt-DEAD')  # kinds are kept apart
    with open(failure_file(cache, request(cache.path)), 'rb') as handle:
        assert b'rt-DEAD' not in handle.read()


@pytest.mark.parametrize('kind', sorted(failure_memory.NOT_REMEMBERED))
def test_failures_that_are_no_verdict_on_the_credential_are_not_remembered(cache, memory, kind):
    memory.remember(EntraTokenError(kind), 'password', PASSWORD)
    assert not os.path.exists(failure_file(cache, request(cache.path)))
    memory.check_credential('password', PASSWORD)


def test_a_verdict_without_the_credential_is_not_recorded(cache, memory):
    memory.remember(refusal(), 'password', None)
    assert not os.path.exists(failure_file(cache, request(cache.path)))


def test_scope_verdicts_apply_to_the_same_scopes_only(cache):
    path = cache.path
    graph = FailureMemory(cache, request(path))
    mail = FailureMemory(cache, request(path, scopes=['Mail.Read']))
    mail.remember(refusal(kind='consent_required', aadsts=65001), 'password', PASSWORD)
    graph.check_credential('password', PASSWORD)
    with pytest.raises(EntraTokenError) as caught:
        mail.check_credential('password', PASSWORD)
    assert caught.value.kind == 'consent_required'


def test_at_most_max_records_are_kept(cache, memory):
    for number in range(failure_memory.MAX_RECORDS + 5):
        memory.remember(refusal(kind='refresh_token_expired', aadsts=700082), 'refresh_token', 'rt-%d' % number)
    kept = records(cache, request(cache.path))
    assert len(kept) == failure_memory.MAX_RECORDS
    with pytest.raises(EntraTokenError):
        memory.check_credential('refresh_token', 'rt-%d' % (failure_memory.MAX_RECORDS + 4))  # the newest stay


# -- outages -----------------------------------------------------------------------------------------


def test_an_outage_is_shared_with_those_who_waited_for_the_holder(cache, memory):
    waited_since = time.time() - 1
    remember_elsewhere(cache, kind=None, secret=None, error_kind='service_unavailable')
    with pytest.raises(EntraTokenError) as caught:
        memory.check_outage(waited_since)
    assert caught.value.kind == 'service_unavailable' and 'from another process signing in the same account' in caught.value.message
    memory.check_outage(None)  # not a waiter, no Retry-After: may try itself
    memory.check_outage(time.time() + 1)  # started waiting after the failure: not its waiter


def test_a_throttled_answer_holds_everyone_back_within_retry_after(cache, memory):
    remember_elsewhere(cache, kind=None, secret=None, error_kind='throttled', retry_after=30)
    for waited_since in (None, time.time() + 1):
        with pytest.raises(EntraTokenError) as caught:
            memory.check_outage(waited_since)
        assert caught.value.kind == 'throttled'
    rewrite_records(cache, request(cache.path), lambda record: record.update(at=time.time() - 31))
    memory.check_outage(None)  # Retry-After has passed


def test_retry_after_is_capped(cache, memory):
    memory.remember(refusal(kind='throttled', status=429), retry_after=10 ** 9)
    assert records(cache, request(cache.path))[0]['hold'] == 300.0


def test_an_old_outage_is_not_replayed_to_waiters(cache, memory):
    memory.remember(refusal(kind='network_error'))
    rewrite_records(cache, request(cache.path), lambda record: record.update(at=time.time() - failure_memory.OUTAGE_SECONDS - 5))
    memory.check_outage(0)


def test_outages_are_per_identity(cache):
    path = cache.path
    FailureMemory(cache, request(path, scopes=['Mail.Read'])).remember(refusal(kind='throttled'), retry_after=60)
    FailureMemory(cache, request(path)).check_outage(None)


# -- robustness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize('content', [
    {'records': 'text'}, {'records': [None, 5, 'x', []]}, {'records': [{'at': 'soon', 'credential': {'kind': 'password'}}]},
    {'records': [{'at': time.time(), 'credential': {'kind': 'password', 'salt': 'zz', 'hash': 'x'}}]},
    {'records': [{'at': time.time(), 'credential': None, 'hold': 'long'}]}, {'other': 1}, [],
])
def test_a_damaged_failure_file_never_raises_anything_but_a_verdict(cache, memory, content):
    req = request(cache.path)
    cache.failure_file(req.sign_in_key).update(lambda current: content if isinstance(content, dict) else {'records': content})
    memory.check_credential('password', PASSWORD)
    memory.check_outage(0)
    memory.remember(refusal(), 'password', PASSWORD)
    with pytest.raises(EntraTokenError):
        memory.check_credential('password', PASSWORD)


def test_a_forged_record_cannot_inject_fields(cache, memory):
    req = request(cache.path)
    memory.remember(refusal(), 'password', PASSWORD)
    rewrite_records(cache, req, lambda record: record['error'].update(kind='no_such_kind', aadsts=['x'], detail={'a': 1}))
    with pytest.raises(EntraTokenError) as caught:
        memory.check_credential('password', PASSWORD)
    assert caught.value.kind == 'unknown' and caught.value.aadsts is None and '{' not in caught.value.message


def test_without_a_cache_nothing_is_remembered(tmp_path):
    memory = FailureMemory(None, request(str(tmp_path / 'c')))
    memory.remember(refusal(), 'password', PASSWORD)
    memory.check_credential('password', PASSWORD)
    memory.check_outage(0)
    memory.forget('password')
    assert os.listdir(tmp_path) == []


def test_an_unwritable_memory_is_only_a_lost_optimisation(cache, memory):
    os.makedirs(cache.path, mode=0o700)
    with open(os.path.join(cache.path, 'failures'), 'w'):
        pass  # a file where the directory should be
    memory.remember(refusal(), 'password', PASSWORD)
    memory.check_credential('password', PASSWORD)
