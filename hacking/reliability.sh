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
    collection_venv "$VENV" "$COLLECTIONS" "the suite" 'pytest>=8.0,<10'

    cd "$ENTRA_ROOT"
    ENTRA_RELIABILITY_COLLECTIONS=$COLLECTIONS \
        PATH="$VENV/bin:$PATH" \
        "$VENV/bin/python" -m pytest -p no:cacheprovider tests/reliability "$@"
}

main "$@"
