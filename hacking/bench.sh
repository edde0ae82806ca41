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
    collection_venv "$VENV" "$COLLECTIONS" "the benchmarks" 'msal-extensions>=1.2,<2'

    cd "$ENTRA_ROOT"
    ENTRA_BENCH_COLLECTIONS=$COLLECTIONS exec "$VENV/bin/python" bench/run.py "$@"
}

main "$@"
