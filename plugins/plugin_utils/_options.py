# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of entra_token, validated once for the action plugin and the lookup.

For internal collection use only. The module front reads raw task arguments
(``from_mapping``), the lookup its keywords, entra_* variables, the environment and
ansible.cfg (``from_lookup``); both end in the same validated ``TokenRequest``. Everything a
user can get wrong is refused here, before anything is sent or written.
"""

from __future__ import annotations

import os
import re
import uuid
from urllib.parse import urlsplit

from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS

RESERVED_SCOPES = frozenset(('openid', 'profile', 'offline_access'))
REFUSED_TENANTS = frozenset(('common', 'consumers'))
DEFAULT_CACHE_PATH = '~/.ansible/entra/token_cache'
MAX_VALUE_LENGTH = 2048
FLOWS = ('password', 'device_code')

# name -> (type, default, environment variables). The doc fragment documents the same
# table; a unit test keeps the two in step.
OPTION_SPEC = {
    'tenant': ('str', None, ('ENTRA_TENANT_ID', 'AZURE_TENANT_ID')),
    'client_id': ('str', None, ('ENTRA_CLIENT_ID', 'AZURE_CLIENT_ID')),
    'username': ('str', None, ('ENTRA_USERNAME', 'AZURE_USERNAME')),
    'password': ('str', None, ('ENTRA_PASSWORD', 'AZURE_PASSWORD')),
    'flow': ('str', 'password', ()),
    'device_code_timeout': ('int', 600, ()),
    'client_secret': ('str', None, ('ENTRA_CLIENT_SECRET', 'AZURE_CLIENT_SECRET')),
    'client_certificate_path': ('path', None, ('ENTRA_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PATH')),
    'client_certificate_password': ('str', None, ('ENTRA_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_CERTIFICATE_PASSWORD')),
    'client_certificate_send_chain': ('bool', False, ('ENTRA_CLIENT_SEND_CERTIFICATE_CHAIN', 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN')),
    'client_assertion_file': ('path', None, ('ENTRA_FEDERATED_TOKEN_FILE', 'AZURE_FEDERATED_TOKEN_FILE')),
    'scopes': ('list', None, ()),
    'cloud': ('str', 'public', ('ENTRA_CLOUD',)),
    'authority_host': ('str', None, ('ENTRA_AUTHORITY_HOST',)),
    'validate_authority': ('bool', True, ()),
    'ca_path': ('path', None, ('ENTRA_CA_PATH',)),
    'validate_certs': ('bool', True, ()),
    'proxy': ('str', None, ()),
    'timeout': ('int', 30, ()),
    'cache_path': ('path', DEFAULT_CACHE_PATH, ('ENTRA_TOKEN_CACHE',)),
    'cache': ('bool', True, ()),
    'force_refresh': ('bool', False, ()),
    'min_validity': ('int', 300, ()),
}
REQUIRED = ('tenant', 'client_id')
_ENVIRONMENT_NAMES = tuple((name, env_names) for name, (_kind, _default, env_names) in OPTION_SPEC.items())
_PATH_OPTIONS = tuple(name for name, (kind, _default, _env) in OPTION_SPEC.items() if kind == 'path')
NO_LOG = frozenset(('password', 'client_secret', 'client_certificate_password'))
# The options that sign a service principal in; exactly one of them, or a username, says who signs in.
CLIENT_CREDENTIALS = ('client_secret', 'client_certificate_path', 'client_assertion_file')
USER_OPTIONS = ('username', 'password')
_LIMITS = {'timeout': (1, 3600), 'min_validity': (0, 86400), 'device_code_timeout': (10, 3600)}
# Checked with string operations where a warm lookup needs them: compiling a regular expression costs
# more than the rest of the validation, and every worker process would compile it again.
_DOMAIN_CHARACTERS = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-')
_NOT_IN_HOST = frozenset('/?#@')
_UNEXPANDED_RE = r'\$(\w+|\{[^}]*\})'
_PLAIN_VALUE_RE = r'^[A-Za-z0-9@._:/,+%~-]+$'
_TRUE = frozenset(('1', 'true', 'yes', 'on', 'y', 't'))
_FALSE = frozenset(('0', 'false', 'no', 'off', 'n', 'f'))

# Where a value came from: an explicit option (a task argument, a lookup keyword) wins over a variable
# (entra_* variables and ansible.cfg, lookup only), which wins over an environment variable.
EXPLICIT, VARIABLE, ENVIRONMENT, DEFAULT = 'explicit', 'variable', 'environment', 'default'


# The fields of a TokenRequest, with their types:
#   tenant, client_id, credential, cloud, authority_host, graph_resource: str
#   username, password, client_secret, client_certificate_path, client_certificate_password,
#   client_assertion_file, ca_path, proxy, cache_path, guard_path: str | None
#   client_certificate_send_chain, validate_authority, validate_certs, force_refresh: bool
#   device_code_timeout, timeout, min_validity: int; scopes: tuple of str
_REQUEST_FIELDS = ('tenant', 'client_id', 'username', 'password', 'credential', 'client_secret', 'client_certificate_path',
                   'client_certificate_password', 'client_certificate_send_chain', 'client_assertion_file', 'device_code_timeout',
                   'scopes', 'cloud', 'authority_host', 'graph_resource', 'validate_authority', 'ca_path', 'validate_certs', 'proxy',
                   'timeout', 'cache_path', 'guard_path', 'force_refresh', 'min_validity')


class TokenRequest:
    """A validated request for a token; everything the core needs, nothing else.

    ``credential`` says who signs in and how: ``password`` or ``device_code`` for a user,
    ``client_secret``, ``client_certificate`` or ``client_assertion`` for a service principal.
    Immutable, hashable, compared by value. A plain class: a frozen dataclass or a named tuple
    generates code when the class is built, in every worker process that runs the lookup.
    """

    __slots__ = _REQUEST_FIELDS + ('environment', 'account_key', 'identity_key')

    def __init__(self, **values) -> None:
        for name in _REQUEST_FIELDS:
            object.__setattr__(self, name, values.pop(name))
        if values:
            raise TypeError('unknown TokenRequest fields: %s' % ', '.join(sorted(values)))
        # Derived once: the warm path asks for them on every call.
        # environment: msal's cache 'environment', the authority host name without port.
        environment = (urlsplit(self.authority_host).hostname or '').lower()
        object.__setattr__(self, 'environment', environment)
        # account_key: whose tokens, one cache file each (a user in a cloud, or an app in a tenant).
        if self.username is None:
            account_key = 'app|%s|%s|%s' % (environment, self.client_id, self.tenant)
        else:
            account_key = 'user|%s|%s' % (environment, self.username.lower())
        object.__setattr__(self, 'account_key', account_key)
        # identity_key: who asks for what; requests with the same key can share one network sign-in.
        object.__setattr__(self, 'identity_key', '%s|%s' % (self.sign_in_key, ' '.join(sorted(s.lower() for s in self.scopes))))

    def __setattr__(self, name, value):
        raise AttributeError('a TokenRequest cannot be changed')

    def __delattr__(self, name):
        raise AttributeError('a TokenRequest cannot be changed')

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in _REQUEST_FIELDS)

    def __eq__(self, other):
        return self._values() == other._values() if isinstance(other, TokenRequest) else NotImplemented

    def __hash__(self):
        return hash(self._values())

    @property
    def authority(self) -> str:
        return '%s/%s' % (self.authority_host, self.tenant)

    @property
    def is_app(self) -> bool:
        """A service principal (app-only token) rather than a user."""
        return self.username is None

    @property
    def sign_in_key(self) -> str:
        """Who signs in where with which app: the unit whose failed sign-ins are remembered."""
        return '%s|%s|%s' % (self.account_key, self.tenant, self.client_id)

    @property
    def sign_in_command(self) -> str | None:
        """The command that signs this user in by device code (None for a service principal).

        Copy-pasteable: quoted for the shell, and for Ansible's key=value parser (which cuts a value
        at a space and refuses a quote), and naming only the options that differ from the defaults.
        """
        if self.is_app:
            return None
        import json  # pylint: disable=import-outside-toplevel  # only needed when something failed
        import shlex  # pylint: disable=import-outside-toplevel

        given = [('tenant', self.tenant), ('client_id', self.client_id), ('username', self.username)]
        if self.cloud != 'public':
            given.append(('cloud', self.cloud))
        if self.authority_host != CLOUDS[self.cloud].authority_host:
            given.append(('authority_host', self.authority_host))
        if not self.validate_authority:
            given.append(('validate_authority', 'false'))
        if self.scopes != ('%s/.default' % self.graph_resource,):
            given.append(('scopes', ','.join(self.scopes)))
        if self.cache_path and self.cache_path != os.path.expanduser(DEFAULT_CACHE_PATH):
            given.append(('cache_path', self.cache_path))
        if self.ca_path:
            given.append(('ca_path', self.ca_path))
        parts = ['ansible-playbook', 'identity.entra.sign_in']
        for name, value in given:
            # key=value keeps such a value as it is; anything else goes as JSON, which Ansible reads whole.
            parts += ['-e', '%s=%s' % (name, value) if re.match(_PLAIN_VALUE_RE, value) else json.dumps({name: value}, ensure_ascii=False)]
        return ' '.join(shlex.quote(part) for part in parts)

    def __repr__(self):  # never show a secret, even in a debugger or traceback
        return 'TokenRequest(tenant=%r, client_id=%r, username=%r, credential=%r, scopes=%r, authority=%r)' % (
            self.tenant, self.client_id, self.username, self.credential, self.scopes, self.authority)


def _error(kind: str, detail: str):
    """An EntraTokenError; _errors (the table of every kind) is imported only when something is wrong."""
    from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # pylint: disable=import-outside-toplevel

    return EntraTokenError(kind, detail=detail)


def _invalid(name: str, why: str):
    return _error('invalid_argument', "Option '%s' %s" % (name, why))


def _describe_type(value) -> str:
    """'a list', 'a mapping'... for messages (Ansible hands over its own subclasses of the builtins)."""
    for kind, text in ((bool, 'a boolean'), (dict, 'a mapping'), ((list, tuple, set), 'a list'), (int, 'a number'),
                       (float, 'a number'), (bytes, 'bytes')):
        if isinstance(value, kind):
            return text
    return 'a value of another type'


def _coerce(name: str, kind: str, value):
    """Convert one raw value to its declared type, or say clearly why not."""
    if value is None:
        return None
    if kind == 'bool':
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _invalid(name, 'must be a boolean, got %s' % (repr(str(value)[:40]) if isinstance(value, str) else _describe_type(value)))
    if kind == 'int':
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _invalid(name, 'must be a whole number of seconds, got %s' % _describe_type(value))
        try:
            return int(str(value).strip()) if not isinstance(value, int) else int(value)
        except ValueError:
            raise _invalid(name, 'must be a whole number of seconds, got %r' % (str(value)[:40],)) from None
    if kind == 'list':
        if isinstance(value, str):
            value = [part for part in re.split(r'[,\s]+', value) if part]
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            raise _invalid(name, 'must be a list of strings')
        return [str(item).strip() for item in value]
    if not isinstance(value, str):
        if isinstance(value, (dict, list, tuple, set, bool, bytes)) or value is Ellipsis:
            raise _invalid(name, 'must be a string, got %s' % _describe_type(value))
        value = str(value)
    value = str(value)  # a plain str, not Ansible's tagged or lazy subclass
    if len(value) > MAX_VALUE_LENGTH and name not in NO_LOG:
        raise _invalid(name, 'is longer than %d characters' % MAX_VALUE_LENGTH)
    if kind == 'path':
        return _check_path(name, value)
    return value


def _check_path(name: str, value: str) -> str:
    """Expand ~ and $VARS; nothing may be left unexpanded, and the cache must be an absolute path.

    A cache path like '$UNSET/token_cache' or 'token_cache' would otherwise become a directory
    in the current working directory, where refresh tokens end up in a git checkout. Files that
    are only read (a CA bundle, a certificate, a federated token) may be relative to the current
    directory, as any path on a command line.
    """
    if not value.strip():
        raise _invalid(name, 'is empty or blank; give a path')
    expanded = os.path.expanduser(os.path.expandvars(value))
    unexpanded = re.search(_UNEXPANDED_RE, expanded) if '$' in expanded else None
    if unexpanded:
        raise _invalid(name, 'names the variable %s, which is not set: %r' % (unexpanded.group(0), value[:120]))
    if any(part.startswith('~') for part in expanded.split(os.sep)):
        raise _invalid(name, 'names a home directory that cannot be expanded (no such user?): %r' % value[:120])
    if expanded != expanded.strip() or '\0' in expanded or '\n' in expanded:
        raise _invalid(name, 'must not start or end with spaces or hold control characters: %r' % value[:120])
    if name != 'cache_path':
        return os.path.abspath(expanded)
    if not os.path.isabs(expanded):
        raise _invalid(name, 'must be an absolute path (after ~ and $VARIABLE expansion), got %r' % value[:120])
    expanded = os.path.normpath(expanded)
    if expanded in (os.sep, os.path.normpath(os.path.expanduser('~'))):
        raise _invalid(name, 'is %s; give the token cache a directory of its own, such as %s'
                       % (expanded, DEFAULT_CACHE_PATH))
    return expanded


def _is_host_url(value: str) -> bool:
    """https:// and a host (with a port), nothing else: no path, query, fragment, user or white space."""
    if value[:8].lower() != 'https://':
        return False
    host = value[8:-1] if value.endswith('/') else value[8:]
    return bool(host) and not any(ch in _NOT_IN_HOST or ch.isspace() for ch in host)


def _check_url(name: str, value: str) -> str:
    if not _is_host_url(value):
        raise _invalid(name, 'must be an https:// URL of a host, with nothing after it (no path, query, fragment, '
                       'user or spaces), got %r' % (value[:80],))
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _invalid(name, 'has an invalid port: %r' % (value[:80],)) from None
    if not parts.hostname:
        raise _invalid(name, 'must name a host, got %r' % (value[:80],))
    return value.rstrip('/')


def _check_proxy(value: str) -> str:
    proxy = urlsplit(value.strip())
    if proxy.scheme in ('socks4', 'socks4a', 'socks5', 'socks5h', 'https'):
        raise _invalid('proxy', 'uses %s://, which is not supported; give an HTTP proxy (it tunnels TLS with CONNECT), '
                       'such as http://proxy.example:3128' % proxy.scheme)
    try:
        port = proxy.port
    except ValueError:
        port = -1
    if proxy.scheme != 'http' or not proxy.hostname or port == -1 or proxy.path not in ('', '/') or proxy.query:
        raise _invalid('proxy', 'must be an HTTP proxy URL such as http://proxy.example:3128')
    return value.strip()


def _check_scopes(scopes, graph_resource: str) -> tuple:
    """Drop reserved scopes, refuse two resources in one token."""
    wanted = [s for s in scopes if s and s.lower() not in RESERVED_SCOPES]
    if not wanted:
        return ('%s/.default' % graph_resource,)
    resources = set()
    for scope in wanted:
        if any(ch.isspace() for ch in scope):
            raise _invalid('scopes', 'must not contain spaces inside a scope: %r' % scope[:80])
        resources.add(scope.rsplit('/', 1)[0].lower().rstrip('/') if '/' in scope else graph_resource)
    if len(resources) > 1:
        raise _invalid('scopes', 'name more than one resource (%s); a token is for one resource, '
                       'request one token per resource' % ', '.join(sorted(resources)))
    return tuple(dict.fromkeys(wanted))


def _check_tenant(tenant: str, is_app: bool) -> str:
    lowered = tenant.strip().lower()
    if lowered in REFUSED_TENANTS or (is_app and lowered == 'organizations'):
        raise _error('tenant_endpoint_required',
                     "tenant '%s' cannot be used for this sign-in: Entra refuses it on /%s; give the tenant ID or domain"
                     % (lowered, lowered))
    try:
        return str(uuid.UUID(lowered))
    except ValueError:
        pass
    if not (0 < len(lowered) <= 253 and lowered[0] not in '.-' and set(lowered) <= _DOMAIN_CHARACTERS) or \
            ('.' not in lowered and lowered != 'organizations'):
        raise _invalid('tenant', "must be a tenant ID (GUID), a verified domain or 'organizations', got %r" % tenant[:80])
    return lowered


def _choose_credential(values: dict, origins: dict) -> tuple:
    """Who signs in: (client credential option or None for a user, options to ignore).

    Explicit options win over variables, which win over the environment: a CI runner's
    AZURE_CLIENT_SECRET does not turn a task that names a username into a service principal
    sign-in, nor does an inventory's entra_username turn a lookup given client_secret into a
    user's. Two kinds of credential at the same level are refused rather than guessed between.
    """
    def given(names, origin):
        return [name for name in names if values.get(name) not in (None, '') and origins.get(name) == origin]

    for origin in (EXPLICIT, VARIABLE, ENVIRONMENT):
        clients, users = given(CLIENT_CREDENTIALS, origin), given(USER_OPTIONS, origin)
        where = {EXPLICIT: 'as options', VARIABLE: 'as variables', ENVIRONMENT: 'in the environment'}[origin]
        if clients and users:
            raise _invalid(clients[0], 'and %s are both set %s: a service principal signs in with a client credential, '
                           'a user with a username; give one of them' % (users[0], where))
        if len(clients) > 1:
            raise _invalid(clients[0], 'and %s are both set %s: give one client credential' % (clients[1], where))
        if clients:
            return clients[0], [name for name in CLIENT_CREDENTIALS + USER_OPTIONS if name != clients[0]]
        if users:
            return None, list(CLIENT_CREDENTIALS)
    return None, []


# Requests this process has validated, by everything validation read: a task or lookup called again
# with the same arguments (loops, lazy templating, a long-lived process) is not validated again. Each
# front keys them by its own inputs - each value with its type (True == 1, but only one is a number of
# seconds), the environment variables options fall back to, and HOME (for ~). A request built from a
# path naming an environment variable ($VAR), or relative to the working directory, is not remembered,
# and the files validation checks exist are checked again on every use.
_VALIDATED: dict = {}
_VALIDATED_MAX = 64
_ALL_ENVIRONMENT_NAMES = tuple(sorted({env for _kind, _default, names in OPTION_SPEC.values() for env in names}))


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_frozen(item) for item in value)
    return type(value), value


def _inputs_key(*mappings, environ=None):
    """A key for the values of ``mappings`` (with their types) and the environment; None when one is unhashable."""
    environ = os.environ if environ is None else environ
    key = (tuple(map(environ.get, _ALL_ENVIRONMENT_NAMES)), os.environ.get('HOME'))
    for mapping in mappings:
        key += (tuple(mapping), tuple(mapping.values()), tuple(map(type, mapping.values())))
    try:
        hash(key)
    except TypeError:  # a list (scopes): by its items' types and values
        key = key[:2] + tuple(tuple(_frozen(value) for value in mapping.values()) + tuple(mapping) for mapping in mappings)
        try:
            hash(key)
        except Exception:  # pylint: disable=broad-except  # a mapping, an undefined value...: validated every time
            return None
    except Exception:  # pylint: disable=broad-except
        return None
    return key


def _remembered(key) -> TokenRequest | None:
    known = _VALIDATED.get(key) if key is not None else None
    if known is not None and all(os.path.isfile(path) for path in (known.ca_path, known.client_certificate_path,
                                                                   known.client_assertion_file) if path):
        return known
    return None


def _depends_on_more(raw: dict) -> bool:
    """A path naming an environment variable, or relative to the working directory: not part of the key."""
    return any(isinstance(raw.get(name), str) and ('$' in raw[name] or not raw[name].startswith(('/', '~')))
               for name in _PATH_OPTIONS)


def _remember(key, raw: dict, request: TokenRequest) -> TokenRequest:
    if key is not None and not _depends_on_more(raw):
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED[key] = request
    return request


def _validate(raw: dict, origins: dict) -> TokenRequest:
    """Validate raw option values (merged with the environment, not yet with defaults) into a TokenRequest.

    ``origins`` says for each name whether its value is EXPLICIT, a VARIABLE, from the ENVIRONMENT
    or the DEFAULT; it decides between a user and a service principal.
    """
    values = {}
    for name, (kind, default, _env) in OPTION_SPEC.items():
        value = raw.get(name)
        values[name] = _coerce(name, kind, default if value is None else value)
    for name in REQUIRED:
        if not values[name] or not str(values[name]).strip():
            raise _invalid(name, 'is required (set it as an option or through %s)' % ' / '.join(OPTION_SPEC[name][2]))
    chosen, drop = _choose_credential(values, {name: origins.get(name, EXPLICIT) for name in values})
    for name in drop:
        values[name] = None
    flow = str(values['flow']).strip().lower()
    if flow not in FLOWS:
        raise _invalid('flow', 'must be one of %s, got %r' % (', '.join(FLOWS), str(values['flow'])[:40]))
    if chosen:
        if flow == 'device_code' and origins.get('flow', EXPLICIT) == EXPLICIT and raw.get('flow') is not None:
            raise _invalid('flow', 'device_code signs a user in; it cannot be used with %s (a service principal)' % chosen)
        credential = 'client_certificate' if chosen == 'client_certificate_path' else \
            'client_assertion' if chosen == 'client_assertion_file' else 'client_secret'
        for name in (n for n in ('client_certificate_path', 'client_assertion_file') if n == chosen):
            if not os.path.isfile(values[name]):
                raise _invalid(name, 'must name a readable file: %s' % values[name])
        if values['client_certificate_password'] and chosen != 'client_certificate_path':
            if origins.get('client_certificate_password', EXPLICIT) == EXPLICIT:
                raise _invalid('client_certificate_password', 'is only used with client_certificate_path')
            values['client_certificate_password'] = None  # the environment's, for another credential
    else:
        if not values['username'] or not str(values['username']).strip():
            raise _invalid('username', 'is required to sign a user in (or give client_secret, client_certificate_path or '
                           'client_assertion_file to sign a service principal in); set it as an option or through %s'
                           % ' / '.join(OPTION_SPEC['username'][2]))
        credential = flow
        if values['client_certificate_password'] and origins.get('client_certificate_password', EXPLICIT) == EXPLICIT:
            raise _invalid('client_certificate_password', 'is only used with client_certificate_path (a service principal), '
                           'not to sign a user in')
        values['client_certificate_password'] = None  # one from the environment is for another tool
    cloud = str(values['cloud']).strip().lower()
    if cloud not in CLOUDS:
        raise _invalid('cloud', 'must be one of %s, got %r' % (', '.join(CLOUDS), str(values['cloud'])[:40]))
    default_host, graph_resource = CLOUDS[cloud].authority_host, CLOUDS[cloud].graph_resource
    authority_host = _check_url('authority_host', values['authority_host'] or default_host)
    username = None
    if not chosen:
        username = values['username'].strip()
        if '@' not in username or any(ch.isspace() for ch in username) or username.startswith('@') or username.endswith('@'):
            raise _invalid('username', 'must be a user principal name such as user@contoso.com')
    client_id = values['client_id'].strip()
    try:
        client_id = str(uuid.UUID(client_id))
    except ValueError:
        raise _invalid('client_id', 'must be the application (client) ID, a GUID, got %r' % client_id[:80]) from None
    for name, (low, high) in _LIMITS.items():
        if not low <= values[name] <= high:
            raise _invalid(name, 'must be between %d and %d seconds' % (low, high))
    proxy = _check_proxy(values['proxy']) if values['proxy'] else None
    if values['ca_path'] and not os.path.isfile(values['ca_path']):
        raise _invalid('ca_path', 'must name a readable CA bundle file: %s' % values['ca_path'])
    if values['password'] == '':
        values['password'] = None
    scopes = _check_scopes(values['scopes'] or [], graph_resource)
    if chosen and any(not scope.lower().endswith('/.default') for scope in scopes):
        raise _invalid('scopes', 'must be one <resource>/.default scope for a service principal (app-only tokens carry the '
                       "application permissions granted to the app), got %s" % ', '.join(scopes))
    return TokenRequest(
        tenant=_check_tenant(values['tenant'], bool(chosen)),
        client_id=client_id,
        username=username,
        password=values['password'] if credential == 'password' else None,
        credential=credential,
        client_secret=values['client_secret'] if chosen == 'client_secret' else None,
        client_certificate_path=values['client_certificate_path'] if chosen == 'client_certificate_path' else None,
        client_certificate_password=values['client_certificate_password'] or None,
        client_certificate_send_chain=bool(values['client_certificate_send_chain']),
        client_assertion_file=values['client_assertion_file'] if chosen == 'client_assertion_file' else None,
        device_code_timeout=values['device_code_timeout'],
        scopes=scopes,
        cloud=cloud,
        authority_host=authority_host,
        graph_resource=graph_resource,
        validate_authority=values['validate_authority'],
        ca_path=values['ca_path'],
        validate_certs=values['validate_certs'],
        proxy=proxy,
        timeout=values['timeout'],
        cache_path=values['cache_path'] if values['cache'] else None,
        guard_path=values['cache_path'],  # with cache: false, still where refused credentials are remembered
        force_refresh=values['force_refresh'],
        min_validity=values['min_validity'],
    )


def unknown_options(names, known):
    """The error for option names nobody knows (with the likely meant one), or None."""
    unknown = sorted(str(name) for name in set(names) - set(known))
    if not unknown:
        return None
    import difflib  # pylint: disable=import-outside-toplevel  # only for a typo

    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1)
        hints.append('%s (did you mean %s?)' % (name, close[0]) if close else name)
    return _error('invalid_argument', 'Unsupported option(s): %s' % ', '.join(hints))


def from_mapping(args: dict, environ=None) -> TokenRequest:
    """Task arguments: unknown keys are refused; unset options fall back to the environment."""
    environ = os.environ if environ is None else environ
    key = _inputs_key(args, environ=environ)
    known = _remembered(key)
    if known is not None:
        return known
    problem = unknown_options(args, OPTION_SPEC)
    if problem:
        raise problem
    raw, origins = {}, {}
    given, variable = args.get, environ.get
    for name, env_names in _ENVIRONMENT_NAMES:
        value = given(name)
        origin = EXPLICIT
        if value is None:
            origin = DEFAULT
            for env in env_names:
                if variable(env):
                    value, origin = environ[env], ENVIRONMENT
                    break
        raw[name] = value
        origins[name] = origin
    return _remember(key, raw, _validate(raw, origins))


def from_lookup(keywords: dict, variables: dict, configured) -> TokenRequest:
    """Options of the lookup, in the order Ansible's plugin configuration gives them.

    A keyword argument wins over an entra_* variable (``variables``: templated values by option
    name), which wins over an environment variable (in OPTION_SPEC's order), which wins over
    ansible.cfg: ``configured(name)`` returns ``(value, origin)`` from Ansible's configuration for an
    option given nowhere else (its [entra] section; origin is the file), or None. Values are taken
    as the user wrote them: Ansible would resolve a relative or unexpanded path against the current
    directory (or ansible.cfg's) and hide it. Keywords win over variables when choosing who signs in.
    """
    key = _inputs_key(keywords, variables)
    known = _remembered(key)
    if known is not None:
        return known
    raw, origins = {}, {}
    for name, (_kind, _default, env_names) in OPTION_SPEC.items():
        if keywords.get(name) is not None:
            raw[name], origins[name] = keywords[name], EXPLICIT
        elif variables.get(name) is not None:
            raw[name], origins[name] = variables[name], VARIABLE
        else:
            value = next((os.environ[env] for env in env_names if os.environ.get(env)), None)
            if value is not None:
                raw[name], origins[name] = value, ENVIRONMENT
            else:
                found = configured(name)  # ansible.cfg: read once per process, like Ansible's configuration
                value = None
                if found is not None:
                    value, source = found
                    if OPTION_SPEC[name][0] == 'path' and os.path.isfile(source):
                        # Ansible resolved a relative path against the directory of ansible.cfg: check it as written.
                        value = ini_value(source, name, value)
                raw[name], origins[name] = value, (DEFAULT if value is None else VARIABLE)
    return _remember(key, raw, _validate(raw, origins))


def ini_value(path: str, name: str, resolved):
    """An option of the [entra] section of an ansible.cfg, as written there (``resolved`` if unreadable).

    Read as Ansible's configuration reads it: an inline '; comment' is not part of the value, quotes are removed.
    """
    import configparser  # pylint: disable=import-outside-toplevel  # only for a path option set in ansible.cfg

    from ansible.parsing.quoting import unquote  # pylint: disable=import-outside-toplevel

    parser = configparser.ConfigParser(inline_comment_prefixes=(';',))
    try:
        parser.read(path, encoding='utf-8')
        value = parser.get('entra', name, raw=True, fallback=None)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return resolved
    return resolved if value is None else unquote(value)
