#!/usr/bin/env bash
# The reliability and security suite (tests/reliability/): real processes, real
# msal, the emulator over HTTPS on its own loopback address, real files.
#
# Builds its own virtualenv (.work/venv-reliability: requirements.txt,
# ansible-core and pytest), links the working tree into
# .work/reliability/collections/ansible_collections/identity/entra so that both
# Python and ansible-playbook import the collection from it, and runs pytest.
# The emulator is started by the suite itself (tests/reliability/conftest.py)
# on the first of 127.0.0.41-49 whose port 443 is free.
# Extra arguments go to pytest, e.g.: bash hacking/reliability.sh -k canaries -x
set -euo pipefail

# shellcheck source=hacking/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=$ENTRA_WORK/venv-reliability
COLLECTIONS=$ENTRA_WORK/reliability/collections

main() {
    local python core_req
    command -v python3 >/dev/null || die "python3 is needed"
    python=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is $("$python" -V 2>&1); the suite needs Python 3.11 or later"
    core_req=$(grep -E '^ansible-core' "$ENTRA_ROOT/tests/requirements-tools.txt") ||
        die "no ansible-core line in tests/requirements-tools.txt"
    ensure_venv "$VENV" "$python" -r "$ENTRA_ROOT/requirements.txt" "$core_req" 'pytest>=8.0,<10' ||
        die "could not create $VENV"

    mkdir -p "$COLLECTIONS/ansible_collections/identity"
    ln -sfn "$ENTRA_ROOT" "$COLLECTIONS/ansible_collections/identity/entra"

    cd "$ENTRA_ROOT"
    ENTRA_RELIABILITY_COLLECTIONS=$COLLECTIONS \
        PATH="$VENV/bin:$PATH" \
        "$VENV/bin/python" -m pytest -p no:cacheprovider tests/reliability "$@"
}

main "$@"
