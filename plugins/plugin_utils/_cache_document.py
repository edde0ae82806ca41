# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""msal's unified token cache document: parse it, keep only entries of the right shape, merge changes.

For internal collection use only. Pure functions, standard library only (the warm path
imports this without msal). A cache file may hold anything: another tool's entries, a
hand edit, valid JSON of the wrong shape. Whatever it holds, what reaches msal and the
warm path has the shape msal itself writes, so nothing downstream can fail on it.
"""

from __future__ import annotations

import copy
import json

CACHE_SECTIONS = ('AccessToken', 'RefreshToken', 'IdToken', 'Account', 'AppMetadata')

# The fields of each section that msal (and the warm path) read, as msal writes them:
# 'str' a string, 'str?' a string or null, 'time' epoch seconds as a string of digits (or an int).
# Required fields are marked with '!'. Other fields are left alone.
_SCHEMA = {
    'AccessToken': {'credential_type': 'str!', 'secret': 'str!', 'home_account_id': 'str?!', 'environment': 'str!',
                    'client_id': 'str!', 'realm': 'str!', 'target': 'str!', 'expires_on': 'time!', 'cached_at': 'time',
                    'extended_expires_on': 'time', 'refresh_on': 'time', 'token_type': 'str', 'key_id': 'str',
                    'ext_cache_key': 'str'},
    'RefreshToken': {'credential_type': 'str!', 'secret': 'str!', 'home_account_id': 'str?!', 'environment': 'str!',
                     'client_id': 'str!', 'target': 'str', 'family_id': 'str?', 'last_modification_time': 'time'},
    'IdToken': {'credential_type': 'str!', 'secret': 'str!', 'home_account_id': 'str?!', 'environment': 'str!',
                'realm': 'str!', 'client_id': 'str!'},
    'Account': {'home_account_id': 'str!', 'environment': 'str!', 'realm': 'str!', 'local_account_id': 'str?!',
                'username': 'str!', 'authority_type': 'str!', 'account_source': 'str?'},
    'AppMetadata': {'client_id': 'str!', 'environment': 'str!', 'family_id': 'str?'},
}
MAX_FIELD_LENGTH = 64 * 1024  # a token is a few kB; anything longer is not one
_MISSING = object()


def parse_cache_document(raw: bytes) -> tuple[dict | None, str | None]:
    """Parse a cache file; return ``(data, None)`` or ``(None, reason)`` (never quoting the content).

    Only the structure is checked here (an object whose sections are objects of objects);
    entries of the wrong shape are dealt with by :func:`usable_entries`.
    """
    if not raw.strip():
        return None, 'the file is empty'
    if raw.startswith(b'\xef\xbb\xbf'):  # tolerate a UTF-8 byte order mark
        raw = raw[3:]
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        return None, 'the file is not UTF-8 text'
    try:
        data = json.loads(text)
    except RecursionError:
        return None, 'the JSON is nested too deeply'
    except ValueError as exc:
        lineno = getattr(exc, 'lineno', None)
        colno = getattr(exc, 'colno', None)
        where = ' (line %s, column %s)' % (lineno, colno) if lineno is not None else ''
        return None, 'the file is not valid JSON%s' % where
    if not isinstance(data, dict):
        return None, 'the JSON document is not an object'
    for section in CACHE_SECTIONS:
        entries = data.get(section, _MISSING)
        if entries is _MISSING:
            continue
        if not isinstance(entries, dict):
            return None, 'section %s is not an object' % section
    return data, None


def _field_ok(value, rule: str) -> bool:
    if value is None:
        return '?' in rule
    if rule.startswith('time'):
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return 0 <= value < 10 ** 12
        return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12
    return isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH


def entry_problem(section: str, entry) -> str | None:
    """Why an entry cannot be used (None when it can): a short reason naming the field only."""
    if not isinstance(entry, dict):
        return 'is not an object'
    for name, rule in _SCHEMA[section].items():
        value = entry.get(name, _MISSING)
        if value is _MISSING:
            if rule.endswith('!'):
                return 'has no %s' % name
            continue
        if not _field_ok(value, rule):
            return 'has %s %s of the wrong type' % ('an' if name[0] in 'aeiou' else 'a', name)
    if 'credential_type' in _SCHEMA[section] and entry['credential_type'] != section:
        # msal asserts it (remove_at, update_rt...): an AssertionError in the middle of a sign-in
        return 'has a credential_type other than %s' % section
    if 'secret' in _SCHEMA[section] and not entry['secret'].strip():
        # msal would send an empty refresh token, which Entra answers with AADSTS900144
        return 'has an empty secret'
    return None


def usable_entries(doc: dict) -> tuple[dict, list]:
    """The document with only well-formed entries, and one line per section that had others.

    Entries other tools wrote in a shape msal does not write are skipped, not deleted:
    the file keeps them (see :func:`merge_changes`), this process just does not read them.
    """
    clean = {}
    skipped = []
    for name, value in doc.items():
        if name not in CACHE_SECTIONS:
            clean[name] = value
            continue
        if not isinstance(value, dict):
            skipped.append('section %s is not an object' % name)
            continue
        kept = {}
        reasons = {}
        for key, entry in value.items():
            problem = entry_problem(name, entry)
            if problem is None:
                kept[key] = entry
            else:
                reasons[problem] = reasons.get(problem, 0) + 1
        clean[name] = kept
        for problem, count in sorted(reasons.items()):
            if count > 1:  # 'has no secret' -> 'have no secret', 'is not' -> 'are not'
                problem = {'has': 'have', 'is': 'are'}.get(problem.split(' ', 1)[0], problem.split(' ', 1)[0]) + ' ' + problem.split(' ', 1)[1]
            skipped.append('%d %s entr%s %s' % (count, name, 'y' if count == 1 else 'ies', problem))
    return clean, skipped


def merge_changes(before: dict, after: dict, current: dict) -> dict:
    """Apply the changes from ``before`` to ``after`` onto ``current``; return the result.

    ``before`` is the cache document this process loaded, ``after`` what its
    in-memory cache holds now (e.g. after an acquisition) and ``current`` what
    is on disk now (re-read under the lock). Per section and per key:

    * an entry added in ``after``, or whose value differs from ``before``, is
      set in the result;
    * an entry present in ``before`` but absent from ``after`` is removed from
      the result only if ``current`` still holds the same value as ``before``
      (otherwise someone else has refreshed it since, and theirs is kept);
    * every other entry of ``current`` is kept as it is.

    Top-level values that are not objects are treated as single entries with
    the same rules. The inputs are not modified; the result shares no mutable
    objects with them.
    """
    result = copy.deepcopy(current)
    for name in set(before) | set(after):
        old = before.get(name, _MISSING)
        new = after.get(name, _MISSING)
        if isinstance(old, dict) or isinstance(new, dict):
            old_entries = old if isinstance(old, dict) else {}
            new_entries = new if isinstance(new, dict) else {}
            target = result.get(name)
            for key, value in new_entries.items():
                if old_entries.get(key, _MISSING) != value:
                    if not isinstance(target, dict):
                        target = result[name] = {}
                    target[key] = copy.deepcopy(value)
            if isinstance(target, dict):
                for key in set(old_entries) - set(new_entries):
                    if target.get(key, _MISSING) == old_entries[key]:
                        del target[key]
        elif new is _MISSING:
            if result.get(name, _MISSING) == old:
                del result[name]
        elif new != old:
            result[name] = copy.deepcopy(new)
    return result
