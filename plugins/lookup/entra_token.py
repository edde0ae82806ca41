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

import importlib.util
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display


class BytecodeCachedImports:
    """While installed, this collection's plugin_utils and module_utils modules load through Python's own
    source loader, which keeps their bytecode in __pycache__ (where Python may write it).

    Why: Ansible forks a worker process for every host and task, and a lookup is loaded in the worker
    that templates it. Ansible's collection loader compiles collection modules from source every time;
    for the modules a cached token needs that is most of what a warm lookup costs. This file itself
    is loaded by Python's source loader already. Only the imports below go through here; whatever is
    imported later (a sign-in, an error) goes through the collection loader as usual.
    """

    def __init__(self, package: str, root: str) -> None:
        self.prefix = package + '.'
        self.root = root

    def find_spec(self, fullname, path=None, target=None):  # pylint: disable=unused-argument
        parts = fullname[len(self.prefix):].split('.') if fullname.startswith(self.prefix) else ()
        if len(parts) != 2 or parts[0] not in ('plugin_utils', 'module_utils'):
            return None
        source = os.path.join(self.root, parts[0], parts[1] + '.py')
        return importlib.util.spec_from_file_location(fullname, source) if os.path.isfile(source) else None

    def __enter__(self):
        if __name__.startswith('ansible_collections.'):  # loaded as a collection plugin
            sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc_info):
        if self in sys.meta_path:
            sys.meta_path.remove(self)


with BytecodeCachedImports(__name__.rsplit('.', 2)[0], os.path.dirname(os.path.dirname(os.path.abspath(__file__)))):
    from ansible_collections.identity.entra.plugins.plugin_utils._acquire import get_token
    from ansible_collections.identity.entra.plugins.plugin_utils._lookup_options import OPTIONS
    from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC, from_lookup, unknown_options

display = Display()
# The doc fragment names one variable per option: entra_<option>.
OPTION_VARIABLES = tuple('entra_' + name for name in OPTION_SPEC)
LOOKUP_OPTIONS = tuple(OPTION_SPEC) + ('output',)
OUTPUTS = ('token', 'result')


def register_option_definitions(name: str = __name__) -> bool:
    """Give Ansible this lookup's option definitions before its plugin loader builds them.

    The loader would parse DOCUMENTATION and its doc fragments as YAML in every worker process (a fork per
    host and task) that runs the lookup, which costs more than everything else a cached token does.
    plugin_utils/_lookup_options.py holds what it would build, rendered from the same documentation (a
    unit test fails when they differ), and the loader skips a plugin whose definitions are known. Ansible
    (2.16 to 2.21 at least) keys them by the plugin's Python module name.
    """
    if not name.startswith('ansible_collections.') or C.config.has_configuration_definition('lookup', name):
        return False
    C.config.initialize_plugin_configuration_definitions('lookup', name, OPTIONS)
    return True


register_option_definitions()


def lookup_error_message(exc) -> str:
    """'[kind] what happened and what to do' followed by the identifiers support needs."""
    details = exc.as_dict()
    extra = ', '.join('%s=%s' % (key, details[key]) for key in ('aadsts', 'error', 'suberror', 'correlation_id', 'trace_id', 'timestamp')
                      if details.get(key) is not None)
    retry = ' Retrying may help.' if exc.retryable else ''
    return '[%s] %s%s%s' % (exc.kind, exc.message, retry, ' (%s)' % extra if extra else '')


def entra_error(exc):
    """``exc`` if it is a classified failure (an EntraTokenError), else None.

    _errors, the table of every error kind, is imported only now: the warm path never needs it.
    """
    from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # pylint: disable=import-outside-toplevel

    return exc if isinstance(exc, EntraTokenError) else None


def invalid_argument(detail: str):
    from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # pylint: disable=import-outside-toplevel

    return EntraTokenError('invalid_argument', detail=detail)


class LookupModule(LookupBase):
    """Options are read as Ansible's plugin configuration orders them (see _options.from_lookup), without
    set_options: Ansible would resolve all of them, for a request that is validated here anyway."""

    def run(self, terms, variables=None, **kwargs):
        try:
            output, facts = self._token(terms, variables or {}, kwargs)
        except Exception as exc:  # pylint: disable=broad-except  # re-raised unless it is one of ours
            error = entra_error(exc)
            if error is None:
                raise
            raise AnsibleLookupError(lookup_error_message(error)) from None
        return [facts if output == 'result' else facts['access_token']]

    def _token(self, terms, variables, kwargs) -> tuple:
        problem = unknown_options(kwargs, LOOKUP_OPTIONS)
        if problem:
            raise problem
        output = kwargs.get('output', 'token')
        if not isinstance(output, str) or output not in OUTPUTS:
            raise invalid_argument("Option 'output' must be one of %s, got %s"
                                   % (', '.join(OUTPUTS), repr(output[:40]) if isinstance(output, str) else 'a value of another type'))
        if terms:
            raise invalid_argument('This lookup takes no terms, only named options')
        # Options may come from entra_* variables; Ansible hands those to lookups untemplated.
        own_vars = {name[6:]: self._templar.template(variables[name]) for name in OPTION_VARIABLES if name in variables}
        return output, get_token(from_lookup(kwargs, own_vars, self._configured), warn=display.warning)

    def _configured(self, name: str):
        """What ansible.cfg gives an option ([entra] section), as Ansible's configuration reads it; else None."""
        if 'ini' not in OPTIONS[name]:
            return None
        try:
            value, origin = C.config.get_config_value_and_origin(name, plugin_type='lookup', plugin_name=self._load_name)
        except AnsibleError as exc:  # Ansible's own type checks of what the file says
            raise invalid_argument(str(exc).splitlines()[0][:300]) from None
        return None if origin == 'default' else value
