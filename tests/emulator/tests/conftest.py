"""Pytest fixtures: one emulator process per test session, reset between tests.

``emulator`` (session) starts ``run.py`` on port 443 of a loopback address (``EMULATOR_HOST``,
else the first of 127.0.0.1..127.0.0.30 whose port 443 is free, so concurrent runs do not
collide), waits for ``ready.json`` and yields an :class:`Emulator` handle.  ``emu``
(function) is the same handle with the log, faults, lifetimes and clock reset first.
Use :meth:`Emulator.app` for an unmodified msal ``PublicClientApplication`` that trusts
the emulator's CA through its own ``requests`` session (REQUESTS_CA_BUNDLE would
override msal's ``verify=``).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import msal
import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_PY = os.path.join(os.path.dirname(HERE), "run.py")


def _port_free(host, port):
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def pick_host(port=443):
    """EMULATOR_HOST, else a loopback address whose ``port`` is free."""
    if os.environ.get("EMULATOR_HOST"):
        return os.environ["EMULATOR_HOST"]
    for last in range(1, 31):
        host = "127.0.0.%d" % last
        if _port_free(host, port):
            return host
    raise RuntimeError("no loopback address with port %d free" % port)


def start_emulator(state_dir, host=None, port=443, extra_args=(), timeout=60):
    """Start run.py and wait for ready.json; return (process, ready dict)."""
    host = host or pick_host(port)
    os.makedirs(state_dir, exist_ok=True)
    log = open(os.path.join(state_dir, "emulator.log"), "wb")  # pylint: disable=consider-using-with
    cmd = [sys.executable, RUN_PY, "--state-dir", state_dir, "--host", host, "--port", str(port)] + list(extra_args)
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    ready_path = os.path.join(state_dir, "ready.json")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            with open(os.path.join(state_dir, "emulator.log"), encoding="utf-8", errors="replace") as handle:
                raise RuntimeError("emulator exited with %s:\n%s" % (process.returncode, handle.read()))
        if os.path.exists(ready_path):
            with open(ready_path, encoding="utf-8") as handle:
                return process, json.load(handle)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("emulator did not become ready in %ss" % timeout)


def stop_emulator(process, timeout=15):
    """SIGTERM, then wait; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


class Emulator:
    """A running emulator: its ready.json, an HTTP session trusting its CA, admin helpers."""

    def __init__(self, ready, process):
        self.ready = ready
        self.process = process
        self.url = ready["url"]
        self.ca_path = ready["ca_path"]
        self.demo = ready["demo"]
        self.tenant_id = ready["tenants"][0]["id"]
        self.session = self.new_session()

    def new_session(self):
        """A requests session that trusts only the emulator CA and ignores proxy/CA env vars."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_path
        return session

    def app(self, client_id=None, tenant=None, **kwargs):
        """An unmodified msal PublicClientApplication pointed at the emulator."""
        return msal.PublicClientApplication(
            client_id or self.demo["client_id"],
            authority="%s/%s" % (self.url, tenant or self.demo["tenant"]),
            instance_discovery=False,
            http_client=self.new_session(),
            **kwargs)

    def admin(self, method, route, body=None, **params):
        """Call the admin API; return the parsed JSON."""
        response = self.session.request(method, "%s/_emulator/%s" % (self.url, route), json=body, params=params,
                                        timeout=30)
        assert response.status_code < 300, response.text
        return response.json()

    def requests_log(self, **filters):
        """Log entries (optionally filtered by endpoint/user)."""
        return self.admin("GET", "requests", **filters)["requests"]

    def counters(self):
        """Counter snapshot."""
        return self.admin("GET", "counters")

    def add_fault(self, **fault):
        """Inject one fault; returns its id."""
        return self.admin("POST", "faults", fault)["ids"][0]

    def token_post(self, tenant=None, headers=None, **form):
        """A raw token request (for checks msal would hide)."""
        tenant = tenant or self.demo["tenant"]
        form.setdefault("client_id", self.demo["client_id"])
        return self.session.post("%s/%s/oauth2/v2.0/token" % (self.url, tenant), data=form, headers=headers or {},
                                 timeout=30)

    def reset(self):
        """Fresh log, no faults, default lifetimes, real clock."""
        self.admin("POST", "reset", {"faults": True, "lifetimes": True, "clock": True})


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator for the whole session."""
    state_dir = str(tmp_path_factory.mktemp("emulator-state"))
    process, ready = start_emulator(state_dir)
    handle = Emulator(ready, process)
    yield handle
    stop_emulator(process)


@pytest.fixture
def emu(emulator):  # pylint: disable=redefined-outer-name
    """The session emulator, reset before the test."""
    emulator.reset()
    return emulator


@pytest.fixture
def emulator_launcher():
    """``(start_emulator, stop_emulator)`` for tests that need their own emulator process."""
    return start_emulator, stop_emulator
