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

import dataclasses
import time
import warnings

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError, classify

# What the device-code poll answers while the person has not finished (msal keeps polling on these).
_PENDING = ('authorization_pending', 'slow_down')


class UserFlow:
    """One user sign-in over one msal cache (see the module docstring)."""

    def __init__(self, acquisition, msal, cache, doc):
        self.acquisition = acquisition
        self.request = acquisition.request
        self.memory = acquisition.memory
        self.msal = msal
        self.cache = cache
        self.doc = doc
        self._app = None

    @property
    def app(self):
        """msal's application, built on first use (building it already fetches the OpenID configuration)."""
        if self._app is None:
            request = self.request
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', DeprecationWarning)  # msal marks ROPC as deprecated on every call
                self._app = self.msal.PublicClientApplication(
                    request.client_id, authority=request.authority, validate_authority=request.validate_authority,
                    instance_discovery=None if request.validate_authority else False,
                    token_cache=self.cache, http_client=self.acquisition.http)
        return self._app

    def acquire(self) -> dict:
        dead = None
        if self.request.credential == 'device_code':
            if self.request.force_refresh:
                return self._device_code(None)  # a new sign-in, e.g. before a sign-in frequency deadline
            if self.acquisition.show is None and not view.find_accounts(self.doc, self.request.environment, self.request.username):
                return self._device_code(None)  # refused without a request: nothing cached could serve
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
        if error.kind == 'unknown' and error.error == 'invalid_grant':
            # Entra refused this refresh token for a reason the table does not name (a malformed one gets
            # AADSTS9002313): it cannot serve, whatever the reason, and another sign-in is what helps.
            error = dataclasses.replace(error, kind='refresh_token_expired')
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
                why = 'the cached sign-in can no longer be refreshed (%s)' % (dead.detail or dead.description or dead.spec.summary).rstrip('.')
            raise EntraTokenError('sign_in_required', detail='%s cannot get a token without a person: %s'
                                  % (request.username, why), aadsts=dead.aadsts if dead else None)
        flow = self.app.initiate_device_flow(scopes=list(request.scopes))
        if 'user_code' not in flow:
            raise self.acquisition.error_from_result(flow)
        # msal sleeps `interval` one-second steps between polls: an interval of 0 would poll without a pause.
        flow['interval'] = max(1, flow['interval'])
        limit = time.time() + request.device_code_timeout
        show(self._instructions(flow, limit))
        result = self.app.acquire_token_by_device_flow(flow, exit_condition=self._until(limit))
        if 'access_token' in result:
            self._check_signed_in_user(result)
            result['token_source'] = 'device_code'
            return result
        if result.get('error') in _PENDING:  # msal stopped polling because _until said so
            if limit < flow['expires_at']:
                raise EntraTokenError('sign_in_timeout', detail='nobody completed the device-code sign-in within %ds '
                                      '(device_code_timeout)' % request.device_code_timeout)
            raise EntraTokenError('device_code_expired', detail='the device code expired (after %ds) before anyone signed in '
                                  'with it' % flow['expires_in'])
        error = self.acquisition.error_from_result(result)
        outcome = classify(error=error.error)
        if outcome.startswith('device_code_') and outcome != error.kind:
            # RFC 8628 names the poll's outcome in `error`; the AADSTS code that comes with it varies.
            error = dataclasses.replace(error, kind=outcome)
        raise error

    def _instructions(self, flow, limit) -> str:
        """Entra's own sentence (URL and code), then who must sign in and how long the task waits."""
        default = 'To sign in, open %s and enter the code %s.' % (flow['verification_uri'], flow['user_code'])
        message = ' '.join(str(flow.get('message') or default).split())
        wait = max(0, int(round(min(limit, flow['expires_at']) - time.time())))
        wait_text = '%d min' % round(wait / 60.0) if wait >= 120 else '%d s' % wait
        return '%s Sign in as %s; waiting up to %s.' % (message, self.request.username, wait_text)

    def _until(self, limit):
        """msal's exit condition: the code's expiry or device_code_timeout, whichever comes first.

        msal calls it once a second between polls. The polls are bounded by this deadline, so they
        are not counted against the request cap of one acquisition (MAX_EXCHANGES), which is meant
        for the fixed number of requests of the other flows.
        """
        http = self.acquisition.http
        spent = http.exchanges

        def stop(flow) -> bool:
            http.exchanges = spent
            return time.time() >= min(limit, flow['expires_at'])
        return stop

    def _check_signed_in_user(self, result):
        """The person may sign in as anyone: tokens of another account must not be stored under this username."""
        claims = result.get('id_token_claims') or {}
        who = str(claims.get('preferred_username') or claims.get('upn') or '')
        if not who or who.lower() != self.request.username.lower():
            raise EntraTokenError('sign_in_required', detail='the device-code sign-in was completed as %s, not as %s (username), '
                                  'so nothing was stored; sign in as %s (or set username to the account you mean)'
                                  % (who or 'an account its ID token does not name', self.request.username, self.request.username))
