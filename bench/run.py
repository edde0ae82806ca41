"""identity.entra benchmarks: five comparisons against the emulator, each side by side in one run.

    make bench                      (nox -s bench: builds its virtualenv, then runs this)
    python bench/run.py [--only 1,3] [--repeat N]

Prints a table and writes .work/bench/results.json. The machines this runs on are
noisy: every time is a median of interleaved repetitions and comparisons are
ratios; request counts come from the emulator's own counters.

1. token requests per playbook run: entra_token as a task and as a lookup in a host
   variable, 200 hosts, forks 1/10/50, cold and warm cache, against the seed's pattern
   (playbooks/action_plugins/seed_token.py: a fresh msal app with an in-memory cache per task);
2. cost of a cached token, in-process and first call in a fresh process, against
   msal-extensions' PersistedTokenCache + acquire_token_silent on the same cache content;
3. task overhead: entra_token over 200 hosts with a warm cache against set_fact of a constant;
4. cold acquisition in a fresh process: HTTP requests and time against plain msal;
5. Graph: list every user of 10,000 and fetch 200 by id with graph_request against a
   naive ansible.builtin.uri loop, then with 10% of Graph requests throttled (429).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
HOSTS = ["127.0.0.%d" % last for last in range(51, 60)]
SEED_USERS = 10000
HOST_COUNT = 200

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


# --- the emulator --------------------------------------------------------------------------

class Emulator:
    def __init__(self, state_dir):
        shutil.rmtree(state_dir, ignore_errors=True)
        try:
            self.process, self.ready = start_emulator(state_dir, host=pick_host(443, HOSTS, env=None),
                                                      extra_args=["--seed-users", str(SEED_USERS)], timeout=120)
        except RuntimeError as exc:
            raise SystemExit("the emulator did not start: %s" % exc) from None
        self.url = self.ready["url"]
        self.ca_path = self.ready["ca_path"]
        self.demo = self.ready["demo"]
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
        self.admin("POST", "reset", {"faults": True})

    def endpoints(self):
        return dict(self.admin("GET", "counters").get("endpoints", {}))


def http_total(endpoints):
    """Requests that reached the emulator over HTTP (inner $batch requests are not HTTP requests)."""
    return sum(count for name, count in endpoints.items() if name != "graph_batch_item")


# --- running things -----------------------------------------------------------------------

class Bench:
    def __init__(self, emulator, collections, repeat, full=False):
        self.emu = emulator
        self.collections = collections
        self.repeat = repeat
        self.full = full
        self.logs = os.path.join(WORK, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.run_number = 0
        demo = emulator.demo
        self.options = {
            "tenant": demo["tenant"], "client_id": demo["client_id"], "username": demo["username"],
            "password": demo["password"], "authority_host": emulator.url, "validate_authority": False,
            "ca_path": emulator.ca_path, "timeout": 30,
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
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        return path

    def play(self, playbook, forks, vars_file, inventory=None, name=None):
        """Run one playbook; return its wall time, status and what the emulator counted."""
        self.run_number += 1
        name = name or "%02d-%s-f%d" % (self.run_number, os.path.splitext(playbook)[0], forks)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "ENTRA_", "AZURE_"))}
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
        self.emu.admin("POST", "reset", {})
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory or self.inventory,
               "-f", str(forks), "-e", "@" + vars_file, os.path.join(PLAYBOOKS, playbook)]
        start = time.monotonic()
        run = subprocess.run(cmd, env=env, cwd=PLAYBOOKS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=False)
        seconds = time.monotonic() - start
        with open(os.path.join(self.logs, name + ".log"), "wb") as handle:
            handle.write(run.stdout)
        endpoints = self.emu.endpoints()
        output = run.stdout.decode(errors="replace")
        report = None
        match = re.search(r'"BENCH (\{.*?\})"', output)
        if match:
            report = json.loads(match.group(1).replace('\\"', '"'))
        return {"ok": run.returncode == 0, "seconds": seconds, "token_requests": endpoints.get("token", 0),
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


def fresh_dir(*parts):
    path = os.path.join(WORK, *parts)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


# --- the five comparisons -----------------------------------------------------------------

def bench_token_requests(b):
    """(1) token requests per playbook run."""
    rows = []
    for label, playbook in (("entra_token task", "token_task.yml"), ("entra_token lookup in a host var", "token_lookup.yml"),
                            ("seed pattern (baseline)", "seed_task.yml")):
        for forks in (1, 10, 50):
            cache_dir = fresh_dir("s1", "%s-f%d" % (playbook.split(".", maxsplit=1)[0], forks))
            vars_file = b.vars_file(os.path.join(cache_dir, "token_cache.json"))
            cold = b.play(playbook, forks, vars_file)
            if playbook == "seed_task.yml" and not b.full:
                # nothing survives a task (in-memory cache): a second run is the same run again
                warm = dict(cold, not_rerun=True)
            else:
                warm = b.play(playbook, forks, vars_file)
            rows.append({"side": label, "forks": forks, "cold": cold, "warm": warm})
            log("(1) %s forks %d: cold %d token requests (%.1fs), warm %s" % (
                label, forks, cold["token_requests"], cold["seconds"],
                "= cold (not re-run)" if warm.get("not_rerun") else "%d (%.1fs)" % (warm["token_requests"], warm["seconds"])))
    ours = [r for r in rows if r["side"] != "seed pattern (baseline)"]
    goal = all(r["cold"]["ok"] and r["warm"]["ok"] and r["cold"]["token_requests"] == 1 and r["warm"]["token_requests"] == 0
               for r in ours)
    return {"rows": rows, "goal": "1 cold, 0 warm, at every fork count", "reached": goal}


def bench_cached_token(b, calls=2000):
    """(2) cost of a cached token: in-process per call, and the first call of a fresh process."""
    cache_dir = fresh_dir("s2")
    ours_cache = os.path.join(cache_dir, "token_cache.json")
    spec = {"options": dict(b.options, cache_path=ours_cache), "calls": calls}
    first = b.probe("ours-first", spec)
    assert first["source"] == "password", first
    ext_cache = os.path.join(cache_dir, "msal_extensions_cache.json")
    shutil.copy(ours_cache, ext_cache)  # the same cache content for both
    os.chmod(ext_cache, 0o600)
    ext_spec = dict(spec, cache=ext_cache)

    loops = {"ours": [], "msal-extensions": []}
    fresh = {"ours": [], "msal-extensions": []}
    requests_first = {"ours": [], "msal-extensions": []}
    for _round in range(b.repeat):
        loops["ours"].append(median(b.probe("ours-loop", spec)["per_call"]))
        loops["msal-extensions"].append(median(b.probe("msalext-loop", ext_spec)["per_call"]))
    for _round in range(b.repeat * 3):
        for side, mode, side_spec in (("ours", "ours-first", spec), ("msal-extensions", "msalext-first", ext_spec)):
            b.emu.admin("POST", "reset", {})
            out = b.probe(mode, side_spec)
            assert out["source"] == "cache", out
            fresh[side].append(out)
            requests_first[side].append(http_total(b.emu.endpoints()))
    result = {}
    for side in ("ours", "msal-extensions"):
        result[side] = {
            "in_process_per_call_s": median(loops[side]),
            "fresh_process_first_token_s": median(o["seconds_since_start"] for o in fresh[side]),
            "fresh_process_wall_s": median(o["process_wall"] for o in fresh[side]),
            "fresh_process_http_requests": median(requests_first[side]),
            "msal_imported": any(o.get("msal_imported") for o in fresh[side]) if side == "ours" else True,
        }
    result["ratio_in_process"] = ratio(result["msal-extensions"]["in_process_per_call_s"], result["ours"]["in_process_per_call_s"])
    result["ratio_fresh_process"] = ratio(result["msal-extensions"]["fresh_process_first_token_s"],
                                          result["ours"]["fresh_process_first_token_s"])
    result["samples"] = {"in_process_calls": calls, "loop_runs": b.repeat, "fresh_processes": b.repeat * 3}
    result["goal"] = "cheaper than msal-extensions per cached call and in a fresh process, without importing msal"
    result["reached"] = bool(result["ratio_in_process"] and result["ratio_in_process"] > 1
                             and result["ratio_fresh_process"] and result["ratio_fresh_process"] > 1
                             and not result["ours"]["msal_imported"])
    log("(2) cached token: ours %.3f ms/call, msal-extensions %.3f ms/call; fresh process ours %.0f ms, msal-extensions %.0f ms"
        % (result["ours"]["in_process_per_call_s"] * 1e3, result["msal-extensions"]["in_process_per_call_s"] * 1e3,
           result["ours"]["fresh_process_first_token_s"] * 1e3, result["msal-extensions"]["fresh_process_first_token_s"] * 1e3))
    return result


def bench_task_overhead(b, forks=10):
    """(3) entra_token (warm) vs set_fact of a constant, 200 hosts."""
    cache_dir = fresh_dir("s3")
    vars_file = b.vars_file(os.path.join(cache_dir, "token_cache.json"))
    warmup = b.play("token_task.yml", forks, vars_file)
    assert warmup["ok"], warmup
    sides = {"set_fact (floor)": "set_fact.yml", "entra_token task": "token_task.yml",
             "builtin env lookup in a host var": "env_lookup.yml",
             "entra_token lookup in a host var": "token_lookup.yml"}
    times = {side: [] for side in sides}
    tokens = {side: 0 for side in sides}
    ok = True
    for _round in range(b.repeat):
        for side, playbook in sides.items():
            run = b.play(playbook, forks, vars_file)
            ok = ok and run["ok"]
            times[side].append(run["seconds"])
            tokens[side] += run["token_requests"]
    floor = median(times["set_fact (floor)"])
    result = {"forks": forks, "hosts": HOST_COUNT, "runs": b.repeat, "ok": ok, "sides": {}}
    for side in sides:
        result["sides"][side] = {"median_s": median(times[side]), "runs_s": times[side],
                                 "ratio_to_set_fact": ratio(median(times[side]), floor), "token_requests": tokens[side]}
    task_ratio = result["sides"]["entra_token task"]["ratio_to_set_fact"]
    result["lookup_ratio_to_env_lookup"] = ratio(result["sides"]["entra_token lookup in a host var"]["median_s"],
                                                 result["sides"]["builtin env lookup in a host var"]["median_s"])
    result["goal"] = "close to set_fact (the issue measured 4.5x for a lookup that merely imports msal)"
    result["reached"] = bool(ok and task_ratio is not None and task_ratio < 1.5)
    log("(3) task overhead: %s" % ", ".join("%s %.2fs" % (s, v["median_s"]) for s, v in result["sides"].items()))
    return result


def bench_cold(b):
    """(4) cold acquisition in a fresh controller process: HTTP requests and time vs plain msal."""
    sides = {"ours, nothing on disk": [], "ours, later process (discovery kept)": [], "plain msal": []}
    requests_seen = {side: [] for side in sides}
    base = fresh_dir("s4")
    for number in range(b.repeat * 2):
        cache_dir = os.path.join(base, "run%02d" % number)
        os.makedirs(cache_dir, mode=0o700)
        cache_path = os.path.join(cache_dir, "token_cache.json")
        spec = {"options": dict(b.options, cache_path=cache_path)}
        for side in sides:
            if side == "ours, later process (discovery kept)":
                os.unlink(cache_path)  # the tokens are gone (expired, or another user), the discovery stays
            b.emu.admin("POST", "reset", {})
            out = b.probe("msal-cold" if side == "plain msal" else "ours-first", spec)
            sides[side].append(out)
            requests_seen[side].append(http_total(b.emu.endpoints()))
    result = {}
    for side, outs in sides.items():
        result[side] = {"http_requests": median(requests_seen[side]),
                        "first_token_s": median(o["seconds_since_start"] for o in outs),
                        "call_s": median(o["call_seconds"] for o in outs),
                        "process_wall_s": median(o["process_wall"] for o in outs)}
    msal_req = result["plain msal"]["http_requests"]
    result["goal"] = "fewer HTTP requests than plain msal for a later process (OpenID configuration and user realm persisted)"
    result["reached"] = bool(result["ours, later process (discovery kept)"]["http_requests"] < msal_req
                             and result["ours, nothing on disk"]["http_requests"] <= msal_req)
    result["ratio_time_later_vs_msal"] = ratio(result["plain msal"]["first_token_s"],
                                               result["ours, later process (discovery kept)"]["first_token_s"])
    log("(4) cold: %s" % ", ".join("%s %s requests %.0f ms" % (s, v["http_requests"], v["first_token_s"] * 1e3)
                                   for s, v in result.items() if isinstance(v, dict)))
    return result


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
    """(5) Graph: list all users and fetch 200 by id, graph_request vs a naive uri loop, then 10% throttled."""
    if not os.path.exists(os.path.join(ROOT, "plugins", "modules", "graph_request.py")):
        return {"pending": "identity.entra.graph_request is not in the collection yet"}
    cache_dir = fresh_dir("s5")
    cache_path = os.path.join(cache_dir, "token_cache.json")
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
            log("(5) %s%s: %s, %d Graph HTTP requests, %.1fs" % (side, " (10% throttled)" if throttled else "",
                                                                 "ok" if run["ok"] else "FAILED",
                                                                 run["endpoints"].get("graph", 0), run["seconds"]))
    listed = {r["listed"] for r in rows}
    result = {"rows": rows, "users_total": max((r["listed"] or 0) for r in rows), "by_id": len(ids)}
    result["goal"] = "every user and all 200 by id, in far fewer requests and less time than the uri loop, also throttled"
    module_rows = [r for r in rows if r["side"] == "graph_request"]
    uri_rows = [r for r in rows if r["side"] != "graph_request"]
    result["reached"] = bool(all(r["ok"] and r["fetched"] == len(ids) for r in module_rows) and len(listed) == 1
                             and all(m["graph_http_requests"] < u["graph_http_requests"] and m["seconds"] < u["seconds"]
                                     for m, u in zip(module_rows, uri_rows)))
    return result


# --- output ---------------------------------------------------------------------------------

def fmt_s(value):
    return "-" if value is None else ("%.2f s" % value if value >= 1 else "%.1f ms" % (value * 1e3) if value >= 1e-3
                                      else "%.1f us" % (value * 1e6))


def fmt_x(value):
    return "-" if value is None else "%.1fx" % value


def table(results):
    lines = []
    add = lines.append
    if "1" in results:
        r = results["1"]
        add("(1) Token requests per playbook run, %d hosts (wall time in brackets)" % HOST_COUNT)
        if "error" in r:
            add("    ERROR: %s" % r["error"])
        else:
            add("    %-34s %5s %22s %22s" % ("side", "forks", "cold", "warm"))
            for row in r["rows"]:
                cells = []
                for phase in ("cold", "warm"):
                    run = row[phase]
                    if run.get("not_rerun"):
                        cells.append("%4d (= cold run)" % run["token_requests"])
                        continue
                    cells.append("%4d (%s)%s" % (run["token_requests"], fmt_s(run["seconds"]), "" if run["ok"] else " FAILED"))
                add("    %-34s %5d %22s %22s" % (row["side"], row["forks"], cells[0], cells[1]))
            if any(row["warm"].get("not_rerun") for row in r["rows"]):
                add("    (the baseline keeps nothing between tasks, so its warm run is its cold run; --full runs it again)")
            add("    goal: %s -> %s" % (r["goal"], "REACHED" if r["reached"] else "MISSED"))
    if "2" in results:
        r = results["2"]
        add("(2) Cost of a cached token (medians)")
        if "error" in r:
            add("    ERROR: %s" % r["error"])
        else:
            add("    %-18s %16s %22s %14s" % ("side", "per call (loop)", "fresh process, 1st", "HTTP requests"))
            for side in ("ours", "msal-extensions"):
                v = r[side]
                add("    %-18s %16s %22s %14s" % (side, fmt_s(v["in_process_per_call_s"]), fmt_s(v["fresh_process_first_token_s"]),
                                                  v["fresh_process_http_requests"]))
            add("    ratio msal-extensions/ours: %s per call, %s first call in a fresh process; msal imported by ours: %s"
                % (fmt_x(r["ratio_in_process"]), fmt_x(r["ratio_fresh_process"]), r["ours"]["msal_imported"]))
            add("    goal: %s -> %s" % (r["goal"], "REACHED" if r["reached"] else "MISSED"))
    if "3" in results:
        r = results["3"]
        add("(3) Task overhead, %d hosts, forks %d, warm cache (median of %d)" % (HOST_COUNT, r.get("forks", 0), r.get("runs", 0)))
        if "error" in r:
            add("    ERROR: %s" % r["error"])
        else:
            for side, v in r["sides"].items():
                add("    %-34s %10s  %s of set_fact  (%d token requests)"
                    % (side, fmt_s(v["median_s"]), fmt_x(v["ratio_to_set_fact"]), v["token_requests"]))
            add("    entra_token lookup / builtin env lookup (the floor for any lookup in a host var): %s"
                % fmt_x(r["lookup_ratio_to_env_lookup"]))
            add("    goal: %s -> %s" % (r["goal"], "REACHED" if r["reached"] else "MISSED"))
    if "4" in results:
        r = results["4"]
        add("(4) Cold acquisition in a fresh controller process (medians)")
        if "error" in r:
            add("    ERROR: %s" % r["error"])
        else:
            add("    %-38s %14s %18s %16s" % ("side", "HTTP requests", "process to token", "sign-in call"))
            for side, v in r.items():
                if isinstance(v, dict):
                    add("    %-38s %14s %18s %16s" % (side, v["http_requests"], fmt_s(v["first_token_s"]), fmt_s(v["call_s"])))
            add("    plain msal / ours-later time: %s" % fmt_x(r["ratio_time_later_vs_msal"]))
            add("    goal: %s -> %s" % (r["goal"], "REACHED" if r["reached"] else "MISSED"))
    if "5" in results:
        r = results["5"]
        add("(5) Graph: list every user (%s) and fetch %s by id" % (r.get("users_total", "?"), r.get("by_id", "?")))
        if "pending" in r:
            add("    PENDING: %s" % r["pending"])
        elif "error" in r:
            add("    ERROR: %s" % r["error"])
        else:
            add("    %-22s %-10s %14s %10s %8s %8s" % ("side", "throttled", "Graph requests", "time", "listed", "by id"))
            for row in r["rows"]:
                add("    %-22s %-10s %14d %10s %8s %8s%s"
                    % (row["side"], "10%" if row["throttled"] else "no", row["graph_http_requests"], fmt_s(row["seconds"]),
                       row["listed"], row["fetched"], "" if row["ok"] else "  FAILED"))
            pairs = list(zip(r["rows"][0::2], r["rows"][1::2]))
            for m, u in pairs:
                add("    %s: uri/graph_request = %s requests, %s time" % (
                    "10% throttled" if m["throttled"] else "clean", fmt_x(ratio(u["graph_http_requests"], m["graph_http_requests"])),
                    fmt_x(ratio(u["seconds"], m["seconds"]))))
            add("    goal: %s -> %s" % (r["goal"], "REACHED" if r["reached"] else "MISSED"))
    return "\n".join(lines)


SECTIONS = {"1": bench_token_requests, "2": bench_cached_token, "3": bench_task_overhead, "4": bench_cold, "5": bench_graph}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--only", default="1,2,3,4,5", help="comparisons to run, e.g. 1,3")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions for medians (default 3)")
    parser.add_argument("--full", action="store_true", help="also re-run the baseline of (1) warm (adds about 90 s)")
    parser.add_argument("--collections", default=os.environ.get("ENTRA_BENCH_COLLECTIONS"),
                        help="directory holding ansible_collections/identity/entra (default: a link made under .work/bench)")
    args = parser.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    collections = args.collections
    if not collections:
        collections = os.path.join(WORK, "collections")
        link = os.path.join(collections, "ansible_collections", "identity", "entra")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.islink(link):
            os.symlink(ROOT, link)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    started = time.monotonic()
    log("starting the emulator with %d seeded users" % SEED_USERS)
    emulator = Emulator(os.path.join(WORK, "emulator"))
    results = {}
    try:
        bench = Bench(emulator, os.path.abspath(collections), args.repeat, args.full)
        for number in wanted:
            section_start = time.monotonic()
            try:
                results[number] = SECTIONS[number](bench)
            except Exception as exc:  # pylint: disable=broad-except  # one failed comparison must not hide the others
                results[number] = {"error": "%s: %s" % (exc.__class__.__name__, exc)}
            results[number]["section_seconds"] = time.monotonic() - section_start
    finally:
        emulator.stop()
    total = time.monotonic() - started
    document = {"results": results, "total_seconds": total, "python": sys.version.split()[0],
                "cpus": os.cpu_count(), "hosts": HOST_COUNT, "seed_users": SEED_USERS, "repeat": args.repeat,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = os.path.join(WORK, "results.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, default=str)
    print(table(results))
    print("total %.0f s; results in %s" % (total, os.path.relpath(out, ROOT)))
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
