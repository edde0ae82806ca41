"""Hostile, issue 9 break 5: any cache content - a generated fuzz test over a real cache directory.

Before 0.2.0, valid JSON of the wrong shape broke every later run: ``home_account_id`` as a
list gave a raw ``unhashable type: 'list'`` with no ``error`` dict, ``expires_on: null`` kind
``unknown``, an Account without ``authority_type`` ``invalid_response`` (retryable, "check
proxies") and then ``unknown`` on the next run.

A real cache directory is made by real sign-ins (three users, a service principal when the
emulator has one, and failure records of a refused password and secret). Each case copies
it, mutates one file of the target identity (its account file mostly; sometimes its failure
record or a discovery document) with random structural damage (types, nulls, missing keys,
huge values, lists for strings, deleted sections, non-object entries, raw byte damage), then
acquires the target's token twice, each time in a new process. Every outcome must be a token
or a classified error (never a raw exception, a hang or a result without ``error``), both runs
must end the same way, and the other accounts' files must be left byte for byte as they were.

The seed is printed; rerun one with ENTRA_RELIABILITY_SEED=<seed> (ENTRA_FUZZ_CASES sets the count).
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil

import pytest

from _ansible import inventory, module_kind, module_task, play, run_playbook
from _layout import account_path, age_access_tokens, failure_path, request_of, write_private
from _procs import acquire, run_forked
from conftest import reliability_user

from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import DISCOVERY, CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import openid_configuration_url
from ansible_collections.identity.entra.plugins.plugin_utils._errors import KINDS

SEED = int(os.environ.get("ENTRA_RELIABILITY_SEED") or random.SystemRandom().randrange(1, 2 ** 31))
CASES = int(os.environ.get("ENTRA_FUZZ_CASES", "300"))
WORKERS = 6
TARGET, TARGET_PASSWORD = reliability_user(51)
OTHERS = [reliability_user(52), reliability_user(53)]
REFUSED, _REFUSED_PASSWORD = reliability_user(54)
# Kinds that send the user to the network, a proxy or Entra ("retry", "check proxies"): never the
# answer to damaged cache content (Entra and the emulator are healthy throughout).
BLAMES_OTHERS = frozenset(("invalid_response", "network_error", "service_unavailable", "throttled", "tls_error"))
SECTIONS = ("AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata")
TIME_FIELDS = ("expires_on", "cached_at", "extended_expires_on", "refresh_on", "last_modification_time", "at",
               "stored_at", "until")


def _first(doc, section):
    return next(iter(doc[section].values()))


# Fixed cases run before the random ones: the breaks issue 9 names, and what this fuzz found.
# name: (file, damage)
KNOWN = {
    "home_account_id a list (issue 9)": ("account", lambda doc: _first(doc, "AccessToken").update(home_account_id=["x"])),
    "expires_on null (issue 9)": ("account", lambda doc: _first(doc, "AccessToken").update(expires_on=None)),
    "Account without authority_type (issue 9)": ("account", lambda doc: _first(doc, "Account").pop("authority_type")),
    "AccessToken credential_type changed (fuzz)": ("account", lambda doc: _first(doc, "AccessToken").update(credential_type="x")),
    "RefreshToken credential_type emptied (fuzz)": ("account", lambda doc: _first(doc, "RefreshToken").update(credential_type="")),
    "RefreshToken secret emptied (fuzz)": ("account", lambda doc: _first(doc, "RefreshToken").update(secret="")),
    "OpenID configuration status 2**63 (fuzz)": ("openid", lambda doc: doc.update(status=2 ** 63)),
    "OpenID configuration status 404": ("openid", lambda doc: doc.update(status=404)),
    "failure record an empty object (fuzz)": ("failure", lambda doc: doc["records"].__setitem__(0, {})),
}


def _hostile_value(rng: random.Random):
    return rng.choice([
        None, 0, -1, 1.5, 10 ** 30, -10 ** 30, True, False, "", " ", "\u00fcml\u00e4ut \u2603", "\0", "x" * 200000,
        [], ["x"], [None], {}, {"a": 1}, [[[[[[]]]]]], "1" * 40, "NaN", float("inf") if rng.random() < 0.1 else -0.0,
        "-5", "1e10", " 123", "12.5", 2 ** 63, "https://127.0.0.1:1/nowhere",
    ])


def _containers(node, path=()):
    """(container, key, path) of every value inside ``node`` (dicts and lists), depth first."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key, path + (key,)))
            out.extend(_containers(value, path + (key,)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((node, index, path + (index,)))
            out.extend(_containers(value, path + (index,)))
    return out


def _short(path) -> str:
    return "/".join(str(part)[:24] for part in path)


def _mutate_doc(doc, rng: random.Random) -> str:
    """One structural mutation of a parsed JSON document, in place; its description."""
    places = _containers(doc)
    kind = rng.choice(["set", "set", "set", "delete", "delete", "entry", "section", "rename", "duplicate", "unknown",
                       "time", "string to list", "emptied"])
    if kind == "section" or not places:
        name = rng.choice(SECTIONS + ("records", "text", "NewSection"))
        if name in doc and rng.random() < 0.4:
            del doc[name]
            return "deleted section %s" % name
        doc[name] = _hostile_value(rng)
        return "section %s = %r" % (name, doc[name] if not isinstance(doc[name], str) else doc[name][:20])
    if kind == "entry":
        sections = [(name, entries) for name, entries in doc.items() if isinstance(entries, dict) and entries]
        if sections:
            name, entries = rng.choice(sections)
            key = rng.choice(sorted(entries))
            entries[key] = rng.choice([None, [], "entry", 5, [entries[key]]])
            return "entry %s/%s = %r" % (name, key[:24], entries[key] if not isinstance(entries[key], list) else "[...]")
        kind = "set"
    container, key, path = rng.choice(places)
    if kind == "delete" and isinstance(container, dict):
        del container[key]
        return "deleted %s" % _short(path)
    if kind == "rename" and isinstance(container, dict):
        container[key + "-moved" if isinstance(key, str) else key] = container.pop(key)
        return "renamed %s" % _short(path)
    if kind == "duplicate" and isinstance(container, dict) and isinstance(container[key], dict):
        twin = copy.deepcopy(container[key])
        if twin:
            field = rng.choice(sorted(twin))
            twin[field] = _hostile_value(rng)
        container["%s-twin" % key] = twin
        return "duplicated %s with one field changed" % _short(path)
    if kind == "unknown" and isinstance(container, dict):
        container["x_unknown_%d" % rng.randrange(100)] = _hostile_value(rng)
        return "unknown field next to %s" % _short(path)
    if kind == "time":
        times = [place for place in places if place[1] in TIME_FIELDS]
        if times:
            container, key, path = rng.choice(times)
            container[key] = rng.choice(["-5", "1e10", "99999999999999", " 123", "abc", 12.5, -1, 0, "0", None, "", 10 ** 12])
            return "%s = %r" % (_short(path), container[key])
    if kind == "string to list":
        strings = [place for place in places if isinstance(place[0][place[1]], str)]
        if strings:
            container, key, path = rng.choice(strings)
            container[key] = [container[key]]
            return "%s as a list" % _short(path)
    if kind == "emptied" and isinstance(container[key], (dict, list, str)):
        container[key] = type(container[key])()
        return "emptied %s" % _short(path)
    container[key] = _hostile_value(rng)
    shown = container[key] if not isinstance(container[key], str) else container[key][:20]
    return "%s = %r" % (_short(path), shown if not isinstance(shown, (list, dict)) else type(shown).__name__)


def _mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(["truncate", "flip", "bom", "nul", "append"])
    if kind == "truncate" and data:
        cut = rng.randrange(len(data))
        return data[:cut], "truncated at %d of %d bytes" % (cut, len(data))
    if kind == "flip" and data:
        at = rng.randrange(len(data))
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1:], "byte %d replaced" % at
    if kind == "bom":
        return b"\xef\xbb\xbf" + data, "UTF-8 BOM added"
    if kind == "nul":
        return data + b"\0", "NUL appended"
    return data + b"{}", "trailing data"


def _identities(emulator, cache) -> dict:
    """entra_token options of each identity of the fuzzed cache (password given), by name."""
    out = {"target": emulator.options(TARGET, TARGET_PASSWORD, cache_path=cache)}
    for number, (user, password) in enumerate(OTHERS):
        out["other%d" % number] = emulator.options(user, password, cache_path=cache)
    app = emulator.demo_app
    if app.get("client_secret"):
        options = emulator.options(None, cache_path=cache, client_id=app["client_id"], client_secret=app["client_secret"])
        options.pop("username", None)
        options.pop("password", None)
        out["app"] = options
    return out


@pytest.fixture(scope="module")
def pristine(emulator, tmp_path_factory):
    """A cache directory made by real sign-ins (see the module docstring)."""
    emulator.reset()
    cache = str(tmp_path_factory.mktemp("fuzz") / "pristine")
    identities = _identities(emulator, cache)
    # refused first (nothing cached yet, so the wrong credential is sent): failure records
    refused = [acquire(emulator.options(REFUSED, "Wrong-Passw0rd!", cache_path=cache)),
               acquire(dict(identities["target"], password="Wrong-Passw0rd!"))]
    if "app" in identities:
        refused.append(acquire(dict(identities["app"], client_secret="wrong-secret")))
    assert all(not r["ok"] for r in refused), refused
    for name, options in identities.items():
        result = acquire(options)
        assert result["ok"], (name, result)
    assert os.path.exists(failure_path(identities["target"]))
    return cache, identities


def _plan(identities, rng: random.Random) -> list:
    """The cases: which identity, which file, how the cache stands, whether a credential is given."""
    targets = ["target", "target", "target"] + (["app"] if "app" in identities else [])
    plan = []
    for name in sorted(KNOWN):
        for expired in (False, True):
            plan.append({"number": len(plan), "seed": 0, "identity": "target", "file": KNOWN[name][0],
                         "expired": expired, "credential": False, "known": name})
    for number in range(len(plan), CASES):
        plan.append({
            "number": number,
            "seed": rng.randrange(2 ** 32),
            "identity": rng.choice(targets),
            "file": rng.choices(["account", "failure", "discovery"], weights=[8, 1, 1])[0],
            "expired": rng.random() < 0.5,
            "credential": rng.random() < 0.5,  # a service principal always has its secret (see _run_case)
            "mutations": rng.choice([1, 1, 2, 3]),
            "raw": rng.random() < 0.12,
        })
    return plan


def _prepare(case, pristine_cache, cache, identities) -> str:
    """Copy the pristine cache to ``cache`` and damage it as ``case`` says; return what was done."""
    shutil.copytree(pristine_cache, cache, symlinks=True)
    rng = random.Random(case["seed"])
    options = dict(identities[case["identity"]], cache_path=cache)
    if case["expired"]:
        age_access_tokens(account_path(options))
    if case["file"] == "account":
        path = account_path(options)
    elif case["file"] == "openid":
        request = request_of(options)
        path = CacheDirectory(cache).discovery_file(openid_configuration_url(request.authority)).path
    elif case["file"] == "failure" and os.path.exists(failure_path(options)):
        path = failure_path(options)
    else:
        directory = os.path.join(cache, DISCOVERY)
        path = os.path.join(directory, rng.choice(sorted(n for n in os.listdir(directory) if n.endswith(".json"))))
    with open(path, "rb") as handle:
        data = handle.read()
    done = []
    if case.get("known"):
        doc = json.loads(data)
        KNOWN[case["known"]][1](doc)
        data = json.dumps(doc).encode()
        done.append(case["known"])
    elif case["raw"]:
        data, what = _mutate_bytes(data, rng)
        done.append(what)
    else:
        doc = json.loads(data)
        for _mutation in range(case["mutations"]):
            done.append(_mutate_doc(doc, rng))
        data = json.dumps(doc, allow_nan=True).encode()
    write_private(path, data)
    return "%s file %s: %s" % (case["file"], os.path.basename(path)[:8], "; ".join(done))


def _without_password(options, case) -> dict:
    """The options of a case: a user's password only when the case gives one."""
    if case["credential"] or "client_secret" in options:
        return options
    return {key: value for key, value in options.items() if key != "password"}


def _outcome(result) -> str:
    return "ok" if result.get("ok") else str(result.get("kind"))


def _check_result(result) -> list:
    """What is wrong with one run's result (empty when it is a token or a classified error)."""
    problems = []
    if result.get("ok"):
        if not isinstance(result["facts"].get("access_token"), str):
            problems.append("a success without an access token")
        return problems
    if result.get("kind") not in KINDS:
        problems.append("not a classified error: %s %s" % (result.get("kind"), str(result.get("message"))[-1500:]))
    elif not isinstance(result.get("error"), dict) or result["error"].get("kind") != result["kind"]:
        problems.append("a failure without an error dict")
    elif "\n" in result["message"] or "Traceback" in result["message"]:
        problems.append("a message with a traceback or several lines")
    elif result["kind"] in BLAMES_OTHERS:
        problems.append("damaged cache content reported as %s (it blames the network or Entra): %s"
                        % (result["kind"], result["message"][:300]))
    elif result["kind"] == "unknown" and not result["error"].get("aadsts"):
        problems.append("an unclassified exception: %s" % result["message"][:300])
    return problems


def _run_case(case, pristine_cache, base, identities, others_bytes) -> dict:
    cache = os.path.join(base, "case%04d" % case["number"])
    mine = {name: dict(options, cache_path=cache) for name, options in identities.items()}
    what = _prepare(case, pristine_cache, cache, identities)
    options = _without_password(mine[case["identity"]], case)
    runs = [run_forked([lambda: acquire(options)], timeout=90)[0] for _run in range(2)]
    problems = []
    for run in runs:
        problems += _check_result(run)
    if case.get("known") and _outcome(runs[0]) not in ("ok", "password_required"):
        problems.append("a known damage that leaves nothing usable must ask for the password, not %s" % _outcome(runs[0]))
    if _outcome(runs[0]) != _outcome(runs[1]):
        problems.append("different outcomes: %s then %s" % (_outcome(runs[0]), _outcome(runs[1])))
    for name, data in others_bytes[case["identity"]].items():
        path = account_path(mine[name])
        with open(path, "rb") as handle:
            if handle.read() != data:
                problems.append("the account file of %s changed" % name)
    shutil.rmtree(cache, ignore_errors=True)
    return {"number": case["number"], "what": what, "outcomes": [_outcome(r) for r in runs], "problems": problems,
            "source": runs[0].get("facts", {}).get("source"),
            "messages": [r.get("message", "")[:300] for r in runs if not r.get("ok")]}


def _worker(slice_of_cases, pristine_cache, base, identities, others_bytes):
    def job():
        return {"ok": True, "cases": [_run_case(case, pristine_cache, base, identities, others_bytes)
                                      for case in slice_of_cases]}
    return job


def test_fuzzed_cache_content(pristine, tmp_path):
    pristine_cache, identities = pristine
    print("fuzz seed %d, %d cases (rerun: ENTRA_RELIABILITY_SEED=%d)" % (SEED, CASES, SEED))
    plan = _plan(identities, random.Random(SEED))
    others_bytes = {}
    for target in ("target", "app"):
        others_bytes[target] = {}
        for name, options in identities.items():
            if name != target:
                with open(account_path(options), "rb") as handle:
                    others_bytes[target][name] = handle.read()
    slices = [plan[worker::WORKERS] for worker in range(WORKERS)]
    results = run_forked([_worker(s, pristine_cache, str(tmp_path), identities, others_bytes) for s in slices],
                         timeout=600)
    cases = []
    for result in results:
        assert result.get("ok"), result
        cases.extend(result["cases"])
    assert len(cases) == CASES
    outcomes = {}
    for case in cases:
        outcomes[case["outcomes"][0]] = outcomes.get(case["outcomes"][0], 0) + 1
    print("outcomes of the first runs: %s" % dict(sorted(outcomes.items())))
    for outcome in sorted(outcomes):
        if outcome != "ok":
            example = next(case for case in cases if case["outcomes"][0] == outcome)
            print("  e.g. %s: case %d, %s: %s" % (outcome, example["number"], example["what"], example["messages"][:1]))
    bad = [case for case in cases if case["problems"]]
    assert not bad, "seed %d: %d of %d cases broke, e.g.:\n%s" % (
        SEED, len(bad), CASES, "\n".join(json.dumps(case) for case in bad[:8]))
    sources = {case["source"] for case in cases}
    print("sources of the first runs' tokens: %s" % sorted(str(source) for source in sources))
    # both paths were exercised: tokens from the warm path and from a refresh, and failures
    assert {"cache", "refresh"} <= sources and "password_required" in outcomes, (sources, outcomes)


def test_fuzzed_cache_content_through_ansible(pristine, tmp_path, ansible_env):
    """A handful of cases through ansible-playbook (module), twice: a result with ``error`` when failed, the same kind."""
    pristine_cache, identities = pristine
    rng = random.Random(SEED + 1)
    plan = [case for case in _plan(identities, rng) if case["file"] == "account"][:8]
    tasks = []
    for case in plan:
        cache = str(tmp_path / ("case%d" % case["number"]))
        _prepare(case, pristine_cache, cache, identities)
        options = _without_password(dict(identities[case["identity"]], cache_path=cache), case)
        tasks.append(module_task("case %d" % case["number"], options))
    hosts = inventory(tmp_path, {"h": 1})
    kinds = []
    for _run in range(2):
        run = run_playbook(ansible_env, tmp_path, [play("all", *tasks)], hosts, forks=1)
        assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:]
        results = run.results()
        assert len(results) == len(tasks), sorted(results)
        for name, by_host in results.items():
            result = by_host["h000"]
            if result["_status"] == "failed":
                assert isinstance(result.get("error"), dict) and result["error"].get("kind") in KINDS, (name, result)
        kinds.append({name: module_kind(by_host["h000"]) or "ok" for name, by_host in results.items()})
    print("seed %d through ansible-playbook: %s" % (SEED + 1, kinds[0]))
    assert kinds[0] == kinds[1]
