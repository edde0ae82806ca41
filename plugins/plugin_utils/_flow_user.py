# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signing a user in: the cached refresh token first, then the password or a device code.

For internal collection use only. Runs inside _sign_in.Acquisition (sign-in lock held,
cache writable, loggers silenced). Every credential goes through the failure memory: a
refresh token or password Entra has refused is not sent again.
"""

from __future__ import annotations

import time
import warnings

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

# What the device-code poll answers while the person has not finished (msal keeps polling on these).
_PENDING = ('authorization_pending', 'slow_down')


class UserFlow:
    """One user sign-in over one msal cache (see the module docstring)."""

    def __init__(self, acquisition, msal, cache, doc):
        self.acquisition = acquisition
        self.request = acquisition.request
        self.memory = acquisition.memory
        self.msal = msal
        self.doc = doc
        request = self.request
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)  # msal marks ROPC as deprecated on every call
            self.app = msal.PublicClientApplication(
                request.client_id, authority=request.authority, validate_authority=request.validate_authority,
                instance_discovery=None if request.validate_authority else False,
                token_cache=cache, http_client=acquisition.http)

    def acquire(self) -> dict:
        dead = None
        accounts = self.app.get_accounts(username=self.request.username)
        if accounts:
            result, dead = self._refresh(accounts[0])
            if result is not None:
                return result
        if self.request.credential == 'device_code':
            return self._device_code(dead)
        return self._password(dead)

    # -- the refresh token ---------------------------------------------------------------

    def _refresh(self, account):
        """(result, None) on success; (None, error) when the refresh token cannot serve."""
        request = self.request
        secret = view.find_refresh_token(self.doc, account.get('home_account_id'), request.environment, request.client_id)
        try:
            self.memory.check_credential('refresh_token', secret)
        except EntraTokenError as dead:
            return None, dead
        result = self.app.acquire_token_silent_with_error(list(request.scopes), account=account,
                                                          force_refresh=request.force_refresh)
        if result and 'access_token' in result and result.get('token_source') == 'cache' \
                and int(result.get('expires_in', 0)) < request.min_validity:
            result = self.app.acquire_token_silent_with_error(list(request.scopes), account=account, force_refresh=True)
        if result and 'access_token' in result:
            return result, None
        if not result:
            return None, None  # no refresh token for this app: a sign-in is needed
        error = self.acquisition.error_from_result(result)
        if error.retryable:
            # Throttled or unavailable: a password sign-in would only add load.
            self.memory.remember(error, retry_after=self.acquisition.retry_after())
            raise error
        self.memory.remember(error, 'refresh_token', secret)
        return None, error

    # -- the password --------------------------------------------------------------------

    def _password(self, dead):
        request = self.request
        if not request.password:
            if dead is not None:
                raise dead
            raise EntraTokenError('password_required')
        self.memory.check_credential('password', request.password)
        try:
            result = self.app.acquire_token_by_username_password(request.username, request.password, list(request.scopes))
        except EntraTokenError:
            raise
        except Exception as exc:  # msal raises when a federated (WS-Trust) sign-in fails # pylint: disable=broad-except
            error = self.acquisition.classify_exception(exc)
            if error.kind == 'federated_sign_in_failed' and self._federated_refusal():
                # AD FS refused the password (its lockout counts each attempt too): one attempt, shared.
                self.memory.remember(error, 'password', request.password)
            raise error from None
        if 'access_token' not in result:
            error = self.acquisition.error_from_result(result)
            self.memory.remember(error, 'password', request.password, retry_after=self.acquisition.retry_after())
            raise error
        result['token_source'] = 'password'
        return result

    def _federated_refusal(self) -> bool:
        """Whether the identity provider answered a sender fault (the credentials were refused), not an outage."""
        answer = self.acquisition.http.last_answer
        text = answer.text[:65536] if answer is not None and answer.status_code >= 400 else ''
        return 'FailedAuthentication' in text or ':Sender<' in text

    # -- a device code -------------------------------------------------------------------

    def _device_code(self, dead):
        request = self.request
        show = self.acquisition.show
        if show is None:
            why = 'a device-code sign-in needs a person, and a lookup never waits for one'
            if dead is not None:
                why = 'the cached sign-in can no longer be refreshed (%s)' % (dead.detail or dead.spec.summary).rstrip('.')
            raise EntraTokenError('sign_in_required', detail='%s cannot get a token without a person: %s'
                                  % (request.username, why), aadsts=dead.aadsts if dead else None)
        flow = self.app.initiate_device_flow(scopes=list(request.scopes))
        if 'user_code' not in flow:
            raise self.acquisition.error_from_result(flow)
        started = time.time()
        limit = started + request.device_code_timeout
        show(str(flow.get('message') or 'To sign in, open %s and enter the code %s' % (flow['verification_uri'], flow['user_code'])))
        result = self.app.acquire_token_by_device_flow(flow, exit_condition=lambda f: time.time() >= min(limit, f['expires_at']))
        if 'access_token' in result:
            self._check_signed_in_user(result)
            result['token_source'] = 'device_code'
            return result
        if result.get('error') in _PENDING:
            if time.time() >= limit and limit < flow['expires_at']:
                raise EntraTokenError('sign_in_timeout', detail='nobody completed the device-code sign-in within %ds '
                                      '(device_code_timeout)' % request.device_code_timeout)
            raise EntraTokenError('device_code_expired', detail='the device code expired before anyone signed in with it')
        raise self.acquisition.error_from_result(result)

    def _check_signed_in_user(self, result):
        claims = result.get('id_token_claims') or {}
        who = str(claims.get('preferred_username') or claims.get('upn') or '')
        if who and who.lower() != self.request.username.lower():
            raise EntraTokenError('invalid_argument', detail='the device-code sign-in was completed as %s, not as %s (username); '
                                  'sign in as %s, or set username to %s' % (who, self.request.username, self.request.username, who))
