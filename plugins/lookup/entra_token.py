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
    from ansible_collections.identity.entra.plugins.plugin_utils._options import OPTION_SPEC, ini_value, from_lookup, unknown_options

# What Ansible's plugin loader would build from DOCUMENTATION and its doc fragments (see register_option_definitions).
# BEGIN option definitions (generated by hacking/render_lookup_options.py from DOCUMENTATION and its doc fragments)
OPTIONS = {
    'authority_host': {
        'description': [
            (
                'Authority host URL, for example V(https://login.microsoftonline.com) or the URL of a test '
                'emulator. Defaults to the host of O(cloud).'
            ),
            'Falls back to E(ENTRA_AUTHORITY_HOST).',
        ],
        'env': [{'name': 'ENTRA_AUTHORITY_HOST'}],
        'ini': [{'key': 'authority_host', 'section': 'entra'}],
        'type': 'str',
        'vars': [{'name': 'entra_authority_host'}],
    },
    'ca_path': {
        'description': [
            'CA bundle (PEM) to trust for the authority host, for example the CA of a TLS-inspecting proxy.',
            (
                'Takes effect even when E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) are set. Falls back to '
                'E(ENTRA_CA_PATH).'
            ),
        ],
        'env': [{'name': 'ENTRA_CA_PATH'}],
        'ini': [{'key': 'ca_path', 'section': 'entra'}],
        'type': 'path',
        'vars': [{'name': 'entra_ca_path'}],
    },
    'cache': {
        'default': True,
        'description': [
            (
                'Whether to use the token cache. V(false) keeps tokens in memory for this one call only, so every '
                'call signs in.'
            ),
            (
                'Even then, the sign-in lock and the record of refused credentials (no tokens) live in '
                'O(cache_path), so that a wrong password is still not sent by every fork; when that directory '
                'cannot be used, a warning says so.'
            ),
        ],
        'type': 'bool',
        'vars': [{'name': 'entra_cache'}],
    },
    'cache_path': {
        'default': '~/.ansible/entra/token_cache',
        'description': [
            (
                'Token cache directory on the controller, shared by every user, app, tenant and cloud. Each '
                "account's tokens are one file in msal's unified cache format inside it."
            ),
            'Created with mode 0700 (files 0600); refused if another user owns it or group/others can write it.',
            (
                'Must be an absolute path after C(~) and C($VARIABLE) expansion; a path naming an unset variable or '
                "an unknown user's home is refused before anything is written."
            ),
            'Falls back to E(ENTRA_TOKEN_CACHE).',
        ],
        'env': [{'name': 'ENTRA_TOKEN_CACHE'}],
        'ini': [{'key': 'cache_path', 'section': 'entra'}],
        'type': 'path',
        'vars': [{'name': 'entra_cache_path'}],
    },
    'client_assertion_file': {
        'description': [
            (
                'File holding a federated token (a JWT) that the app registration trusts through a federated '
                'identity credential, as written by Kubernetes workload identity, GitHub Actions or AWX. Read again '
                'at every sign-in.'
            ),
            'Falls back to E(ENTRA_FEDERATED_TOKEN_FILE) then E(AZURE_FEDERATED_TOKEN_FILE).',
        ],
        'env': [{'name': 'ENTRA_FEDERATED_TOKEN_FILE'}, {'name': 'AZURE_FEDERATED_TOKEN_FILE'}],
        'type': 'path',
        'vars': [{'name': 'entra_client_assertion_file'}],
    },
    'client_certificate_password': {
        'description': [
            'Password of an encrypted private key in O(client_certificate_path). Never logged or written anywhere.',
            'Falls back to E(ENTRA_CLIENT_CERTIFICATE_PASSWORD) then E(AZURE_CLIENT_CERTIFICATE_PASSWORD).',
        ],
        'env': [{'name': 'ENTRA_CLIENT_CERTIFICATE_PASSWORD'}, {'name': 'AZURE_CLIENT_CERTIFICATE_PASSWORD'}],
        'type': 'str',
        'vars': [{'name': 'entra_client_certificate_password'}],
    },
    'client_certificate_path': {
        'description': [
            (
                'PEM file holding the private key and the certificate registered on the app registration (service '
                'principal).'
            ),
            'Falls back to E(ENTRA_CLIENT_CERTIFICATE_PATH) then E(AZURE_CLIENT_CERTIFICATE_PATH).',
        ],
        'env': [{'name': 'ENTRA_CLIENT_CERTIFICATE_PATH'}, {'name': 'AZURE_CLIENT_CERTIFICATE_PATH'}],
        'type': 'path',
        'vars': [{'name': 'entra_client_certificate_path'}],
    },
    'client_certificate_send_chain': {
        'default': False,
        'description': [
            'Send the certificate with each assertion (C(x5c)), as subject name and issuer authentication needs.',
            'Falls back to E(ENTRA_CLIENT_SEND_CERTIFICATE_CHAIN) then E(AZURE_CLIENT_SEND_CERTIFICATE_CHAIN).',
        ],
        'env': [{'name': 'ENTRA_CLIENT_SEND_CERTIFICATE_CHAIN'}, {'name': 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN'}],
        'type': 'bool',
        'vars': [{'name': 'entra_client_certificate_send_chain'}],
    },
    'client_id': {
        'description': [
            (
                'Application (client) ID of the app registration. For a user it must be a public client app with '
                '"Allow public client flows" turned on; for a service principal, the app that holds the client '
                'credential.'
            ),
            'Falls back to E(ENTRA_CLIENT_ID) then E(AZURE_CLIENT_ID).',
        ],
        'env': [{'name': 'ENTRA_CLIENT_ID'}, {'name': 'AZURE_CLIENT_ID'}],
        'ini': [{'key': 'client_id', 'section': 'entra'}],
        'required': True,
        'type': 'str',
        'vars': [{'name': 'entra_client_id'}],
    },
    'client_secret': {
        'description': [
            (
                'Client secret of a confidential app registration (service principal); gets an app-only token with '
                'the application permissions granted to the app. Never logged, returned or written to the cache.'
            ),
            'Falls back to E(ENTRA_CLIENT_SECRET) then E(AZURE_CLIENT_SECRET).',
        ],
        'env': [{'name': 'ENTRA_CLIENT_SECRET'}, {'name': 'AZURE_CLIENT_SECRET'}],
        'type': 'str',
        'vars': [{'name': 'entra_client_secret'}],
    },
    'cloud': {
        'choices': ['public', 'usgov', 'usgov_dod', 'china'],
        'default': 'public',
        'description': [
            'National cloud; chooses the default authority host and Microsoft Graph resource.',
            'Falls back to E(ENTRA_CLOUD).',
        ],
        'env': [{'name': 'ENTRA_CLOUD'}],
        'ini': [{'key': 'cloud', 'section': 'entra'}],
        'type': 'str',
        'vars': [{'name': 'entra_cloud'}],
    },
    'device_code_timeout': {
        'default': 600,
        'description': [
            (
                "Seconds to wait for a person to complete a device-code sign-in (Entra's code itself expires after "
                '15 minutes).'
            ),
        ],
        'type': 'int',
        'vars': [{'name': 'entra_device_code_timeout'}],
    },
    'flow': {
        'choices': ['password', 'device_code'],
        'default': 'password',
        'description': [
            (
                'How a user signs in when the cache cannot serve. V(password) uses O(password) (the resource owner '
                "password credentials flow). V(device_code) shows Entra's sign-in message (a URL and a code) on the "
                "controller's console and waits until a person has signed in with it in a browser, MFA included; "
                'the refresh token then serves later runs without a password.'
            ),
            (
                'Only the module waits for a person; the lookup fails with C(sign_in_required) instead, whose '
                'message names the C(ansible-playbook identity.entra.sign_in) command to run.'
            ),
            'Ignored for a service principal (a client credential chooses that flow).',
        ],
        'type': 'str',
        'vars': [{'name': 'entra_flow'}],
    },
    'force_refresh': {
        'default': False,
        'description': [
            (
                'Ignore a cached access token and get a new one (with the refresh token, else the password; a '
                'service principal asks for a new app-only token).'
            ),
            (
                'With O(flow=device_code), a new device-code sign-in instead, without trying the refresh token (for '
                'example before a sign-in frequency deadline; C(ansible-playbook identity.entra.sign_in -e '
                'force=true) does this).'
            ),
        ],
        'type': 'bool',
        'vars': [{'name': 'entra_force_refresh'}],
    },
    'min_validity': {
        'default': 300,
        'description': [
            (
                'A cached access token is returned only if it stays valid at least this many seconds; otherwise a '
                'new one is obtained.'
            ),
            (
                'When this is longer than the lifetime of the tokens Entra issues, a token is used until half its '
                'lifetime has passed (and a warning says so), rather than getting a new one on every call.'
            ),
        ],
        'type': 'int',
        'vars': [{'name': 'entra_min_validity'}],
    },
    'output': {
        'choices': ['token', 'result'],
        'default': 'token',
        'description': ["V(token) returns the access token string; V(result) returns the same dictionary as the module's fact."],
        'type': 'str',
    },
    'password': {
        'description': [
            (
                "The user's password, for O(flow=password). Needed only when the cache cannot serve (first sign-in, "
                'refresh token expired or revoked); without it, a token is served from the cache or by refresh '
                'only.'
            ),
            (
                'A password Entra ID refused is not sent again for 15 minutes (nor for the rest of the run), by any '
                'fork or process, unless it changes, so a wrong password cannot lock the account.'
            ),
            (
                'Falls back to E(ENTRA_PASSWORD) then E(AZURE_PASSWORD). Never logged, returned or written to the '
                'cache.'
            ),
        ],
        'env': [{'name': 'ENTRA_PASSWORD'}, {'name': 'AZURE_PASSWORD'}],
        'type': 'str',
        'vars': [{'name': 'entra_password'}],
    },
    'proxy': {
        'description': [
            (
                'HTTP proxy URL for all sign-in requests, for example V(http://proxy.example:3128) (TLS is '
                'tunnelled with CONNECT; SOCKS and https:// proxies are not supported). Without it the usual '
                'E(HTTPS_PROXY) / E(NO_PROXY) apply.'
            ),
        ],
        'ini': [{'key': 'proxy', 'section': 'entra'}],
        'type': 'str',
        'vars': [{'name': 'entra_proxy'}],
    },
    'scopes': {
        'description': [
            (
                'Scopes of one resource. Reserved OpenID scopes (V(openid), V(profile), V(offline_access)) are '
                'always requested and are dropped from this list.'
            ),
            'Scopes without a resource (such as V(User.Read)) are Microsoft Graph scopes.',
            (
                'Default is the V(.default) scope of Microsoft Graph in the chosen O(cloud), for example '
                'V(https://graph.microsoft.com/.default).'
            ),
        ],
        'elements': 'str',
        'type': 'list',
        'vars': [{'name': 'entra_scopes'}],
    },
    'tenant': {
        'description': [
            (
                'The directory to sign in to, as a tenant ID (GUID), a verified domain such as V(contoso.com), or '
                'V(organizations).'
            ),
            (
                'V(common) and V(consumers) are refused before any request, because Entra ID does not allow these '
                'flows there; a service principal also needs the tenant itself, not V(organizations).'
            ),
            'Falls back to the E(ENTRA_TENANT_ID) then E(AZURE_TENANT_ID) environment variables of the controller.',
        ],
        'env': [{'name': 'ENTRA_TENANT_ID'}, {'name': 'AZURE_TENANT_ID'}],
        'ini': [{'key': 'tenant', 'section': 'entra'}],
        'required': True,
        'type': 'str',
        'vars': [{'name': 'entra_tenant'}],
    },
    'timeout': {
        'default': 30,
        'description': [
            'Deadline in seconds of each whole HTTP request (connecting, sending, and reading the entire answer).',
            (
                'A sign-in makes at most 8 requests, so it takes at most 8 times this, plus O(device_code_timeout) '
                'for a device code.'
            ),
        ],
        'ini': [{'key': 'timeout', 'section': 'entra'}],
        'type': 'int',
        'vars': [{'name': 'entra_timeout'}],
    },
    'username': {
        'description': [
            (
                'User principal name of a work or school account, for example V(automation@contoso.com). It selects '
                'the account in the cache and is the user who signs in.'
            ),
            (
                'Give a username to sign a user in, or one of O(client_secret), O(client_certificate_path) or '
                'O(client_assertion_file) to sign a service principal in; giving both, or two client credentials, '
                'is refused.'
            ),
            'Falls back to E(ENTRA_USERNAME) then E(AZURE_USERNAME).',
        ],
        'env': [{'name': 'ENTRA_USERNAME'}, {'name': 'AZURE_USERNAME'}],
        'type': 'str',
        'vars': [{'name': 'entra_username'}],
    },
    'validate_authority': {
        'default': True,
        'description': [
            "Whether msal validates the authority against Microsoft's instance discovery.",
            (
                'Set V(false) for a host msal does not know (an emulator, AD FS); nothing is then checked against '
                'Microsoft.'
            ),
        ],
        'type': 'bool',
        'vars': [{'name': 'entra_validate_authority'}],
    },
    'validate_certs': {
        'default': True,
        'description': ['Whether TLS certificates are verified. Keep V(true) outside of tests.'],
        'type': 'bool',
        'vars': [{'name': 'entra_validate_certs'}],
    },
}
# END option definitions

display = Display()
# The doc fragment names one variable per option: entra_<option>.
OPTION_VARIABLES = tuple('entra_' + name for name in OPTION_SPEC)
LOOKUP_OPTIONS = tuple(OPTION_SPEC) + ('output',)
OUTPUTS = ('token', 'result')


def register_option_definitions(name: str = __name__) -> bool:
    """Give Ansible this lookup's option definitions before its plugin loader builds them.

    The loader would parse DOCUMENTATION and its doc fragments as YAML in every worker process (a fork per
    host and task) that runs the lookup, which costs more than everything else a cached token does.
    OPTIONS holds what it would build, rendered from the same documentation (a unit test fails when they
    differ), and the loader skips a plugin whose definitions are known. Ansible (2.16 to 2.21 at least)
    keys them by the plugin's Python module name.
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
        # Options may come from entra_* variables, which Ansible hands to lookups untemplated; a keyword
        # argument wins over its variable, which is then not templated at all.
        own_vars = {name[6:]: self._templar.template(variables[name]) for name in OPTION_VARIABLES
                    if name in variables and kwargs.get(name[6:]) is None}
        return output, get_token(from_lookup(kwargs, own_vars, self._configured), warn=display.warning)

    def _configured(self, name: str):
        """What ansible.cfg gives an option ([entra] section) and which file, as Ansible's configuration reads it; else None."""
        if 'ini' not in OPTIONS[name] or not C.CONFIG_FILE:  # no ansible.cfg: nothing to ask Ansible
            return None
        try:
            value, origin = C.config.get_config_value_and_origin(name, plugin_type='lookup', plugin_name=self._load_name)
        except AnsibleError as exc:  # Ansible's own type checks of what the file says
            if OPTIONS[name].get('required'):  # a string given nowhere (Ansible raises): validation says where to set it
                return None
            raise invalid_argument(str(exc).splitlines()[0][:300]) from None
        if str(origin).startswith('env:'):
            # Ansible took an empty environment variable (from_lookup asks only when none is set to a value), which
            # hides ansible.cfg and, for a path, means the current directory. Empty is unset, as for the module.
            value, origin = ini_value(C.CONFIG_FILE, name, None), C.CONFIG_FILE
        return None if origin == 'default' or value is None else (value, str(origin))
