#!/usr/bin/env bash
# The benchmark command (make bench): five comparisons against the emulator, each side
# by side in one run; prints a table and writes .work/bench/results.json.
#
# Builds its own virtualenv (.work/venv-bench: requirements.txt, ansible-core and
# msal-extensions, which only the benchmark's comparison side uses), links the working
# tree into .work/bench/collections/ansible_collections/identity/entra, and runs
# bench/run.py, which starts the emulator (10,000 seeded users) on the first of
# 127.0.0.51-59 whose port 443 is free. Arguments go to bench/run.py, e.g. --only 1,3.
set -euo pipefail

# shellcheck source=hacking/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=$ENTRA_WORK/venv-bench
COLLECTIONS=$ENTRA_WORK/bench/collections

main() {
    local python core_req
    command -v python3 >/dev/null || die "python3 is needed"
    python=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is $("$python" -V 2>&1); the benchmarks need Python 3.11 or later"
    core_req=$(grep -E '^ansible-core' "$ENTRA_ROOT/tests/requirements-tools.txt") ||
        die "no ansible-core line in tests/requirements-tools.txt"
    ensure_venv "$VENV" "$python" -r "$ENTRA_ROOT/requirements.txt" "$core_req" 'msal-extensions>=1.2,<2' ||
        die "could not create $VENV"

    mkdir -p "$COLLECTIONS/ansible_collections/identity"
    ln -sfn "$ENTRA_ROOT" "$COLLECTIONS/ansible_collections/identity/entra"

    cd "$ENTRA_ROOT"
    ENTRA_BENCH_COLLECTIONS=$COLLECTIONS exec "$VENV/bin/python" bench/run.py "$@"
}

main "$@"
