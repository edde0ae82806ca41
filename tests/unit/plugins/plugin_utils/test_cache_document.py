# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cache document: parsing, entries of every wrong shape, and merging changes."""

from __future__ import annotations

import copy
import json
import random

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._cache_document import (
    CACHE_SECTIONS,
    MAX_FIELD_LENGTH,
    entry_problem,
    merge_changes,
    parse_cache_document,
    usable_entries,
)
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import (
    CLIENT,
    ENV,
    TENANT,
    combine,
    user_document,
)

# -- parse_cache_document ----------------------------------------------------------------


@pytest.mark.parametrize('raw, reason', [
    (b'', 'the file is empty'),
    (b' \n\t', 'the file is empty'),
    (b'\xff\xfe{}', 'not UTF-8'),
    (b'{"a": ', 'not valid JSON (line 1, column'),
    (b'{"a": 1}\n{"b": 2}', 'not valid JSON (line 2, column 1)'),
    (b'[' * 100000 + b']' * 100000, 'nested too deeply'),
    (b'[]', 'not an object'),
    (b'"CANARY"', 'not an object'),
    (b'42', 'not an object'),
    (b'null', 'not an object'),
    (b'{"AccessToken": []}', 'section AccessToken is not an object'),
    (b'{"Account": "x"}', 'section Account is not an object'),
    (b'{"IdToken": null}', 'section IdToken is not an object'),
])
def test_unusable_documents_give_a_reason_that_quotes_nothing(raw, reason):
    data, problem = parse_cache_document(raw)
    assert data is None and reason in problem
    assert '"a"' not in problem and 'CANARY' not in problem


def test_a_document_with_a_byte_order_mark_other_sections_and_bad_entries_parses():
    document = combine(user_document(1), {'RefreshToken': {'odd': 'not an entry'}})
    document['SomeoneElses'] = [1, 2]
    data, problem = parse_cache_document(b'\xef\xbb\xbf' + json.dumps(document).encode())
    assert problem is None and data == document


# -- usable_entries: entries of every wrong shape -------------------------------------------


def entry_of(section: str, n: int = 1) -> tuple[str, dict]:
    key, entry = next(iter(user_document(n)[section].items()))
    return key, copy.deepcopy(entry)


REQUIRED = {
    'AccessToken': ('credential_type', 'secret', 'home_account_id', 'environment', 'client_id', 'realm', 'target', 'expires_on'),
    'RefreshToken': ('credential_type', 'secret', 'home_account_id', 'environment', 'client_id'),
    'IdToken': ('credential_type', 'secret', 'home_account_id', 'environment', 'realm', 'client_id'),
    'Account': ('home_account_id', 'environment', 'realm', 'local_account_id', 'username', 'authority_type'),
    'AppMetadata': ('client_id', 'environment'),
}
STRING_FIELDS = {
    'AccessToken': ('credential_type', 'secret', 'environment', 'client_id', 'realm', 'target', 'token_type', 'key_id'),
    'RefreshToken': ('credential_type', 'secret', 'environment', 'client_id', 'target'),
    'IdToken': ('credential_type', 'secret', 'environment', 'realm', 'client_id'),
    'Account': ('home_account_id', 'environment', 'realm', 'username', 'authority_type'),
    'AppMetadata': ('client_id', 'environment'),
}
TIME_FIELDS = {
    'AccessToken': ('expires_on', 'cached_at', 'extended_expires_on', 'refresh_on'),
    'RefreshToken': ('last_modification_time',),
}
WRONG_FOR_STRING = [None, 5, 1.5, True, [], ['a'], {}, {'a': 'b'}, 'x' * (MAX_FIELD_LENGTH + 1)]
WRONG_FOR_TIME = [None, 'soon', '', '-5', '1.5', '12345678901234', -1, 10 ** 13, 1.5, True, [], {}, ' 1700000000']


def test_the_sample_document_is_entirely_usable():
    clean, skipped = usable_entries(user_document(1))
    assert clean == user_document(1) and skipped == []


@pytest.mark.parametrize('section, field', [(s, f) for s, fields in REQUIRED.items() for f in fields])
def test_an_entry_without_a_required_field_is_skipped(section, field):
    key, entry = entry_of(section)
    del entry[field]
    key += '-damaged'
    document = combine(user_document(2), {section: {key: entry}})
    clean, skipped = usable_entries(document)
    assert key not in clean[section]
    assert clean[section] == user_document(2)[section]  # the good entry stays
    assert skipped == ['1 %s entry has no %s' % (section, field)]


@pytest.mark.parametrize('section, field, value', [
    (s, f, v) for s, fields in STRING_FIELDS.items() for f in fields for v in WRONG_FOR_STRING
], ids=lambda value: repr(value)[:20])
def test_a_string_field_of_the_wrong_type_or_size_is_skipped(section, field, value):
    key, entry = entry_of(section)
    entry[field] = value
    clean, skipped = usable_entries({section: {key: entry}})
    assert clean[section] == {}
    assert skipped == ['1 %s entry has %s %s of the wrong type' % (section, 'an' if field[0] in 'aeiou' else 'a', field)]
    assert 'x' * 20 not in skipped[0]  # the value itself is never quoted


@pytest.mark.parametrize('section, field, value', [
    (s, f, v) for s, fields in TIME_FIELDS.items() for f in fields for v in WRONG_FOR_TIME
], ids=lambda value: repr(value)[:20])
def test_a_time_field_that_is_not_epoch_seconds_is_skipped(section, field, value):
    key, entry = entry_of(section)
    entry[field] = value
    clean, skipped = usable_entries({section: {key: entry}})
    assert clean[section] == {}
    assert skipped == ['1 %s entry has %s %s of the wrong type' % (section, 'an' if field[0] in 'aeiou' else 'a', field)]


@pytest.mark.parametrize('value', ['1700003600', 1700003600, 0, '0'])
def test_times_as_msal_writes_them_or_as_numbers_are_kept(value):
    key, entry = entry_of('AccessToken')
    entry['expires_on'] = value
    assert usable_entries({'AccessToken': {key: entry}})[1] == []


@pytest.mark.parametrize('section, field', [
    ('AccessToken', 'home_account_id'),  # app-only tokens have no account
    ('RefreshToken', 'home_account_id'),
    ('RefreshToken', 'family_id'),
    ('Account', 'local_account_id'),
    ('Account', 'account_source'),
    ('AppMetadata', 'family_id'),
])
def test_fields_msal_writes_as_null_are_kept(section, field):
    key, entry = entry_of(section)
    entry[field] = None
    clean, skipped = usable_entries({section: {key: entry}})
    assert skipped == [] and clean[section] == {key: entry}


@pytest.mark.parametrize('section, field', [
    ('AccessToken', 'environment'), ('AccessToken', 'secret'), ('AccessToken', 'expires_on'),
    ('Account', 'home_account_id'), ('Account', 'environment'), ('Account', 'username'),
])
def test_nulls_where_msal_writes_strings_are_skipped(section, field):
    key, entry = entry_of(section)
    entry[field] = None
    assert usable_entries({section: {key: entry}})[0][section] == {}


@pytest.mark.parametrize('section', CACHE_SECTIONS)
@pytest.mark.parametrize('entry', ['text', None, 5, [], ['a', 'b'], True])
def test_entries_that_are_not_objects_are_skipped(section, entry):
    clean, skipped = usable_entries(combine(user_document(1), {section: {'bad': entry}}))
    assert 'bad' not in clean[section] and len(clean[section]) == 1
    assert skipped == ['1 %s entry is not an object' % section]


def test_extra_fields_and_other_sections_are_left_alone():
    key, entry = entry_of('AccessToken')
    entry['something_new'] = {'nested': [1, 2]}
    document = {'AccessToken': {key: entry}, 'Extension': {'anything': [None]}, 'version': 3}
    clean, skipped = usable_entries(document)
    assert clean == document and skipped == []


def test_a_section_that_is_not_an_object_is_skipped_with_a_reason():
    clean, skipped = usable_entries({'AccessToken': [1], 'Account': user_document(1)['Account']})
    assert 'AccessToken' not in clean and clean['Account'] == user_document(1)['Account']
    assert skipped == ['section AccessToken is not an object']


def test_reasons_are_counted_per_section_and_kind():
    bad = {'a': {'secret': 5}, 'b': 'x', 'c': 7}
    clean, skipped = usable_entries({'RefreshToken': bad})
    assert clean == {'RefreshToken': {}}
    assert skipped == ['1 RefreshToken entry has no credential_type', '2 RefreshToken entries are not an object']


def test_usable_entries_does_not_modify_its_input():
    document = combine(user_document(1), {'IdToken': {'x': None}})
    snapshot = copy.deepcopy(document)
    usable_entries(document)
    assert document == snapshot


def test_entry_problem_names_the_field_only():
    key, entry = entry_of('RefreshToken')
    entry['secret'] = ['CANARY-REFRESH-TOKEN']
    assert entry_problem('RefreshToken', entry) == 'has a secret of the wrong type'


# -- fuzz: random mutations of a real cache never break anything downstream ---------------------

_MUTANTS = [None, True, 0, -1, 10 ** 15, 1.5, '', 'x', 'soon', 'x' * (MAX_FIELD_LENGTH + 10), [], ['a'], {}, {'k': None}]


def _mutate(document: dict, rng: random.Random) -> dict:
    document = copy.deepcopy(document)
    for _mutation in range(rng.randint(1, 4)):
        section = rng.choice(list(document))
        entries = document[section]
        if rng.random() < 0.05:
            document[section] = rng.choice(_MUTANTS)
            continue
        if not isinstance(entries, dict) or not entries:
            continue
        key = rng.choice(list(entries))
        entry = entries[key]
        if not isinstance(entry, dict) or rng.random() < 0.1:
            entries[key] = rng.choice(_MUTANTS)
            continue
        field = rng.choice(list(entry))
        if rng.random() < 0.3:
            del entry[field]
        else:
            entry[field] = rng.choice(_MUTANTS)
    return document


def _msal_document():
    """A cache document written by msal itself (a user, and an app-only token of another app)."""
    from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import app_doc, cached_doc

    return combine(cached_doc(), app_doc())


def test_fuzzed_documents_never_break_the_warm_path_or_msal():
    msal = pytest.importorskip('msal')
    from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import APP, CLIENT as VIEW_CLIENT, HOST, \
        TENANT as VIEW_TENANT, OpenIdOnly

    original = _msal_document()
    user = from_mapping({'tenant': VIEW_TENANT, 'client_id': VIEW_CLIENT, 'username': 'user@contoso.com', 'authority_host': HOST},
                        environ={})
    app = from_mapping({'tenant': VIEW_TENANT, 'client_id': APP, 'client_secret': 's', 'authority_host': HOST}, environ={})
    rng = random.Random(20261127)
    skipped_any = 0
    for _round in range(400):
        mutated = _mutate(original, rng)
        raw = json.dumps(mutated).encode()
        data, problem = parse_cache_document(raw)
        if problem:
            continue  # quarantined by the store (test_cache_store)
        clean, skipped = usable_entries(data)
        skipped_any += bool(skipped)
        for section in CACHE_SECTIONS:
            for entry in (clean.get(section) or {}).values():
                assert entry_problem(section, entry) is None
        for request in (user, app):
            entry = view.find_access_token(clean, request, VIEW_TENANT)
            if entry:
                facts = view.token_facts(clean, entry, request, 'cache')
                assert facts['access_token'] == entry['secret']
        for account in view.find_accounts(clean, 'login.example.test', 'user@contoso.com'):
            view.find_refresh_token(clean, account['home_account_id'], 'login.example.test', VIEW_CLIENT)
        cache = msal.SerializableTokenCache()
        cache.deserialize(json.dumps(clean))
        application = msal.PublicClientApplication(VIEW_CLIENT, authority='%s/%s' % (HOST, VIEW_TENANT), instance_discovery=False,
                                                   token_cache=cache, http_client=OpenIdOnly())
        application.get_accounts()
        cache.search(cache.CredentialType.ACCESS_TOKEN, query={'client_id': VIEW_CLIENT})
        cache.search(cache.CredentialType.REFRESH_TOKEN, query={'client_id': VIEW_CLIENT})
    assert skipped_any > 100  # the mutations really produced entries of the wrong shape


# -- merge_changes --------------------------------------------------------------------


def test_merge_adds_entries_and_keeps_untouched_ones():
    before = user_document(1)
    after = combine(before, user_document(2))
    current = combine(user_document(1), user_document(3))  # someone else added user 3
    merged = merge_changes(before, after, current)
    assert merged == combine(user_document(1), user_document(2), user_document(3))


def test_merge_sets_modified_entries():
    before = user_document(1)
    after = user_document(1, access_secret='new-at')
    merged = merge_changes(before, after, combine(before, user_document(2)))
    assert merged == combine(user_document(1, access_secret='new-at'), user_document(2))


def test_merge_removes_an_entry_only_if_unchanged_on_disk():
    before = user_document(1)
    after = copy.deepcopy(before)
    after['AccessToken'].clear()  # msal dropped the expired access token
    merged = merge_changes(before, after, copy.deepcopy(before))
    assert merged['AccessToken'] == {}
    assert merged['RefreshToken'] == before['RefreshToken']

    refreshed_elsewhere = user_document(1, access_secret='fresh-at')
    merged = merge_changes(before, after, refreshed_elsewhere)
    assert merged['AccessToken'] == refreshed_elsewhere['AccessToken']


def test_merge_keeps_a_refresh_token_rotated_by_another_process():
    before = user_document(1, refresh_secret='rt1')
    rotated = user_document(1, refresh_secret='rt2')  # another process rotated it
    after = combine(before, user_document(2))  # we only added another user
    merged = merge_changes(before, after, rotated)
    assert merged == combine(rotated, user_document(2))
    assert 'rt1' not in json.dumps(merged)


def test_merge_keeps_entries_of_the_wrong_shape_that_this_process_skipped():
    """What usable_entries skipped is not deleted from the file by our write."""
    foreign = {'RefreshToken': {'other-tool': {'secret': ['theirs']}}}
    on_disk = combine(user_document(1), foreign)
    before, _skipped = usable_entries(on_disk)
    after = combine(before, user_document(2))
    merged = merge_changes(before, after, on_disk)
    assert merged['RefreshToken']['other-tool'] == {'secret': ['theirs']}
    assert account_names(merged) == {'user1@contoso.com', 'user2@contoso.com'}


def account_names(document):
    return {entry['username'] for entry in document['Account'].values()}


def test_merge_handles_missing_and_new_sections_and_removed_sections():
    assert merge_changes({}, user_document(1), {}) == user_document(1)
    before = user_document(1)
    after = {section: entries for section, entries in before.items() if section != 'IdToken'}
    merged = merge_changes(before, after, copy.deepcopy(before))
    assert merged['IdToken'] == {}
    assert merge_changes(before, before, {}) == {}  # nothing changed: disk content wins


def test_merge_onto_a_section_that_is_not_an_object_replaces_it():
    merged = merge_changes({}, user_document(1), {'AccessToken': ['junk']})
    assert merged['AccessToken'] == user_document(1)['AccessToken']


def test_merge_treats_top_level_scalars_as_entries():
    assert merge_changes({'v': 1}, {'v': 2}, {'v': 1}) == {'v': 2}
    assert merge_changes({'v': 1}, {}, {'v': 1}) == {}
    assert merge_changes({'v': 1}, {}, {'v': 3}) == {'v': 3}


def test_merge_does_not_modify_or_share_its_inputs():
    before = user_document(1)
    after = combine(user_document(1, access_secret='x'), user_document(2))
    current = user_document(3)
    snapshots = copy.deepcopy((before, after, current))
    merged = merge_changes(before, after, current)
    assert (before, after, current) == snapshots
    for entries in merged.values():
        for entry in entries.values():
            entry['mutated'] = True
    assert (before, after, current) == snapshots


def test_sample_constants_are_msal_shaped():
    assert ENV == 'login.microsoftonline.com' and CLIENT and TENANT
