# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of entra_token: every option, who signs in, paths, URLs, proxies, typos, and the types Ansible hands over."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import shlex

import pytest
import yaml

from ansible_collections.identity.entra.plugins.plugin_utils import _options as options
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
BASE = {'tenant': TENANT, 'client_id': CLIENT, 'username': 'user@contoso.com', 'password': 'canary-password'}
APP = {'tenant': TENANT, 'client_id': CLIENT, 'client_secret': 'canary-secret'}
SECRETS = ('canary-password', 'canary-secret', 'canary-cert-password')
# What Ansible's own types are called; a message must never show them (issue 9: '_AnsibleTaggedList').
INTERNAL_NAMES = ('_Ansible', 'Tagged', 'Lazy', 'Unsafe', '<class', ' object at 0x', 'NativeJinja')


def build(environ=None, **overrides):
    args = dict(BASE, **overrides)
    return options.from_mapping({k: v for k, v in args.items() if v is not ...}, environ=environ or {})


def refused(args, environ=None) -> EntraTokenError:
    with pytest.raises(EntraTokenError) as info:
        options.from_mapping(args, environ=environ or {})
    error = info.value
    for secret in SECRETS:
        assert secret not in error.message
    for name in INTERNAL_NAMES:
        assert name not in error.message, error.message
    assert '\n' not in error.message
    return error


def kind_of(**overrides):
    return refused({k: v for k, v in dict(BASE, **overrides).items() if v is not ...})


@pytest.fixture
def credential_files(tmp_path):
    cert, assertion = tmp_path / 'app.pem', tmp_path / 'token.jwt'
    cert.write_text('-----BEGIN PRIVATE KEY-----\n')
    assertion.write_text('a.b.c')
    return str(cert), str(assertion)


def test_defaults():
    request = build()
    assert request.scopes == ('https://graph.microsoft.com/.default',)
    assert request.authority == 'https://login.microsoftonline.com/' + TENANT
    assert request.environment == 'login.microsoftonline.com'
    assert request.timeout == 30 and request.min_validity == 300
    assert request.cache_path == os.path.expanduser('~/.ansible/entra/token_cache')
    assert request.credential == 'password' and request.device_code_timeout == 600
    assert (request.client_secret, request.client_certificate_path, request.client_assertion_file) == (None, None, None)
    assert request.client_certificate_send_chain is False and request.is_app is False


def test_no_secret_in_repr():
    assert 'canary-password' not in repr(build())
    assert 'canary-secret' not in repr(options.from_mapping(APP, environ={}))


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
    ({'client_id': ...}, "'client_id' is required"),
    ({'username': ''}, "'username' is required"),
    ({'username': ...}, 'or give client_secret, client_certificate_path or client_assertion_file'),
    ({'username': 'no-at-sign'}, "'username'"),
    ({'username': '@contoso.com'}, "'username'"),
    ({'username': 'a b@contoso.com'}, "'username'"),
    ({'client_id': 'my-app'}, "'client_id'"),
    ({'tenant': 'not a tenant'}, "'tenant'"),
    ({'tenant': 'contoso'}, "'tenant'"),
    ({'tenant': 'x' * 3000}, "'tenant' is longer than 2048"),
    ({'cloud': 'mars'}, "'cloud' must be one of"),
    ({'flow': 'interactive'}, "'flow' must be one of password, device_code"),
    ({'authority_host': 'http://login.example'}, "'authority_host'"),
    ({'authority_host': 'https://'}, "'authority_host'"),
    ({'authority_host': 'https://login.example/tenant'}, 'with nothing after it'),
    ({'authority_host': 'https://login.example:99999'}, 'invalid port'),
    ({'scopes': ['https://graph.microsoft.com/User.Read', 'https://management.azure.com/.default']}, 'more than one resource'),
    ({'scopes': [1, 2]}, 'list of strings'),
    ({'scopes': {'a': 1}}, 'list of strings'),
    ({'scopes': ['User Read']}, 'must not contain spaces inside a scope'),
    ({'timeout': 'soon'}, "'timeout'"),
    ({'timeout': 0}, "'timeout' must be between 1 and 3600"),
    ({'timeout': True}, "'timeout'"),
    ({'timeout': 1.5}, "'timeout' must be a whole number"),
    ({'min_validity': -1}, "'min_validity'"),
    ({'min_validity': 86401}, "'min_validity' must be between 0 and 86400"),
    ({'device_code_timeout': 9}, "'device_code_timeout' must be between 10 and 3600"),
    ({'device_code_timeout': 3601}, "'device_code_timeout' must be between 10 and 3600"),
    ({'validate_certs': 'maybe'}, 'boolean'),
    ({'client_certificate_send_chain': 'sometimes'}, "'client_certificate_send_chain' must be a boolean"),
    ({'proxy': 'proxy.example:3128'}, "'proxy'"),
    ({'proxy': 'http://proxy.example:3128/path'}, "'proxy' must be an HTTP proxy URL"),
    ({'proxy': 'http://proxy.example:notaport'}, "'proxy' must be an HTTP proxy URL"),
    ({'ca_path': '/nonexistent/ca.pem'}, "'ca_path'"),
    ({'tenant': ['a']}, "'tenant' must be a string"),
    ({'client_certificate_password': 'canary-cert-password'}, "'client_certificate_password' is only used with client_certificate_path"),
    ({'client_certificate_password': 'canary-cert-password', 'flow': 'device_code'}, "'client_certificate_password' is only used"),
    ({'bogus': 1}, 'Unsupported option'),
]


@pytest.mark.parametrize('overrides, text', BAD_VALUES)
def test_bad_values_are_invalid_argument(overrides, text):
    error = kind_of(**overrides)
    assert error.kind == 'invalid_argument'
    assert text in error.message


def test_unicode_username_accepted():
    assert build(username='jürgen.ñandú@contoso.com').username == 'jürgen.ñandú@contoso.com'


def test_long_secrets_are_not_cut_or_refused():
    assert build(password='p' * 5000).password == 'p' * 5000


def test_identity_key_ignores_case_and_scope_order():
    a = build(username='User@Contoso.com', scopes=['User.Read', 'Mail.Read'])
    b = build(username='user@contoso.com', scopes=['Mail.Read', 'User.Read'])
    assert a.identity_key == b.identity_key
    assert build(username='other@contoso.com').identity_key != b.identity_key


# -- the new options ----------------------------------------------------------------------------


def test_flow_device_code_signs_a_user_in_without_a_password():
    request = build(flow='Device_Code', password=...)
    assert request.credential == 'device_code' and request.password is None and not request.is_app


def test_device_code_flow_drops_a_given_password():
    assert build(flow='device_code').password is None


def test_client_secret_signs_a_service_principal_in():
    request = options.from_mapping(APP, environ={})
    assert request.is_app and request.credential == 'client_secret' and request.client_secret == 'canary-secret'
    assert request.username is None and request.password is None and request.sign_in_command is None
    assert request.account_key == 'app|login.microsoftonline.com|%s|%s' % (CLIENT, TENANT)


def test_client_certificate_and_its_options(credential_files):
    cert, _assertion = credential_files
    request = options.from_mapping(dict(APP, client_secret=None, client_certificate_path=cert,
                                        client_certificate_password='canary-cert-password', client_certificate_send_chain='yes'),
                                   environ={})
    assert request.credential == 'client_certificate' and request.client_certificate_path == cert
    assert request.client_certificate_password == 'canary-cert-password' and request.client_certificate_send_chain is True
    assert request.client_secret is None and 'canary-cert-password' not in repr(request)


def test_client_assertion_file(credential_files):
    _cert, assertion = credential_files
    request = options.from_mapping(dict(APP, client_secret=None, client_assertion_file=assertion), environ={})
    assert request.credential == 'client_assertion' and request.client_assertion_file == assertion and request.is_app


@pytest.mark.parametrize('name', ['client_certificate_path', 'client_assertion_file'])
def test_credential_files_must_exist(tmp_path, name):
    error = refused(dict(APP, client_secret=None, **{name: str(tmp_path / 'missing')}))
    assert error.kind == 'invalid_argument' and "'%s' must name a readable file" % name in error.message


@pytest.mark.parametrize('scopes', [['User.Read'], ['https://graph.microsoft.com/User.Read.All'], ['.default']])
def test_a_service_principal_asks_for_resource_default_only(scopes):
    assert "'scopes' must be one <resource>/.default scope" in refused(dict(APP, scopes=scopes)).message


def test_certificate_password_without_a_certificate_is_refused_for_apps_too():
    assert "'client_certificate_password' is only used with client_certificate_path" in refused(
        dict(APP, client_certificate_password='canary-cert-password')).message


def test_certificate_password_in_the_environment_is_ignored_for_a_user():
    request = build({'AZURE_CLIENT_CERTIFICATE_PASSWORD': 'canary-cert-password'})
    assert request.client_certificate_password is None and request.credential == 'password'


def test_a_service_principal_cannot_use_organizations_or_device_code():
    assert refused(dict(APP, tenant='organizations')).kind == 'tenant_endpoint_required'
    assert "'flow' device_code signs a user in; it cannot be used with client_secret" in refused(dict(APP, flow='device_code')).message


# -- who signs in: explicit options win over the environment ------------------------------------

ENV_SECRET = {'AZURE_CLIENT_SECRET': 'canary-secret'}
ENV_USER = {'ENTRA_USERNAME': 'env-user@contoso.com'}


@pytest.mark.parametrize('args, environ, credential, username', [
    ({'username': 'u@contoso.com'}, ENV_SECRET, 'password', 'u@contoso.com'),  # a CI runner's secret does not take over
    ({'username': 'u@contoso.com', 'flow': 'device_code'}, ENV_SECRET, 'device_code', 'u@contoso.com'),
    ({'client_secret': 'canary-secret'}, ENV_USER, 'client_secret', None),
    ({'client_secret': 'canary-secret'}, dict(ENV_USER, ENTRA_PASSWORD='canary-password'), 'client_secret', None),
    ({}, ENV_SECRET, 'client_secret', None),
    ({}, ENV_USER, 'password', 'env-user@contoso.com'),
    ({'password': 'canary-password'}, dict(ENV_USER, **ENV_SECRET), 'password', 'env-user@contoso.com'),  # the password says: a user
    ({'password': 'canary-password'}, ENV_SECRET, None, None),  # ... who must then be named
])
def test_explicit_options_win_over_the_environment(args, environ, credential, username):
    args = dict({'tenant': TENANT, 'client_id': CLIENT}, **args)
    if credential is None:
        assert "'username' is required" in refused(args, environ).message
        return
    request = options.from_mapping(args, environ=environ)
    assert (request.credential, request.username) == (credential, username)
    if username:
        assert request.client_secret is None  # the environment's secret is dropped, not carried along
    else:
        assert request.password is None


@pytest.mark.parametrize('args, environ, text', [
    ({'username': 'u@contoso.com', 'client_secret': 'canary-secret'}, {},
     "'client_secret' and username are both set as options: a service principal signs in with a client credential, a user "
     'with a username; give one of them'),
    ({'password': 'canary-password', 'client_secret': 'canary-secret'}, {}, "'client_secret' and password are both set as options"),
    ({'client_secret': 'canary-secret', 'client_assertion_file': '/etc/hostname'}, {},
     "'client_secret' and client_assertion_file are both set as options: give one client credential"),
    ({}, dict(ENV_USER, **ENV_SECRET), "'client_secret' and username are both set in the environment"),
    ({}, {'ENTRA_CLIENT_SECRET': 'canary-secret', 'AZURE_CLIENT_CERTIFICATE_PATH': '/etc/hostname'},
     "'client_secret' and client_certificate_path are both set in the environment: give one client credential"),
])
def test_two_credentials_at_one_level_are_refused(args, environ, text):
    error = refused(dict({'tenant': TENANT, 'client_id': CLIENT}, **args), environ)
    assert error.kind == 'invalid_argument' and text in error.message


def test_entra_variables_win_over_azure_variables():
    env = {'ENTRA_TENANT_ID': TENANT, 'AZURE_TENANT_ID': 'contoso.com', 'ENTRA_CLIENT_ID': CLIENT,
           'ENTRA_CLIENT_SECRET': 'entra-secret', 'AZURE_CLIENT_SECRET': 'azure-secret'}
    request = options.from_mapping({}, environ=env)
    assert (request.tenant, request.client_secret) == (TENANT, 'entra-secret')


def test_empty_environment_values_are_not_given():
    request = options.from_mapping({}, environ={'ENTRA_TENANT_ID': TENANT, 'ENTRA_CLIENT_ID': CLIENT, 'ENTRA_CLIENT_SECRET': '',
                                                'AZURE_USERNAME': 'u@contoso.com'})
    assert request.credential == 'password'


# -- paths ---------------------------------------------------------------------------------------

BAD_PATHS = [
    ('$ENTRA_TEST_UNSET/token_cache', 'names the variable $ENTRA_TEST_UNSET, which is not set'),
    ('${ENTRA_TEST_UNSET}/c', 'names the variable ${ENTRA_TEST_UNSET}, which is not set'),
    ('/base/${ENTRA_TEST_UNSET:-x}/c', 'which is not set'),
    ('~entra-test-nosuchuser/c', 'names a home directory that cannot be expanded (no such user?)'),
    ('   ', 'is empty or blank; give a path'),
    ('/abs/token_cache ', 'must not start or end with spaces'),
    ('/abs/line\nbreak', 'control characters'),
]


@pytest.mark.parametrize('path, text', BAD_PATHS)
@pytest.mark.parametrize('name', ['cache_path', 'ca_path', 'client_certificate_path', 'client_assertion_file'])
def test_bad_paths_are_refused_and_nothing_is_created(tmp_path, monkeypatch, name, path, text):
    monkeypatch.delenv('ENTRA_TEST_UNSET', raising=False)
    monkeypatch.chdir(tmp_path)
    args = dict(APP if name.startswith('client_') else BASE, **{name: path})
    if name.startswith('client_'):
        args.pop('client_secret')
    error = refused(args)
    assert error.kind == 'invalid_argument'
    assert error.message.startswith("Option '%s' " % name) and text in error.message
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('path, text', [
    ('relative/token_cache', 'must be an absolute path (after ~ and $VARIABLE expansion)'),
    ('./token_cache', 'must be an absolute path'),
    ('~', 'give the token cache a directory of its own'),
    ('/', 'give the token cache a directory of its own'),
])
def test_the_cache_must_be_an_absolute_directory_of_its_own(tmp_path, monkeypatch, path, text):
    monkeypatch.chdir(tmp_path)
    error = refused(dict(BASE, cache_path=path))
    assert error.kind == 'invalid_argument' and text in error.message
    assert os.listdir(tmp_path) == []


def test_files_that_are_only_read_may_be_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'ca.pem').write_text('x')
    assert build(ca_path='ca.pem').ca_path == str(tmp_path / 'ca.pem')
    error = refused(dict(BASE, ca_path='missing.pem'))
    assert 'must name a readable CA bundle file: %s' % (tmp_path / 'missing.pem') in error.message


@pytest.mark.parametrize('variable', ['ENTRA_TOKEN_CACHE', 'ENTRA_CA_PATH', 'AZURE_FEDERATED_TOKEN_FILE'])
def test_bad_paths_from_the_environment_are_refused_too(tmp_path, monkeypatch, variable):
    monkeypatch.delenv('ENTRA_TEST_UNSET', raising=False)
    monkeypatch.chdir(tmp_path)
    base = {'tenant': TENANT, 'client_id': CLIENT} if variable.startswith('AZURE') else BASE
    error = refused(base, {variable: '$ENTRA_TEST_UNSET/x'})
    assert 'names the variable $ENTRA_TEST_UNSET, which is not set' in error.message
    assert os.listdir(tmp_path) == []


def test_paths_are_expanded_and_normalised(tmp_path, monkeypatch):
    monkeypatch.setenv('ENTRA_TEST_BASE', str(tmp_path))
    assert build(cache_path='$ENTRA_TEST_BASE/a/../cache').cache_path == str(tmp_path / 'cache')
    assert build(cache_path='${ENTRA_TEST_BASE}/c').cache_path == str(tmp_path / 'c')
    assert build(cache_path='~/c').cache_path == os.path.join(os.path.expanduser('~'), 'c')


def test_cache_false_means_memory_only():
    assert build(cache=False).cache_path is None
    assert build(cache='no', cache_path='/somewhere').cache_path is None
    assert "'cache_path'" in kind_of(cache=False, cache_path='relative').message  # bad input is refused all the same


# -- authority_host and proxy ---------------------------------------------------------------------


@pytest.mark.parametrize('host', ['https://login.example#', 'https://login.example?', 'https://login.example ', ' https://login.example',
                                  'https://login.example/#', 'https://login.example/?x=1', 'https://user@login.example',
                                  'https://login.example\t', 'https://login example'])
def test_authority_host_with_anything_after_the_host_is_invalid_argument(host):
    error = kind_of(authority_host=host)
    assert error.kind == 'invalid_argument' and "Option 'authority_host' must be an https:// URL of a host" in error.message


@pytest.mark.parametrize('host, expected', [('https://login.example/', 'https://login.example'),
                                            ('https://login.example:8443', 'https://login.example:8443'),
                                            ('HTTPS://Login.Example', 'HTTPS://Login.Example')])
def test_authority_host_forms_accepted(host, expected):
    request = build(authority_host=host)
    assert request.authority_host == expected and request.environment == 'login.example'


@pytest.mark.parametrize('scheme', ['socks4', 'socks4a', 'socks5', 'socks5h', 'https'])
def test_proxies_other_than_http_are_refused_with_the_fix(scheme):
    error = kind_of(proxy='%s://proxy.example:1080' % scheme)
    assert error.kind == 'invalid_argument'
    assert "Option 'proxy' uses %s://, which is not supported; give an HTTP proxy (it tunnels TLS with CONNECT), such as " \
           'http://proxy.example:3128' % scheme in error.message


@pytest.mark.parametrize('proxy', ['http://proxy.example:3128', 'http://proxy.example', ' http://user:pw@proxy.example:3128/ '])
def test_http_proxies_accepted(proxy):
    assert build(proxy=proxy).proxy == proxy.strip()


# -- typos ------------------------------------------------------------------------------------------


@pytest.mark.parametrize('typo, meant', [('cachepath', 'cache_path'), ('client_secrett', 'client_secret'), ('usrname', 'username'),
                                         ('min_valid', 'min_validity'), ('devicecode_timeout', 'device_code_timeout')])
def test_typos_get_did_you_mean(typo, meant):
    error = kind_of(**{typo: 'x'})
    assert error.kind == 'invalid_argument'
    assert 'Unsupported option(s): %s (did you mean %s?)' % (typo, meant) in error.message


def test_unrelated_unknown_option_gets_no_guess_and_all_are_listed():
    error = kind_of(zzz=1, cachepath='x')
    assert 'Unsupported option(s): cachepath (did you mean cache_path?), zzz.' in error.message


def test_unknown_options_checked_against_the_given_names():
    assert options.unknown_options(['output', 'tenant'], list(options.OPTION_SPEC) + ['output']) is None
    assert 'outptu (did you mean output?)' in options.unknown_options(['outptu'], ['output', 'tenant']).message


# -- the types Ansible hands over --------------------------------------------------------------------


def _ansible_types():
    """Builders of Ansible's own container/str types of the running ansible-core, else look-alike subclasses."""
    builders = {}
    try:
        from ansible._internal._datatag._tags import Origin  # pylint: disable=import-outside-toplevel  # ansible-core >= 2.19

        origin = Origin(description='<unit test>')
        builders['tagged'] = origin.tag
    except ImportError:
        class _AnsibleTaggedList(list):
            pass

        class _AnsibleTaggedDict(dict):
            pass

        class _AnsibleTaggedStr(str):
            pass

        class _AnsibleTaggedDate(datetime.date):
            pass

        def tag(value):
            if value.__class__ is datetime.date:
                return _AnsibleTaggedDate(value.year, value.month, value.day)
            kinds = {list: _AnsibleTaggedList, dict: _AnsibleTaggedDict, str: _AnsibleTaggedStr}
            return kinds[value.__class__](value) if value.__class__ in kinds else value

        builders['tagged'] = tag
    try:
        from ansible.utils.unsafe_proxy import wrap_var  # pylint: disable=import-outside-toplevel

        builders['unsafe'] = wrap_var
    except ImportError:  # pragma: no cover - present in every supported ansible-core
        pass
    return builders


ANSIBLE_TYPES = _ansible_types()
# YAML turns 2024-01-01 into a date, which Ansible tags like any other value
WRONG_TYPED = [['a', 'b'], {'k': 'v'}, [['nested']], {'k': ['v']}, True, ['x', 5], datetime.date(2024, 1, 1), 1.5]


@pytest.mark.parametrize('builder', sorted(ANSIBLE_TYPES))
@pytest.mark.parametrize('name', [n for n in options.OPTION_SPEC if n != 'password'])
@pytest.mark.parametrize('value', WRONG_TYPED, ids=lambda value: type(value).__name__)
def test_messages_never_show_internal_type_names(builder, name, value):
    value = ANSIBLE_TYPES[builder](value)
    args = dict(BASE, **{name: value})
    try:
        options.from_mapping(args, environ={})
    except EntraTokenError as error:
        assert error.kind in ('invalid_argument', 'tenant_endpoint_required')
        for internal in INTERNAL_NAMES:
            assert internal not in error.message, error.message


def test_tagged_strings_become_plain_values():
    tag = ANSIBLE_TYPES['tagged']
    request = options.from_mapping({name: tag(value) for name, value in BASE.items()}, environ={})
    assert all(value.__class__ is str for value in (request.tenant, request.username, request.password))
    request = build(scopes=tag(['User.Read']))
    assert request.scopes == ('User.Read',) and all(scope.__class__ is str for scope in request.scopes)


def test_lazy_template_containers_from_a_real_templar():
    """Values as a lookup receives them inside a template: Ansible's lazy containers (ansible-core >= 2.19)."""
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate  # pylint: disable=import-outside-toplevel
        from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
        from ansible.template import Templar  # pylint: disable=import-outside-toplevel
    except ImportError:
        pytest.skip('ansible-core before 2.19 has no lazy template containers (covered by the look-alike subclasses)')
    outcomes = []

    def check(**kwargs):
        lazy = sorted({type(value).__name__ for value in kwargs.values()})
        try:
            options.from_mapping(dict(BASE, **kwargs), environ={})
            outcomes.append((lazy, None))
        except EntraTokenError as error:
            outcomes.append((lazy, error.message))
        return 'checked'

    variables = {'check': check, 'a_list': ['User.Read'], 'a_dict': {'k': ['v']}, 'nested': [['x']]}
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(TrustedAsTemplate().tag('{{ check(scopes=a_list) }}')) == 'checked'
    assert templar.template(TrustedAsTemplate().tag('{{ check(tenant=a_dict, timeout=a_list) }}')) == 'checked'
    assert templar.template(TrustedAsTemplate().tag('{{ check(scopes=nested) }}')) == 'checked'
    assert templar.template(TrustedAsTemplate().tag('{{ check(cache_path=a_list) }}')) == 'checked'
    assert outcomes[0] == (['_AnsibleLazyTemplateList'], None)  # the real type really reached the code
    for lazy, message in outcomes[1:]:
        assert message and 'Lazy' in ''.join(lazy)
        for internal in INTERNAL_NAMES:
            assert internal not in message, message


# -- the lookup's sources of options ----------------------------------------------------------------


ENV_NAMES = sorted({env for _kind, _default, names in options.OPTION_SPEC.values() for env in names})


@pytest.fixture
def no_environment(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_lookup_keywords_win_over_variables_over_environment_over_ansible_cfg(no_environment, monkeypatch):
    asked = []

    def configured(name):
        asked.append(name)
        value = {'timeout': '45', 'cloud': 'usgov'}.get(name)
        return None if value is None else (value, '/etc/ansible/ansible.cfg')

    monkeypatch.setenv('ENTRA_CLOUD', 'china')
    monkeypatch.setenv('ENTRA_TENANT_ID', 'env.example')
    variables = {'tenant': 'vars.example', 'username': 'user@contoso.com', 'password': 'canary-password', 'timeout': None}
    request = options.from_lookup({'tenant': TENANT, 'client_id': CLIENT}, variables, configured)
    assert request.tenant == TENANT and request.username == 'user@contoso.com'
    assert request.cloud == 'china'  # the environment wins over ansible.cfg
    assert request.timeout == 45  # ansible.cfg: asked only for what nothing else gave
    assert 'tenant' not in asked and 'cloud' not in asked and 'timeout' in asked


def test_lookup_keywords_win_over_variables_when_choosing_who_signs_in(no_environment):
    request = options.from_lookup({'client_secret': 'canary-secret'}, dict(BASE), lambda name: None)
    assert request.is_app and request.credential == 'client_secret' and request.username is None
    with pytest.raises(EntraTokenError) as info:
        options.from_lookup(dict(BASE, client_secret='canary-secret'), {}, lambda name: None)
    assert info.value.kind == 'invalid_argument'


def test_lookup_values_are_validated_as_written(no_environment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EntraTokenError) as info:
        options.from_lookup(dict(BASE, cache_path='relative/cache'), {}, lambda name: None)
    assert "Option 'cache_path' must be an absolute path" in info.value.message
    with pytest.raises(EntraTokenError) as info:
        options.from_lookup(BASE, {'validate_certs': 'maybe'}, lambda name: None)
    assert "Option 'validate_certs' must be a boolean" in info.value.message


# -- validated requests are remembered for the process ----------------------------------------------


def test_the_same_arguments_are_validated_once(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    first = build(ca_path=str(ca))
    assert build(ca_path=str(ca)) is first
    assert build(ca_path=str(ca), timeout=31) is not first


def test_a_remembered_request_still_needs_its_files(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    build(ca_path=str(ca))
    ca.unlink()
    assert "Option 'ca_path' must name a readable CA bundle file" in kind_of(ca_path=str(ca)).message


def test_a_value_of_another_type_is_not_taken_for_a_remembered_one():
    build(validate_certs=True, timeout=1)
    assert kind_of(validate_certs=True, timeout=True).kind == 'invalid_argument'  # True == 1, but not a number of seconds


def test_a_path_naming_an_environment_variable_is_expanded_every_time(tmp_path, monkeypatch):
    monkeypatch.setenv('ENTRA_TEST_BASE', str(tmp_path / 'one'))
    assert build(cache_path='$ENTRA_TEST_BASE/cache').cache_path == str(tmp_path / 'one' / 'cache')
    monkeypatch.setenv('ENTRA_TEST_BASE', str(tmp_path / 'two'))
    assert build(cache_path='$ENTRA_TEST_BASE/cache').cache_path == str(tmp_path / 'two' / 'cache')


def test_home_is_part_of_what_was_validated(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'one'))
    assert build().cache_path == str(tmp_path / 'one' / '.ansible' / 'entra' / 'token_cache')
    monkeypatch.setenv('HOME', str(tmp_path / 'two'))
    assert build().cache_path == str(tmp_path / 'two' / '.ansible' / 'entra' / 'token_cache')


def test_a_request_cannot_be_changed():
    request = build()
    with pytest.raises(AttributeError):
        request.tenant = 'other.example'
    assert request == options.from_mapping(dict(BASE), environ={}) and hash(request) == hash(build())


# -- the sign-in command --------------------------------------------------------------------------------


def test_sign_in_command_names_this_identity_and_only_non_defaults():
    assert build().sign_in_command == ('ansible-playbook identity.entra.sign_in -e tenant=%s -e client_id=%s -e username=user@contoso.com'
                                       % (TENANT, CLIENT))


def test_sign_in_command_carries_what_differs_and_is_shell_quoted(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    request = build(cloud='usgov', authority_host='https://login.example:8443', scopes=['Mail.Read', 'User.Read'],
                    cache_path=str(tmp_path / 'my cache'), ca_path=str(ca), username="o'brien@contoso.com")
    words = shlex.split(request.sign_in_command)
    assert words[:2] == ['ansible-playbook', 'identity.entra.sign_in']
    assert words[2::2] == ['-e'] * (len(words[2:]) // 2)
    pairs = {}
    for word in words[3::2]:
        # key=value where Ansible's key=value parser keeps the value whole; else one JSON object
        pairs.update(json.loads(word) if word.startswith('{') else dict([word.split('=', 1)]))
    assert json.loads([w for w in words if 'cache_path' in w][0]) == {'cache_path': str(tmp_path / 'my cache')}
    assert pairs == {'tenant': TENANT, 'client_id': CLIENT, 'username': "o'brien@contoso.com", 'cloud': 'usgov',
                     'authority_host': 'https://login.example:8443', 'scopes': 'Mail.Read,User.Read',
                     'cache_path': str(tmp_path / 'my cache'), 'ca_path': str(ca)}
    assert 'canary-password' not in request.sign_in_command


# -- documentation ---------------------------------------------------------------------------------------


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
        # the lookup reads every option from an entra_<option> variable: each one is documented
        assert [item['name'] for item in plugin_sources.get(name, {}).get('vars', [])] == ['entra_' + name], name
        for env in env_names:
            assert 'E(%s)' % env in ' '.join(doc['description']), name
