"""One measured side of comparisons (2) and (4), run by bench/run.py in a fresh interpreter.

    python bench/probe.py MODE < SPEC_JSON

MODE:
  ours-first      identity.entra's core: one get_token() (cache first) in this fresh process
  ours-loop       the same, then N more calls in this process; per-call times
  msalext-first   msal-extensions' PersistedTokenCache + PublicClientApplication +
                  get_accounts + acquire_token_silent, once, in this fresh process
  msalext-loop    the same app, then N more acquire_token_silent calls; per-call times
  msal-cold       plain msal as its README shows it: fresh app, in-memory cache, username/password

SPEC_JSON (standard input, not argv: it holds the test password): {"collections": dir, "options": entra_token options, "cache": path (msal-extensions),
"calls": N}. Prints one JSON line: {"seconds_since_start", "call_seconds", "per_call", "source"}.
``seconds_since_start`` runs from the interpreter's start (imports included) to the first token.
"""

import json
import sys
import time
import warnings

START = time.monotonic()


def _session(ca_path):
    import requests  # pylint: disable=import-outside-toplevel

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    return session


def ours(spec, loop):
    sys.path.insert(0, spec["collections"])
    from ansible_collections.identity.entra.plugins.plugin_utils import _acquire, _options  # pylint: disable=import-outside-toplevel

    request = _options.from_mapping(spec["options"], {})
    call_start = time.monotonic()
    facts = _acquire.get_token(request)
    first = time.monotonic()
    per_call = []
    for _call in range(spec.get("calls", 0) if loop else 0):
        before = time.perf_counter()
        _acquire.get_token(_options.from_mapping(spec["options"], {}))
        per_call.append(time.perf_counter() - before)
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": per_call,
            "source": facts["source"], "msal_imported": "msal" in sys.modules}


def msal_extensions(spec, loop):
    import msal  # pylint: disable=import-outside-toplevel
    from msal_extensions import FilePersistence, PersistedTokenCache  # pylint: disable=import-outside-toplevel

    options = spec["options"]
    call_start = time.monotonic()
    cache = PersistedTokenCache(FilePersistence(spec["cache"]))
    app = msal.PublicClientApplication(
        options["client_id"], authority="%s/%s" % (options["authority_host"], options["tenant"]),
        instance_discovery=False, http_client=_session(options["ca_path"]), token_cache=cache)
    scopes = ["https://graph.microsoft.com/.default"]
    account = app.get_accounts(username=options["username"])[0]
    result = app.acquire_token_silent(scopes, account=account)
    first = time.monotonic()
    assert result and "access_token" in result, result
    per_call = []
    for _call in range(spec.get("calls", 0) if loop else 0):
        before = time.perf_counter()
        accounts = app.get_accounts(username=options["username"])
        app.acquire_token_silent(scopes, account=accounts[0])
        per_call.append(time.perf_counter() - before)
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": per_call,
            "source": result.get("token_source", "cache")}


def msal_cold(spec):
    import msal  # pylint: disable=import-outside-toplevel

    options = spec["options"]
    call_start = time.monotonic()
    app = msal.PublicClientApplication(
        options["client_id"], authority="%s/%s" % (options["authority_host"], options["tenant"]),
        instance_discovery=False, http_client=_session(options["ca_path"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = app.acquire_token_by_username_password(
            options["username"], options["password"], ["https://graph.microsoft.com/.default"])
    first = time.monotonic()
    assert "access_token" in result, result
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": [],
            "source": "password"}


def main():
    mode, spec = sys.argv[1], json.loads(sys.stdin.read())
    if mode.startswith("ours-"):
        out = ours(spec, mode == "ours-loop")
    elif mode.startswith("msalext-"):
        out = msal_extensions(spec, mode == "msalext-loop")
    elif mode == "msal-cold":
        out = msal_cold(spec)
    else:
        sys.exit("unknown mode %s" % mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
