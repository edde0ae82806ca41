"""Pytest fixtures: one emulator process per test session, reset between tests.

``emulator`` (session) starts ``run.py`` on port 443 of a loopback address (``EMULATOR_HOST``,
else the first of 127.0.0.1..127.0.0.30 whose port 443 is free, so concurrent runs do not
collide), waits for ``ready.json`` and yields an :class:`Emulator` handle.  ``emu``
(function) is the same handle with the log, faults, lifetimes and clock reset first.
Use :meth:`Emulator.app` for an unmodified msal ``PublicClientApplication`` that trusts
the emulator's CA through its own ``requests`` session (REQUESTS_CA_BUNDLE would
override msal's ``verify=``).
"""

import os
import sys

import msal
import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from launch import start_emulator, stop_emulator  # noqa: E402  pylint: disable=wrong-import-position


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
