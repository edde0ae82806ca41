#!/usr/bin/env bash
# Secrets never appear in output or files: run canary.yml (password and device-code sign-ins) with
# -vvvv under the default callback (JSON and YAML result formats) and the minimal callback (raw JSON
# results; ansible-core no longer ships a `json` stdout callback: it lives in ansible.posix), with a
# log file and jsonfile fact caching, then search everything it left behind for the password, the
# canary wrong password, and the refresh and id tokens of the cache (secret_scan.py); then the same
# for a device-code sign-in through the sign-in playbook, whose access token must not show either.
set -euxo pipefail
CONFIG=$1
WORK=$2
CANARY="Canary-$RANDOM$RANDOM-Passw0rd"
OUT=$WORK/canary-output
mkdir -p "$OUT"
# Not on the command line: -vvvv prints extra_vars given there (the user's choice, not a leak).
CANARY_VARS=$(mktemp)
trap 'rm -f "$CANARY_VARS"' EXIT
printf 'canary_password: %s\n' "$CANARY" >"$CANARY_VARS"
export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION=$WORK/canary-facts ANSIBLE_LOG_PATH=$WORK/canary-ansible.log
for variant in default:json default:yaml minimal:json; do
    ANSIBLE_STDOUT_CALLBACK=${variant%%:*} ANSIBLE_CALLBACK_RESULT_FORMAT=${variant##*:} \
        ansible-playbook -vvvv -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" \
        -e "@$CANARY_VARS" canary.yml >"$OUT/${variant/:/-}.out" 2>&1
    grep -q 'invalid_credentials' "$OUT/${variant/:/-}.out"
    grep -q 'access_token' "$OUT/${variant/:/-}.out"
done
[ -n "$(ls -A "$WORK/canary-facts")" ]

# The password, the canary wrong password and every refresh and id token of the cache: nowhere but in
# the cache's account files (the failure memory holds salted hashes only).
python3 ../setup_emulator/files/secret_scan.py --config "$CONFIG" --secret "canary password=$CANARY" \
    --cache "$WORK/canary/token_cache" --expect-tokens 4 "$WORK"

# The sign-in playbook at -vvvv (same log file and fact cache): its refresh, id and access tokens
# appear nowhere but in its cache's account file.
PYTHON=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
# shellcheck source=tests/integration/targets/entra_token/files/emulator.sh
. files/emulator.sh
with_person "$OUT/sign_in.out" approve mfa@contoso.example "$(printf '%q ' ansible-playbook -vvvv identity.entra.sign_in \
    -e tenant="$(config entra_tenant)" -e client_id="$(config entra_client_id)" -e username=mfa@contoso.example \
    -e authority_host="$(config entra_emulator_url)" -e validate_authority=false -e ca_path="$(config entra_ca_path)" \
    -e cache_path="$WORK/canary/sign_in_cache")"
grep -q 'Signed in as mfa@contoso.example' "$OUT/sign_in.out"
python3 ../setup_emulator/files/secret_scan.py --access-tokens --cache "$WORK/canary/sign_in_cache" --expect-tokens 3 "$WORK"
