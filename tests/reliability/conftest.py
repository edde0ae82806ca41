"""Fixtures of the reliability and security suite.

Everything here is real: the emulator is a separate process serving HTTPS on
port 443 of its own loopback address (the first free one of 127.0.0.41-49),
acquisitions run in forked or freshly started processes with unmodified msal,
and caches are files in temporary directories.

The hostile section, one file per numbered break of issue 9 (each test failed on the
core before 0.2.0, da07ff5): test_hostile_attempts (1, one attempt per credential),
test_hostile_secrets (2, a cut-off answer's tokens in no output), test_hostile_time (3,
whole-request deadline, answer size cap), test_hostile_paths (4), test_hostile_fuzz (5,
any cache content), test_hostile_scale (6, 5,000 accounts), test_hostile_store (7,
unwritable caches), test_hostile_small (8). They count requests at the emulator, never
timings (a time bound, where there is one, has generous slack).

The collection is imported from ``ENTRA_RELIABILITY_COLLECTIONS`` (a directory
holding ``ansible_collections/identity/entra``, set by the reliability nox session in noxfile.py);
without it a link to this working tree is made under .work/reliability/.
"""

from __future__ import annotations

import copy
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR_DIR = os.path.join(ROOT, "tests", "emulator")
HOSTS = tuple("127.0.0.%d" % last for last in range(41, 50))
sys.path.insert(0, EMULATOR_DIR)

from client import EmulatorClient  # noqa: E402  pylint: disable=wrong-import-position
from launch import pick_host, start_emulator, stop_emulator  # noqa: E402  pylint: disable=wrong-import-position

# Users added to the emulator's default scenario: 1-40 for the concurrency, fault and cache cases,
# 41-60 for the hostile cases, 61-110 the new users of the many-identities case.
RELIABILITY_USERS = 110
# Users of the emulator's federated domain (MEX + WS-Trust sign-in), for the hostile cases.
FEDERATED_USERS = 4


def _collections_dir() -> str:
    path = os.environ.get("ENTRA_RELIABILITY_COLLECTIONS")
    if not path:
        path = os.path.join(ROOT, ".work", "reliability", "collections")
        link = os.path.join(path, "ansible_collections", "identity", "entra")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.islink(link):
            os.symlink(ROOT, link)
    return os.path.abspath(path)


COLLECTIONS = _collections_dir()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


def reliability_user(number: int) -> tuple[str, str]:
    """(username, password) of the numbered reliability user (1-based)."""
    return "rel%02d@contoso.example" % number, "Rel%02d-Passw0rd!" % number


def federated_user(number: int) -> tuple[str, str]:
    """(username, password) of the numbered federated reliability user (1-based): signs in through WS-Trust."""
    return "relfed%02d@fabrikam.example" % number, "RelFed%02d-Passw0rd!" % number


def _scenario(path: str) -> str:
    """The default scenario plus the reliability users, written to ``path``."""
    with open(os.path.join(EMULATOR_DIR, "scenarios", "default.json"), encoding="utf-8") as handle:
        scenario = json.load(handle)
    scenario = copy.deepcopy(scenario)
    users = scenario["tenants"][0]["users"]
    for number in range(1, RELIABILITY_USERS + 1):
        upn, password = reliability_user(number)
        users.append({"upn": upn, "password": password, "display_name": "Reliability %02d" % number})
    for number in range(1, FEDERATED_USERS + 1):
        upn, password = federated_user(number)
        users.append({"upn": upn, "password": password, "display_name": "Reliability federated %02d" % number})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(scenario, handle)
    return path


class Emulator(EmulatorClient):
    """The emulator client (tests/emulator/client.py) plus entra_token options pointed at it."""

    def options(self, username: str | None = None, password: str | None = None, **overrides) -> dict:
        """entra_token options for this emulator (module argument names)."""
        options = {
            "tenant": self.demo["tenant"],
            "client_id": self.demo["client_id"],
            "username": username or self.demo["username"],
            "password": password if password is not None else (None if username else self.demo["password"]),
            "authority_host": self.url,
            "validate_authority": False,
            "ca_path": self.ca_path,
            "timeout": 5,
        }
        options.update(overrides)
        return {key: value for key, value in options.items() if value is not None}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator for the session, with the reliability users added to the default scenario."""
    try:
        host = pick_host(443, HOSTS, env="ENTRA_RELIABILITY_HOST")
    except RuntimeError as exc:  # one line: every address in use, or not permitted to bind port 443
        pytest.exit("cannot start the emulator: %s" % exc, returncode=4)
    state = tmp_path_factory.mktemp("emulator")
    scenario = _scenario(str(state / "scenario.json"))
    process, ready = start_emulator(str(state / "state"), host=host, port=443,
                                    extra_args=["--scenario", scenario])
    handle = Emulator(ready, process)
    yield handle
    stop_emulator(process)


@pytest.fixture
def emu(emulator):  # pylint: disable=redefined-outer-name
    """The session emulator with an empty log, no faults and the real clock."""
    emulator.reset()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def ansible_env(tmp_path):
    """Environment for ansible-playbook runs: this collection, private ANSIBLE_HOME and temp dirs."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "ENTRA_", "AZURE_"))}
    home = tmp_path / "ansible-home"
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    return env
