#!/usr/bin/env bash
# The graph role and the playbooks in playbooks/, run for real against the emulator.
set -euxo pipefail

CONFIG=$(cd ../.. && pwd)/integration_config.yml
export ANSIBLE_ROLES_PATH=..
WORK=$(mktemp -d "${OUTPUT_DIR:-/tmp}/role_graph.XXXXXX")
export ENTRA_TOKEN_CACHE=$WORK/cache/token_cache.json
EMULATOR_VARS=(-e "@$CONFIG")

# 1. The role: argument spec, batching of plain GETs, results by name, a refused token replaced once,
# app-only tokens; no password, client secret or token (of any cache the run made) in -vvvv output.
# (Into a file, not through a pipe: the script fails with the playbook; the end of its output is shown.)
if ! ansible-playbook -vvvv -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" -e "work_dir=$WORK" role.yml "$@" >"$WORK/role.out" 2>&1; then
    tail -n 80 "$WORK/role.out"
    exit 1
fi
sed -n '/^PLAY RECAP/,$p' "$WORK/role.out"
python3 ../setup_emulator/files/secret_scan.py --config "$CONFIG" --caches-under "$WORK" --access-tokens --expect-tokens 3 "$WORK/role.out"

# 2. The example playbooks, run from the installed collection by name as users would.
ansible-playbook -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" identity.entra.whoami | tee "$WORK/whoami.out"
grep -q 'Demo User <demo@contoso.example>' "$WORK/whoami.out"

ansible-playbook -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" -e "export_dir=$WORK/export" identity.entra.export_users
python3 - "$WORK/export" <<'PY'
import csv, json, sys
users = json.load(open(sys.argv[1] + '/users.json'))
rows = list(csv.DictReader(open(sys.argv[1] + '/users.csv')))
assert len(users) >= 10 and len(rows) == len(users), (len(users), len(rows))
assert {u['userPrincipalName'] for u in users} == {r['userPrincipalName'] for r in rows}
assert 'demo@contoso.example' in {r['userPrincipalName'] for r in rows}
PY

# Group membership: the first run adds (changed), the second adds nothing (not changed).
GROUP_ID=$(ansible-playbook -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" -e "work_dir=$WORK" empty_group.yml | sed -n 's/.*EMPTY_GROUP_ID=\([0-9a-f-]*\).*/\1/p' | head -1)
[ -n "$GROUP_ID" ]
for run in first second; do
    ansible-playbook -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" -e "group_id=$GROUP_ID" \
        -e '{"members": ["adele.vance@contoso.example", "megan.bowen@contoso.example"]}' \
        identity.entra.add_group_members | tee "$WORK/group-$run.out"
done
grep -q 'changed=[1-9]' "$WORK/group-first.out"
grep -q '2 added, 0 already members' "$WORK/group-first.out"
grep -q 'changed=0' "$WORK/group-second.out"
grep -q '0 added, 2 already members' "$WORK/group-second.out"

# Leave the group empty for the other targets (one emulator serves them all).
ansible-playbook -i "$INVENTORY_PATH" "${EMULATOR_VARS[@]}" -e "work_dir=$WORK" empty_group.yml >/dev/null
