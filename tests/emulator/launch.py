"""Start and stop the emulator from tests, benchmarks and scripts (one implementation).

``start_emulator`` runs ``run.py`` on port 443 of a loopback address whose port is free (several
runs can share a machine), waits for ``ready.json`` and returns ``(process, ready)``;
``stop_emulator`` sends SIGTERM and waits. Standard library only.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

RUN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
DEFAULT_HOSTS = tuple("127.0.0.%d" % last for last in range(1, 31))


def port_free(host, port):
    """Whether ``host:port`` can be bound now."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def pick_host(port=443, hosts=DEFAULT_HOSTS, env="EMULATOR_HOST"):
    """The address named by the environment variable ``env``, else the first of ``hosts`` with ``port`` free."""
    if env and os.environ.get(env):
        return os.environ[env]
    for host in hosts:
        if port_free(host, port):
            return host
    raise RuntimeError("port %d is taken on every address of %s-%s (or may not be bound: run as root)"
                       % (port, hosts[0], hosts[-1]))


def start_emulator(state_dir, host=None, port=443, extra_args=(), timeout=60):
    """Start run.py and wait for ready.json; return (process, ready dict)."""
    host = host or pick_host(port)
    os.makedirs(state_dir, exist_ok=True)
    log_path = os.path.join(state_dir, "emulator.log")
    log = open(log_path, "wb")  # pylint: disable=consider-using-with
    cmd = [sys.executable, RUN_PY, "--state-dir", state_dir, "--host", host, "--port", str(port)] + list(extra_args)
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    log.close()  # the child keeps its own descriptor
    ready_path = os.path.join(state_dir, "ready.json")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                raise RuntimeError("emulator exited with %s:\n%s" % (process.returncode, handle.read()))
        if os.path.exists(ready_path):
            with open(ready_path, encoding="utf-8") as handle:
                return process, json.load(handle)
        time.sleep(0.05)
    stop_emulator(process)
    raise RuntimeError("emulator did not become ready in %ss; see %s" % (timeout, log_path))


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
