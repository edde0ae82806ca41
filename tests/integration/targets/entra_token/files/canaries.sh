#!/usr/bin/env bash
# Secrets never appear in output or files: run canary.yml (password and device-code sign-ins, and a
# service principal's client secret, encrypted certificate key and federated tokens) with -vvvv under
# the default callback (JSON and YAML result formats) and the minimal callback (raw JSON results;
# ansible-core no longer ships a `json` stdout callback: it lives in ansible.posix), with a log file and
# jsonfile fact caching, then search everything it left behind for the credentials and for the refresh
# and id tokens of the cache (secret_scan.py); then the same for a device-code sign-in through the
# sign-in playbook, whose access token must not show either.
set -euxo pipefail
CONFIG=$1
WORK=$2
CANARY="Canary-$RANDOM$RANDOM-Passw0rd"
CANARY_SECRET="Canary~$RANDOM$RANDOM-S3cret"
CANARY_KEY_PASSWORD="Canary-$RANDOM$RANDOM-KeyPassw0rd"
OUT=$WORK/canary-output
mkdir -p "$OUT"
# Not on the command line: -vvvv prints extra_vars given there (the user's choice, not a leak).
CANARY_VARS=$(mktemp)
# The service principal's credential files (the encrypted key, the federated tokens, the app's secret): inputs
# that hold the credentials on purpose, so they live outside the searched work directory.
CANARY_CREDS=$(mktemp -d)
trap 'rm -rf "$CANARY_VARS" "$CANARY_CREDS"' EXIT
printf 'canary_password: %s\ncanary_client_secret: %s\ncanary_key_password: %s\ncanary_creds: %s\n' \
    "$CANARY" "$CANARY_SECRET" "$CANARY_KEY_PASSWORD" "$CANARY_CREDS" >"$CANARY_VARS"
export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION=$WORK/canary-facts ANSIBLE_LOG_PATH=$WORK/canary-ansible.log
for variant in default:json default:yaml minimal:json; do
    if ! ANSIBLE_STDOUT_CALLBACK=${variant%%:*} ANSIBLE_CALLBACK_RESULT_FORMAT=${variant##*:} \
        ansible-playbook -vvvv -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" \
        -e "@$CANARY_VARS" canary.yml >"$OUT/${variant/:/-}.out" 2>&1; then
        tail -n 120 "$OUT/${variant/:/-}.out"  # canary values only: the test's own throwaway secrets
        exit 1
    fi
    grep -q 'invalid_credentials' "$OUT/${variant/:/-}.out"
    grep -q 'access_token' "$OUT/${variant/:/-}.out"
    grep -q 'invalid_client_secret' "$OUT/${variant/:/-}.out"
    grep -q 'federated_credential_mismatch' "$OUT/${variant/:/-}.out"
    grep -q 'client_credentials' "$OUT/${variant/:/-}.out"
done
[ -n "$(ls -A "$WORK/canary-facts")" ]

# The password, the canary wrong password and every refresh and id token of the cache: nowhere but in
# the cache's account files (the failure memory holds salted hashes only). The same for the service
# principal's client secret (from the config), the canary wrong secret, the key password, every full base64 line of the
# private key (as in its file and as PKCS#8, the form msal is given) and the federated tokens.
{ set +x; } 2>/dev/null  # the scanner's arguments are the secrets themselves
KEY_LINES=()
count=0
while IFS= read -r line; do
    count=$((count + 1))
    KEY_LINES+=(--secret "private key line $count=$line")
done <"$CANARY_CREDS/key-lines.txt"
[ "$count" -ge 20 ]  # a 2048-bit RSA key is 25 full base64 lines
CREDENTIALS=(--config "$CONFIG" --secret "canary password=$CANARY"
    --secret "canary client secret=$CANARY_SECRET" --secret "certificate key password=$CANARY_KEY_PASSWORD"
    --secret-file "federated token=$CANARY_CREDS/workload.jwt"
    --secret-file "refused federated token=$CANARY_CREDS/refused.jwt" "${KEY_LINES[@]}")
python3 ../setup_emulator/files/secret_scan.py "${CREDENTIALS[@]}" --cache "$WORK/canary/token_cache" --expect-tokens 4 "$WORK"
# The account files may hold tokens, never a credential: the cache directory searched again, nothing allowed.
python3 ../setup_emulator/files/secret_scan.py "${CREDENTIALS[@]}" "$WORK/canary/token_cache"

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
