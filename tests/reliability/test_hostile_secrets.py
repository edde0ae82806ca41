"""Hostile, issue 9 break 2: a cut-off 200 token answer full of token-like strings shows nowhere.

Before 0.2.0, msal logged the raw body of a token answer that was not JSON:
``[WARNING]: WorkerProcess ... errantly sent data directly to stderr: Token response is
not in json format: {"access_token":"...","refresh_token":"..."`` plus a traceback, at
default verbosity and into ANSIBLE_LOG_PATH. Here the emulator's ``cutoff_tokens`` fault
answers every token request (password and refresh grants) with such a body; the strings
it sent, and their fixed markers, are searched in stdout, stderr, the Ansible log and
every file the runs left, at default verbosity and at -vvvv, through the module and the
lookup; and in the output of a bare worker process.
"""

from __future__ import annotations

import os

import pytest

from _ansible import inventory, lookup_kind, lookup_task, module_kind, module_task, play, run_playbook
from _procs import acquire, run_fresh
from conftest import reliability_user

PASSWORD_USER, PASSWORD_PASSWORD = reliability_user(45)
REFRESH_USER, REFRESH_PASSWORD = reliability_user(46)
# Fixed parts of every token-like string a cutoff_tokens fault sends (tests/emulator/entra_emulator/fault_streams.py).
MARKERS = ("CutoffAccessToken", "CutoffRefreshToken", "CutoffIdToken")
# What msal (or Python) printed when the answer reached it.
TELLTALES = ("not in json format", "errantly sent data", "Traceback", "JSONDecodeError")


def _cutoff_fault(emu) -> list:
    """Every token request answered with a cut-off body; the strings it sends."""
    record = emu.add_faults([{"endpoint": "token", "kind": "cutoff_tokens"}])[0]
    sent = list(record["sent"].values())
    assert sent and all(any(marker in value for marker in MARKERS) for value in sent), record
    return sent


def _leaks(text: str, sent: list) -> list:
    found = [value[:24] + "..." for value in sent if value in text]
    found += [marker for marker in MARKERS if marker in text]
    # a part of a string is a leak too (a log line cut at some width)
    found += ["part of " + value[:12] for value in sent for start in range(0, len(value) - 24, 24)
              if value[start:start + 24] in text]
    return found


def _files(root) -> dict:
    out = {}
    for directory, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    out[path] = handle.read().decode("latin-1")
    return out


@pytest.mark.parametrize("verbosity", ["default", "-vvvv"])
def test_cut_off_token_answer_reaches_no_output(emu, tmp_path, ansible_env, verbosity):
    cache = str(tmp_path / "cache")
    signed_in = acquire(emu.options(REFRESH_USER, REFRESH_PASSWORD, cache_path=cache))
    assert signed_in["ok"], signed_in
    sent = _cutoff_fault(emu)
    hosts = inventory(tmp_path, {"h": 3})
    log_path = tmp_path / "ansible.log"
    run = run_playbook(ansible_env, tmp_path, [play(
        "all",
        module_task("password grant", emu.options(PASSWORD_USER, PASSWORD_PASSWORD, cache_path=cache)),
        module_task("refresh grant", emu.options(REFRESH_USER, cache_path=cache, force_refresh=True)),
        lookup_task("lookup", emu.options(PASSWORD_USER, PASSWORD_PASSWORD, cache_path=cache)),
    )], hosts, forks=3, args=["-vvvv"] if verbosity == "-vvvv" else [],
        extra_env={"ANSIBLE_LOG_PATH": str(log_path)})
    results = run.results()
    assert {module_kind(r) for r in results["password grant"].values()} == {"invalid_response"}, results
    assert {module_kind(r) for r in results["refresh grant"].values()} == {"invalid_response"}, results
    assert {lookup_kind(r) for r in results["lookup"].values()} == {"invalid_response"}, results
    grants = {entry["grant_type"] for entry in emu.token_log()}
    assert grants == {"password", "refresh_token"}, grants  # both kinds of answer were cut off and refused
    outputs = {"stdout": run.stdout, "stderr": run.stderr}
    assert log_path.exists()
    outputs.update(_files(tmp_path))  # the Ansible log, the recorded results, the cache directory, ANSIBLE_HOME
    assert len(run.stdout) > 1000
    for name, text in outputs.items():
        leaks = _leaks(text, sent)
        assert not leaks, "%s holds token-like strings of the cut-off answer: %s" % (name, leaks[:5])
        telltales = [t for t in TELLTALES if t in text]
        assert not telltales, "%s: %s" % (name, telltales)
    message = next(iter(results["password grant"].values()))["msg"]
    assert "not a JSON object" in message or "cut-off" in message, message


def test_cut_off_token_answer_bare_worker(emu, tmp_path):
    """A fresh interpreter (no Ansible around it): nothing on its stderr, nothing of the body in the error."""
    sent = _cutoff_fault(emu)
    options = emu.options(PASSWORD_USER, PASSWORD_PASSWORD, cache_path=str(tmp_path / "cache"))
    results = run_fresh([options, dict(options, cache=False)], timeout=120)
    for result in results:
        assert result["kind"] == "invalid_response", result
        assert "stderr" not in result, result["stderr"][:2000]
        assert not _leaks(repr(result), sent)
