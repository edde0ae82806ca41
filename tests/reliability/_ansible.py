"""Real ansible-playbook runs for the hostile cases: many local hosts, forks, per-host results as JSON.

Plays are Python structures written as JSON (which YAML reads). Results are recorded by
the test-only callback callback_plugins/entra_record.py (one JSON line per task result),
so a test reads each host's result instead of scraping text; the console output stays
the default callback's, which is what the secret scans search.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass


CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    record_path: str

    def results(self) -> dict:
        """{task name: {host: result}} of every task result recorded (``_status``: ok, failed, skipped...)."""
        out = {}
        if os.path.exists(self.record_path):
            with open(self.record_path, encoding="utf-8") as handle:
                for line in handle:
                    entry = json.loads(line)
                    out.setdefault(entry["task"], {})[entry["host"]] = dict(entry["result"], _status=entry["status"])
        return out


def inventory(directory, groups: dict) -> str:
    """An INI inventory of local hosts, {group: number of hosts} (hosts <group>000...), written to ``directory``."""
    lines = []
    for group, count in groups.items():
        lines.append("[%s]" % group)
        lines.extend("%s%03d ansible_connection=local" % (group, number) for number in range(count))
    path = os.path.join(str(directory), "hosts.ini")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


_RUNS = iter(range(1, 1000000))


def run_playbook(env: dict, directory, plays: list, inventory_path: str, forks: int = 5, cwd=None,
                 args=(), extra_env=None, timeout: float = 300) -> Run:
    """ansible-playbook on ``plays`` (written to ``directory``); stdout and stderr kept apart."""
    number = next(_RUNS)
    playbook = os.path.join(str(directory), "play%d.yml" % number)
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump(plays, handle)
    record_path = os.path.join(str(directory), "results%d.jsonl" % number)
    run_env = dict(env, ANSIBLE_FORKS=str(forks), ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                   ANSIBLE_CALLBACKS_ENABLED="entra_record", ENTRA_RECORD_PATH=record_path)
    run_env.update(extra_env or {})
    start = time.monotonic()
    done = subprocess.run(["ansible-playbook", "-i", inventory_path, playbook] + list(args), env=run_env,
                          cwd=str(cwd) if cwd else None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False)
    return Run(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"),
               time.monotonic() - start, record_path)


def play(hosts: str, *tasks, **extra) -> dict:
    return dict({"hosts": hosts, "gather_facts": False, "tasks": list(tasks)}, **extra)


def module_task(name: str, options: dict, **extra) -> dict:
    return dict({"name": name, "identity.entra.entra_token": options, "ignore_errors": True}, **extra)


def lookup_task(name: str, options: dict, **extra) -> dict:
    """The lookup in a debug message (options passed as a variable, so secrets stay out of the task text)."""
    return dict({"name": name, "ansible.builtin.debug": {"msg": "{{ lookup('identity.entra.entra_token', **o) | length }}"},
                 "vars": {"o": options}, "ignore_errors": True}, **extra)


def module_kind(result: dict):
    """The error kind of a module result (None when it succeeded)."""
    if result["_status"] != "failed":
        return None
    return (result.get("error") or {}).get("kind", "NO ERROR DICT")


def lookup_kind(result: dict):
    """The error kind of a failed lookup ('[kind] ...' in the message), None when it succeeded."""
    if result["_status"] != "failed":
        return None
    message = str(result.get("msg", ""))
    start = message.find("The lookup plugin 'identity.entra.entra_token' failed: [")
    if start < 0:
        return "NO KIND IN: " + message[:300]
    start = message.index("[", start) + 1
    return message[start:message.index("]", start)]
