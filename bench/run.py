"""identity.entra benchmarks: every comparison side by side in one run, against the emulator.

    make bench                      (nox -s bench: builds its virtualenv, then runs this)
    python bench/run.py [--only lookup,task] [--repeat N]

Prints a table, writes .work/bench/results.json, and exits 1 with a MISSED line for every goal
missed. The machines this runs on are noisy and shared: times are medians of interleaved
repetitions (the two sides alternate, in alternating order), results are ratios, and request
counts come from the emulator's own counters. The sections (bench/README.md says how each is
measured and why):

  lookup    the lookup in set_fact, 200 hosts, forks 10 and 50, against a no-op lookup of another
            collection taking the same arguments (bench.noop); goal <= 1.2x
  task      the entra_token task against a constant set_fact, 200 hosts, forks 10 and 50; <= 1.2x
  repeat    a repeated call in one process, and the first call of a fresh process, against
            msal-extensions on the same cache content; in-process goal <= 1.0x
  cold      the first sign-in of a fresh process with nothing on disk, against plain msal, 3
            requests each; goal >= 1.0x (msal's time / ours)
  app       the same two for a service principal's app-only token (the emulator's demo_app); the
            first cached token of a fresh process imports no msal
  accounts  the first warm read of a process against the number of accounts in the cache (1, 100,
            1,000, 5,000); goal well under 5 ms, at most 1.5x the one-account cost
  requests  token requests per playbook run, 200 hosts, forks 1/10/50, cold and warm cache, task and
            lookup, against the seed's pattern (a fresh msal app per task); goal 1 cold, 0 warm
  graph     Graph: list every user of 10,000 and fetch 200 by id with graph_request against an
            ansible.builtin.uri loop, then with 10% of Graph requests throttled (429)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, ".work", "bench")
PLAYBOOKS = os.path.join(HERE, "playbooks")
PROBE = os.path.join(HERE, "probe.py")
FLOOR_COLLECTIONS = os.path.join(HERE, "collections")  # bench.noop, linked beside identity.entra
HOSTS = ["127.0.0.%d" % last for last in range(51, 60)]
SEED_USERS = 10000
HOST_COUNT = 200
ACCOUNT_COUNTS = (1, 100, 1000, 5000)

import requests  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from launch import pick_host, start_emulator, stop_emulator  # noqa: E402  pylint: disable=wrong-import-position


def log(message):
    print("==> %s" % message, file=sys.stderr, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return (a / b) if a is not None and b else None


def goal(text, reached, value=None):
    """A goal of the issue's table: what it says, whether this run reached it, the number it was judged on."""
    return {"goal": text, "reached": bool(reached), "value": value}


# --- the emulator --------------------------------------------------------------------------

class Emulator:
    def __init__(self, state_dir, seed_users=0):
        shutil.rmtree(state_dir, ignore_errors=True)
        extra = ["--seed-users", str(seed_users)] if seed_users else []
        try:
            self.process, self.ready = start_emulator(state_dir, host=pick_host(443, HOSTS, env=None), extra_args=extra, timeout=180)
        except RuntimeError as exc:
            raise SystemExit("the emulator did not start: %s" % exc) from None
        self.url = self.ready["url"]
        self.ca_path = self.ready["ca_path"]
        self.demo = self.ready["demo"]
        self.demo_app = self.ready["demo_app"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = self.ca_path

    def stop(self):
        stop_emulator(self.process)

    def admin(self, method, route, body=None):
        response = self.session.request(method, "%s/_emulator/%s" % (self.url, route), json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def reset(self):
        self.admin("POST", "reset", {})

    def endpoints(self):
        return dict(self.admin("GET", "counters").get("endpoints", {}))


def http_total(endpoints):
    """Requests that reached the emulator over HTTP (inner $batch requests are not HTTP requests)."""
    return sum(count for name, count in endpoints.items() if name != "graph_batch_item")


# --- running things -----------------------------------------------------------------------

def remove_bytecode(collections):
    """The __pycache__ directories of the collections a playbook loads (identity.entra is a link to this tree)."""
    for path in glob.glob(os.path.join(collections, "ansible_collections", "*", "*", "plugins", "**", "__pycache__"), recursive=True):
        shutil.rmtree(path, ignore_errors=True)


class Bench:
    def __init__(self, emulator, collections, repeat):
        self.emu = emulator
        self.collections = collections
        self.repeat = repeat
        self.logs = os.path.join(WORK, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.run_number = 0
        demo = emulator.demo
        self.options = {
            "tenant": demo["tenant"], "client_id": demo["client_id"], "username": demo["username"],
            "password": demo["password"], "authority_host": emulator.url, "validate_authority": False,
            "ca_path": emulator.ca_path, "timeout": 30,
        }
        app = emulator.demo_app
        self.app_options = {
            "tenant": app["tenant"], "client_id": app["client_id"], "client_secret": app["client_secret"],
            "authority_host": emulator.url, "validate_authority": False, "ca_path": emulator.ca_path, "timeout": 30,
        }
        self.inventory = os.path.join(WORK, "hosts.ini")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write("[all]\n")
            handle.writelines("h%03d ansible_connection=local\n" % n for n in range(1, HOST_COUNT + 1))
            handle.write("[all:vars]\nansible_python_interpreter=%s\n" % sys.executable)

    def vars_file(self, cache_path, extra=None):
        variables = {
            "entra_tenant": self.options["tenant"], "entra_client_id": self.options["client_id"],
            "entra_username": self.options["username"], "entra_password": self.options["password"],
            "entra_authority_host": self.emu.url, "entra_validate_authority": False,
            "entra_ca_path": self.emu.ca_path, "entra_cache_path": cache_path,
            "entra_graph_url": self.emu.ready["graph_url"],
            "entra_graph_host": self.emu.ready["graph_url"],
        }
        variables.update(extra or {})
        path = os.path.join(WORK, "vars.json")
        private_json(path, variables)
        return path

    def play(self, playbook, forks, vars_file, inventory=None, name=None, bytecode=True):
        """Run one playbook; return its wall time, status and what the emulator counted.

        ``bytecode``: Python's default, where the interpreter keeps the bytecode of what it
        compiles in __pycache__; False runs with PYTHONDONTWRITEBYTECODE=1 and no __pycache__
        in the collections (a read-only install, or a container that sets the variable).
        """
        self.run_number += 1
        base = os.path.splitext(os.path.basename(playbook))[0]
        name = name or "%03d-%s-f%d%s" % (self.run_number, base, forks, "" if bytecode else "-nobytecode")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "ENTRA_", "AZURE_", "PYTHONDONTWRITEBYTECODE"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_HOME": os.path.join(WORK, "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(WORK, "ansible-home", "tmp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PIPELINING": "1",  # the same for every side: fewer files per module run
            "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        })
        if not bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            remove_bytecode(self.collections)
            remove_bytecode(FLOOR_COLLECTIONS)
        self.emu.reset()
        path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS, playbook)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory or self.inventory,
               "-f", str(forks), "-e", "@" + vars_file, path]
        start, cpu_start = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        run = subprocess.run(cmd, env=env, cwd=PLAYBOOKS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - start
        cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)  # ansible-playbook and every worker it waited for
        cpu_seconds = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
        with open(os.path.join(self.logs, name + ".log"), "wb") as handle:
            handle.write(run.stdout)
        endpoints = self.emu.endpoints()
        output = run.stdout.decode(errors="replace")
        report = None
        match = re.search(r'"BENCH (\{.*?\})"', output)
        if match:
            report = json.loads(match.group(1).replace('\\"', '"'))
        return {"ok": run.returncode == 0, "seconds": seconds, "cpu_seconds": cpu_seconds, "token_requests": endpoints.get("token", 0),
                "http_requests": http_total(endpoints), "endpoints": endpoints, "report": report,
                "log": os.path.relpath(os.path.join(self.logs, name + ".log"), ROOT)}

    def probe(self, mode, spec):
        """Run bench/probe.py in a fresh interpreter; return its JSON plus the wall time seen from here."""
        spec = dict(spec, collections=self.collections)
        start = time.monotonic()
        run = subprocess.run([sys.executable, PROBE, mode], input=json.dumps(spec).encode(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
        wall = time.monotonic() - start
        if run.returncode:
            raise RuntimeError("probe %s failed: %s" % (mode, run.stderr.decode(errors="replace")[-2000:]))
        out = json.loads(run.stdout.decode().strip().splitlines()[-1])
        out["process_wall"] = wall
        return out

    def interleaved(self, sides, repeat, measure):
        """``measure(side)`` for every side, ``repeat`` rounds, each round in the other order; {side: [values]}."""
        values = {side: [] for side in sides}
        for number in range(repeat):
            for side in (sides if number % 2 == 0 else list(reversed(sides))):
                values[side].append(measure(side))
        return values


def private_json(path, document):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)


def fresh_dir(*parts):
    path = os.path.join(WORK, *parts)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


def account_file(b, options):
    """The account file identity.entra keeps a token in (the core's own layout)."""
    sys.path.insert(0, b.collections)
    from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory  # pylint: disable=import-outside-toplevel
    from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping  # pylint: disable=import-outside-toplevel

    request = from_mapping(options, {})
    return CacheDirectory(request.cache_path).account_reader(request.account_key).path


def check_runs(runs, what):
    failed = [run["log"] for run in runs if not run["ok"]]
    if failed:
        raise RuntimeError("%s failed; see %s" % (what, ", ".join(failed[:3])))
    requested = sum(run["token_requests"] for run in runs)
    if requested:
        raise RuntimeError("%s made %d token requests with a warm cache" % (what, requested))


# --- the comparisons ------------------------------------------------------------------------

def playbook_pairs(b, label, ours, floor, vars_file, forks_list, bytecode=True, repeat=None):
    """Interleaved runs of two playbooks at each fork count; one row per fork count.

    The two runs of a round follow each other, so they meet the same load from whatever else the
    machine runs: a row's ratio is the median of the rounds' ratios (wall time, what a user waits
    for); its CPU ratio, the same over the CPU time of the whole process tree (steadier on a busy
    machine, information only).
    """
    rows = []
    for forks in forks_list:
        for playbook in (floor, ours):  # warm-up: Python's bytecode, the page cache, the token cache
            check_runs([b.play(playbook, forks, vars_file, bytecode=bytecode)], playbook)
        runs = b.interleaved(["floor", "ours"], repeat or b.repeat,
                             lambda side, forks=forks: b.play(ours if side == "ours" else floor, forks, vars_file, bytecode=bytecode))
        check_runs(runs["floor"] + runs["ours"], label)
        pairs = list(zip(runs["ours"], runs["floor"]))
        row = {"forks": forks, "hosts": HOST_COUNT, "bytecode": bytecode,
               "ours_s": median(r["seconds"] for r in runs["ours"]), "floor_s": median(r["seconds"] for r in runs["floor"]),
               "ours_runs_s": [r["seconds"] for r in runs["ours"]], "floor_runs_s": [r["seconds"] for r in runs["floor"]],
               "ratio": median(ratio(o["seconds"], f["seconds"]) for o, f in pairs),
               "cpu_ratio": median(ratio(o["cpu_seconds"], f["cpu_seconds"]) for o, f in pairs),
               "ours_cpu_s": median(r["cpu_seconds"] for r in runs["ours"]), "floor_cpu_s": median(r["cpu_seconds"] for r in runs["floor"]),
               "token_requests": sum(r["token_requests"] for r in runs["ours"])}
        rows.append(row)
        log("%s, forks %d%s: %.2f s vs %.2f s, %.2fx (CPU %.2fx)" % (
            label, forks, "" if bytecode else ", no bytecode cache", row["ours_s"], row["floor_s"], row["ratio"], row["cpu_ratio"]))
    return rows


def bench_lookup(b):
    """The lookup in set_fact against bench.noop's lookup with the same arguments, 200 hosts."""
    cache = fresh_dir("lookup", "cache")
    vars_file = b.vars_file(cache)
    assert b.probe("ours-first", {"options": dict(b.options, cache_path=cache)})["source"] == "password"
    rows = playbook_pairs(b, "lookup vs no-op lookup", "lookup_token.yml", "lookup_noop.yml", vars_file, (10, 50))
    info = playbook_pairs(b, "lookup vs no-op lookup", "lookup_token.yml", "lookup_noop.yml", vars_file, (10,), bytecode=False,
                          repeat=max(3, b.repeat // 2))
    worst = max(row["ratio"] for row in rows)
    return {"rows": rows, "no_bytecode_rows": info,
            "goals": [goal("lookup <= 1.2x a no-op lookup of another collection, 200 hosts, forks 10 and 50", worst <= 1.2, worst)]}


CONSTANT_TASK = """---
# Written by bench/run.py: entra_token with constant arguments, as set_fact.yml sets a constant.
- name: A token for every host, as a task with constant arguments
  hosts: all
  gather_facts: false
  tasks:
    - name: Get the token
      identity.entra.entra_token:
%s
"""


def bench_task(b):
    """The entra_token task against a constant set_fact; informational: both templating the same eight variables."""
    cache = fresh_dir("task", "cache")
    vars_file = b.vars_file(cache)
    assert b.probe("ours-first", {"options": dict(b.options, cache_path=cache)})["source"] == "password"
    arguments = dict(b.options, cache_path=cache)
    arguments.pop("timeout")
    playbook = os.path.join(WORK, "token_task_constant.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(CONSTANT_TASK % "\n".join("        %s: %s" % (k, json.dumps(v)) for k, v in arguments.items()))
    os.chmod(playbook, 0o600)  # it holds the emulator's demo password
    rows = playbook_pairs(b, "entra_token task vs constant set_fact", playbook, "set_fact.yml", vars_file, (10, 50))
    info = playbook_pairs(b, "templated entra_token task vs templated set_fact", "token_task.yml", "set_fact_templated.yml",
                          vars_file, (10,), repeat=max(3, b.repeat // 2))
    worst = max(row["ratio"] for row in rows)
    return {"rows": rows, "templated_rows": info,
            "goals": [goal("entra_token task <= 1.2x a constant set_fact, 200 hosts, forks 10 and 50", worst <= 1.2, worst)]}


def cached_token_sides(b, options, label, calls=2000):
    """In-process repeated calls and the first call of fresh processes, ours against msal-extensions on a copy of our account file."""
    cache = fresh_dir(label, "cache")
    ours_options = dict(options, cache_path=cache)
    first = b.probe("ours-first", {"options": ours_options})
    assert first["source"] in ("password", "client_credentials"), first
    ext_cache = os.path.join(WORK, label, "msal_extensions_cache.json")
    shutil.copy(account_file(b, ours_options), ext_cache)  # the same cache content for both: one account's msal cache
    os.chmod(ext_cache, 0o600)
    specs = {"ours": {"options": ours_options, "calls": calls}, "msal-extensions": {"options": options, "cache": ext_cache, "calls": calls}}
    modes = {"ours": "ours", "msal-extensions": "msalext"}
    loops = b.interleaved(list(specs), b.repeat, lambda side: median(b.probe(modes[side] + "-loop", specs[side])["per_call"]))
    requests_seen = {side: [] for side in specs}

    def fresh(side):
        b.emu.reset()
        out = b.probe(modes[side] + "-first", specs[side])
        assert out["source"] == "cache", out
        requests_seen[side].append(http_total(b.emu.endpoints()))
        return out

    firsts = b.interleaved(list(specs), b.repeat * 3, fresh)
    result = {}
    for side in specs:
        result[side] = {"in_process_per_call_s": median(loops[side]), "in_process_runs_s": loops[side],
                        "fresh_process_first_token_s": median(o["seconds_since_start"] for o in firsts[side]),
                        "fresh_process_http_requests": max(requests_seen[side]),
                        "msal_imported": any(o["msal_imported"] for o in firsts[side])}
    # medians of the ratios of the paired rounds (each round runs both sides, one after the other)
    result["ratio_in_process"] = median(ratio(o, e) for o, e in zip(loops["ours"], loops["msal-extensions"]))
    result["ratio_fresh_process"] = median(ratio(o["seconds_since_start"], e["seconds_since_start"])
                                           for o, e in zip(firsts["ours"], firsts["msal-extensions"]))
    result["samples"] = {"calls_per_loop": calls, "loops": b.repeat, "fresh_processes": b.repeat * 3}
    log("%s: in process %.1f us vs msal-extensions %.1f us (%.2fx); fresh process %.0f ms vs %.0f ms; msal imported: %s" % (
        label, result["ours"]["in_process_per_call_s"] * 1e6, result["msal-extensions"]["in_process_per_call_s"] * 1e6,
        result["ratio_in_process"], result["ours"]["fresh_process_first_token_s"] * 1e3,
        result["msal-extensions"]["fresh_process_first_token_s"] * 1e3, result["ours"]["msal_imported"]))
    return result


def bench_repeat(b):
    """A cached user token: repeated in one process, and first in a fresh process, against msal-extensions."""
    result = cached_token_sides(b, b.options, "repeat")
    result["goals"] = [
        goal("repeated call in one process <= 1.0x msal-extensions", result["ratio_in_process"] <= 1.0, result["ratio_in_process"]),
        goal("first cached token of a fresh process <= 1.0x msal-extensions, no msal imported, no request",
             result["ratio_fresh_process"] <= 1.0 and not result["ours"]["msal_imported"]
             and result["ours"]["fresh_process_http_requests"] == 0, result["ratio_fresh_process"]),
    ]
    return result


def bench_app(b):
    """The same for a service principal's app-only token (demo_app, client secret)."""
    result = cached_token_sides(b, b.app_options, "app")
    result["goals"] = [
        goal("app-only token, repeated call in one process <= 1.0x msal-extensions", result["ratio_in_process"] <= 1.0,
             result["ratio_in_process"]),
        goal("first cached app-only token of a fresh process imports no msal, <= 1.0x msal-extensions",
             result["ratio_fresh_process"] <= 1.0 and not result["ours"]["msal_imported"]
             and result["ours"]["fresh_process_http_requests"] == 0, result["ratio_fresh_process"]),
    ]
    return result


def bench_cold(b):
    """The first sign-in of a fresh process, nothing on disk, against plain msal: time and HTTP requests."""
    base = fresh_dir("cold")
    counter = iter(range(1000000))
    requests_seen = {"ours": [], "plain msal": []}

    def sign_in(side):
        cache = os.path.join(base, "run%03d" % next(counter))
        b.emu.reset()
        out = b.probe("msal-cold" if side == "plain msal" else "ours-first", {"options": dict(b.options, cache_path=cache)})
        assert out["source"] == "password", out
        requests_seen[side].append(http_total(b.emu.endpoints()))
        return out

    runs = b.interleaved(["ours", "plain msal"], b.repeat * 2, sign_in)
    result = {}
    for side, outs in runs.items():
        result[side] = {"first_token_s": median(o["seconds_since_start"] for o in outs),
                        "call_s": median(o["call_seconds"] for o in outs),
                        "runs_s": [o["seconds_since_start"] for o in outs],
                        "http_requests": sorted(set(requests_seen[side]))}
    result["ratio"] = median(ratio(m["seconds_since_start"], o["seconds_since_start"]) for o, m in zip(runs["ours"], runs["plain msal"]))
    same_requests = result["ours"]["http_requests"] == result["plain msal"]["http_requests"] == [3]
    result["goals"] = [goal("first cold sign-in of a fresh process >= 1.0x plain msal (msal's time / ours), 3 requests each",
                            result["ratio"] >= 1.0 and same_requests, result["ratio"])]
    log("cold: ours %.0f ms, plain msal %.0f ms (%.2fx); requests %s / %s" % (
        result["ours"]["first_token_s"] * 1e3, result["plain msal"]["first_token_s"] * 1e3, result["ratio"],
        result["ours"]["http_requests"], result["plain msal"]["http_requests"]))
    return result


def fill_accounts(b, cache, template_options, count):
    """``count - 1`` more accounts in the cache, each its own msal file: the template account's, renamed."""
    sys.path.insert(0, b.collections)
    from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory  # pylint: disable=import-outside-toplevel
    from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping  # pylint: disable=import-outside-toplevel

    with open(account_file(b, template_options), encoding="utf-8") as handle:
        text = handle.read()
    username = template_options["username"]
    directory = CacheDirectory(cache)
    for number in range(1, count):
        other = "filler%05d@%s" % (number, username.split("@", 1)[1])
        path = directory.account_reader(from_mapping(dict(template_options, username=other), {}).account_key).path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text.replace(username, other))


def bench_accounts(b, children=40):
    """The first warm read of a process (a worker's) against the number of accounts in the cache."""
    options = {}
    for count in ACCOUNT_COUNTS:
        cache = fresh_dir("accounts", "n%d" % count, "cache")
        options[count] = dict(b.options, cache_path=cache)
        assert b.probe("ours-first", {"options": options[count]})["source"] == "password"
        fill_accounts(b, cache, options[count], count)
    reads = b.interleaved(list(ACCOUNT_COUNTS), b.repeat,
                          lambda count: median(b.probe("ours-forked", {"options": options[count], "children": children})["per_call"]))
    result = {"rows": [{"accounts": count, "first_read_s": median(reads[count]), "runs_s": reads[count],
                        "files": len(os.listdir(os.path.join(options[count]["cache_path"], "accounts")))} for count in ACCOUNT_COUNTS]}
    large = result["rows"][-1]["first_read_s"]
    result["ratio"] = median(ratio(big, one) for big, one in zip(reads[ACCOUNT_COUNTS[-1]], reads[ACCOUNT_COUNTS[0]]))
    result["goals"] = [goal("first warm read of a process with 5,000 accounts well under 5 ms and <= 1.5x one account's",
                            large < 0.005 and result["ratio"] <= 1.5, result["ratio"])]
    log("accounts: %s" % ", ".join("%d: %.2f ms" % (row["accounts"], row["first_read_s"] * 1e3) for row in result["rows"]))
    return result


def bench_requests(b):
    """Token requests per playbook run, task and lookup against the seed's pattern (a fresh msal app per task)."""
    rows = []
    for label, playbook in (("entra_token task", "token_task.yml"), ("entra_token lookup in a host var", "token_lookup.yml"),
                            ("seed pattern (baseline)", "seed_task.yml")):
        for forks in (1, 10, 50):
            cache = fresh_dir("requests", "%s-f%d" % (playbook.split(".", maxsplit=1)[0], forks), "cache")
            vars_file = b.vars_file(cache)
            cold = b.play(playbook, forks, vars_file)
            # the baseline keeps nothing between tasks: its warm run would be its cold run again
            warm = dict(cold, not_rerun=True) if playbook == "seed_task.yml" else b.play(playbook, forks, vars_file)
            rows.append({"side": label, "forks": forks, "cold": cold, "warm": warm})
            log("requests: %s forks %d: cold %d token requests (%.1fs), warm %s" % (
                label, forks, cold["token_requests"], cold["seconds"],
                "= cold (not re-run)" if warm.get("not_rerun") else "%d (%.1fs)" % (warm["token_requests"], warm["seconds"])))
    ours = [r for r in rows if r["side"] != "seed pattern (baseline)"]
    reached = all(r["cold"]["ok"] and r["warm"]["ok"] and r["cold"]["token_requests"] == 1 and r["warm"]["token_requests"] == 0
                  for r in ours)
    return {"rows": rows, "goals": [goal("1 token request cold, 0 warm, at every fork count, task and lookup", reached)]}


def _user_ids(b, cache_path, count=200):
    sys.path.insert(0, b.collections)
    from ansible_collections.identity.entra.plugins.plugin_utils import _acquire, _options  # pylint: disable=import-outside-toplevel

    token = _acquire.get_token(_options.from_mapping(dict(b.options, cache_path=cache_path), {}))["access_token"]
    response = b.emu.session.get("%s/v1.0/users" % b.emu.ready["graph_url"], params={"$select": "id", "$top": 999},
                                 headers={"Authorization": "Bearer " + token}, timeout=60)
    response.raise_for_status()
    ids = [user["id"] for user in response.json()["value"]]
    return ids[-count:]  # seeded users


def bench_graph(b):
    """Graph: list all users and fetch 200 by id, graph_request vs a naive uri loop, then 10% throttled."""
    cache_path = fresh_dir("graph", "cache")
    ids = _user_ids(b, cache_path)
    user_requests = [{"path": "users/%s" % user_id, "query": {"$select": "id,userPrincipalName"}} for user_id in ids]
    vars_file = b.vars_file(cache_path, {"bench_user_ids": ids, "bench_user_requests": user_requests})
    inventory = os.path.join(WORK, "localhost.ini")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    rows = []
    for throttled in (False, True):
        for side, playbook in (("graph_request", "graph_module.yml"), ("uri loop (baseline)", "graph_uri.yml")):
            faults = []
            if throttled:
                faults = [{"endpoint": endpoint, "kind": "status", "status": 429, "retry_after": 1, "probability": 0.1}
                          for endpoint in ("graph", "graph_batch_item")]
            b.emu.admin("POST", "reset", {"faults": True})
            if faults:
                b.emu.admin("POST", "faults", faults)
            run = b.play(playbook, 1, vars_file, inventory=inventory, name="graph-%s-%s" % (
                playbook.split(".", maxsplit=1)[0], "throttled" if throttled else "clean"))
            b.emu.admin("POST", "reset", {"faults": True})
            report = run["report"] or {}
            rows.append({"side": side, "throttled": throttled, "ok": run["ok"], "seconds": run["seconds"],
                         "graph_http_requests": run["endpoints"].get("graph", 0),
                         "listed": report.get("listed"), "fetched": report.get("fetched"),
                         "report": report, "log": run["log"]})
            log("graph: %s%s: %s, %d Graph HTTP requests, %.1fs" % (side, " (10% throttled)" if throttled else "",
                                                                    "ok" if run["ok"] else "FAILED",
                                                                    run["endpoints"].get("graph", 0), run["seconds"]))
    listed = {r["listed"] for r in rows}
    module_rows = [r for r in rows if r["side"] == "graph_request"]
    uri_rows = [r for r in rows if r["side"] != "graph_request"]
    reached = bool(all(r["ok"] and r["fetched"] == len(ids) for r in module_rows) and len(listed) == 1
                   and all(m["graph_http_requests"] < u["graph_http_requests"] and m["seconds"] < u["seconds"]
                           for m, u in zip(module_rows, uri_rows)))
    return {"rows": rows, "users_total": max((r["listed"] or 0) for r in rows), "by_id": len(ids),
            "goals": [goal("every user and all 200 by id, in fewer requests and less time than the uri loop, also throttled", reached)]}


# --- output ---------------------------------------------------------------------------------

def fmt_s(value):
    return "-" if value is None else ("%.2f s" % value if value >= 1 else "%.1f ms" % (value * 1e3) if value >= 1e-3
                                      else "%.1f us" % (value * 1e6))


def fmt_x(value):
    return "-" if value is None else "%.2fx" % value


def table(results):
    """The issue's table, one line per comparison: what, ours, the other side, ratio (and CPU ratio); then the goals."""
    lines = []

    def add(what, ours="", other="", value="", cpu=""):
        lines.append("%-74s %10s %10s %7s %7s" % (what, ours, other, value, cpu))

    add("comparison (medians of interleaved repetitions)", "ours", "other", "ratio", "CPU")
    if "rows" in results.get("lookup", {}):
        for row in results["lookup"]["rows"] + results["lookup"]["no_bytecode_rows"]:
            add("lookup in set_fact, %d hosts, forks %d%s, vs a no-op lookup" % (
                row["hosts"], row["forks"], "" if row["bytecode"] else ", no bytecode cache (info)"),
                fmt_s(row["ours_s"]), fmt_s(row["floor_s"]), fmt_x(row["ratio"]), fmt_x(row["cpu_ratio"]))
    if "rows" in results.get("task", {}):
        for row in results["task"]["rows"]:
            add("entra_token task, %d hosts, forks %d, vs a constant set_fact" % (row["hosts"], row["forks"]),
                fmt_s(row["ours_s"]), fmt_s(row["floor_s"]), fmt_x(row["ratio"]), fmt_x(row["cpu_ratio"]))
        for row in results["task"]["templated_rows"]:
            add("templated task, forks %d, vs a set_fact of the same 8 templated vars (info)" % row["forks"],
                fmt_s(row["ours_s"]), fmt_s(row["floor_s"]), fmt_x(row["ratio"]), fmt_x(row["cpu_ratio"]))
    for key, what in (("repeat", "user token"), ("app", "app-only token")):
        if "ours" in results.get(key, {}):
            r = results[key]
            add("%s: repeated call in one process vs msal-extensions" % what, fmt_s(r["ours"]["in_process_per_call_s"]),
                fmt_s(r["msal-extensions"]["in_process_per_call_s"]), fmt_x(r["ratio_in_process"]))
            add("%s: first call of a fresh process vs msal-extensions%s" % (what, "" if r["ours"]["msal_imported"] else " (no msal)"),
                fmt_s(r["ours"]["fresh_process_first_token_s"]), fmt_s(r["msal-extensions"]["fresh_process_first_token_s"]),
                fmt_x(r["ratio_fresh_process"]))
    if "ours" in results.get("cold", {}):
        r = results["cold"]
        add("first cold sign-in of a fresh process (%s / %s requests) vs plain msal" % (
            "/".join(map(str, r["ours"]["http_requests"])), "/".join(map(str, r["plain msal"]["http_requests"]))),
            fmt_s(r["ours"]["first_token_s"]), fmt_s(r["plain msal"]["first_token_s"]), fmt_x(r["ratio"]) + "*")
    if "rows" in results.get("accounts", {}):
        rows = results["accounts"]["rows"]
        for row in rows:
            add("first warm read of a process, %d account%s, vs 1 account" % (row["accounts"], "" if row["accounts"] == 1 else "s"),
                fmt_s(row["first_read_s"]), fmt_s(rows[0]["first_read_s"]), fmt_x(ratio(row["first_read_s"], rows[0]["first_read_s"])))
    if "rows" in results.get("requests", {}):
        for row in results["requests"]["rows"]:
            warm = row["warm"]
            add("token requests, %s, forks %d: cold / warm" % (row["side"], row["forks"]),
                "%d / %s" % (row["cold"]["token_requests"], "=" if warm.get("not_rerun") else warm["token_requests"]))
    if "rows" in results.get("graph", {}):
        graph = results["graph"]
        for module_row, uri_row in zip(graph["rows"][0::2], graph["rows"][1::2]):
            add("Graph: %s users + %s by id%s: requests, graph_request vs uri loop" % (
                graph["users_total"], graph["by_id"], ", 10% throttled" if module_row["throttled"] else ""),
                module_row["graph_http_requests"], uri_row["graph_http_requests"],
                fmt_x(ratio(module_row["graph_http_requests"], uri_row["graph_http_requests"])))
            add("   time", fmt_s(module_row["seconds"]), fmt_s(uri_row["seconds"]), fmt_x(ratio(module_row["seconds"], uri_row["seconds"])))
    lines.append("(ratio: ours / the other side, median of the paired rounds; * the other side / ours; CPU: the same for the "
                 "CPU time of the whole process tree)")
    lines.append("")
    for name, result in results.items():
        if "error" in result:
            lines.append("ERROR %s: %s" % (name, result["error"]))
        for item in result.get("goals", []):
            lines.append("%-8s %s%s" % ("REACHED" if item["reached"] else "MISSED", item["goal"],
                                        "" if item["value"] is None else " (%s)" % fmt_x(item["value"])))
    return "\n".join(lines)


SECTIONS = {"lookup": bench_lookup, "task": bench_task, "repeat": bench_repeat, "cold": bench_cold, "app": bench_app,
            "accounts": bench_accounts, "requests": bench_requests, "graph": bench_graph}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run (default: all): %s" % ", ".join(SECTIONS))
    parser.add_argument("--repeat", type=int, default=7, help="interleaved repetitions for medians (default 7)")
    parser.add_argument("--collections", default=os.environ.get("ENTRA_BENCH_COLLECTIONS"),
                        help="directory holding ansible_collections/identity/entra (default: a link made under .work/bench)")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error("unknown section(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SECTIONS)))
    os.makedirs(WORK, exist_ok=True)
    collections = args.collections
    if not collections:
        collections = os.path.join(WORK, "collections")
        link = os.path.join(collections, "ansible_collections", "identity", "entra")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.islink(link):
            os.symlink(ROOT, link)
    floor = os.path.join(collections, "ansible_collections", "bench")  # the floor sits beside identity.entra
    if not os.path.islink(floor):
        os.symlink(os.path.join(FLOOR_COLLECTIONS, "ansible_collections", "bench"), floor)
    started = time.monotonic()
    seed = SEED_USERS if "graph" in wanted else 0
    log("starting the emulator%s" % (" with %d seeded users" % seed if seed else ""))
    emulator = Emulator(os.path.join(WORK, "emulator"), seed_users=seed)
    results = {}
    try:
        bench = Bench(emulator, os.path.abspath(collections), args.repeat)
        for name in wanted:
            section_start = time.monotonic()
            try:
                results[name] = SECTIONS[name](bench)
            except Exception as exc:  # pylint: disable=broad-except  # one failed comparison must not hide the others
                results[name] = {"error": "%s: %s" % (exc.__class__.__name__, exc)}
            results[name]["section_seconds"] = time.monotonic() - section_start
    finally:
        emulator.stop()
    total = time.monotonic() - started
    document = {"results": results, "total_seconds": total, "python": sys.version.split()[0],
                "cpus": os.cpu_count(), "load_average": os.getloadavg(), "hosts": HOST_COUNT, "repeat": args.repeat,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = os.path.join(WORK, "results.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, default=str)
    print(table(results))
    print("total %.0f s; results in %s" % (total, os.path.relpath(out, ROOT)))
    missed = [item["goal"] for result in results.values() for item in result.get("goals", []) if not item["reached"]]
    errors = [name for name, result in results.items() if "error" in result]
    for text in missed:
        print("MISSED: %s" % text)
    for name in errors:
        print("MISSED: section %s did not complete (%s)" % (name, results[name]["error"]))
    return 1 if missed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
