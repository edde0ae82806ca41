"""Find real Python interpreters for the test matrix (imported by noxfile.py).

Hand-written because of two facts of the machines this runs on: pyenv *shims* exit 127
for every version that is installed but not selected (and ansible-test probes several), and
nox's own finder (python-discovery) looks only at pyenv's selected version. So we look in
pyenv's and uv's version directories ourselves and return interpreter paths, never shims.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess

# Run by the candidate: the right version, not a virtualenv, and able to make virtualenvs.
_PROBE = (
    "import ensurepip, sys, venv; "
    "sys.exit(0 if '%d.%d' % sys.version_info[:2] == sys.argv[1] and sys.prefix == sys.base_prefix else 1)"
)

HOW_TO_GET = (
    "install it with one of: pyenv install {v} | uv python install {v} | "
    "apt install python{v} (deadsnakes PPA on Ubuntu; Debian ships one Python per release)"
)


def _candidates(version):
    home = os.path.expanduser("~")
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.join(home, ".pyenv")
    roots = sorted(glob.glob(os.path.join(pyenv_root, "versions", version + ".*")), reverse=True)
    uv_dir = os.environ.get("UV_PYTHON_INSTALL_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"), "uv", "python")
    roots += sorted(glob.glob(os.path.join(uv_dir, "cpython-%s.*" % version)), reverse=True)
    found = [os.path.join(root, "bin", "python" + version) for root in roots]
    on_path = shutil.which("python" + version)
    if on_path and os.sep + "shims" + os.sep not in on_path:
        found.append(on_path)
    found += ["/usr/local/bin/python" + version, "/usr/bin/python" + version]
    return found


@functools.lru_cache(maxsize=None)
def find(version):
    """The path of a usable Python ``version`` ("3.13"), or None."""
    for candidate in _candidates(version):
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run([candidate, "-c", _PROBE, version], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return candidate
    return None


def link(versions, directory):
    """Put pythonX.Y links to the real interpreters into ``directory`` (for ansible-test's --python)."""
    os.makedirs(directory, exist_ok=True)
    for version in versions:
        path = os.path.join(directory, "python" + version)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(find(version), path)
