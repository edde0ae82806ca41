"""Run acquisitions in real processes: forked children (as Ansible's workers are) or fresh interpreters.

Every result is a JSON-able dict:
``{"ok": True, "facts": {...}, "warnings": [...], "elapsed": s}`` or
``{"ok": False, "kind", "retryable", "message", "error", "warnings", "elapsed"}``;
anything that escaped as a raw exception gives ``kind == "TRACEBACK"`` with the
traceback, a process still running at the deadline is killed and gives
``kind == "HUNG"``, and one that died otherwise gives ``kind == "DIED"``.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback

# Imported here, before any fork, so that forked children do not pay for it (as
# Ansible's workers inherit the controller's imports).
import msal  # noqa: F401  pylint: disable=unused-import

from ansible_collections.identity.entra.plugins.plugin_utils import _acquire, _options  # noqa: E402
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError  # noqa: E402

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")


def acquire(options: dict, environ: dict | None = None) -> dict:
    """One entra_token acquisition in this process, as a result dict (see the module docstring)."""
    warnings: list = []
    start = time.monotonic()
    try:
        request = _options.from_mapping(dict(options), {} if environ is None else environ)
        facts = _acquire.get_token(request, warn=warnings.append)
    except EntraTokenError as exc:
        return {"ok": False, "kind": exc.kind, "retryable": exc.retryable, "message": exc.message,
                "error": exc.as_dict(), "warnings": warnings, "elapsed": time.monotonic() - start}
    except BaseException:  # pylint: disable=broad-except  # the point: nothing may escape unclassified
        return {"ok": False, "kind": "TRACEBACK", "retryable": None, "message": traceback.format_exc(),
                "error": None, "warnings": warnings, "elapsed": time.monotonic() - start}
    return {"ok": True, "facts": facts, "warnings": warnings, "elapsed": time.monotonic() - start}


def _read_all(fds: dict, deadline: float) -> dict:
    """Read each descriptor to EOF or until the deadline; return {key: bytes}."""
    chunks = {key: [] for key in fds}
    selector = selectors.DefaultSelector()
    for key, fd in fds.items():
        selector.register(fd, selectors.EVENT_READ, key)
    open_count = len(fds)
    while open_count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for selected, _events in selector.select(timeout=min(left, 1.0)):
            data = os.read(selected.fd, 65536)
            if data:
                chunks[selected.data].append(data)
            else:
                selector.unregister(selected.fd)
                open_count -= 1
    selector.close()
    return {key: b"".join(parts) for key, parts in chunks.items()}


def _decode(raw: bytes, status: int | None) -> dict:
    if status is None:
        return {"ok": False, "kind": "HUNG", "retryable": None, "message": "still running at the deadline; killed"}
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return {"ok": False, "kind": "DIED", "retryable": None,
                "message": "exit status %s, output %r" % (status, raw[:500])}


def run_forked(jobs, timeout: float = 60.0) -> list:
    """Run each ``job()`` (returning a JSON-able dict) in its own forked process, all released at once.

    The children block on a shared pipe until every one of them exists, so they
    really race. Returns the results in job order.
    """
    go_read, go_write = os.pipe()
    children = []  # (pid, result read end)
    for job in jobs:
        result_read, result_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(go_write)
                os.close(result_read)
                for _pid, other in children:
                    os.close(other)
                os.read(go_read, 1)  # EOF once the parent closes its end: the start signal
                start = time.monotonic()
                try:
                    result = job()
                except BaseException:  # pylint: disable=broad-except
                    result = {"ok": False, "kind": "TRACEBACK", "message": traceback.format_exc()}
                result.setdefault("elapsed", time.monotonic() - start)
                result["pid"] = os.getpid()
                payload = json.dumps(result, default=str).encode("utf-8")
                view = memoryview(payload)
                while view:
                    view = view[os.write(result_write, view):]
            except BaseException:  # pylint: disable=broad-except
                code = 1
            finally:
                os._exit(code)  # pylint: disable=protected-access  # no atexit, no pytest teardown in the child
        os.close(result_write)
        children.append((pid, result_read))
    os.close(go_read)
    os.close(go_write)
    raw = _read_all({index: fd for index, (_pid, fd) in enumerate(children)}, time.monotonic() + timeout)
    results = []
    for index, (pid, fd) in enumerate(children):
        os.close(fd)
        status = _reap(pid)
        results.append(_decode(raw[index], status))
    return results


def _reap(pid: int) -> int | None:
    """Wait briefly for a child; kill it if it is still running. Return its status, None if killed."""
    for _attempt in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def run_fresh(option_sets, timeout: float = 120.0, environ: dict | None = None) -> list:
    """Run one acquisition per option set, each in a freshly started interpreter, released together.

    Each worker imports everything, says READY and waits for its standard input
    to close, which happens once all of them are ready.
    """
    env = dict(os.environ if environ is None else environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    processes = []
    for options in option_sets:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        process.stdin.write(json.dumps(options).encode("utf-8") + b"\n")
        process.stdin.flush()
        processes.append(process)
    for process in processes:
        process.stdout.readline()  # READY
    for process in processes:
        process.stdin.close()
        process.stdin = None  # communicate() must not flush it
    deadline = time.monotonic() + timeout
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            results.append({"ok": False, "kind": "HUNG", "message": err.decode(errors="replace")[-2000:]})
            continue
        lines = out.strip().splitlines()
        result = _decode(lines[-1] if lines else b"", process.returncode)
        if err.strip():
            result["stderr"] = err.decode(errors="replace")
        results.append(result)
    return results
