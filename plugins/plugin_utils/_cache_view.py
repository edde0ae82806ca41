# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read a valid access token straight from msal's unified cache document.

For internal collection use only. This is the warm path: it must not import msal
(or requests), so a cached token costs a file read and a dictionary scan. It follows
msal's own matching rules (environment, client, realm, home account, superset target)
so whatever it returns, msal's acquire_token_silent would have returned too.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlsplit


def _short_scope(scope: str, resource: str) -> str:
    """Entra echoes Graph scopes without their resource prefix; compare them both ways."""
    lowered = scope.lower()
    prefix = resource.lower().rstrip('/') + '/'
    return lowered[len(prefix):] if lowered.startswith(prefix) else lowered


def scopes_satisfied(wanted, target: str, resource: str) -> bool:
    granted = {_short_scope(s, resource) for s in target.split()}
    return all(_short_scope(s, resource) in granted for s in wanted)


def realm_from_token_endpoint(endpoint: str) -> str | None:
    """msal keys the cache by the first path segment of the token endpoint."""
    path = urlsplit(endpoint).path.strip('/')
    return path.split('/')[0].lower() if path else None


def decode_jwt_claims(token: str) -> dict:
    """Payload of a JWT without verification (an id token we received ourselves)."""
    try:
        payload = token.split('.')[1]
        return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return {}


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def find_accounts(doc: dict, environment: str, username: str) -> list:
    username = username.lower()
    return [account for account in (doc.get('Account') or {}).values()
            if isinstance(account, dict)
            and str(account.get('environment', '')).lower() == environment
            and str(account.get('username', '')).lower() == username]


def find_access_token(doc: dict, request, realm: str | None, now: float | None = None):
    """The best cached access token for ``request`` valid for min_validity seconds, or None.

    ``realm`` is the tenant segment msal used (a GUID for a domain authority); when it
    is unknown only an exact tenant match is trusted.
    """
    now = time.time() if now is None else now
    realm = (realm or request.tenant).lower()
    accounts = {a.get('home_account_id') for a in find_accounts(doc, request.environment, request.username)
                if str(a.get('realm', '')).lower() == realm}
    best = None
    for entry in (doc.get('AccessToken') or {}).values():
        if not isinstance(entry, dict) or entry.get('home_account_id') not in accounts:
            continue
        if (str(entry.get('environment', '')).lower() != request.environment
                or str(entry.get('client_id', '')).lower() != request.client_id
                or str(entry.get('realm', '')).lower() != realm
                or 'ext_cache_key' in entry
                or str(entry.get('token_type', 'Bearer')).lower() != 'bearer'):
            continue
        try:
            expires_on = int(entry['expires_on'])
        except (KeyError, TypeError, ValueError):
            continue
        if expires_on - now < request.min_validity or not entry.get('secret'):
            continue
        if not scopes_satisfied(request.scopes, str(entry.get('target', '')), request.graph_resource):
            continue
        if best is None or expires_on > int(best['expires_on']):
            best = entry
    return best


def id_token_claims(doc: dict, home_account_id: str, environment: str, client_id: str, realm: str) -> dict:
    for entry in (doc.get('IdToken') or {}).values():
        if (isinstance(entry, dict) and entry.get('home_account_id') == home_account_id
                and str(entry.get('environment', '')).lower() == environment
                and str(entry.get('client_id', '')).lower() == client_id
                and str(entry.get('realm', '')).lower() == realm):
            return decode_jwt_claims(str(entry.get('secret', '')))
    return {}


def token_facts(doc: dict, entry: dict, request, source: str, now: float | None = None) -> dict:
    """The public description of a token: never the refresh token, id token or password."""
    now = time.time() if now is None else now
    expires_on = int(entry['expires_on'])
    realm = str(entry.get('realm', '')).lower()
    claims = id_token_claims(doc, entry.get('home_account_id'), request.environment, request.client_id, realm)
    tenant_id = claims.get('tid') or (realm if _is_guid(realm) else None)
    if not tenant_id and entry.get('home_account_id', '').count('.') == 1:
        tenant_id = entry['home_account_id'].split('.')[1]
    return {
        'access_token': entry['secret'],
        'token_type': entry.get('token_type', 'Bearer'),
        'expires_on': expires_on,
        'expires_in': max(0, int(expires_on - now)),
        'scopes': sorted(entry.get('target', '').split()),
        'username': claims.get('preferred_username') or claims.get('upn') or request.username,
        'tenant_id': tenant_id,
        'home_account_id': entry.get('home_account_id'),
        'authority': request.authority,
        'source': source,
    }
