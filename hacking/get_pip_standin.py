"""identity.entra's offline stand-in for the get-pip.py that ``ansible-test`` downloads.

Why it exists: ansible-test bootstraps pip in every virtualenv it creates (sanity tests, --venv)
by running a get-pip.py that it downloads from a host that is not reachable from these machines
(only the package index is). It first looks for a cached copy at
``~/.ansible/test/cache/get_pip_<version>.py``; noxfile.py copies this file there, under the
private HOME it gives ansible-test (.work/home), never into the user's own home.

What it does: installs the pip bundled with Python (ensurepip), then runs ``pip install`` with
the arguments ansible-test passes (pip==X ...) against the index of pip's configuration. The
package index may sit behind a TLS-inspecting proxy whose CA only the system bundle has, and
ansible-test strips the environment (SSL_CERT_FILE, PIP_CERT...), so the bundle noxfile.py
found is read from ``get_pip_ca_bundle.txt`` beside this file and passed explicitly.
"""

import os
import subprocess
import sys

UNSUPPORTED = ("--no-setuptools", "--no-wheel")  # options of get-pip.py, not of pip


def ca_bundle():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_ca_bundle.txt")
    try:
        with open(path, encoding="utf-8") as handle:
            bundle = handle.read().strip()
    except OSError:
        return None
    return bundle if bundle and os.path.exists(bundle) else None


def main():
    bundled = subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if bundled.returncode:
        sys.stdout.write(bundled.stdout.decode(errors="replace"))
        sys.exit(bundled.returncode)
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    bundle = ca_bundle()
    if bundle:
        command += ["--cert", bundle]
    command += [arg for arg in sys.argv[1:] if arg not in UNSUPPORTED]
    sys.exit(subprocess.call(command))


if __name__ == "__main__":
    main()
