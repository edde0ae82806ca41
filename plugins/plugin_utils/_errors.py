# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sign-in failures: one table drives classification, mitigations and the docs.

For internal collection use only: the names here may change without notice.
Every failure a user can meet becomes an EntraTokenError with a stable ``kind``;
the table below is also rendered into ansible-doc and docs/, so they cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    """One stable error kind: what it means, what to do, whether retrying helps."""

    name: str
    summary: str
    mitigation: str
    retryable: bool = False
    aadsts: tuple = ()
    # (error, suberror) pairs used when no AADSTS code is known; None matches anything.
    oauth: tuple = ()
    # AADSTS codes that mean this kind only for a service principal (a user's sign-in means something else by them),
    # and those that mean it only when the service principal sent a federated token (client_assertion_file),
    # or a client secret.
    app_aadsts: tuple = ()
    assertion_aadsts: tuple = ()
    secret_aadsts: tuple = ()


# The command that signs a person in by device code; {command} in a mitigation is replaced by the one
# for the identity at hand (see EntraTokenError.sign_in_command), the docs show this generic form.
GENERIC_SIGN_IN_COMMAND = 'ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e username=<username>'

ERROR_KINDS = (
    ErrorKind('invalid_argument', 'An option has a wrong value.',
              'Fix the option named in the message.'),
    ErrorKind('password_required', 'No usable token or refresh token is cached and no password was given.',
              'Set the password option (or ENTRA_PASSWORD / AZURE_PASSWORD) for the first sign-in, '
              'or sign in once by device code: {command}'),
    ErrorKind('sign_in_required', 'A person must sign in: a device-code sign-in cannot run here (a lookup never waits for a person), '
              'or the cached sign-in of this account can no longer be refreshed.',
              'Sign in once by device code (MFA included), then run the playbook again: {command} '
              '(see Accounts with MFA, docs/mfa-accounts.md).'),
    ErrorKind('tenant_endpoint_required', 'The username/password flow is not supported on the /common or /consumers endpoints.',
              "Set tenant to the directory's tenant ID or domain (a user may also use 'organizations').",
              aadsts=(90010, 9001023)),
    ErrorKind('invalid_credentials', 'The username or password is wrong.',
              'Check the password (and that it has not been changed); it is not sent again until it changes or 15 minutes have passed, '
              'so that repeated failures cannot lock the account.',
              aadsts=(50126, 50056, 50012)),
    ErrorKind('user_not_found', 'The user does not exist in this tenant.',
              'Check the username and that tenant is the directory the user belongs to (or is a guest in).',
              aadsts=(50034, 50020, 50155)),
    ErrorKind('mfa_required', 'The sign-in requires multi-factor authentication, which the username/password flow cannot perform.',
              'Sign in once by device code (MFA included; later runs use the cached refresh token, no password): {command} '
              '(see Accounts with MFA, docs/mfa-accounts.md) - or use a service principal, or an account excluded from MFA by a '
              'Conditional Access exclusion.',
              aadsts=(50076, 50078, 50079, 50074, 50072, 53004, 500121)),
    ErrorKind('consent_required', 'The application has no consent for the requested scopes.',
              'Grant admin consent for these scopes on the app registration (API permissions > Grant admin consent); '
              'the username/password flow cannot show a consent prompt.',
              aadsts=(65001, 65004), oauth=(('invalid_grant', 'consent_required'), ('interaction_required', 'consent_required'))),
    ErrorKind('conditional_access_blocked', 'A Conditional Access policy blocked the sign-in.',
              'Ask an administrator for a policy exception for this account (or workload identity) and app, or use a flow the policy '
              'allows (the sign-in logs show the policy by correlation id).',
              aadsts=(53003, 53000, 53001, 53002, 530032, 530003, 53011, 530084), oauth=(('interaction_required', 'message_only'),)),
    ErrorKind('account_locked', 'The account is locked, usually after too many wrong passwords.',
              'Wait for the lockout to end or ask an administrator to unlock it; fix the stored password first.',
              aadsts=(50053, 500532)),
    ErrorKind('account_disabled', 'The account is disabled.',
              'Ask an administrator to enable the account (accountEnabled) or use another account.',
              aadsts=(50057,)),
    ErrorKind('password_expired', 'The password has expired, or must be changed (account risk, a Conditional Access policy).',
              'Change the password interactively, then update the stored password.',
              aadsts=(50055, 50144, 50135, 50142)),
    ErrorKind('interaction_required', 'The sign-in needs a user interaction that the username/password flow cannot perform.',
              'Sign in once by device code to resolve it: {command}',
              aadsts=(50158, 50097, 50105, 50129, 50199), oauth=(('interaction_required', None),)),
    ErrorKind('device_code_declined', 'The person declined the device-code sign-in.',
              'Run the sign-in again and approve it, signed in as the account named by username: {command}',
              oauth=(('authorization_declined', None),)),
    ErrorKind('device_code_expired', 'The device code expired before anyone signed in with it.',
              'Run the sign-in again and enter the new code before it expires (Entra ID gives 15 minutes): {command}',
              aadsts=(70019, 70020), oauth=(('expired_token', None),)),
    ErrorKind('device_code_invalid', 'Entra ID did not recognise the device code.',
              'Run the sign-in again; if it happens again, check that no proxy between the controller and Entra ID alters '
              'requests: {command}',
              aadsts=(70018,), oauth=(('bad_verification_code', None),)),
    ErrorKind('sign_in_timeout', 'Nobody completed the device-code sign-in within device_code_timeout.',
              "Run the sign-in again and complete it in time, or wait longer (device_code_timeout; Entra ID's code itself lasts "
              '15 minutes: add -e device_code_timeout=900): {command}'),
    ErrorKind('app_not_found', 'The application (client_id) was not found in the tenant.',
              'Check client_id and tenant; a single-tenant app must be used with its own tenant, and a service principal must exist '
              'in the tenant (admin consent creates it, or: az ad sp create --id <client_id>).',
              aadsts=(700016, 700054)),
    ErrorKind('app_disabled', 'The application or its service principal is disabled in the tenant.',
              "Ask an administrator to enable the enterprise application (Enterprise applications > the app > Properties > 'Enabled "
              "for users to sign in?' = Yes) or use another application.",
              aadsts=(7000112,)),
    ErrorKind('public_client_required', 'The application is not allowed to use public client flows.',
              "Turn on 'Allow public client flows' (Authentication blade; allowPublicClient=true in the manifest) of the app registration.",
              aadsts=(7000218,)),
    ErrorKind('confidential_client_required', 'Entra ID treats the application as a public client, which may not present a client '
              'secret, certificate or federated token.',
              "A service principal needs a confidential application: use an app registration with the Web platform (or no platform) "
              "and 'Allow public client flows' set to No (Authentication blade); an app whose redirect URIs are all 'Mobile and "
              "desktop applications' is public. Keep the public app of the user sign-ins (device code, username/password) apart.",
              aadsts=(700025,)),
    ErrorKind('invalid_client_secret', 'The client secret is wrong.',
              "Use the secret's Value (not its Secret ID) from Certificates & secrets of the app registration, for the right client_id.",
              aadsts=(7000215,), secret_aadsts=(50012,)),
    ErrorKind('client_secret_expired', 'The client secret has expired.',
              'Create a new client secret on the app registration (Certificates & secrets) and update client_secret; '
              'or move to a certificate or a federated credential, which need no rotation of a stored secret.',
              aadsts=(7000222,)),
    ErrorKind('invalid_client_certificate', 'The client certificate is not registered on the application, has expired, or the '
              'assertion signed with it is invalid or outside its validity.',
              'Upload the certificate (public part) to the app registration (Certificates & secrets) or renew it, check that '
              'client_certificate_path holds the private key of that certificate, and that the controller clock is right.',
              aadsts=(700027, 700024), app_aadsts=(50012,)),
    ErrorKind('federated_credential_mismatch', "The federated token does not match any federated credential of the application "
              '(issuer, subject or audience).',
              'Add a federated credential to the app registration whose issuer, subject and audience (api://AzureADTokenExchange) '
              'equal those of the token in client_assertion_file (the error description shows the ones presented), or fix the '
              'workload that writes that file.',
              aadsts=(700211, 700212, 700213, 70021, 7002131, 7002137, 7002138)),
    ErrorKind('invalid_federated_token', 'The federated token in client_assertion_file was refused: it has expired or is not yet '
              'valid, is malformed or wrongly signed, was issued by Entra ID itself, or Entra ID could not fetch its issuer\'s keys.',
              'Make the workload write a fresh token to client_assertion_file (it is read at every sign-in: Kubernetes and AWX '
              'rewrite it, a CI job must request a new one when it expires); check that the issuer\'s OpenID configuration and '
              'keys are reachable from the internet.',
              aadsts=(700222, 50166, 90061), assertion_aadsts=(700024, 50027, 50012)),
    ErrorKind('invalid_scope', 'The requested scopes are invalid or name more than one resource.',
              "Request scopes of one resource per token, e.g. ['https://graph.microsoft.com/.default'] (a service principal can only "
              'ask for <resource>/.default), and check their spelling.',
              aadsts=(70011, 28000, 28003, 500011, 650057, 1002012), oauth=(('invalid_scope', None),)),
    ErrorKind('tenant_not_found', 'The tenant was not found.',
              'Check the tenant ID or domain, and that cloud / authority_host matches the cloud the tenant lives in.',
              aadsts=(90002, 50128, 50059, 90072, 90038)),
    ErrorKind('unsupported_account', 'The account is a personal Microsoft account or its domain is unknown to Entra ID; '
              'the username/password flow supports work or school accounts only.',
              'Use a work or school account of the tenant.',
              aadsts=(500200, 50107)),
    ErrorKind('federated_sign_in_failed', "The user's federated identity provider (AD FS / WS-Trust) refused or could not be reached.",
              'Check the password at the identity provider, and that its WS-Trust username/password endpoint is enabled and reachable.'),
    ErrorKind('refresh_token_expired', 'The cached refresh token has expired, was revoked, or Conditional Access asks for a new '
              'sign-in (sign-in frequency).',
              'Sign in again: give the password (password flow), or by device code: {command}',
              aadsts=(700082, 50173, 70043, 70008, 50132, 50133, 700084)),
    ErrorKind('throttled', 'Entra ID throttled the request (HTTP 429).',
              'Wait for the Retry-After period and retry; reduce parallel sign-ins (the token cache serves repeated requests).',
              retryable=True, aadsts=(50196,)),
    ErrorKind('service_unavailable', 'Entra ID answered with a server error (HTTP 5xx).',
              'Retry later; if it persists, check the Azure status page and the correlation id.',
              retryable=True, oauth=(('temporarily_unavailable', None), ('server_error', None))),
    ErrorKind('network_error', 'The sign-in endpoint could not be reached, or did not answer in time (connection refused, reset '
              'or timed out).',
              'Check network access, proxy and DNS to the authority host, and the timeout option; then retry.',
              retryable=True),
    ErrorKind('tls_error', 'The TLS certificate of the sign-in endpoint could not be verified.',
              'Give the CA bundle that signs it in ca_path (for TLS-inspecting proxies), or check the authority host.'),
    ErrorKind('invalid_response', 'The sign-in endpoint sent an answer that is not valid (HTML, truncated, oversized, a redirect '
              'or a token answer of the wrong shape).',
              'Check proxies between you and the authority host and that authority_host is an Entra endpoint; then retry.',
              retryable=True),
    ErrorKind('cache_error', 'The token cache cannot be used safely.',
              'Do what the message says to the cache directory or file, or set cache_path to another directory (or cache=false).'),
    ErrorKind('unknown', 'Sign-in failed for a reason this collection does not recognise.',
              'Read the error description and look up the AADSTS code and correlation id in the Entra sign-in logs.'),
)

KINDS = {kind.name: kind for kind in ERROR_KINDS}
_BY_AADSTS = {code: kind for kind in ERROR_KINDS for code in kind.aadsts}
# Codes whose meaning depends on what was sent: AADSTS50012 is a wrong password for a user and an
# invalid client assertion for a service principal; AADSTS700024 is an assertion outside its validity,
# which for a federated token means the workload's token file has expired.
_APP_FLOW_AADSTS = {code: kind.name for kind in ERROR_KINDS for code in kind.app_aadsts}
_ASSERTION_AADSTS = {**_APP_FLOW_AADSTS, **{code: kind.name for kind in ERROR_KINDS for code in kind.assertion_aadsts}}
# The older answer to a wrong client secret: 'AADSTS70002: Error validating credentials. AADSTS50012: Invalid client secret is provided.'
_SECRET_AADSTS = {**_APP_FLOW_AADSTS, **{code: kind.name for kind in ERROR_KINDS for code in kind.secret_aadsts}}
_AADSTS_RE = re.compile(r'AADSTS(\d+)')
_TRACE_RE = re.compile(r'\s+Trace ID:')


@dataclass
class EntraTokenError(Exception):
    """A classified failure; ``as_dict()`` is the ``error`` the module and lookup return.

    ``sign_in_command`` is the device-code sign-in command for the identity at hand; it replaces
    ``{command}`` in the kind's mitigation.
    """

    kind: str
    detail: str = ''
    aadsts: int | None = None
    error: str | None = None
    suberror: str | None = None
    description: str | None = None
    correlation_id: str | None = None
    trace_id: str | None = None
    timestamp: str | None = None
    status: int | None = None
    sign_in_command: str | None = None

    def __post_init__(self):
        super().__init__(self.message)

    @property
    def spec(self) -> ErrorKind:
        return KINDS.get(self.kind, KINDS['unknown'])

    @property
    def retryable(self) -> bool:
        return self.spec.retryable

    @property
    def mitigation(self) -> str:
        return self.spec.mitigation.replace('{command}', self.sign_in_command or GENERIC_SIGN_IN_COMMAND)

    @property
    def message(self) -> str:
        """One line: what happened, the code, and what to do."""
        what = self.detail or self.spec.summary
        code = ' (AADSTS%d)' % self.aadsts if self.aadsts else ''
        return '%s%s. %s' % (what.rstrip('.'), code, self.mitigation)

    def with_command(self, command: str | None) -> 'EntraTokenError':
        """The same error with the sign-in command of this identity in its mitigation."""
        if command and not self.sign_in_command and '{command}' in self.spec.mitigation:
            self.sign_in_command = command
            self.args = (self.message,)
        return self

    def as_dict(self) -> dict:
        return {
            'kind': self.kind,
            'aadsts': self.aadsts,
            'error': self.error,
            'suberror': self.suberror,
            'description': self.description,
            'correlation_id': self.correlation_id,
            'trace_id': self.trace_id,
            'timestamp': self.timestamp,
            'status': self.status,
            'retryable': self.retryable,
            'mitigation': self.mitigation,
        }


def _credential_specific(app_flow) -> dict:
    """The codes whose meaning depends on the credential: ``app_flow`` is False for a user, True for any
    service principal, or the credential a service principal sent (``client_assertion``...)."""
    if not app_flow:
        return {}
    return {'client_assertion': _ASSERTION_AADSTS, 'client_secret': _SECRET_AADSTS}.get(app_flow, _APP_FLOW_AADSTS)


def classify(aadsts=None, error=None, suberror=None, status=None, app_flow=False) -> str:
    """AADSTS code first, then OAuth error and suberror, then HTTP status."""
    specific = _credential_specific(app_flow)
    if aadsts in specific:
        return specific[aadsts]
    if aadsts in _BY_AADSTS:
        return _BY_AADSTS[aadsts].name
    for kind in ERROR_KINDS:
        for want_error, want_sub in kind.oauth:
            if error == want_error and want_sub in (None, suberror):
                return kind.name
    if status == 429:
        return 'throttled'
    if status is not None and status >= 500:
        return 'service_unavailable'
    return 'unknown'


def aadsts_codes(body: dict) -> list:
    """Every AADSTS code of an Entra error body, in order: error_codes, then those named in the description."""
    codes = []
    listed = body.get('error_codes')
    for code in listed if isinstance(listed, list) else ():
        if isinstance(code, bool):
            continue
        try:
            codes.append(int(code))
        except (TypeError, ValueError):
            continue
    codes.extend(int(match) for match in _AADSTS_RE.findall(str(body.get('error_description') or '')[:4096]))
    return list(dict.fromkeys(codes))


def main_aadsts(body: dict, app_flow=False) -> int | None:
    """The code that explains the failure: the first one the table knows, else the first one.

    Entra sometimes sends a generic code before the specific one, e.g. [70002, 50126] with
    'AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password'.
    """
    codes = aadsts_codes(body)
    specific = _credential_specific(app_flow)
    for code in codes:
        if code in _BY_AADSTS or code in specific:
            return code
    return codes[0] if codes else None


def _text(value, limit=500) -> str | None:
    """A field of an error body as a short one-line string (bodies are untrusted)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = ' '.join(str(value).split())
    return text[:limit] or None


def from_response_body(body: dict, status: int | None = None, detail: str = '', app_flow=False) -> EntraTokenError:
    """Build the error from an OAuth error body (msal's result dict or a raw Entra answer)."""
    code = main_aadsts(body, app_flow)
    description = str(body.get('error_description') or '')
    # Entra appends trace/correlation/timestamp lines (some proxies and SDKs join them into the first line);
    # they are returned separately.
    description = _text(_TRACE_RE.split(description.split('\r\n', maxsplit=1)[0].split('\n', maxsplit=1)[0], maxsplit=1)[0])
    error, suberror = _text(body.get('error'), 100), _text(body.get('suberror'), 100)
    return EntraTokenError(
        kind=classify(code, error, suberror, status, app_flow),
        detail=detail,
        aadsts=code,
        error=error,
        suberror=suberror,
        description=description,
        correlation_id=_text(body.get('correlation_id'), 100),
        trace_id=_text(body.get('trace_id'), 100),
        timestamp=_text(body.get('timestamp'), 100),
        status=status,
    )


def kind_codes(kind: ErrorKind) -> str:
    """The AADSTS codes of a kind, those that depend on the credential sent marked as such ('' when none)."""
    return ', '.join([str(code) for code in kind.aadsts]
                     + ['%d (service principal)' % code for code in kind.app_aadsts]
                     + ['%d (federated token)' % code for code in kind.assertion_aadsts]
                     + ['%d (client secret)' % code for code in kind.secret_aadsts])


def describe_kind(kind: ErrorKind) -> str:
    """One line per kind, as the module documentation lists them."""
    codes = ' (AADSTS %s)' % kind_codes(kind) if kind_codes(kind) else ''
    mitigation = kind.mitigation.replace('{command}', GENERIC_SIGN_IN_COMMAND)
    return 'V(%s)%s: %s Retryable: %s. What to do: %s' % (kind.name, codes, kind.summary, 'yes' if kind.retryable else 'no', mitigation)


def render_kinds_table() -> str:
    """Markdown table of every kind (for docs/ and the module documentation)."""
    rows = ['| kind | AADSTS codes | retryable | what happened | what to do |', '|---|---|---|---|---|']
    for kind in ERROR_KINDS:
        codes = kind_codes(kind) or '-'
        mitigation = kind.mitigation.replace('{command}', '`%s`' % GENERIC_SIGN_IN_COMMAND)
        rows.append('| `%s` | %s | %s | %s | %s |' % (kind.name, codes, 'yes' if kind.retryable else 'no', kind.summary, mitigation))
    return '\n'.join(rows)
