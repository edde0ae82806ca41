#!/usr/bin/env bash
# Accounts with MFA, end to end (device-code sign-in, then unattended runs from the cache):
#   1. device_code.yml: the flow's outcomes (approve, decline, expiry, timeout, slow_down, another
#      account, dead refresh tokens) and mfa_required naming the sign-in command;
#   2. that command, run as a person pastes it: Entra's message reaches the console while the task
#      waits - the person reads the code from the captured output of the running ansible-playbook
#      and approves it through the emulator's admin API;
#   3. the same command again: already signed in, no person needed; with -e force=true: a new sign-in;
#   4. unattended.yml: twenty hosts at ten forks, no password, no device code;
#   5. sign_in_frequency.yml around a second sign-in by the command its error names;
#   6. the sign-in playbook with its options from ENTRA_* environment variables only.
# Usage: device_code.sh CONFIG WORK (from runme.sh, in the target's directory).
set -euo pipefail
CONFIG=$1
WORK=$2
PYTHON=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
OUT=$WORK/device_code-output
mkdir -p "$OUT"

# shellcheck source=tests/integration/targets/entra_token/files/emulator.sh
. files/emulator.sh
CA=$(config entra_ca_path)

grants() {
    "${PERSON[@]}" grants
}

# grant_count JSON NAME
grant_count() {
    "$PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' "$1" "$2"
}
DEVICE_CODE=urn:ietf:params:oauth:grant-type:device_code

# 1. The flow's outcomes.
ansible-playbook -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" device_code.yml

# 2. The command mfa_required named, pasted; the person reads the code on the console.
COMMAND=$(cat "$WORK/device_code/mfa_sign_in_command")
[[ $COMMAND == "ansible-playbook identity.entra.sign_in "* ]]
with_person "$OUT/first.out" approve mfa@contoso.example "$COMMAND"
grep -q 'Sign in by device code: To sign in, use a web browser to open the page .* and enter the code .* to authenticate. Sign in as mfa@contoso.example' "$OUT/first.out"
grep -q 'Signed in as mfa@contoso.example (tenant .*) by device code. The sign-in is kept in the token cache .*/device_code/mfa cache:' "$OUT/first.out"
[[ -n $(find "$WORK/device_code/mfa cache/accounts" -name '*.json') ]]

# 3. Signed in already: the refresh token is checked, nobody is asked (a code would fail within 10 s).
before=$(grants)
eval "$COMMAND -e device_code_timeout=10" >"$OUT/again.out" 2>&1 || { cat "$OUT/again.out"; exit 1; }
after=$(grants)
grep -q 'mfa@contoso.example (tenant .*) is already signed in: its cached refresh token still works' "$OUT/again.out"
(($(grant_count "$after" "$DEVICE_CODE") == $(grant_count "$before" "$DEVICE_CODE")))
(($(grant_count "$after" refresh_token) == $(grant_count "$before" refresh_token) + 1))
(($(grant_count "$after" password) == $(grant_count "$before" password)))
# ... unless told to sign in again.
with_person "$OUT/force.out" approve mfa@contoso.example "$COMMAND -e force=true"
grep -q 'Signed in as mfa@contoso.example' "$OUT/force.out"
(($(grant_count "$(grants)" "$DEVICE_CODE") > $(grant_count "$after" "$DEVICE_CODE")))  # its polls

# 4. Unattended: twenty hosts, ten forks, no password.
ansible-playbook -i files/twenty_hosts.ini -e "@$CONFIG" -e "work_dir=$WORK" --forks 10 unattended.yml

# 5. Sign-in frequency: the refresh token dies; the command its error names signs in again.
ansible-playbook -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" -e phase=dead sign_in_frequency.yml
with_person "$OUT/frequency.out" approve frequent@contoso.example "$(cat "$WORK/device_code/frequent_sign_in_command")"
grep -q 'Signed in as frequent@contoso.example' "$OUT/frequency.out"
ansible-playbook -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" -e phase=renewed sign_in_frequency.yml

# 6. Options from the environment, as entra_token reads them (validate_authority has no variable).
with_person "$OUT/environment.out" approve mfa@contoso.example \
    "ENTRA_TENANT_ID=$(config entra_tenant) ENTRA_CLIENT_ID=$(config entra_client_id) ENTRA_USERNAME=mfa@contoso.example \
     ENTRA_AUTHORITY_HOST=$(config entra_emulator_url) ENTRA_CA_PATH=${CA@Q} ENTRA_TOKEN_CACHE=${WORK@Q}/device_code/environment \
     ansible-playbook identity.entra.sign_in -e validate_authority=false"
grep -q 'Signed in as mfa@contoso.example (tenant .*) by device code. The sign-in is kept in the token cache .*/device_code/environment:' \
    "$OUT/environment.out"
[[ -n $(find "$WORK/device_code/environment/accounts" -name '*.json') ]]
