# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of entra_token, validated once for the action plugin and the lookup.

For internal collection use only. The module front reads raw task arguments
(``from_mapping``), the lookup reads Ansible's plugin configuration
(``from_plugin``); both end in the same validated ``TokenRequest``. Everything a
user can get wrong is refused here, before anything is sent or written.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

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
NO_LOG = frozenset(('password', 'client_secret', 'client_certificate_password'))
# The options that sign a service principal in; exactly one of them, or a username, says who signs in.
CLIENT_CREDENTIALS = ('client_secret', 'client_certificate_path', 'client_assertion_file')
USER_OPTIONS = ('username', 'password')
_LIMITS = {'timeout': (1, 3600), 'min_validity': (0, 86400), 'device_code_timeout': (10, 3600)}
_TENANT_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$')
_HOST_URL_RE = re.compile(r'^https://[^\s/?#@]+/?$', re.IGNORECASE)
_UNEXPANDED_RE = re.compile(r'\$(\w+|\{[^}]*\})')
_PLAIN_VALUE_RE = re.compile(r'^[A-Za-z0-9@._:/,+%~-]+$')
_TRUE = frozenset(('1', 'true', 'yes', 'on', 'y', 't'))
_FALSE = frozenset(('0', 'false', 'no', 'off', 'n', 'f'))

# Where a value came from: an explicit option (a task argument, a lookup keyword) wins over a variable
# (entra_* variables and ansible.cfg, lookup only), which wins over an environment variable.
EXPLICIT, VARIABLE, ENVIRONMENT, DEFAULT = 'explicit', 'variable', 'environment', 'default'


@dataclass(frozen=True)
class TokenRequest:
    """A validated request for a token; everything the core needs, nothing else.

    ``credential`` says who signs in and how: ``password`` or ``device_code`` for a user,
    ``client_secret``, ``client_certificate`` or ``client_assertion`` for a service principal.
    """

    tenant: str
    client_id: str
    username: str | None
    password: str | None
    credential: str
    client_secret: str | None
    client_certificate_path: str | None
    client_certificate_password: str | None
    client_certificate_send_chain: bool
    client_assertion_file: str | None
    device_code_timeout: int
    scopes: tuple
    cloud: str
    authority_host: str
    graph_resource: str
    validate_authority: bool
    ca_path: str | None
    validate_certs: bool
    proxy: str | None
    timeout: int
    cache_path: str | None
    guard_path: str | None
    force_refresh: bool
    min_validity: int

    @property
    def authority(self) -> str:
        return '%s/%s' % (self.authority_host, self.tenant)

    @property
    def environment(self) -> str:
        """msal's cache 'environment': the authority host name without port."""
        return (urlsplit(self.authority_host).hostname or '').lower()

    @property
    def is_app(self) -> bool:
        """A service principal (app-only token) rather than a user."""
        return self.username is None

    @property
    def account_key(self) -> str:
        """Whose tokens: one cache file each (a user in a cloud, or an app in a tenant)."""
        if self.is_app:
            return 'app|%s|%s|%s' % (self.environment, self.client_id, self.tenant)
        return 'user|%s|%s' % (self.environment, self.username.lower())

    @property
    def sign_in_key(self) -> str:
        """Who signs in where with which app: the unit whose failed sign-ins are remembered."""
        return '%s|%s|%s' % (self.account_key, self.tenant, self.client_id)

    @property
    def identity_key(self) -> str:
        """Who asks for what: requests with the same key can share one network sign-in."""
        return '%s|%s' % (self.sign_in_key, ' '.join(sorted(s.lower() for s in self.scopes)))

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
            parts += ['-e', '%s=%s' % (name, value) if _PLAIN_VALUE_RE.match(value) else json.dumps({name: value}, ensure_ascii=False)]
        return ' '.join(shlex.quote(part) for part in parts)

    def __repr__(self):  # never show a secret, even in a debugger or traceback
        return 'TokenRequest(tenant=%r, client_id=%r, username=%r, credential=%r, scopes=%r, authority=%r)' % (
            self.tenant, self.client_id, self.username, self.credential, self.scopes, self.authority)


def _invalid(name: str, why: str) -> EntraTokenError:
    return EntraTokenError('invalid_argument', detail="Option '%s' %s" % (name, why))


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
    unexpanded = _UNEXPANDED_RE.search(expanded)
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


def _check_url(name: str, value: str) -> str:
    if not _HOST_URL_RE.match(value):
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
        raise EntraTokenError(
            'tenant_endpoint_required',
            detail="tenant '%s' cannot be used for this sign-in: Entra refuses it on /%s; give the tenant ID or domain"
                   % (lowered, lowered))
    try:
        return str(uuid.UUID(lowered))
    except ValueError:
        pass
    if not _TENANT_RE.match(lowered) or ('.' not in lowered and lowered != 'organizations'):
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


def build_request(raw: dict, origins: dict | None = None) -> TokenRequest:
    """Validate raw option values (merged with the environment, not yet with defaults) into a TokenRequest.

    ``origins`` says for each name whether its value is EXPLICIT or came from the ENVIRONMENT
    (missing: explicit); it decides between a user and a service principal.
    """
    origins = origins or {}
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


def unknown_options(names, known) -> EntraTokenError | None:
    """The error for option names nobody knows (with the likely meant one), or None."""
    unknown = sorted(str(name) for name in set(names) - set(known))
    if not unknown:
        return None
    import difflib  # pylint: disable=import-outside-toplevel  # only for a typo

    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1)
        hints.append('%s (did you mean %s?)' % (name, close[0]) if close else name)
    return EntraTokenError('invalid_argument', detail='Unsupported option(s): %s' % ', '.join(hints))


def from_mapping(args: dict, environ=None) -> TokenRequest:
    """Task arguments: unknown keys are refused; unset options fall back to the environment."""
    environ = os.environ if environ is None else environ
    problem = unknown_options(args, OPTION_SPEC)
    if problem:
        raise problem
    raw, origins = {}, {}
    for name, (_kind, _default, env_names) in OPTION_SPEC.items():
        value = args.get(name)
        origins[name] = EXPLICIT
        if value is None:
            value = next((environ[env] for env in env_names if environ.get(env)), None)
            origins[name] = ENVIRONMENT if value is not None else DEFAULT
        raw[name] = value
    return build_request(raw, origins)


def check_raw_types(values: dict) -> None:
    """Refuse values Ansible's own plugin configuration would quietly coerce (it reads 'maybe' as false)."""
    for name, value in values.items():
        if name in OPTION_SPEC and value is not None:
            _coerce(name, OPTION_SPEC[name][0], value)


def from_plugin(plugin, raw_values: dict | None = None, keywords=None) -> TokenRequest:
    """Options of a configured plugin (env/ini/vars were already applied by Ansible).

    ``raw_values`` are the values as the user wrote them (keyword arguments and entra_*
    variables): Ansible resolves 'path' options against the current directory, which would
    hide a relative or unexpanded path, so those are validated as written. ``keywords`` names
    those given as keyword arguments: they win over entra_* variables when choosing who signs in
    (without it, every value of ``raw_values`` counts as given explicitly).
    """
    raw_values = raw_values or {}
    raw, origins = {}, {}
    for name in OPTION_SPEC:
        if name in raw_values and raw_values[name] is not None:
            raw[name] = raw_values[name]
            origins[name] = EXPLICIT if keywords is None or name in keywords else VARIABLE
            continue
        try:
            value, origin = plugin.get_option_and_origin(name)
        except KeyError:
            # ansible-core before 2.19 looks only at the configuration here, not at the options given to the
            # plugin, and raises for a required option that the configuration lacks: it is simply not set there.
            value, origin = None, 'default'
        origin = str(origin or '')
        if origin.startswith('env:'):
            origins[name] = ENVIRONMENT
            # Ansible lets the last variable of an option's list win (AZURE_* over ENTRA_*); the documented order is
            # OPTION_SPEC's, as for the module. The value is taken as written: a path is checked unexpanded.
            value = next((os.environ[env] for env in OPTION_SPEC[name][2] if os.environ.get(env)), value)
        elif origin == 'default':
            origins[name] = DEFAULT
            value = None
        elif origin == 'Direct' or origin.startswith(('keyword:', 'cli:')):
            origins[name] = EXPLICIT
        else:  # 'var: entra_...' or the path of an ansible.cfg
            origins[name] = VARIABLE
            if OPTION_SPEC[name][0] == 'path' and os.path.isfile(origin):
                # Ansible has resolved a relative path against the directory of ansible.cfg: check it as written.
                value = _ini_value(origin, name, value)
        raw[name] = value
    return build_request(raw, origins)


def _ini_value(path: str, name: str, resolved):
    """An option of the [entra] section of an ansible.cfg, as written there (``resolved`` if unreadable)."""
    import configparser  # pylint: disable=import-outside-toplevel  # only for a path option set in ansible.cfg

    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding='utf-8')
        return parser.get('entra', name, fallback=resolved)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return resolved
