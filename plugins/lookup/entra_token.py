# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: entra_token
short_description: Get a Microsoft Entra ID access token for a user or a service principal, cache first
version_added: 0.1.0
author:
  - Identity Entra Maintainers (@identity-entra)
description:
  - Returns an access token from a Microsoft Entra ID tenant, using the controller's token cache first
    (no network call while a cached token is valid), then the cached refresh token, then a sign-in - a user's password
    (the resource owner password credentials flow, ROPC), or a service principal's client secret, certificate or
    federated token (client credentials), through C(msal).
  - The cache is shared with the M(identity.entra.entra_token) module and is safe across forks and processes;
    when many forks need the same token at once, one signs in and the others use its result.
  - A lookup never waits for a person. With O(flow=device_code), it serves a token from the cache or by refresh only, and
    otherwise fails with C([sign_in_required]) and the C(ansible-playbook identity.entra.sign_in) command to run once.
  - On failure the lookup raises an error whose message starts with C([<kind>]), followed by what happened and what to do,
    the AADSTS code, correlation id and trace id. The kinds are listed in the module documentation (M(identity.entra.entra_token)).
  - Unknown option names are refused (a misspelt C(cache_path) would otherwise put tokens in the default cache).
  - Username/password sign-in cannot satisfy MFA, Conditional Access interaction or consent prompts, and does not work for
    personal Microsoft accounts; msal marks the flow as deprecated for that reason, and this plugin silences that warning.
requirements:
  - msal >= 1.31 on the controller
extends_documentation_fragment:
  - identity.entra.entra_token
  - identity.entra.entra_token.plugins
options:
  output:
    description:
      - V(token) returns the access token string; V(result) returns the same dictionary as the module's fact.
    type: str
    choices: [token, result]
    default: token
notes:
  - The lookup runs on the controller; with many hosts, call it once (for example in a play variable or a C(set_fact) with C(run_once))
    or rely on the cache, which serves later calls without any network request.
seealso:
  - module: identity.entra.entra_token
'''

EXAMPLES = r'''
- name: Call Microsoft Graph with a token from the lookup
  ansible.builtin.uri:
    url: https://graph.microsoft.com/v1.0/me
    headers:
      Authorization: "Bearer {{ lookup('identity.entra.entra_token', tenant='contoso.com',
        client_id='00000000-0000-0000-0000-000000000001', username='automation@contoso.com',
        password=entra_password) }}"

- name: An app-only token for a service principal (client_secret from ENTRA_CLIENT_SECRET or AZURE_CLIENT_SECRET)
  ansible.builtin.uri:
    url: https://graph.microsoft.com/v1.0/users
    headers:
      Authorization: "Bearer {{ lookup('identity.entra.entra_token', tenant='contoso.com',
        client_id='00000000-0000-0000-0000-000000000002') }}"

- name: The whole result (expiry, scopes, where it came from)
  ansible.builtin.debug:
    msg: "{{ token.source }} token valid for {{ token.expires_in }} s"
  vars:
    token: "{{ lookup('identity.entra.entra_token', output='result') }}"  # options from ENTRA_* variables
'''

RETURN = r'''
_raw:
  description:
    - The access token (O(output=token)), or a dictionary (O(output=result)) with C(access_token), C(token_type),
      C(expires_on) (epoch seconds), C(expires_in) (seconds left), C(scopes), C(username), C(tenant_id),
      C(roles), C(home_account_id), C(authority) and C(source) (V(cache), V(refresh), V(password), V(device_code) or
      V(client_credentials)); see the module's return values.
  type: list
  elements: raw
'''

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.identity.entra.plugins.plugin_utils._acquire import get_token
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC, check_raw_types, from_plugin, unknown_options

display = Display()
# The doc fragment names one variable per option: entra_<option>.
OPTION_VARIABLES = tuple('entra_' + name for name in OPTION_SPEC)
LOOKUP_OPTIONS = tuple(OPTION_SPEC) + ('output',)


def lookup_error_message(exc: EntraTokenError) -> str:
    """'[kind] what happened and what to do' followed by the identifiers support needs."""
    details = exc.as_dict()
    extra = ', '.join('%s=%s' % (key, details[key]) for key in ('aadsts', 'error', 'suberror', 'correlation_id', 'trace_id', 'timestamp')
                      if details.get(key) is not None)
    retry = ' Retrying may help.' if exc.retryable else ''
    return '[%s] %s%s%s' % (exc.kind, exc.message, retry, ' (%s)' % extra if extra else '')


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        try:
            problem = unknown_options(kwargs, LOOKUP_OPTIONS)
            if problem:
                raise problem
            # Options may come from entra_* variables; Ansible hands those to lookups untemplated.
            own_vars = {name: self._templar.template(variables[name]) for name in OPTION_VARIABLES if name in (variables or {})}
            raw = {name[len('entra_'):]: value for name, value in own_vars.items()}
            raw.update(kwargs)
            check_raw_types(raw)
            try:
                self.set_options(var_options=own_vars, direct=kwargs)
            except AnsibleError as exc:  # Ansible's own type and choices checks of the options
                raise EntraTokenError('invalid_argument', detail=str(exc).splitlines()[0][:300]) from None
            if terms:
                raise EntraTokenError('invalid_argument', detail='This lookup takes no terms, only named options')
            facts = get_token(from_plugin(self, raw, keywords=kwargs), warn=display.warning)
        except EntraTokenError as exc:
            raise AnsibleLookupError(lookup_error_message(exc)) from None
        return [facts if self.get_option('output') == 'result' else facts['access_token']]
