"""One measured side of the in-process comparisons, run by bench/run.py in a fresh interpreter.

    python bench/probe.py MODE < SPEC_JSON

MODE:
  ours-first        identity.entra's core: one get_token() (cache first) in this fresh process
  ours-loop         the same, then N more calls, each with its options validated again (the
                    process remembers the request) and the account file's lstat; per-call times
  ours-forked       import the warm path, then fork N children that each make the first
                    get_token() of their process (what a worker does); their times
  msalext-first     msal-extensions' PersistedTokenCache + PublicClientApplication + get_accounts +
                    acquire_token_silent (or, for a service principal, ConfidentialClientApplication +
                    acquire_token_for_client), once, in this fresh process
  msalext-loop      the same app, then N more calls; per-call times
  msal-cold         plain msal as its README shows it: fresh app, in-memory cache, username/password

SPEC_JSON (standard input, not argv: it holds the test password or client secret): {"collections": dir,
"options": entra_token options, "cache": path (msal-extensions), "calls": N, "children": N}. Prints one
JSON line: {"seconds_since_start", "call_seconds", "per_call", "source", "msal_imported"}.
``seconds_since_start`` runs from the interpreter's start (imports included) to the first token.
"""

import json
import os
import sys
import time
import warnings

START = time.monotonic()
SCOPES = ["https://graph.microsoft.com/.default"]


def _session(ca_path):
    import requests  # pylint: disable=import-outside-toplevel

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    return session


def _core(spec):
    sys.path.insert(0, spec["collections"])
    from ansible_collections.identity.entra.plugins.plugin_utils import _acquire, _options  # pylint: disable=import-outside-toplevel

    return _acquire, _options


def ours(spec, loop):
    acquire, options = _core(spec)
    call_start = time.monotonic()
    facts = acquire.get_token(options.from_mapping(spec["options"], {}))
    first = time.monotonic()
    per_call = []
    for _call in range(spec.get("calls", 0) if loop else 0):
        before = time.perf_counter()
        acquire.get_token(options.from_mapping(spec["options"], {}))
        per_call.append(time.perf_counter() - before)
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": per_call,
            "source": facts["source"], "msal_imported": "msal" in sys.modules}


def ours_forked(spec):
    """The first warm read of a process, as a worker makes it: the code is loaded, nothing is remembered."""
    acquire, options = _core(spec)
    per_child = []
    for _child in range(spec.get("children", 20)):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            before = time.perf_counter()
            facts = acquire.get_token(options.from_mapping(spec["options"], {}))
            elapsed = time.perf_counter() - before
            os.write(write_end, json.dumps([elapsed, facts["source"], "msal" in sys.modules]).encode())
            os._exit(0)  # pylint: disable=protected-access
        os.close(write_end)
        with os.fdopen(read_end) as handle:
            elapsed, source, msal_imported = json.loads(handle.read())
        os.waitpid(pid, 0)
        assert source == "cache" and not msal_imported, (source, msal_imported)
        per_child.append(elapsed)
    return {"seconds_since_start": None, "call_seconds": None, "per_call": per_child, "source": "cache", "msal_imported": False}


def msal_extensions(spec, loop):
    import msal  # pylint: disable=import-outside-toplevel
    from msal_extensions import FilePersistence, PersistedTokenCache  # pylint: disable=import-outside-toplevel

    options = spec["options"]
    call_start = time.monotonic()
    cache = PersistedTokenCache(FilePersistence(spec["cache"]))
    authority = "%s/%s" % (options["authority_host"], options["tenant"])
    http = _session(options["ca_path"])
    if options.get("client_secret"):
        app = msal.ConfidentialClientApplication(options["client_id"], client_credential=options["client_secret"], authority=authority,
                                                 instance_discovery=False, http_client=http, token_cache=cache)

        def call():
            return app.acquire_token_for_client(SCOPES)
    else:
        app = msal.PublicClientApplication(options["client_id"], authority=authority, instance_discovery=False, http_client=http,
                                           token_cache=cache)

        def call():
            return app.acquire_token_silent(SCOPES, account=app.get_accounts(username=options["username"])[0])
    result = call()
    first = time.monotonic()
    assert result and "access_token" in result, result
    per_call = []
    for _call in range(spec.get("calls", 0) if loop else 0):
        before = time.perf_counter()
        call()
        per_call.append(time.perf_counter() - before)
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": per_call,
            "source": result.get("token_source", "cache"), "msal_imported": True}


def msal_cold(spec):
    import msal  # pylint: disable=import-outside-toplevel

    options = spec["options"]
    call_start = time.monotonic()
    app = msal.PublicClientApplication(
        options["client_id"], authority="%s/%s" % (options["authority_host"], options["tenant"]),
        instance_discovery=False, http_client=_session(options["ca_path"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = app.acquire_token_by_username_password(options["username"], options["password"], SCOPES)
    first = time.monotonic()
    assert "access_token" in result, result
    return {"seconds_since_start": first - START, "call_seconds": first - call_start, "per_call": [],
            "source": "password", "msal_imported": True}


def main():
    mode, spec = sys.argv[1], json.loads(sys.stdin.read())
    if mode in ("ours-first", "ours-loop"):
        out = ours(spec, mode == "ours-loop")
    elif mode == "ours-forked":
        out = ours_forked(spec)
    elif mode in ("msalext-first", "msalext-loop"):
        out = msal_extensions(spec, mode == "msalext-loop")
    elif mode == "msal-cold":
        out = msal_cold(spec)
    else:
        sys.exit("unknown mode %s" % mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
