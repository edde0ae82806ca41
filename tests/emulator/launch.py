"""Start and stop the emulator from tests, benchmarks and scripts (one implementation).

``start_emulator`` runs ``run.py`` on port 443 of a loopback address whose port is free (several
runs can share a machine), waits for ``ready.json`` and returns ``(process, ready)``;
``stop_emulator`` sends SIGTERM and waits. ``describe_bind_error`` is the one wording of "cannot
listen" (in use, not permitted) for this module and run.py. Standard library only.
"""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

RUN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
DEFAULT_HOSTS = tuple("127.0.0.%d" % last for last in range(1, 31))


def describe_bind_error(error, host, port):
    """One line saying why ``host:port`` cannot be bound and what to do (``error``: an OSError or errno)."""
    number = getattr(error, "errno", error)
    where = "%s:%d" % (host, port)
    if number in (errno.EACCES, errno.EPERM):
        return ("cannot listen on %s: permission denied (ports below 1024 need privileges). Run as root, allow "
                "unprivileged binding with 'sysctl net.ipv4.ip_unprivileged_port_start=%d', or run the emulator and "
                "its clients inside 'unshare -rn' (then 'ip link set lo up')" % (where, port))
    if number == errno.EADDRINUSE:
        return ("cannot listen on %s: the address is already in use (another emulator?). Stop it, or pick another "
                "loopback address with --host / EMULATOR_HOST (127.0.0.2, 127.0.0.3, ...)" % where)
    if number == errno.EADDRNOTAVAIL:
        return "cannot listen on %s: no such address on this machine; use a loopback address such as 127.0.0.1" % where
    return "cannot listen on %s: %s" % (where, os.strerror(number) if isinstance(number, int) else error)


def bind_problem(host, port):
    """None when ``host:port`` can be bound now, else the errno that prevents it."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
        return None
    except OSError as exc:
        return exc.errno
    finally:
        probe.close()


def port_free(host, port):
    """Whether ``host:port`` can be bound now."""
    return bind_problem(host, port) is None


def pick_host(port=443, hosts=DEFAULT_HOSTS, env="EMULATOR_HOST"):
    """The address named by the environment variable ``env``, else the first of ``hosts`` with ``port`` free.

    Raises RuntimeError with one line that tells "in use" from "not permitted".
    """
    if env and os.environ.get(env):
        return os.environ[env]
    problems = {}
    for host in hosts:
        problem = bind_problem(host, port)
        if problem is None:
            return host
        problems[host] = problem
    if all(p in (errno.EACCES, errno.EPERM) for p in problems.values()):
        raise RuntimeError(describe_bind_error(errno.EACCES, hosts[0], port))
    if all(p == errno.EADDRINUSE for p in problems.values()):
        raise RuntimeError("port %d is in use on every address of %s-%s: stop other emulators or set %s"
                           % (port, hosts[0], hosts[-1], env or "the host"))
    raise RuntimeError("port %d cannot be bound on any address of %s-%s; first problem: %s"
                       % (port, hosts[0], hosts[-1], describe_bind_error(next(iter(problems.values())), hosts[0], port)))


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
