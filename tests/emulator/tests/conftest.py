"""Pytest fixtures: one emulator process per test session, reset between tests.

``emulator`` (session) starts ``run.py`` through :class:`client.EmulatorClient` on port 443 of a
loopback address (``EMULATOR_HOST``, else the first of 127.0.0.1..127.0.0.30 whose port 443 is
free, so concurrent runs do not collide).  ``emu`` (function) is the same client with the log,
faults, lifetimes, clock and device codes reset first.  ``emu.public_app()`` and
``emu.confidential_app(...)`` are unmodified msal applications that trust the emulator's CA
through their own ``requests`` session (REQUESTS_CA_BUNDLE would override msal's ``verify=``).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# pylint: disable=wrong-import-position
from client import EmulatorClient  # noqa: E402
from launch import start_emulator, stop_emulator  # noqa: E402


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator for the whole session."""
    handle = EmulatorClient.start(str(tmp_path_factory.mktemp("emulator-state")))
    yield handle
    handle.stop()


@pytest.fixture
def emu(emulator):  # pylint: disable=redefined-outer-name
    """The session emulator, reset before the test."""
    emulator.reset()
    return emulator


@pytest.fixture
def emulator_launcher():
    """``(start_emulator, stop_emulator)`` for tests that need their own emulator process."""
    return start_emulator, stop_emulator
