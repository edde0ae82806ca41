"""Wire fidelity and process behaviour: one Date header, state kept across restarts, clear bind errors."""

import errno
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys

import pytest

import launch
from client import EmulatorClient

RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run.py")
SCOPE = "User.Read openid profile offline_access"


def _headers(emu, method, path, body=None, headers=None):
    """Status and the raw header list of one HTTPS exchange (http.client keeps duplicates)."""
    connection = http.client.HTTPSConnection(emu.host, 443, context=ssl.create_default_context(cafile=emu.ca_path),
                                             timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, response.msg
    finally:
        connection.close()


def _free_port(host):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def test_every_answer_has_exactly_one_date_header(emu):
    token = emu.token_post(grant_type="password", username=emu.demo["username"], password=emu.demo["password"],
                           scope=SCOPE).json()["access_token"]
    auth = {"Authorization": "Bearer " + token}
    emu.add_fault(endpoint="graph", kind="status", status=429, retry_after=1, times=1)
    form = "client_id=%s&grant_type=password" % emu.demo["client_id"]
    for method, path, body, headers in [
            ("GET", "/v1.0/me", None, auth),          # Graph fault (429)
            ("GET", "/v1.0/me", None, auth),          # Graph success
            ("GET", "/v1.0/nothing", None, auth),     # Graph error
            ("GET", "/v1.0/me", None, {}),            # Graph 401
            ("POST", "/contoso.example/oauth2/v2.0/token", form, {"Content-Type": "application/x-www-form-urlencoded"}),
            ("GET", "/contoso.example/v2.0/.well-known/openid-configuration", None, {}),
            ("GET", "/nowhere", None, {}),
            ("GET", "/_emulator/health", None, {})]:
        status, msg = _headers(emu, method, path, body, headers)
        assert len(msg.get_all("Date") or []) == 1, (method, path, status, msg.get_all("Date"))
        assert len(msg.get_all("Server") or []) == 1, (method, path, status)


def test_restart_with_the_same_state_dir_keeps_ca_keys_and_refresh_tokens(tmp_path):
    state = str(tmp_path / "state")
    host = os.environ.get("EMULATOR_HOST") or "127.0.0.1"
    port = _free_port(host)
    first = EmulatorClient.start(state, host=host, port=port)
    try:
        with open(first.ca_path, "rb") as handle:
            ca = handle.read()
        tokens = first.token_post(grant_type="password", username=first.demo["username"],
                                  password=first.demo["password"], scope=SCOPE).json()
        other = first.token_post(grant_type="password", username="adele.vance@contoso.example",
                                 password="Adele-Passw0rd!", scope=SCOPE).json()
        first.revoke("adele.vance@contoso.example")
        session = first.new_session()  # trusts the CA file as it is now
    finally:
        assert first.stop() == 0
    assert os.stat(os.path.join(state, "refresh_tokens.json")).st_mode & 0o777 == 0o600
    with open(os.path.join(state, "refresh_tokens.json"), encoding="utf-8") as handle:
        stored = handle.read()
    assert tokens["refresh_token"] not in stored, "only hashes of refresh tokens are written"
    second = EmulatorClient.start(state, host=host, port=port)
    try:
        with open(second.ca_path, "rb") as handle:
            assert handle.read() == ca
        me = session.get(second.url + "/v1.0/me", headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert me.status_code == 200, me.text
        refreshed = second.token_post(grant_type="refresh_token", refresh_token=tokens["refresh_token"], scope=SCOPE)
        assert "access_token" in refreshed.json(), refreshed.text
        revoked = second.token_post(grant_type="refresh_token", refresh_token=other["refresh_token"], scope=SCOPE)
        assert revoked.json()["error_codes"] == [50173]
    finally:
        second.stop()


def _run(args, preexec=(), timeout=60):
    return subprocess.run(list(preexec) + [sys.executable, RUN] + args, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_address_in_use_is_one_line_and_exit_2(emulator, tmp_path):
    done = _run(["--state-dir", str(tmp_path), "--host", emulator.host, "--port", "443"])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "already in use" in lines[0] and "%s:443" % emulator.host in lines[0]
    assert not os.path.exists(os.path.join(str(tmp_path), "ready.json"))


def test_port_443_not_permitted_is_one_line_with_what_to_do(tmp_path):
    setpriv = shutil.which("setpriv")
    drop = [setpriv, "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"] if setpriv else []
    probe = subprocess.run(drop + [sys.executable, "-c", "import launch, sys; sys.exit(launch.bind_problem("
                                                         "'127.0.0.1', 443) == %d)" % errno.EACCES],
                           cwd=os.path.dirname(RUN), check=False)
    if not setpriv or probe.returncode != 1:
        pytest.skip("cannot take away the right to bind port 443 here (no setpriv, or unprivileged ports start low)")
    done = _run(["--state-dir", str(tmp_path), "--host", "127.0.0.1", "--port", "443"], preexec=drop)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for hint in ("permission denied", "root", "sysctl net.ipv4.ip_unprivileged_port_start=443", "unshare -rn"):
        assert hint in lines[0]


def test_launch_tells_in_use_from_not_permitted(monkeypatch):
    assert "already in use" in launch.describe_bind_error(errno.EADDRINUSE, "127.0.0.5", 443)
    assert "permission denied" in launch.describe_bind_error(OSError(errno.EACCES, "x"), "127.0.0.5", 443)
    hosts = ("127.0.0.2", "127.0.0.3")
    monkeypatch.delenv("EMULATOR_HOST", raising=False)
    monkeypatch.setattr(launch, "bind_problem", lambda host, port: errno.EACCES)
    with pytest.raises(RuntimeError, match=r"^cannot listen on 127\.0\.0\.2:443: permission denied.*unshare -rn"):
        launch.pick_host(443, hosts)
    monkeypatch.setattr(launch, "bind_problem", lambda host, port: errno.EADDRINUSE)
    with pytest.raises(RuntimeError, match="in use on every address"):
        launch.pick_host(443, hosts)
    monkeypatch.setattr(launch, "bind_problem", lambda host, port: None if host == hosts[1] else errno.EADDRINUSE)
    assert launch.pick_host(443, hosts) == hosts[1]
