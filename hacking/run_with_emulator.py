"""Run a command where the emulator can listen on port 443 of a loopback address.

    python hacking/run_with_emulator.py [--start STATE_DIR [--vars-file FILE] [--var KEY=VALUE]...
                                         [--counters]] -- COMMAND [ARG...]

msal sends its user-realm request to port 443 of the authority host, so the emulator must
listen there. Root may; any other user may not, and then COMMAND runs inside a private user
and network namespace (``unshare --map-current-user --keep-caps --net``, loopback brought up,
port 443 opened to the user's own uid), where they may. That namespace
has no route to the package index: callers install everything first. Port 443 already in use
is a different problem, reported as such.

With ``--start`` the emulator is started on ENTRA_EMULATOR_HOST (default 127.0.0.1), the
variables playbooks and integration targets read (entra_*) are written to ``--vars-file``
(YAML), COMMAND runs with ENTRA_TOKEN_CACHE in STATE_DIR (the emulator keeps its CA, signing keys
and refresh tokens there, so the cache and the emulator belong together: a new state directory, or
``--fresh``, means new keys and a new cache), the emulator's request counters are shown
(``--counters``) and the emulator is stopped. STATE_DIR must be new, empty, or an emulator's. Without it, COMMAND (a test suite that starts
its own emulators) just runs where it can. Exits with COMMAND's status. Standard library only.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from launch import start_emulator, stop_emulator  # noqa: E402  pylint: disable=wrong-import-position

PORT = 443
IN_NAMESPACE = "ENTRA_IN_NAMESPACE"


def fail(message):
    sys.exit("ERROR: %s" % message)


def log(message):
    print("==> %s" % message, file=sys.stderr, flush=True)


def host():
    return os.environ.get("ENTRA_EMULATOR_HOST") or "127.0.0.1"


def free_host():
    """Without ENTRA_EMULATOR_HOST, the first of 127.0.0.1-30 whose port 443 is free: two runs on one
    machine (a demo and the tests, two checkouts) then simply use two addresses."""
    if os.environ.get("ENTRA_EMULATOR_HOST"):
        return None
    for last in range(1, 31):
        candidate = "127.0.0.%d" % last
        if bind_problem(candidate, PORT) != "in use":
            return candidate
    return None


def bind_problem(address, port):
    """None when this process may listen on address:port now, else "in use", "not permitted" or why not."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((address, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return "in use"
        if exc.errno == errno.EACCES:
            return "not permitted"
        return exc.strerror or str(exc)
    finally:
        probe.close()
    return None


def loopback_up():
    """Bring up ``lo`` in a fresh network namespace (SIOCSIFFLAGS; no iproute2 needed)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14s", b"lo", flags | iff_up, b""))


def open_low_ports_and_drop_capabilities():
    """Inside ``unshare --map-current-user --keep-caps -n``: we keep our own uid (so HOME, ~ and
    file ownership mean what they mean outside, and tests do not believe they are root), with
    capabilities over this namespace only. Let every user of it bind port 443 (a sysctl of this
    network namespace alone), then clear the ambient capabilities so that COMMAND gets none."""
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start", "w", encoding="ascii") as handle:
        handle.write("0")
    pr_cap_ambient, pr_cap_ambient_clear_all = 47, 4
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_cap_ambient, pr_cap_ambient_clear_all, 0, 0, 0) != 0:
        fail("could not drop the namespace's capabilities: %s" % os.strerror(ctypes.get_errno()))


# unshare's options, best first: util-linux 2.38+ keeps our uid; older ones make us uid 0 of the
# namespace (then anything that looks up root's home, such as ansible's remote_tmp, goes astray).
NAMESPACES = (["--map-current-user", "--keep-caps", "--net"], ["--map-root-user", "--net"])


def enter_namespace(why):
    """Re-run this program inside a private user and network namespace; never returns."""
    unshare = shutil.which("unshare")
    address = "%s:%d" % (host(), PORT)
    advice = ("run as root, or allow binding port 443: "
              "sysctl -w net.ipv4.ip_unprivileged_port_start=443")
    if not unshare:
        fail("cannot listen on %s (%s) and unshare (util-linux) is missing: %s" % (address, why, advice))
    for options in NAMESPACES:
        if subprocess.run([unshare] + options + ["true"], check=False, stderr=subprocess.DEVNULL).returncode == 0:
            break
    else:
        fail("cannot listen on %s (%s), and unprivileged user namespaces are off (unshare -rn failed): %s; "
             "or allow them: sysctl -w kernel.unprivileged_userns_clone=1 (Debian), "
             "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04)" % (address, why, advice))
    log("cannot listen on %s here (%s): running in a private user and network namespace (unshare %s)"
        % (address, why, " ".join(options)))
    env = dict(os.environ, **{IN_NAMESPACE: "1"})
    os.execve(unshare, [unshare] + options + ["--", sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def emulator_vars(ready, extra):
    """The entra_* variables of playbooks and integration targets, from ready.json."""
    demo = ready.get("demo") or {}
    data = {
        "entra_emulator_url": ready["url"],
        "entra_graph_url": ready["graph_url"],
        "entra_ca_path": ready["ca_path"],
        "entra_admin_url": ready.get("admin_url"),
        "entra_tenant": demo.get("tenant"),
        "entra_client_id": demo.get("client_id"),
        "entra_username": demo.get("username"),
        "entra_password": demo.get("password"),
        "entra_emulator": ready,
    }
    for item in extra:
        key, value = item.split("=", 1)
        data[key] = value
    return data


def show_counters(ready):
    """Print what the emulator counted (its admin endpoint, over HTTPS)."""
    url = ready["admin_url"].rstrip("/") + "/counters"
    context = ssl.create_default_context(cafile=ready["ca_path"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=10) as response:
        counters = json.load(response)

    def pairs(mapping):
        return ", ".join("%s %s" % item for item in mapping.items()) or "none"

    print("  the emulator counted (%s):" % url)
    endpoints = counters.get("endpoints")
    if not isinstance(endpoints, dict):
        print(json.dumps(counters, indent=2))
        return
    print("    requests: %s (%s)" % (counters.get("total", sum(endpoints.values())), pairs(endpoints)))
    for key in ("grants", "users", "statuses", "faults"):
        if isinstance(counters.get(key), dict):
            print("    %s: %s" % (key, pairs(counters[key])))
    sys.stdout.flush()


def emulator_state_dir(path, fresh):
    """``path`` ready for the emulator: new, empty, or an emulator's state directory (emptied with --fresh).

    Never another directory: ``--start .`` must not delete a checkout.
    """
    state = os.path.abspath(path)
    if os.path.isdir(state) and os.listdir(state):
        if not any(os.path.exists(os.path.join(state, name)) for name in ("ca.pem", "emulator.log", "ready.json")):
            fail("%s is a directory of something else (no ca.pem, emulator.log or ready.json): give --start a "
                 "directory of the emulator's own" % state)
        if fresh:
            shutil.rmtree(state)
    return state


def run_with_emulator(args):
    state = emulator_state_dir(args.start, args.fresh)
    log("starting the emulator on %s:%d (state in %s)" % (host(), PORT, state))
    try:
        process, ready = start_emulator(state, host=host(), port=PORT)
    except RuntimeError as exc:
        fail("the emulator did not start: %s" % exc)
    try:
        if args.vars_file:
            with open(args.vars_file, "w", encoding="utf-8") as handle:
                handle.write("# Written from the emulator's ready.json by hacking/run_with_emulator.py.\n")
                for key, value in emulator_vars(ready, args.var).items():
                    # a JSON value is a YAML flow value: YAML without PyYAML, one line per variable
                    handle.write("%s: %s\n" % (key, json.dumps(value, sort_keys=True)))
        # An emulator with a new state directory signs with new keys: tokens cached from another one
        # would be served and then refused by Graph (401). So the token cache lives with the emulator's
        # state (explicit cache_path options and an ENTRA_TOKEN_CACHE of the caller still win).
        env = dict(os.environ)
        env.setdefault("ENTRA_TOKEN_CACHE", os.path.join(state, "token_cache"))
        status = subprocess.call(args.command, env=env)
        if args.counters:
            try:
                show_counters(ready)
            except (OSError, ValueError) as exc:
                log("could not read the emulator's counters: %s" % exc)
    finally:
        stop_emulator(process)
        log("emulator stopped")
    return status


def key_value(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % text)
    return text


def on_sigterm(signum, frame):  # pylint: disable=unused-argument
    sys.exit(143)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--start", metavar="STATE_DIR", help="start the emulator with this state directory")
    parser.add_argument("--fresh", action="store_true",
                        help="empty the emulator's state directory first: new CA, keys and refresh tokens (with --start)")
    parser.add_argument("--vars-file", help="write the entra_* variables here (with --start)")
    parser.add_argument("--var", action="append", default=[], type=key_value, help="KEY=VALUE added to the variables")
    parser.add_argument("--counters", action="store_true", help="show the emulator's counters at the end")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    # SIGTERM (nox, CI) unwinds like Ctrl-C, so that the emulator is stopped.
    signal.signal(signal.SIGTERM, on_sigterm)

    if os.environ.pop(IN_NAMESPACE, None):
        loopback_up()
        if os.getuid() != 0:
            open_low_ports_and_drop_capabilities()
    else:
        why = bind_problem(host(), PORT)
        if why == "in use" and args.start and free_host():
            os.environ["ENTRA_EMULATOR_HOST"] = free_host()  # kept by the namespace and the emulator alike
            log("%s:%d is in use; the emulator listens on %s instead" % ("127.0.0.1", PORT, host()))
            why = bind_problem(host(), PORT)
        if why == "in use" and args.start:
            fail("%s:%d is in use (an emulator or demo still running?): stop it, or set ENTRA_EMULATOR_HOST "
                 "to another loopback address, e.g. ENTRA_EMULATOR_HOST=127.0.0.2" % (host(), PORT))
        if why not in (None, "in use"):
            enter_namespace(why)
    if args.start:
        return run_with_emulator(args)
    return subprocess.call(args.command)


if __name__ == "__main__":
    sys.exit(main())
