# shellcheck shell=bash
# Sourced by the target's scripts: the integration config's values, and the person of a
# device-code sign-in (device_code_person.py) bound to the emulator. Needs CONFIG and PYTHON.

set -euo pipefail  # the scripts that source this file set it too; here for any other

# config NAME: the value of NAME in the integration config
config() {
    "$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])' "$CONFIG" "$1"
}

PERSON=("$PYTHON" files/device_code_person.py --admin "$(config entra_admin_url)" --ca "$(config entra_ca_path)")

# with_person OUTPUT ACTION [ACCOUNT] COMMAND: run the shell command line COMMAND (a sign-in, as a
# person would paste it) with its output in OUTPUT; meanwhile the person reads the code from that
# output and acts on it. Fails unless both succeed.
with_person() {
    local out=$1 command=${*: -1}
    "${PERSON[@]}" "${@:2:$#-2}" --output "$out" --run "$command"
}
