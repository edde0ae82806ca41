# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read a valid access token straight from an msal unified cache document.

For internal collection use only. This is the warm path: it must not import msal
(or requests), so a cached token costs a file read and a dictionary scan. It follows
msal's own matching rules (environment, client, realm, home account, superset target)
so whatever it returns, msal's acquire_token_silent (or acquire_token_for_client) would
have returned too - except that min_validity is capped at half a token's lifetime
(effective_min_validity), which for tokens shorter than Entra's 10-minute minimum can
serve a token with less than msal's own 300 s left. The document it reads has been through
:func:`_cache_document.usable_entries`, so every field it reads has msal's type.
"""

from __future__ import annotations

import base64
import time

from ansible_collections.identity.entra.plugins.plugin_utils import _safe_json


def _short_scope(scope: str, resource: str) -> str:
    """Entra echoes Graph scopes without their resource prefix; compare them both ways."""
    lowered = scope.lower()
    prefix = resource.lower().rstrip('/') + '/'
    return lowered[len(prefix):] if lowered.startswith(prefix) else lowered


def scopes_satisfied(wanted, target: str, resource: str) -> bool:
    granted = {_short_scope(s, resource) for s in target.split()}
    return all(_short_scope(s, resource) in granted for s in wanted)


def decode_jwt_claims(token: str) -> dict:
    """Payload of a JWT without verification (a token we received ourselves); {} when it is not one."""
    try:
        payload = token.split('.')[1]
        raw = base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))
    except (IndexError, ValueError, TypeError):
        return {}
    return _safe_json.loads_object(raw) or {}


def _is_guid(value: str) -> bool:
    parts = value.split('-')
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(c in '0123456789abcdef' for c in value.replace('-', ''))


def find_accounts(doc: dict, environment: str, username: str) -> list:
    username = username.lower()
    return [account for account in (doc.get('Account') or {}).values()
            if account['environment'].lower() == environment and account['username'].lower() == username]


def effective_min_validity(entry: dict, min_validity: int) -> int:
    """min_validity, but never more than half the token's lifetime.

    A min_validity longer than the lifetime Entra grants would make every call get a new
    token (100 hosts, 100 refreshes); a fresh token is the best there is, so it is used
    until half its lifetime has passed.
    """
    try:
        lifetime = int(entry['expires_on']) - int(entry['cached_at'])
    except (KeyError, TypeError, ValueError):
        return min_validity
    return min(min_validity, max(0, lifetime // 2)) if lifetime > 0 else min_validity


def find_access_token(doc: dict, request, realm: str | None, now: float | None = None):
    """The best cached access token for ``request`` valid for min_validity seconds, or None.

    ``realm`` is the tenant segment msal used (a GUID for a domain authority); when it
    is unknown only an exact tenant match is trusted.
    """
    now = time.time() if now is None else now
    realm = (realm or request.tenant).lower()
    if request.is_app:
        accounts = {None, ''}
    else:
        accounts = {a['home_account_id'] for a in find_accounts(doc, request.environment, request.username)
                    if a['realm'].lower() == realm}
        if not accounts:
            return None
    best = None
    for entry in (doc.get('AccessToken') or {}).values():
        if entry['home_account_id'] not in accounts:
            continue
        if (entry['environment'].lower() != request.environment
                or entry['client_id'].lower() != request.client_id
                or entry['realm'].lower() != realm
                or 'ext_cache_key' in entry or 'key_id' in entry
                or str(entry.get('token_type') or 'Bearer').lower() != 'bearer'):
            continue
        expires_on = int(entry['expires_on'])
        if expires_on - now < effective_min_validity(entry, request.min_validity) or not entry['secret']:
            continue
        if not scopes_satisfied(request.scopes, entry['target'], request.graph_resource):
            continue
        if best is None or expires_on > int(best['expires_on']):
            best = entry
    return best


def find_refresh_token(doc: dict, home_account_id: str, environment: str, client_id: str) -> str | None:
    """The refresh token msal will use for this account and app (its own, as msal prefers it)."""
    for entry in (doc.get('RefreshToken') or {}).values():
        if (entry['home_account_id'] == home_account_id and entry['environment'].lower() == environment
                and entry['client_id'].lower() == client_id):
            return entry['secret']
    return None


def id_token_claims(doc: dict, home_account_id, environment: str, client_id: str, realm: str) -> dict:
    if not home_account_id:
        return {}
    for entry in (doc.get('IdToken') or {}).values():
        if (entry['home_account_id'] == home_account_id and entry['environment'].lower() == environment
                and entry['client_id'].lower() == client_id and entry['realm'].lower() == realm):
            return decode_jwt_claims(entry['secret'])
    return {}


def token_facts(doc: dict, entry: dict, request, source: str, now: float | None = None) -> dict:
    """The public description of a token: never the refresh token, id token or a credential."""
    now = time.time() if now is None else now
    expires_on = int(entry['expires_on'])
    realm = entry['realm'].lower()
    home_account_id = entry['home_account_id'] or None
    claims = id_token_claims(doc, home_account_id, request.environment, request.client_id, realm)
    token_claims = decode_jwt_claims(entry['secret'])
    tenant_id = claims.get('tid') or (realm if _is_guid(realm) else None) or token_claims.get('tid')
    if not tenant_id and home_account_id and home_account_id.count('.') == 1:
        tenant_id = home_account_id.split('.')[1]
    roles = token_claims.get('roles') if token_claims else None
    username = None
    if not request.is_app:
        username = claims.get('preferred_username') or claims.get('upn') or request.username
    return {
        'access_token': entry['secret'],
        'token_type': entry.get('token_type') or 'Bearer',
        'expires_on': expires_on,
        'expires_in': max(0, int(expires_on - now)),
        'scopes': sorted(entry['target'].split()),
        'roles': sorted(str(r) for r in roles) if isinstance(roles, list) else ([] if token_claims else None),
        'username': str(username) if username else None,
        'tenant_id': str(tenant_id) if tenant_id else None,
        'home_account_id': home_account_id,
        'authority': request.authority,
        'source': source,
    }
