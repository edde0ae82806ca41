# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP client msal talks through.

For internal collection use only. Why our own client rather than msal's session:
- ``verify`` is passed on every request, so ``REQUESTS_CA_BUNDLE`` cannot override
  ``ca_path`` or ``validate_certs`` (requests only consults the environment when
  the per-request value is left unset);
- every request has a timeout and the configured proxy;
- transport failures become classified errors (``network_error``, ``tls_error``);
- the last answer is kept, so a 5xx or an HTML page that makes msal raise can still
  be reported with its status and correlation id;
- public discovery documents (OpenID configuration, user realm) can be persisted
  as JSON so that later processes skip those round trips;
- a personal or unknown account is refused right after user-realm discovery,
  before its password is sent anywhere.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

try:
    import requests
except ImportError:  # msal brings requests; _acquire reports a missing msal before this module is used
    requests = None

from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

DISCOVERY_TTL = 24 * 3600
_DISCOVERY_MARKERS = ('/.well-known/openid-configuration', '/common/userrealm/')


class _Answer:
    """The response shape msal expects (status_code, text, headers, raise_for_status)."""

    def __init__(self, status_code: int, text: str, headers: dict):
        self.status_code = status_code
        self.text = text
        self.headers = headers

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.HTTPError('HTTP Error: %d' % self.status_code)


class EntraHttpClient:
    """msal's ``http_client``: see the module docstring for what it adds."""

    def __init__(self, request, discovery: dict | None = None):
        self._request = request
        self._session = requests.Session()
        self._verify = (request.ca_path or True) if request.validate_certs else False
        self._proxies = {'http': request.proxy, 'https': request.proxy} if request.proxy else None
        self.discovery = discovery if discovery is not None else {}
        self.discovery_changed = False
        self.last_answer = None
        self.requests_sent = 0
        self.federated_failure = None

    def get(self, url, params=None, headers=None, **kwargs):
        key = url if not params else '%s?%s' % (url, json.dumps(params, sort_keys=True))
        if any(marker in url for marker in _DISCOVERY_MARKERS):
            stored = self.discovery.get(key)
            if isinstance(stored, dict) and time.time() - stored.get('stored_at', 0) < DISCOVERY_TTL \
                    and _is_json_object(stored.get('text')):
                answer = _Answer(stored['status'], stored['text'], dict(stored.get('headers') or {}))
                self._check_user_realm(url, answer)
                return answer
        answer = self._send('GET', url, params=params, headers=headers, **kwargs)
        if 200 <= answer.status_code < 300 and any(marker in url for marker in _DISCOVERY_MARKERS) \
                and _is_json_object(answer.text):
            # Only a readable document is kept: a proxy's HTML page or a cut-off answer must not be
            # replayed to every later process for a day.
            self.discovery[key] = {'status': answer.status_code, 'text': answer.text, 'stored_at': int(time.time()),
                                   'headers': {'content-type': answer.headers.get('content-type', '')}}
            self.discovery_changed = True
        self._check_user_realm(url, answer)
        return answer

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self._send('POST', url, params=params, data=data, headers=headers, **kwargs)

    def close(self):
        self._session.close()

    def _send(self, method, url, **kwargs):
        kwargs.pop('timeout', None)
        kwargs.pop('verify', None)
        kwargs.pop('proxies', None)
        for attempt in (1, 2):
            try:
                self.requests_sent += 1
                raw = self._session.request(method, url, timeout=self._request.timeout, verify=self._verify,
                                            proxies=self._proxies, allow_redirects=False, **kwargs)
                break
            except requests.exceptions.SSLError as exc:
                raise EntraTokenError('tls_error', detail='TLS verification of %s failed: %s' % (_host(url), _reason(exc))) from None
            except requests.exceptions.ConnectTimeout:
                if attempt == 2:
                    raise EntraTokenError('network_error', detail='Connecting to %s timed out after %ss' % (_host(url), self._request.timeout)) from None
            except requests.exceptions.Timeout:
                raise EntraTokenError('network_error', detail='%s did not answer within %ss' % (_host(url), self._request.timeout)) from None
            except requests.exceptions.ConnectionError as exc:
                # Retry once when nothing was sent (as msal does); never replay a password that reached the server.
                if attempt == 2 or not _never_connected(exc):
                    raise EntraTokenError('network_error', detail='Connection to %s failed: %s' % (_host(url), _reason(exc))) from None
            except requests.exceptions.RequestException as exc:
                raise EntraTokenError('network_error', detail='Request to %s failed: %s' % (_host(url), _reason(exc))) from None
        answer = _Answer(raw.status_code, raw.text, {k.lower(): v for k, v in raw.headers.items()})
        self.last_answer = answer
        if answer.status_code >= 400 and _host(url).lower() != _host(self._request.authority_host).lower():
            # Only a federated sign-in talks to another host (the MEX and WS-Trust endpoints of AD FS).
            self.federated_failure = 'The federated identity provider %s answered HTTP %d%s' % (
                _host(url), answer.status_code, _soap_reason(answer.text))
        return answer

    def _check_user_realm(self, url, answer):
        if '/common/userrealm/' not in url or answer.status_code != 200:
            return
        try:
            realm = json.loads(answer.text)
        except ValueError:
            return
        if not isinstance(realm, dict):
            return
        account_type = str(realm.get('account_type', '')).lower()
        if account_type == 'unknown':
            raise EntraTokenError('unsupported_account', detail='The domain of %s is not known to Entra ID' % self._request.username)
        if account_type == 'msa' or (account_type == 'federated' and _is_microsoft_account_realm(realm)):
            raise EntraTokenError('unsupported_account', detail='%s is a personal Microsoft account' % self._request.username)


def _is_json_object(text) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False


def _is_microsoft_account_realm(realm: dict) -> bool:
    """Entra answers 'Federated' for personal-account domains, federated to login.live.com's rst2.srf."""
    endpoint = urlsplit(str(realm.get('federation_active_auth_url') or ''))
    return (endpoint.hostname or '').endswith('live.com') or endpoint.path.endswith('/rst2.srf') \
        or str(realm.get('domain_name', '')).lower() == 'live.com'


def _soap_reason(text: str) -> str:
    """The fault reason of a WS-Trust answer (AD FS says e.g. 'ID3242: ... could not be authenticated')."""
    match = re.search(r'<(?:\w+:)?Text[^>]*>([^<]{1,300})</(?:\w+:)?Text>', text or '')
    return ': %s' % match.group(1).strip() if match else ''


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _never_connected(exc) -> bool:
    text = str(exc)
    return 'NewConnectionError' in text or 'Connection refused' in text or 'Name or service not known' in text


def _reason(exc) -> str:
    """A short, secret-free reason (requests' messages quote URLs, never bodies)."""
    text = str(exc.__cause__ or exc) or exc.__class__.__name__
    for marker in ('[SSL:', 'Connection refused', 'Connection reset', 'Name or service not known', 'Read timed out'):
        if marker in text:
            return text[text.index(marker):].split(')')[0].split("'")[0][:200]
    return text[:200]
