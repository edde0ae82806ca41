"""Start the loopback Entra ID / Graph emulator.

    python3 tests/emulator/run.py --state-dir DIR [--host 127.0.0.1] [--port 443]
                                  [--scenario FILE] [--seed-users N] [--verbose]

Generates a CA and server certificate into DIR, serves HTTPS, and once it accepts
connections writes DIR/ready.json atomically::

    {"url", "graph_url", "ca_path", "pid", "admin_url", "host", "port", "state_dir",
     "demo": {"tenant", "tenant_id", "client_id", "username", "password"},
     "demo_app": {"tenant", "tenant_id", "client_id", "client_secret", "certificate_path",
                  "certificate_thumbprint", "federated": {"issuer", "issuer_url", "subject", "audience"}},
     "federation_issuers": [{"name", "url"}], "device_code_interval",
     "tenants": [{"id", "domains", "federated_domains", "display_name"}]}

Keys, the CA and the refresh-token store stay in DIR: restarted with the same DIR, the emulator
still accepts the tokens it issued before.  Binding a port it may not use ends with one line on
stderr saying what to do, and exit status 2.

SIGTERM or SIGINT stop it cleanly and remove ready.json.  Needs the Python that has
msal's dependencies (cryptography, PyJWT).  Port 443 matters: msal sends its user-realm
request to port 443 of the authority host whatever port the authority names.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from launch import describe_bind_error  # noqa: E402  pylint: disable=wrong-import-position
from entra_emulator import server as server_module  # noqa: E402  pylint: disable=wrong-import-position
from entra_emulator import tls  # noqa: E402  pylint: disable=wrong-import-position
from entra_emulator.state import EmulatorState  # noqa: E402  pylint: disable=wrong-import-position


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Loopback Entra ID (Azure AD) and Microsoft Graph emulator")
    parser.add_argument("--state-dir", required=True, help="directory for certificates, keys and ready.json")
    parser.add_argument("--host", default=os.environ.get("EMULATOR_HOST") or os.environ.get("ENTRA_EMULATOR_HOST") or "127.0.0.1",
                        help="address to bind ($EMULATOR_HOST or $ENTRA_EMULATOR_HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=443, help="port to bind (msal's user realm call uses 443)")
    parser.add_argument("--scenario", default=None, help="scenario JSON file (default: scenarios/default.json)")
    parser.add_argument("--seed-users", type=int, default=0, help="add N generated users to the first tenant")
    parser.add_argument("--verbose", action="store_true", help="print one line per request (no secrets)")
    return parser.parse_args(argv)


def base_url(host, port):
    """``https://host`` (no port when it is 443), bracketing IPv6 literals."""
    shown = "[%s]" % host if ":" in host else host
    return "https://%s" % shown if port == 443 else "https://%s:%d" % (shown, port)


def write_ready(path, data):
    """Write ready.json atomically so a watcher never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)


def demo_app(state):
    """The demo service principal for ready.json: secret, certificate files, federated credential."""
    app = state.scenario.get("demo_app")
    if not app:
        return None
    app = dict(app)
    certificates = [c for c in state.credentials.describe(app["client_id"]) if not c["expired"]]
    if certificates:
        app.update(certificate_path=certificates[0]["pem_path"], certificate_thumbprint=certificates[0]["thumbprint"],
                   certificate_thumbprint_sha256=certificates[0]["thumbprint_sha256"])
    if app.get("federated"):
        app["federated"] = dict(app["federated"], issuer_url=state.federation.resolve(app["federated"]["issuer"]),
                                issuer_name=app["federated"]["issuer"])
    return app


def main(argv=None):
    """Run until SIGTERM/SIGINT."""
    args = parse_args(argv)
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    ready_path = os.path.join(state_dir, "ready.json")
    if os.path.exists(ready_path):
        os.unlink(ready_path)

    paths = tls.generate_tls(state_dir, args.host)
    url = base_url(args.host, args.port)
    state = EmulatorState(args.scenario, url, state_dir)
    if args.seed_users and state.graph is not None and hasattr(state.graph, "seed_users"):
        state.graph.seed_users(args.seed_users)
    try:
        httpd = server_module.serve(state, args.host, args.port, paths["cert"], paths["key"], verbose=args.verbose)
    except OSError as exc:
        state.close()
        print("entra emulator: " + describe_bind_error(exc, args.host, args.port), file=sys.stderr, flush=True)
        return 2

    def stop(signum, frame):
        del signum, frame
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    demo = dict(state.scenario["demo"])
    write_ready(ready_path, {
        "demo_app": demo_app(state),
        "federation_issuers": [{"name": n, "url": state.federation.url(n)} for n in state.federation.names],
        "device_code_interval": state.device_codes.interval,
        "url": url,
        "graph_url": url,
        "ca_path": paths["ca"],
        "pid": os.getpid(),
        "admin_url": url + "/_emulator",
        "host": args.host,
        "port": args.port,
        "state_dir": state_dir,
        "demo": demo,
        "tenants": [{"id": t["id"], "domains": t["domains"], "federated_domains": t["federated_domains"],
                     "display_name": t["display_name"]} for t in state.scenario["tenants"]],
        "graph": state.graph is not None,
    })
    print("Entra emulator listening on %s (state in %s)" % (url, state_dir), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        state.close()
        if os.path.exists(ready_path):
            os.unlink(ready_path)
        print("Entra emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
