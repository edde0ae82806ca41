# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The entra_token lookup through Ansible's own plugin loader and templar: options as Ansible hands them over.

These tests need Ansible's collection loader, which ansible-test installs for unit tests; run
directly with pytest, they are skipped unless it was installed before the collection was imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

TENANT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
HOST = 'https://login.example.test'
INTERNAL_NAMES = ('_Ansible', 'Tagged', 'Lazy', 'Unsafe', '<class', ' object at 0x')
ENV_NAMES = ('ENTRA_TENANT_ID', 'AZURE_TENANT_ID', 'ENTRA_CLIENT_ID', 'AZURE_CLIENT_ID', 'ENTRA_USERNAME', 'AZURE_USERNAME',
             'ENTRA_PASSWORD', 'AZURE_PASSWORD', 'ENTRA_CLIENT_SECRET', 'AZURE_CLIENT_SECRET', 'ENTRA_CLIENT_CERTIFICATE_PATH',
             'AZURE_CLIENT_CERTIFICATE_PATH', 'ENTRA_FEDERATED_TOKEN_FILE', 'AZURE_FEDERATED_TOKEN_FILE', 'ENTRA_TOKEN_CACHE', 'ENTRA_CA_PATH',
             'ENTRA_CLOUD', 'ENTRA_AUTHORITY_HOST', 'ENTRA_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_CERTIFICATE_PASSWORD')


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_NAMES + ('ENTRA_TEST_UNSET',):
        monkeypatch.delenv(name, raising=False)


def lookup_plugin():
    from ansible.plugins.loader import lookup_loader  # pylint: disable=import-outside-toplevel

    loader = DataLoader()
    plugin = lookup_loader.get('identity.entra.entra_token', loader=loader, templar=Templar(loader=loader))
    if plugin is None:
        pytest.skip("Ansible's collection loader is not installed (ansible-test units installs it)")
    return plugin


def run_lookup(variables=None, terms=(), **kwargs):
    return lookup_plugin().run(list(terms), variables=variables or {}, **kwargs)


def lookup_error(variables=None, terms=(), **kwargs) -> str:
    with pytest.raises(AnsibleError) as caught:
        run_lookup(variables, terms, **kwargs)
    message = str(caught.value)
    for internal in INTERNAL_NAMES:
        assert internal not in message, message
    assert 'canary-password' not in message
    return message


BASE = {'tenant': TENANT, 'client_id': CLIENT, 'username': 'user@contoso.com', 'password': 'canary-password', 'authority_host': HOST}


@pytest.fixture
def warm(tmp_path):
    pytest.importorskip('msal')
    from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import cached_doc  # pylint: disable=import-outside-toplevel

    args = dict(BASE, cache_path=str(tmp_path / 'cache'))
    request = from_mapping(args, environ={})
    CacheDirectory(request.cache_path).account_file(request.account_key).update(lambda current: cached_doc())
    return args


def test_a_cached_token_by_keyword_options(warm):
    assert run_lookup(**warm) == ['at-user@contoso.com-3600']
    facts = run_lookup(output='result', **warm)[0]
    assert facts['source'] == 'cache' and facts['username'] == 'user@contoso.com'


def test_options_from_entra_variables(warm):
    variables = {'entra_' + name: value for name, value in warm.items()}
    assert run_lookup(variables) == ['at-user@contoso.com-3600']


def test_a_typo_gets_did_you_mean_instead_of_the_default_cache(warm, tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    message = lookup_error(**dict(warm, cachepath=str(tmp_path / 'x')))
    assert message.startswith('[invalid_argument] Unsupported option(s): cachepath (did you mean cache_path?)')
    assert not (tmp_path / 'home').exists()


def test_terms_are_refused(warm):
    assert lookup_error(terms=['x'], **warm).startswith('[invalid_argument] This lookup takes no terms')


BAD_PATHS = ['$ENTRA_TEST_UNSET/token_cache', '${ENTRA_TEST_UNSET}/c', '~entra-test-nosuchuser/c', '   ', 'relative/cache']


@pytest.mark.parametrize('path', BAD_PATHS)
@pytest.mark.parametrize('how', ['keyword', 'variable'])
def test_bad_cache_paths_are_refused_and_nothing_is_written_in_the_working_directory(tmp_path, monkeypatch, path, how):
    monkeypatch.chdir(tmp_path)
    if how == 'keyword':
        message = lookup_error(**dict(BASE, cache_path=path))
    else:
        message = lookup_error({'entra_' + k: v for k, v in dict(BASE, cache_path=path).items()})
    assert message.startswith("[invalid_argument] Option 'cache_path'")
    assert os.listdir(tmp_path) == []


def test_a_bad_cache_path_from_the_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('ENTRA_TOKEN_CACHE', '$ENTRA_TEST_UNSET/c')
    assert 'names the variable $ENTRA_TEST_UNSET, which is not set' in lookup_error(**BASE)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('kwargs, text', [
    ({'validate_certs': 'maybe'}, "Option 'validate_certs' must be a boolean"),
    ({'timeout': 'soon'}, "Option 'timeout' must be a whole number"),
    ({'scopes': {'a': 1}}, "Option 'scopes' must be a list of strings"),
    ({'tenant': ['a', 'b']}, "Option 'tenant' must be a string, got a list"),
    ({'authority_host': 'https://login.example.test#'}, "Option 'authority_host' must be an https:// URL"),
    ({'proxy': 'socks5://proxy:1080'}, "Option 'proxy' uses socks5://, which is not supported"),
    ({'output': 'everything'}, '[invalid_argument]'),
    ({'output': ['result']}, '[invalid_argument]'),
])
def test_bad_values_are_invalid_argument_without_internal_type_names(kwargs, text):
    message = lookup_error(**dict(BASE, **kwargs))
    assert message.startswith('[invalid_argument]') and text in message


def test_values_through_a_real_template_reach_the_lookup_as_ansibles_lazy_types(warm):
    """{{ lookup(..., scopes=a_list) }}: what a playbook hands over, containers included."""
    lookup_plugin()
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate  # pylint: disable=import-outside-toplevel

        trusted = TrustedAsTemplate().tag
    except ImportError:  # ansible-core before 2.19 templates plain strings
        trusted = str
    variables = dict({'opt_' + k: v for k, v in warm.items()}, a_list=['a', 'b'], a_dict={'k': ['v']}, graph=['User.Read'])
    templar = Templar(loader=DataLoader(), variables=variables)
    call = "lookup('identity.entra.entra_token', tenant=opt_tenant, client_id=opt_client_id, username=opt_username, " \
           "authority_host=opt_authority_host, cache_path=opt_cache_path, %s)"
    assert templar.template(trusted('{{ %s }}' % (call % 'min_validity=60'))) == 'at-user@contoso.com-3600'
    for extra, text in (('tenant=a_list', "Option 'tenant' must be a string, got a list"),
                        ('scopes=a_dict', "Option 'scopes' must be a list of strings"),
                        ('timeout=a_list', "Option 'timeout' must be a whole number of seconds, got a list"),
                        ('fail_here=a_dict', 'Unsupported option(s): fail_here')):
        expression = call.replace('tenant=opt_tenant, ', '') if extra.startswith('tenant=') else call
        with pytest.raises(AnsibleError) as caught:
            templar.template(trusted('{{ %s }}' % (expression % extra)))
        message = str(caught.value)
        assert text in message, message
        for internal in INTERNAL_NAMES:
            assert internal not in message, message


def test_the_lookup_never_waits_for_a_person_and_names_the_sign_in_command(tmp_path):
    """flow=device_code in a lookup: sign_in_required, with this identity's command (discovery from the cache: no network)."""
    pytest.importorskip('msal')
    from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_acquire import (  # pylint: disable=import-outside-toplevel
        closed_port,
        store_discovery,
    )

    host = 'https://127.0.0.1:%d' % closed_port()
    args = dict(BASE)
    args.update(authority_host=host, cache_path=str(tmp_path / 'cache'), flow='device_code', validate_authority=False, timeout=5)
    args.pop('password')
    request = from_mapping(args, environ={})
    store_discovery(request.cache_path, request.authority)
    message = lookup_error(**args)
    assert message.startswith('[sign_in_required] user@contoso.com cannot get a token without a person')
    assert request.sign_in_command in message


def test_lookup_error_lists_the_identifiers_support_needs():
    from ansible_collections.identity.entra.plugins.lookup.entra_token import lookup_error_message  # pylint: disable=import-outside-toplevel
    from ansible_collections.identity.entra.plugins.plugin_utils._errors import from_response_body  # pylint: disable=import-outside-toplevel

    error = from_response_body({'error': 'invalid_grant', 'error_codes': [70002, 50126], 'correlation_id': 'c-1', 'trace_id': 't-1',
                                'error_description': 'AADSTS50126: Invalid username or password.'}, 400)
    message = lookup_error_message(error)
    assert message.startswith('[invalid_credentials] The username or password is wrong (AADSTS50126).')
    assert message.endswith('(aadsts=50126, error=invalid_grant, correlation_id=c-1, trace_id=t-1)')
    assert 'Retrying may help' in lookup_error_message(from_response_body({'error': 'temporarily_unavailable'}, 503))
    assert json.dumps(message)


# What a worker process imports for a cached token: Ansible forks one per host and task, and each loads
# the lookup afresh. Run in a fresh interpreter, as a worker starts without the collection's modules.
WORKER = r'''
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
loader = DataLoader()
plugin = lookup_loader.get('identity.entra.entra_token', loader=loader, templar=Templar(loader=loader))
token = plugin.run([], variables={}, **json.loads(sys.stdin.read()))
prefix = 'ansible_collections.identity.entra.plugins.'
print(json.dumps({'token': token, 'msal': 'msal' in sys.modules,
                  'modules': {name[len(prefix):]: type(module.__spec__.loader).__name__ for name, module in sys.modules.items()
                              if name.startswith(prefix) and name.count('.') == 5}}))
'''


def test_a_cached_token_in_a_fresh_worker_imports_only_the_warm_path_through_pythons_bytecode_cache(warm):
    """No msal, no sign-in or error machinery; the warm modules load with Python's own source loader (which keeps
    their bytecode in __pycache__), not Ansible's collection loader (which compiles them in every worker)."""
    lookup_plugin()
    collections = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))))))
    run = subprocess.run([sys.executable, '-c', WORKER, collections], input=json.dumps(warm), capture_output=True, text=True,
                         check=False, env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen['token'] == ['at-user@contoso.com-3600'] and seen['msal'] is False
    modules = seen['modules']
    assert modules['lookup.entra_token'] == 'SourceFileLoader'
    for name in ('_acquire', '_options', '_cache_view', '_cache_file', '_cache_directory'):
        assert modules['plugin_utils.' + name] == 'SourceFileLoader', modules
    for cold in ('_errors', '_sign_in', '_cache_store', '_file_locks', '_private_files', '_http', '_failure_memory'):
        assert 'plugin_utils.' + cold not in modules, modules


def run_worker(kwargs, collections, fails=False, cwd=None, **environment):
    env = dict(os.environ, **environment)
    for name in ENV_NAMES:
        if name not in environment:
            env.pop(name, None)
    run = subprocess.run([sys.executable, '-c', WORKER, collections], input=json.dumps(kwargs), capture_output=True, text=True,
                         check=False, env=env, cwd=cwd)
    if fails:
        assert run.returncode != 0, run.stdout[-3000:]
        return run.stderr
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_options_from_ansible_cfg_come_after_the_environment(warm, tmp_path):
    """[entra] in ansible.cfg: read through Ansible's configuration, below keywords, variables and the environment."""
    lookup_plugin()
    collections = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))))))
    config = tmp_path / 'ansible.cfg'
    kwargs = {k: v for k, v in warm.items() if k != 'cache_path'}
    config.write_text('[entra]\ncache_path = %s\n' % warm['cache_path'])
    assert run_worker(kwargs, collections, ANSIBLE_CONFIG=str(config))['token'] == ['at-user@contoso.com-3600']
    empty = tmp_path / 'empty'
    empty.mkdir(mode=0o700)
    config.write_text('[entra]\ncache_path = %s\ntimeout = 1\n' % empty)  # not used: the environment wins
    seen = run_worker(kwargs, collections, ANSIBLE_CONFIG=str(config), ENTRA_TOKEN_CACHE=warm['cache_path'])
    assert seen['token'] == ['at-user@contoso.com-3600'] and not os.listdir(empty)
    config.write_text('[entra]\ncache_path = relative/cache\n')  # Ansible would make it absolute, beside ansible.cfg
    stderr = run_worker(kwargs, collections, fails=True, ANSIBLE_CONFIG=str(config))
    assert "[invalid_argument] Option 'cache_path' must be an absolute path" in stderr and not (tmp_path / 'relative').exists()


def test_an_empty_environment_variable_is_unset_and_hides_nothing_in_ansible_cfg(warm, tmp_path):
    """ENTRA_TOKEN_CACHE= (set, empty) is unset, as for the module: ansible.cfg's value applies, and the token cache
    never becomes the working directory (Ansible's configuration would take the empty value and resolve it there)."""
    lookup_plugin()
    collections = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))))))
    config = tmp_path / 'ansible.cfg'
    config.write_text('[entra]\ntenant = %s\ncache_path = %s\n' % (warm['tenant'], warm['cache_path']))
    work = tmp_path / 'work'
    work.mkdir()
    kwargs = {k: v for k, v in warm.items() if k not in ('cache_path', 'tenant', 'password')}
    seen = run_worker(kwargs, collections, cwd=str(work), ANSIBLE_CONFIG=str(config), ENTRA_TOKEN_CACHE='', ENTRA_TENANT_ID='')
    assert seen['token'] == ['at-user@contoso.com-3600'] and os.listdir(work) == []


@pytest.mark.parametrize('line', ['cache_path = %s ; the shared cache', 'cache_path = "%s"', "cache_path = '%s'"])
def test_a_path_in_ansible_cfg_is_read_as_ansible_reads_it(warm, tmp_path, line):
    """An inline '; comment' is not part of the value, and quotes are removed (a path kept as written, not resolved)."""
    lookup_plugin()
    collections = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))))))
    config = tmp_path / 'ansible.cfg'
    config.write_text('[entra]\n%s\n' % (line % warm['cache_path']))
    kwargs = {k: v for k, v in warm.items() if k not in ('cache_path', 'password')}
    assert run_worker(kwargs, collections, ANSIBLE_CONFIG=str(config))['token'] == ['at-user@contoso.com-3600']
    assert sorted(os.listdir(tmp_path)) == ['ansible.cfg', 'cache']  # nothing beside the cache named in ansible.cfg


def test_a_missing_tenant_says_where_to_set_it_with_an_ansible_cfg_too(warm, tmp_path):
    lookup_plugin()
    collections = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))))))
    config = tmp_path / 'ansible.cfg'
    config.write_text('[entra]\ntimeout = 20\n')
    kwargs = {k: v for k, v in warm.items() if k != 'tenant'}
    stderr = run_worker(kwargs, collections, fails=True, ANSIBLE_CONFIG=str(config))
    assert "[invalid_argument] Option 'tenant' is required (set it as an option or through ENTRA_TENANT_ID" in stderr, stderr
    assert 'ansible_collections' not in stderr.splitlines()[-1]
