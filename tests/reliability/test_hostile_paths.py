"""Hostile, issue 9 break 4: a cache path that is not absolute after expansion writes nothing anywhere.

Before 0.2.0, ``cache_path: "$UNSET_VAR/token_cache.json"``, ``'${X}/c.json'`` in the lookup,
``~nosuchuser/c.json`` and ``'   '`` created the cache, its lock, discovery file and
``.locks/`` relative to the current directory - in a git checkout, ``git add -A`` then stages
refresh tokens. Now each is ``invalid_argument`` before anything is sent or written. The
playbook runs in an empty working directory, which must still be empty afterwards; the
values come as options, as ``entra_cache_path`` and as ENTRA_TOKEN_CACHE.
"""

from __future__ import annotations

import os

import pytest

from _ansible import inventory, lookup_kind, lookup_task, module_kind, module_task, play, run_playbook
from _procs import acquire, run_forked
from conftest import reliability_user

USER, PASSWORD = reliability_user(50)
UNSET = "ENTRA_HOSTILE_UNSET"
BAD_PATHS = {
    "unset variable": "$%s/token_cache" % UNSET,
    "unset braced variable": "${%s}/c" % UNSET,
    "unknown user's home": "~entra-no-such-user/c",
    "blank": "   ",
    "relative": "relative/token_cache",
    "dot": ".",
}


def _assert_nothing_written(work, emu):
    assert os.listdir(work) == [], "created in the working directory: %s" % sorted(os.listdir(work))
    assert emu.requests_log() == []


@pytest.mark.parametrize("name", sorted(BAD_PATHS))
def test_bad_cache_path_in_process(emu, tmp_path, name):
    """The core alone, in a process whose working directory is empty."""
    work = tmp_path / "work"
    work.mkdir()
    options = emu.options(USER, PASSWORD, cache_path=BAD_PATHS[name])

    def job():
        os.environ.pop(UNSET, None)
        os.chdir(work)
        return acquire(options)

    result = run_forked([job], timeout=60)[0]
    assert result["kind"] == "invalid_argument", result
    assert "cache_path" in result["message"], result["message"]
    _assert_nothing_written(work, emu)


def test_bad_cache_paths_through_ansible(emu, tmp_path, ansible_env):
    """Module, lookup, entra_cache_path and ENTRA_TOKEN_CACHE: invalid_argument each, the working directory stays empty."""
    work = tmp_path / "work"
    work.mkdir()
    files = tmp_path / "files"
    files.mkdir()
    hosts = inventory(files, {"h": 1})
    base = emu.options(USER, PASSWORD)
    tasks = []
    for name, value in sorted(BAD_PATHS.items()):
        tasks.append(module_task("module: " + name, dict(base, cache_path=value)))
        tasks.append(lookup_task("lookup: " + name, dict(base, cache_path=value)))
        tasks.append(lookup_task("entra_cache_path: " + name, base, vars={"o": base, "entra_cache_path": value}))
    tasks.append(module_task("module: ENTRA_TOKEN_CACHE", base))
    tasks.append(lookup_task("lookup: ENTRA_TOKEN_CACHE", base))
    env = {key: value for key, value in ansible_env.items() if key != UNSET}
    run = run_playbook(env, files, [play("all", *tasks)], hosts, forks=1, cwd=work,
                       extra_env={"ENTRA_TOKEN_CACHE": "$%s/from-environment" % UNSET})
    results = run.results()
    assert len(results) == len(tasks), sorted(results)
    for task, by_host in results.items():
        result = by_host["h000"]
        kind = module_kind(result) if task.startswith("module") else lookup_kind(result)
        assert kind == "invalid_argument", (task, result.get("msg"))
        assert "cache_path" in result["msg"], (task, result["msg"])
    assert "Traceback" not in run.stdout + run.stderr
    _assert_nothing_written(work, emu)
