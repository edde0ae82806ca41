"""Wrong option values: invalid_argument (or the documented refusal) with a clear message, before any request.

The integration target checks a handful through the module; this is the table:
types, empty strings, unknown cloud, malformed URLs, two resources, very long
values, unicode, through the core and then through the module and the lookup
of a real ansible-playbook run (values as YAML gives them).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from _procs import acquire
from conftest import reliability_user

USER, PASSWORD = reliability_user(4)
LONG = "a" * 5000

# (overrides, option named in the message, extra phrase or None)
TABLE = [
    ({"tenant": ""}, "tenant", "required"),
    ({"tenant": "   "}, "tenant", "required"),
    ({"tenant": "not a tenant"}, "tenant", "GUID"),
    ({"tenant": "contoso"}, "tenant", "GUID"),
    ({"tenant": "-contoso.example"}, "tenant", None),
    ({"tenant": "contoso.example/evil"}, "tenant", None),
    ({"tenant": "ÿöü.example"}, "tenant", None),
    ({"tenant": LONG + ".example"}, "tenant", "longer than"),
    ({"tenant": ["contoso.example"]}, "tenant", "string"),
    ({"tenant": {"id": 1}}, "tenant", "string"),
    ({"client_id": ""}, "client_id", "required"),
    ({"client_id": "my-app"}, "client_id", "GUID"),
    ({"client_id": 12345}, "client_id", "GUID"),
    ({"client_id": True}, "client_id", "string"),
    ({"username": ""}, "username", "required"),
    ({"username": "demo"}, "username", "user principal name"),
    ({"username": "de mo@contoso.example"}, "username", "user principal name"),
    ({"username": LONG + "@contoso.example"}, "username", "longer than"),
    ({"username": ["demo@contoso.example"]}, "username", "string"),
    ({"cloud": "mars"}, "cloud", "public"),
    ({"cloud": ""}, "cloud", None),
    ({"cloud": 1}, "cloud", None),
    ({"authority_host": "http://127.0.0.1"}, "authority_host", "https://"),
    ({"authority_host": "login.microsoftonline.com"}, "authority_host", "https://"),
    ({"authority_host": "https://"}, "authority_host", "https://"),
    ({"authority_host": "https://login.example/tenant"}, "authority_host", "no path"),
    ({"authority_host": "https://login.example#"}, "authority_host", None),
    ({"authority_host": "https://login.example?"}, "authority_host", None),
    ({"authority_host": "https://login.example "}, "authority_host", None),
    ({"authority_host": " https://login.example"}, "authority_host", None),
    ({"authority_host": "https://login.example?x=1"}, "authority_host", None),
    ({"authority_host": "https://user:pw@login.example"}, "authority_host", None),
    ({"authority_host": "https://login.example:99999"}, "authority_host", "port"),
    ({"authority_host": "ftp://login.example"}, "authority_host", None),
    ({"scopes": ["https://graph.microsoft.com/User.Read", "https://management.azure.com/.default"]}, "scopes",
     "one resource"),
    ({"scopes": ["User.Read", "https://vault.azure.net/.default"]}, "scopes", "one resource"),
    ({"scopes": ["User Read"]}, "scopes", "spaces"),
    ({"scopes": [1, 2]}, "scopes", "list of strings"),
    ({"scopes": {"a": 1}}, "scopes", "list of strings"),
    ({"timeout": 0}, "timeout", "between"),
    ({"timeout": -5}, "timeout", "between"),
    ({"timeout": "soon"}, "timeout", "whole number"),
    ({"timeout": True}, "timeout", "boolean"),
    ({"timeout": 10 ** 9}, "timeout", "between"),
    ({"timeout": 1.5}, "timeout", None),
    ({"min_validity": -1}, "min_validity", "between"),
    ({"min_validity": "x"}, "min_validity", "whole number"),
    ({"validate_certs": "maybe"}, "validate_certs", "boolean"),
    ({"validate_authority": "sometimes"}, "validate_authority", "boolean"),
    ({"cache": "perhaps"}, "cache", "boolean"),
    ({"force_refresh": 2}, "force_refresh", "boolean"),
    ({"proxy": "not a url"}, "proxy", "proxy URL"),
    ({"proxy": "ftp://proxy.example"}, "proxy", "proxy URL"),
    ({"proxy": "socks5://proxy.example:1080"}, "proxy", "not supported"),
    ({"proxy": "socks5h://proxy.example:1080"}, "proxy", "not supported"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path", "CA bundle"),
    ({"ca_path": "/"}, "ca_path", "CA bundle"),
    ({"cache_path": LONG}, "cache_path", "longer than"),
    ({"cache_path": "$ENTRA_RELIABILITY_UNSET/token_cache"}, "cache_path", "not set"),
    ({"cache_path": "${ENTRA_RELIABILITY_UNSET}/c"}, "cache_path", "not set"),
    ({"cache_path": "~entra-no-such-user/c"}, "cache_path", "home directory"),
    ({"cache_path": "   "}, "cache_path", "blank"),
    ({"cache_path": "relative/token_cache"}, "cache_path", "absolute"),
    ({"unknown_option": 1}, "unknown_option", "Unsupported"),
]


def _ids():
    out = []
    for overrides, name, _phrase in TABLE:
        value = json.dumps(list(overrides.values())[0], ensure_ascii=True)
        out.append("%s=%s" % (name, value[:30]))
    return out


@pytest.mark.parametrize("overrides,name,phrase", TABLE, ids=_ids())
def test_bad_value(emu, tmp_path, overrides, name, phrase):
    options = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"))
    options.update(overrides)
    result = acquire(options)
    assert not result["ok"], result
    assert result["kind"] == "invalid_argument", result
    assert result["retryable"] is False
    message = result["message"]
    assert "'%s'" % name in message or name in message, message
    if phrase:
        assert phrase in message, message
    assert "\n" not in message and "Traceback" not in message
    assert len(message) < 600, "a very long value is quoted in full: %d characters" % len(message)
    assert PASSWORD not in message
    assert emu.token_requests() == 0
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("tenant", ["common", "consumers", "COMMON", " consumers "])
def test_common_and_consumers(emu, tenant):
    result = acquire(emu.options(USER, PASSWORD, tenant=tenant, cache=False))
    assert result["kind"] == "tenant_endpoint_required", result
    assert emu.token_requests() == 0


def test_unicode_username_reaches_entra_as_user_not_found(emu, tmp_path):
    """A well-formed non-ASCII UPN is not an argument error: Entra answers for it."""
    result = acquire(emu.options("jürgen.müller@contoso.example", "Unicode-Passw0rd!",
                                 cache_path=str(tmp_path / "c")))
    assert result["kind"] == "user_not_found", result
    assert emu.token_requests() == 1


def test_reserved_scopes_are_dropped_not_refused(emu, tmp_path):
    result = acquire(emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"),
                                 scopes=["openid", "profile", "offline_access", "User.Read"]))
    assert result["ok"], result


def test_password_value_is_never_quoted(emu, tmp_path):
    """The password option has no length limit and is never echoed, even when other options are wrong."""
    secret = "Sekr3t-" + "p" * 3000
    result = acquire(emu.options(USER, secret, cache_path=str(tmp_path / "c"), timeout="x"))
    assert result["kind"] == "invalid_argument"
    assert "Sekr3t" not in json.dumps(result)


def _run_playbook(tmp_path, ansible_env, tasks):
    playbook = tmp_path / "bad.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]), encoding="utf-8")
    run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
                         env=ansible_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180, check=False)
    return run.returncode, run.stdout.decode(errors="replace")


ANSIBLE_CASES = [
    {"timeout": "soon"}, {"scopes": ["User.Read", "https://vault.azure.net/.default"]},
    {"cloud": "mars"}, {"tenant": {"a": 1}}, {"validate_certs": "maybe"},
    {"authority_host": "http://insecure.example"}, {"username": "jürgen"},
]
# Values that Ansible's own option layer rejects before the lookup's code runs (typed options).
TYPED_BY_ANSIBLE = ({"timeout": "soon"}, {"validate_certs": "maybe"}, {"tenant": {"a": 1}}, {"cloud": "mars"})


def _tasks(base, cases, module=True, lookup=True):
    tasks = []
    for number, case in enumerate(cases):
        options = dict(base, **case)
        checks = []
        if module:
            tasks.append({"name": "module %d" % number, "identity.entra.entra_token": options,
                          "register": "m%d" % number, "ignore_errors": True})
            checks += ["m%d is failed" % number, "m%d.error.kind == 'invalid_argument'" % number,
                       "m%d.msg is search('%s')" % (number, list(case)[0])]
        if lookup:
            tasks.append({"name": "lookup %d" % number,
                          "ansible.builtin.set_fact": {"x": "{{ lookup('identity.entra.entra_token', **o) }}"},
                          "vars": {"o": options}, "register": "l%d" % number, "ignore_errors": True})
            checks += ["l%d is failed" % number, "l%d.msg is search('\\\\[invalid_argument\\\\]')" % number,
                       "l%d.msg is search('%s')" % (number, list(case)[0])]
        tasks.append({"name": "check %d: %s" % (number, json.dumps(case)), "ansible.builtin.assert": {"that": checks}})
    return tasks


def test_bad_values_through_ansible(emu, tmp_path, ansible_env):
    """The module gives invalid_argument for values typed by YAML; so does the lookup for what it validates."""
    base = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"))
    tasks = _tasks(base, ANSIBLE_CASES, lookup=False)
    tasks += _tasks(base, [c for c in ANSIBLE_CASES if c not in TYPED_BY_ANSIBLE], module=False)
    status, output = _run_playbook(tmp_path, ansible_env, tasks)
    assert status == 0, output[-5000:]
    assert "Traceback" not in output
    assert emu.token_requests() == 0


def test_lookup_typed_values_say_invalid_argument(emu, tmp_path, ansible_env):
    base = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "c"))
    status, output = _run_playbook(tmp_path, ansible_env, _tasks(base, TYPED_BY_ANSIBLE, module=False))
    assert status == 0, output[-5000:]
