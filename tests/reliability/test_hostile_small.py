"""Hostile, issue 9 break 8: the smaller wrong or unclear answers.

- ``authority_host`` ending in ``#``/``?`` gave invalid_response, with a trailing space
  network_error "Failed to parse": all bad input, invalid_argument.
- The lookup ignored unknown options (a ``cachepath=`` typo wrote tokens to the default cache).
- ``fact_name: inventory_hostname`` or ``omit`` was accepted (the token then shows wherever the
  host name is printed).
- A 0600 cache directory got the advice "chmod 600 <file>"; a dangling symlinked directory
  "vanished...; retry" (see test_cache_files.py::test_dangling_symlink_at_the_cache_path).
- Messages showed internal type names (``_AnsibleTaggedList``) and stray characters
  (``Connection refused\\".``, ``(_ssl.c:1006.``).
- A 302 from the token endpoint gave ``invalid_response (RuntimeError)``; a 200 body
  ``{"access_token": 5}`` was returned as a success.
- ``min_validity`` longer than the token lifetime: 100 hosts made 100 refresh requests, no warning.
- ``socks5://`` proxies were accepted, and every call then failed as a retryable network error.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile

import pytest

from _ansible import inventory, lookup_kind, module_kind, module_task, play, run_playbook
from _layout import account_path, age_access_tokens
from _procs import acquire, run_forked
from conftest import reliability_user

USER, PASSWORD = reliability_user(59)
MIN_VALIDITY_USER, MIN_VALIDITY_PASSWORD = reliability_user(60)
REDIRECT_USER, REDIRECT_PASSWORD = reliability_user(57)
# What internal names and exception texts look like when they leak into a message.
STRAY = re.compile(r"_Ansible\w+|<class |\(_ssl\.c:\d+|\\\"|\w\"\.|Traceback|object at 0x")


def _closed_port(host) -> int:
    probe = socket.socket()
    probe.bind((host, 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_bad_values_through_ansible(emu, tmp_path, ansible_env):
    """Each refused before anything is sent or written, with a clean message, through the module and the lookup."""
    home = tmp_path / "home"  # the default cache would be under it: nothing may appear there
    home.mkdir()
    base = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "cache"))
    lookup_cases = {
        "authority_host #": dict(base, authority_host=emu.url + "#"),
        "authority_host ?": dict(base, authority_host=emu.url + "?"),
        "authority_host space": dict(base, authority_host=emu.url + " "),
        "socks5 proxy": dict(base, proxy="socks5://127.0.0.1:1080"),
        "cachepath typo": dict({k: v for k, v in base.items() if k != "cache_path"}, cachepath=str(tmp_path / "typo")),
        "tenant a list": dict(base, tenant=[emu.demo["tenant"]]),
    }
    tasks = []
    for name, options in lookup_cases.items():
        tasks.append({"name": "lookup: " + name, "ansible.builtin.debug": {
            "msg": "{{ lookup('identity.entra.entra_token', **o) }}"}, "vars": {"o": options}, "ignore_errors": True})
        if name != "cachepath typo":
            tasks.append(module_task("module: " + name, options))
    tasks.append(module_task("module: cachepath typo", dict(lookup_cases["cachepath typo"])))
    for fact_name in ("inventory_hostname", "omit", "hostvars", "ansible_token", "not a name"):
        tasks.append(module_task("fact_name: " + fact_name, dict(base, fact_name=fact_name)))
    hosts = inventory(tmp_path, {"h": 1})
    run = run_playbook(dict(ansible_env, HOME=str(home)), tmp_path, [play("all", *tasks)], hosts, forks=1)
    results = run.results()
    assert len(results) == len(tasks), sorted(results)
    for task, by_host in results.items():
        result = by_host["h000"]
        kind = lookup_kind(result) if task.startswith("lookup") else module_kind(result)
        assert kind == "invalid_argument", (task, result.get("msg"))
        message = result["msg"]
        assert not STRAY.search(message), (task, message)
    assert "did you mean cache_path" in results["lookup: cachepath typo"]["h000"]["msg"]
    assert "did you mean cache_path" in results["module: cachepath typo"]["h000"]["msg"]
    assert "a list" in results["lookup: tenant a list"]["h000"]["msg"]
    assert "Ansible itself defines" in results["fact_name: inventory_hostname"]["h000"]["msg"]
    assert "not supported" in results["module: socks5 proxy"]["h000"]["msg"]
    assert emu.requests_log() == []
    assert os.listdir(home) == [] and not os.path.exists(tmp_path / "typo") and not os.path.exists(tmp_path / "cache")


def test_transport_messages_have_no_stray_characters(emu, tmp_path, ansible_env):
    """Connection refused and an untrusted certificate, through the module and the lookup: one clean line each."""
    from test_faults import _other_ca  # pylint: disable=import-outside-toplevel

    refused = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "cache"), timeout=2,
                          authority_host="https://%s:%d" % (emu.host, _closed_port(emu.host)))
    untrusted = emu.options(USER, PASSWORD, cache_path=str(tmp_path / "cache"), ca_path=_other_ca(tmp_path))
    tasks = []
    for name, options in (("refused", refused), ("untrusted", untrusted)):
        tasks.append(module_task("module: " + name, options))
        tasks.append({"name": "lookup: " + name, "ansible.builtin.debug": {
            "msg": "{{ lookup('identity.entra.entra_token', **o) }}"}, "vars": {"o": options}, "ignore_errors": True})
    run = run_playbook(ansible_env, tmp_path, [play("all", *tasks)], inventory(tmp_path, {"h": 1}), forks=1)
    results = run.results()
    expected = {"refused": "network_error", "untrusted": "tls_error"}
    for task, by_host in results.items():
        result = by_host["h000"]
        kind = lookup_kind(result) if task.startswith("lookup") else module_kind(result)
        assert kind == expected[task.split(": ")[1]], (task, result.get("msg"))
        detail = result["msg"].split("The lookup plugin 'identity.entra.entra_token' failed: ")[-1]
        assert not STRAY.search(detail), (task, detail)
    assert "connection refused" in results["module: refused"]["h000"]["msg"]
    assert "certificate" in results["module: untrusted"]["h000"]["msg"].lower()


def test_redirect_is_invalid_response_naming_the_target(emu, tmp_path):
    fault = emu.add_faults([{"endpoint": "token", "kind": "redirect", "location": "https://evil.example.invalid/token"}])[0]
    result = acquire(emu.options(REDIRECT_USER, REDIRECT_PASSWORD, cache_path=str(tmp_path / "cache")))
    assert result["kind"] == "invalid_response", result
    assert "evil.example.invalid" in result["message"] and "redirect" in result["message"], result["message"]
    assert "RuntimeError" not in result["message"]
    assert next(f for f in emu.faults() if f["id"] == fault["id"])["hits"] == 1


@pytest.mark.parametrize("body", ['{"access_token": 5}', '{"access_token": null, "token_type": "Bearer"}',
                                  '{"access_token": "x", "expires_in": "soon"}', "[]"])
def test_token_answer_of_the_wrong_shape_is_invalid_response(emu, tmp_path, body):
    emu.add_fault(endpoint="token", kind="status", status=200, body=body)
    options = emu.options(REDIRECT_USER, REDIRECT_PASSWORD, cache_path=str(tmp_path / "cache"))
    result = acquire(options)
    assert result["kind"] == "invalid_response", result
    assert not os.path.exists(account_path(options))  # nothing of it was stored


def test_min_validity_longer_than_the_token_lifetime(emu, tmp_path, ansible_env):
    """100 hosts at forks 50 whose cached token has less left than min_validity: one refresh, one warning."""
    cache = str(tmp_path / "cache")
    first = acquire(emu.options(MIN_VALIDITY_USER, MIN_VALIDITY_PASSWORD, cache_path=cache))
    assert first["ok"], first
    lifetime = first["facts"]["expires_in"] + 1
    # past half its lifetime (the most min_validity asks of a fresh token); min_validity is twice the lifetime
    age_access_tokens(account_path(emu.options(MIN_VALIDITY_USER, cache_path=cache)), left=lifetime // 3, lifetime=lifetime)
    emu.reset()
    options = emu.options(MIN_VALIDITY_USER, cache_path=cache, min_validity=2 * lifetime)
    run = run_playbook(ansible_env, tmp_path, [play("all", module_task("min_validity", options))],
                       inventory(tmp_path, {"h": 100}), forks=50)
    results = run.results()["min_validity"]
    assert [module_kind(r) for r in results.values()] == [None] * 100, run.stdout[-2000:]
    print("min_validity %d s > lifetime %d s, 100 hosts x forks 50: %d refresh requests" % (
        2 * lifetime, lifetime, emu.grants().get("refresh_token", 0)))
    assert emu.grants() == {"refresh_token": 1}
    warned = [r for r in results.values() if any("min_validity" in w for w in r.get("warnings", []))]
    assert len(warned) == 1, [r.get("warnings") for r in results.values()][:3]
    assert "min_validity" in run.stdout + run.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_unenterable_cache_directory_advice(emu):
    """A cache directory of mode 0600 (a chmod meant for a file): the advice is chmod 700 on the directory."""
    import pwd  # pylint: disable=import-outside-toplevel

    nobody = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="entra-reliability-")
    try:
        os.chmod(base, 0o755)
        shutil.copy(emu.ca_path, os.path.join(base, "ca.pem"))
        os.chmod(os.path.join(base, "ca.pem"), 0o644)
        cache = os.path.join(base, "cache")
        os.mkdir(cache, 0o600)
        os.chown(cache, nobody.pw_uid, nobody.pw_gid)
        options = emu.options(USER, PASSWORD, cache_path=cache, ca_path=os.path.join(base, "ca.pem"))

        def job():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            return acquire(options)

        result = run_forked([job], timeout=60)[0]
    finally:
        shutil.rmtree(base)
    assert result["kind"] == "cache_error", result
    assert "chmod 700 %s" % cache in result["message"], result["message"]
    assert "chmod 600" not in result["message"]
    assert emu.requests_log() == []
