# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of entra_token, validated once for the action plugin and the lookup.

For internal collection use only. The module front reads raw task arguments
(``from_mapping``), the lookup reads Ansible's plugin configuration
(``from_plugin``); both end in the same validated ``TokenRequest``.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

# cloud -> (authority host, Graph resource). Tokens do not cross clouds.
CLOUDS = {
    'public': ('https://login.microsoftonline.com', 'https://graph.microsoft.com'),
    'usgov': ('https://login.microsoftonline.us', 'https://graph.microsoft.us'),
    'usgov_dod': ('https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'),
    'china': ('https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'),
}
RESERVED_SCOPES = frozenset(('openid', 'profile', 'offline_access'))
REFUSED_TENANTS = frozenset(('common', 'consumers'))
DEFAULT_CACHE_PATH = '~/.ansible/entra/token_cache.json'
MAX_VALUE_LENGTH = 2048

# name -> (type, default, environment variables). The doc fragment documents the same
# table; a unit test keeps the two in step.
OPTION_SPEC = {
    'tenant': ('str', None, ('ENTRA_TENANT_ID', 'AZURE_TENANT_ID')),
    'client_id': ('str', None, ('ENTRA_CLIENT_ID', 'AZURE_CLIENT_ID')),
    'username': ('str', None, ('ENTRA_USERNAME', 'AZURE_USERNAME')),
    'password': ('str', None, ('ENTRA_PASSWORD', 'AZURE_PASSWORD')),
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
REQUIRED = ('tenant', 'client_id', 'username')
NO_LOG = frozenset(('password',))
_TENANT_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$')
_TRUE = frozenset(('1', 'true', 'yes', 'on', 'y', 't'))
_FALSE = frozenset(('0', 'false', 'no', 'off', 'n', 'f'))


@dataclass(frozen=True)
class TokenRequest:
    """A validated request for a token; everything the core needs, nothing else."""

    tenant: str
    client_id: str
    username: str
    password: str | None
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
    def identity_key(self) -> str:
        """Who asks for what: requests with the same key can share one network sign-in."""
        return '|'.join((self.environment, self.tenant.lower(), self.client_id.lower(),
                         self.username.lower(), ' '.join(sorted(s.lower() for s in self.scopes))))

    def __repr__(self):  # never show the password, even in a debugger or traceback
        return 'TokenRequest(tenant=%r, client_id=%r, username=%r, scopes=%r, authority=%r)' % (
            self.tenant, self.client_id, self.username, self.scopes, self.authority)


def _invalid(name: str, why: str) -> EntraTokenError:
    return EntraTokenError('invalid_argument', detail="Option '%s' %s" % (name, why))


def _coerce(name: str, kind: str, value):
    """Convert one raw value to its declared type, or say clearly why not."""
    if value is None:
        return None
    if kind == 'bool':
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _invalid(name, 'must be a boolean, got %r' % (str(value)[:40],))
    if kind == 'int':
        if isinstance(value, bool):
            raise _invalid(name, 'must be a whole number of seconds, got a boolean')
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise _invalid(name, 'must be a whole number of seconds, got %r' % (str(value)[:40],)) from None
        return number
    if kind == 'list':
        if isinstance(value, str):
            value = [part for part in re.split(r'[,\s]+', value) if part]
        if not isinstance(value, (list, tuple)):
            raise _invalid(name, 'must be a list of strings')
        if not all(isinstance(item, str) for item in value):
            raise _invalid(name, 'must be a list of strings')
        return [item.strip() for item in value]
    if not isinstance(value, str):
        if isinstance(value, (dict, list, tuple, bool)):
            raise _invalid(name, 'must be a string, got %s' % type(value).__name__)
        value = str(value)
    if len(value) > MAX_VALUE_LENGTH and name != 'password':
        raise _invalid(name, 'is longer than %d characters' % MAX_VALUE_LENGTH)
    if kind == 'path':
        value = os.path.expanduser(os.path.expandvars(value))
    return value


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != 'https' or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise _invalid(name, 'must be an https:// URL with a host and nothing after the path, got %r' % (value[:80],))
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _invalid(name, 'has an invalid port: %r' % (value[:80],)) from None
    return value.rstrip('/')


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


def _check_tenant(tenant: str) -> str:
    lowered = tenant.strip().lower()
    if lowered in REFUSED_TENANTS:
        raise EntraTokenError(
            'tenant_endpoint_required',
            detail="tenant '%s' cannot be used with username and password: Entra refuses this flow on /%s" % (lowered, lowered))
    try:
        return str(uuid.UUID(lowered))
    except ValueError:
        pass
    if not _TENANT_RE.match(lowered) or ('.' not in lowered and lowered != 'organizations'):
        raise _invalid('tenant', "must be a tenant ID (GUID), a verified domain or 'organizations', got %r" % tenant[:80])
    return lowered


def build_request(raw: dict) -> TokenRequest:
    """Validate raw option values (already merged with their defaults/env) into a TokenRequest."""
    values = {}
    for name, (kind, default, _env) in OPTION_SPEC.items():
        value = raw.get(name)
        values[name] = _coerce(name, kind, default if value is None else value)
    for name in REQUIRED:
        if not values[name] or not str(values[name]).strip():
            raise _invalid(name, 'is required (set it as an option or through %s)' % ' / '.join(OPTION_SPEC[name][2]))
    if values['password'] == '':
        values['password'] = None
    cloud = str(values['cloud']).strip().lower()
    if cloud not in CLOUDS:
        raise _invalid('cloud', 'must be one of %s, got %r' % (', '.join(CLOUDS), values['cloud'][:40]))
    default_host, graph_resource = CLOUDS[cloud]
    authority_host = _check_url('authority_host', values['authority_host'] or default_host)
    if urlsplit(authority_host).path not in ('', '/'):
        raise _invalid('authority_host', 'must be a host URL without a path (the tenant goes in tenant), got %r' % authority_host[:80])
    username = values['username'].strip()
    if '@' not in username or any(ch.isspace() for ch in username):
        raise _invalid('username', 'must be a user principal name such as user@contoso.com')
    client_id = values['client_id'].strip()
    try:
        client_id = str(uuid.UUID(client_id))
    except ValueError:
        raise _invalid('client_id', 'must be the application (client) ID, a GUID, got %r' % client_id[:80]) from None
    for name in ('timeout', 'min_validity'):
        if values[name] < (1 if name == 'timeout' else 0) or values[name] > 86400:
            raise _invalid(name, 'must be between %d and 86400 seconds' % (1 if name == 'timeout' else 0))
    if values['proxy']:
        proxy = urlsplit(values['proxy'])
        if proxy.scheme not in ('http', 'https', 'socks5', 'socks5h') or not proxy.hostname:
            raise _invalid('proxy', 'must be a proxy URL such as http://proxy.example:3128')
    if values['ca_path'] and not os.path.isfile(values['ca_path']):
        raise _invalid('ca_path', 'must name a readable CA bundle file: %s' % values['ca_path'])
    cache_path = values['cache_path'] if values['cache'] else None
    if cache_path is not None and not os.path.isabs(cache_path):
        cache_path = os.path.abspath(cache_path)
    return TokenRequest(
        tenant=_check_tenant(values['tenant']),
        client_id=client_id,
        username=username,
        password=values['password'],
        scopes=_check_scopes(values['scopes'] or [], graph_resource),
        cloud=cloud,
        authority_host=authority_host,
        graph_resource=graph_resource,
        validate_authority=values['validate_authority'],
        ca_path=values['ca_path'],
        validate_certs=values['validate_certs'],
        proxy=values['proxy'] or None,
        timeout=values['timeout'],
        cache_path=cache_path,
        force_refresh=values['force_refresh'],
        min_validity=values['min_validity'],
    )


def from_mapping(args: dict, environ=None) -> TokenRequest:
    """Task arguments: unknown keys are refused; unset options fall back to the environment."""
    environ = os.environ if environ is None else environ
    unknown = sorted(set(args) - set(OPTION_SPEC))
    if unknown:
        raise EntraTokenError('invalid_argument', detail='Unsupported option(s): %s' % ', '.join(unknown))
    raw = {}
    for name, (_kind, _default, env_names) in OPTION_SPEC.items():
        value = args.get(name)
        if value is None:
            value = next((environ[env] for env in env_names if environ.get(env)), None)
        raw[name] = value
    return build_request(raw)


def check_raw_types(values: dict) -> None:
    """Refuse values Ansible's own plugin configuration would quietly coerce (it reads 'maybe' as false)."""
    for name, value in values.items():
        if name in OPTION_SPEC and value is not None:
            _coerce(name, OPTION_SPEC[name][0], value)


def from_plugin(plugin) -> TokenRequest:
    """Options of a configured plugin (env/ini/vars were already applied by Ansible)."""
    return build_request({name: plugin.get_option(name) for name in OPTION_SPEC})
