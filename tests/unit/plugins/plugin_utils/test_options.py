# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.identity.entra.plugins.plugin_utils import _options as options
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
BASE = {'tenant': TENANT, 'client_id': CLIENT, 'username': 'user@contoso.com', 'password': 'canary-password'}


def build(**overrides):
    args = dict(BASE, **overrides)
    return options.from_mapping({k: v for k, v in args.items() if v is not ...}, environ={})


def kind_of(**overrides):
    with pytest.raises(EntraTokenError) as info:
        build(**overrides)
    return info.value


def test_defaults():
    request = build()
    assert request.scopes == ('https://graph.microsoft.com/.default',)
    assert request.authority == 'https://login.microsoftonline.com/' + TENANT
    assert request.environment == 'login.microsoftonline.com'
    assert request.timeout == 30 and request.min_validity == 300
    assert request.cache_path == os.path.expanduser('~/.ansible/entra/token_cache.json')


def test_password_never_in_repr():
    assert 'canary-password' not in repr(build())


@pytest.mark.parametrize('cloud, host, graph', [
    ('usgov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us'),
    ('usgov_dod', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'),
    ('china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'),
])
def test_cloud_chooses_hosts_and_default_scope(cloud, host, graph):
    request = build(cloud=cloud)
    assert request.authority_host == host
    assert request.scopes == (graph + '/.default',)


@pytest.mark.parametrize('tenant', ['common', 'COMMON', 'consumers'])
def test_common_and_consumers_refused(tenant):
    assert kind_of(tenant=tenant).kind == 'tenant_endpoint_required'


def test_tenant_forms():
    assert build(tenant='Contoso.COM').tenant == 'contoso.com'
    assert build(tenant='organizations').tenant == 'organizations'
    assert build(tenant=TENANT.upper()).tenant == TENANT


def test_reserved_scopes_dropped_and_graph_short_scopes_allowed():
    assert build(scopes=['openid', 'User.Read', 'offline_access', 'profile']).scopes == ('User.Read',)
    assert build(scopes='User.Read, Group.Read.All').scopes == ('User.Read', 'Group.Read.All')
    assert build(scopes=['openid']).scopes == ('https://graph.microsoft.com/.default',)


def test_environment_fallback_order():
    env = {'AZURE_TENANT_ID': TENANT, 'ENTRA_CLIENT_ID': CLIENT, 'AZURE_CLIENT_ID': 'not-used', 'ENTRA_USERNAME': 'u@contoso.com'}
    request = options.from_mapping({}, environ=env)
    assert (request.tenant, request.client_id, request.username, request.password) == (TENANT, CLIENT, 'u@contoso.com', None)


BAD_VALUES = [
    ({'tenant': ...}, "'tenant' is required"),
    ({'username': ''}, "'username' is required"),
    ({'username': 'no-at-sign'}, "'username'"),
    ({'client_id': 'my-app'}, "'client_id'"),
    ({'tenant': 'not a tenant'}, "'tenant'"),
    ({'tenant': 'x' * 3000}, "'tenant'"),
    ({'cloud': 'mars'}, "'cloud' must be one of"),
    ({'authority_host': 'http://login.example'}, "'authority_host'"),
    ({'authority_host': 'https://'}, "'authority_host'"),
    ({'authority_host': 'https://login.example/tenant'}, 'without a path'),
    ({'authority_host': 'https://login.example:99999'}, 'invalid port'),
    ({'scopes': ['https://graph.microsoft.com/User.Read', 'https://management.azure.com/.default']}, 'more than one resource'),
    ({'scopes': [1, 2]}, 'list of strings'),
    ({'scopes': {'a': 1}}, 'list of strings'),
    ({'timeout': 'soon'}, "'timeout'"),
    ({'timeout': 0}, "'timeout' must be between"),
    ({'timeout': True}, "'timeout'"),
    ({'min_validity': -1}, "'min_validity'"),
    ({'validate_certs': 'maybe'}, 'boolean'),
    ({'proxy': 'proxy.example:3128'}, "'proxy'"),
    ({'ca_path': '/nonexistent/ca.pem'}, "'ca_path'"),
    ({'tenant': ['a']}, "'tenant' must be a string"),
    ({'bogus': 1}, 'Unsupported option'),
]


@pytest.mark.parametrize('overrides, text', BAD_VALUES)
def test_bad_values_are_invalid_argument(overrides, text):
    error = kind_of(**overrides)
    assert error.kind == 'invalid_argument'
    assert text in error.message
    assert 'canary-password' not in error.message


def test_unicode_username_accepted():
    assert build(username='jürgen.ñandú@contoso.com').username == 'jürgen.ñandú@contoso.com'


def test_identity_key_ignores_case_and_scope_order():
    a = build(username='User@Contoso.com', scopes=['User.Read', 'Mail.Read'])
    b = build(username='user@contoso.com', scopes=['Mail.Read', 'User.Read'])
    assert a.identity_key == b.identity_key
    assert build(username='other@contoso.com').identity_key != b.identity_key


def test_doc_fragment_matches_option_spec():
    """The options are documented once; the code's table must say the same."""
    fragment = importlib.import_module('ansible_collections.identity.entra.plugins.doc_fragments.entra_token').ModuleDocFragment
    documented = yaml.safe_load(fragment.DOCUMENTATION)['options']
    plugin_sources = yaml.safe_load(fragment.PLUGINS)['options']
    assert set(documented) == set(options.OPTION_SPEC)
    for name, (kind, default, env_names) in options.OPTION_SPEC.items():
        doc = documented[name]
        assert doc['type'] == kind, name
        if name != 'scopes':
            assert doc.get('default') == default, name
        assert doc.get('required', False) == (name in options.REQUIRED), name
        documented_env = tuple(item['name'] for item in plugin_sources.get(name, {}).get('env', []))
        assert documented_env == env_names, name
        for env in env_names:
            assert 'E(%s)' % env in ' '.join(doc['description']), name


@pytest.mark.parametrize('values', [{'validate_certs': 'maybe'}, {'timeout': 'soon'}, {'scopes': {'a': 1}}, {'tenant': ['x']}])
def test_raw_types_checked_before_ansible_coerces_them(values):
    with pytest.raises(EntraTokenError) as info:
        options.check_raw_types(values)
    assert info.value.kind == 'invalid_argument'


def test_raw_types_accept_good_values_and_ignore_unknown_names():
    options.check_raw_types({'validate_certs': 'yes', 'timeout': '5', 'output': 'result', 'password': None})
