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
from dataclasses import dataclass, field


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


ERROR_KINDS = (
    ErrorKind('invalid_argument', 'An option has a wrong value.',
              'Fix the option named in the message.'),
    ErrorKind('password_required', 'No usable token or refresh token is cached and no password was given.',
              'Set the password option (or ENTRA_PASSWORD / AZURE_PASSWORD) for the first sign-in.'),
    ErrorKind('tenant_endpoint_required', 'The username/password flow is not supported on the /common or /consumers endpoints.',
              "Set tenant to the directory's tenant ID or domain, or to 'organizations'.",
              aadsts=(90010, 9001023)),
    ErrorKind('invalid_credentials', 'The username or password is wrong.',
              'Check the password (and that it has not been changed); repeated failures can lock the account.',
              aadsts=(50126, 50056, 50012)),
    ErrorKind('user_not_found', 'The user does not exist in this tenant.',
              'Check the username and that tenant is the directory the user belongs to (or is a guest in).',
              aadsts=(50034, 50020, 50155)),
    ErrorKind('mfa_required', 'The sign-in requires multi-factor authentication, which the username/password flow cannot perform.',
              'Use an account excluded from MFA (for example a dedicated automation account under a Conditional Access exclusion), '
              'or an interactive or device-code flow, or a service principal.',
              aadsts=(50076, 50079, 50074, 50072, 53004)),
    ErrorKind('consent_required', 'The application has no consent for the requested scopes.',
              'Grant admin consent for these scopes on the app registration (API permissions > Grant admin consent); '
              'the username/password flow cannot show a consent prompt.',
              aadsts=(65001, 65004), oauth=(('invalid_grant', 'consent_required'), ('interaction_required', 'consent_required'))),
    ErrorKind('conditional_access_blocked', 'A Conditional Access policy blocked the sign-in.',
              'Ask an administrator for a policy exception for this account and app, or use a flow the policy allows '
              '(the sign-in logs show the policy by correlation id).',
              aadsts=(53003, 53000, 53001, 53002, 530032), oauth=(('interaction_required', 'message_only'),)),
    ErrorKind('account_locked', 'The account is locked, usually after too many wrong passwords.',
              'Wait for the lockout to end or ask an administrator to unlock it; fix the stored password first.',
              aadsts=(50053,)),
    ErrorKind('account_disabled', 'The account is disabled.',
              'Ask an administrator to enable the account (accountEnabled) or use another account.',
              aadsts=(50057,)),
    ErrorKind('password_expired', 'The password has expired.',
              'Change the password interactively, then update the stored password.',
              aadsts=(50055, 50144)),
    ErrorKind('interaction_required', 'The sign-in needs a user interaction that the username/password flow cannot perform.',
              'Sign in interactively once to resolve it, or use an interactive or device-code flow.',
              aadsts=(50158, 50097, 50105, 50129), oauth=(('interaction_required', None),)),
    ErrorKind('app_not_found', 'The application (client_id) was not found in the tenant.',
              'Check client_id and tenant; a single-tenant app must be used with its own tenant.',
              aadsts=(700016, 700054)),
    ErrorKind('public_client_required', 'The application is not allowed to use public client flows.',
              "Turn on 'Allow public client flows' (Authentication blade; allowPublicClient=true in the manifest) of the app registration.",
              aadsts=(7000218, 7000215)),
    ErrorKind('invalid_scope', 'The requested scopes are invalid or name more than one resource.',
              "Request scopes of one resource per token, e.g. ['https://graph.microsoft.com/.default'], and check their spelling.",
              aadsts=(70011, 28000, 28003, 500011, 650057), oauth=(('invalid_scope', None),)),
    ErrorKind('tenant_not_found', 'The tenant was not found.',
              'Check the tenant ID or domain, and that cloud / authority_host matches the cloud the tenant lives in.',
              aadsts=(90002, 50128, 50059, 90072)),
    ErrorKind('unsupported_account', 'The account is a personal Microsoft account or its domain is unknown to Entra ID; '
              'the username/password flow supports work or school accounts only.',
              'Use a work or school account of the tenant; personal accounts need an interactive or device-code flow.',
              aadsts=(500200, 50107)),
    ErrorKind('federated_sign_in_failed', "The user's federated identity provider (AD FS / WS-Trust) refused or could not be reached.",
              'Check the password at the identity provider, and that its WS-Trust username/password endpoint is enabled and reachable.'),
    ErrorKind('refresh_token_expired', 'The cached refresh token has expired or was revoked.',
              'Give the password so that a new sign-in can happen; the cache is updated automatically.',
              aadsts=(700082, 50173, 70008, 50132, 50133, 700084)),
    ErrorKind('throttled', 'Entra ID throttled the request (HTTP 429).',
              'Wait for the Retry-After period and retry; reduce parallel sign-ins (the token cache serves repeated requests).',
              retryable=True, aadsts=(50196,)),
    ErrorKind('service_unavailable', 'Entra ID answered with a server error (HTTP 5xx).',
              'Retry later; if it persists, check the Azure status page and the correlation id.',
              retryable=True, oauth=(('temporarily_unavailable', None), ('server_error', None))),
    ErrorKind('network_error', 'The sign-in endpoint could not be reached (connection refused, reset or timed out).',
              'Check network access, proxy and DNS to the authority host, and the timeout option; then retry.',
              retryable=True),
    ErrorKind('tls_error', 'The TLS certificate of the sign-in endpoint could not be verified.',
              'Give the CA bundle that signs it in ca_path (for TLS-inspecting proxies), or check the authority host.'),
    ErrorKind('invalid_response', 'The sign-in endpoint sent an answer that is not valid (HTML, truncated or non-JSON).',
              'Check proxies between you and the authority host and that authority_host is an Entra endpoint; then retry.',
              retryable=True),
    ErrorKind('cache_error', 'The token cache file cannot be used safely.',
              'Fix the cache file or directory as the message says, or set cache_path elsewhere (or cache=false).'),
    ErrorKind('unknown', 'Sign-in failed for a reason this collection does not recognise.',
              'Read the error description and look up the AADSTS code and correlation id in the Entra sign-in logs.'),
)

KINDS = {kind.name: kind for kind in ERROR_KINDS}
_BY_AADSTS = {code: kind for kind in ERROR_KINDS for code in kind.aadsts}
_AADSTS_RE = re.compile(r'AADSTS(\d+)')


@dataclass
class EntraTokenError(Exception):
    """A classified failure; ``as_dict()`` is the ``error`` the module and lookup return."""

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
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        super().__init__(self.message)

    @property
    def spec(self) -> ErrorKind:
        return KINDS.get(self.kind, KINDS['unknown'])

    @property
    def retryable(self) -> bool:
        return self.spec.retryable

    @property
    def message(self) -> str:
        """One line: what happened, the code, and what to do."""
        what = self.detail or self.spec.summary
        code = ' (AADSTS%d)' % self.aadsts if self.aadsts else ''
        return '%s%s. %s' % (what.rstrip('.'), code, self.spec.mitigation)

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
            'mitigation': self.spec.mitigation,
        }


def classify(aadsts=None, error=None, suberror=None, status=None) -> str:
    """AADSTS code first, then OAuth error and suberror, then HTTP status."""
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


def first_aadsts(body: dict) -> int | None:
    """The first AADSTS code of an Entra error body (error_codes, else the description text)."""
    codes = body.get('error_codes')
    if isinstance(codes, list) and codes:
        try:
            return int(codes[0])
        except (TypeError, ValueError):
            pass
    match = _AADSTS_RE.search(str(body.get('error_description') or ''))
    return int(match.group(1)) if match else None


def from_response_body(body: dict, status: int | None = None, detail: str = '') -> EntraTokenError:
    """Build the error from an OAuth error body (msal's result dict or a raw Entra answer)."""
    code = first_aadsts(body)
    description = str(body.get('error_description') or '') or None
    if description:
        # Entra appends trace/correlation/timestamp lines; they are returned separately.
        description = description.split('\r\n')[0].split('\n')[0].strip()
    return EntraTokenError(
        kind=classify(code, body.get('error'), body.get('suberror'), status),
        detail=detail,
        aadsts=code,
        error=body.get('error'),
        suberror=body.get('suberror'),
        description=description,
        correlation_id=body.get('correlation_id'),
        trace_id=body.get('trace_id'),
        timestamp=body.get('timestamp'),
        status=status,
    )


def describe_kind(kind: ErrorKind) -> str:
    """One line per kind, as the module documentation lists them."""
    codes = ' (AADSTS %s)' % ', '.join(str(code) for code in kind.aadsts) if kind.aadsts else ''
    return 'V(%s)%s: %s Retryable: %s. What to do: %s' % (kind.name, codes, kind.summary, 'yes' if kind.retryable else 'no', kind.mitigation)


def render_kinds_table() -> str:
    """Markdown table of every kind (for docs/ and the module documentation)."""
    rows = ['| kind | AADSTS codes | retryable | what happened | what to do |', '|---|---|---|---|---|']
    for kind in ERROR_KINDS:
        codes = ', '.join(str(code) for code in kind.aadsts) or '-'
        rows.append('| `%s` | %s | %s | %s | %s |' % (kind.name, codes, 'yes' if kind.retryable else 'no', kind.summary, kind.mitigation))
    return '\n'.join(rows)
