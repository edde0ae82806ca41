#!/usr/bin/env bash
# Service principals, for real against the emulator: the module's behaviour (service_principal.yml),
# twenty hosts at ten forks per credential with a cold and then a warm cache (forks_app.yml), and the
# controller's environment as azure-identity names it (service_principal_env.yml, one run per set of
# variables). Run from the target's directory: files/service_principals.sh CONFIG WORK [ansible-playbook args]
set -euxo pipefail
CONFIG=$1
WORK=$2
shift 2

ansible-playbook -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" service_principal.yml "$@"

for credential in secret thumbprint x5c assertion; do
    for phase in cold warm; do
        ansible-playbook -i files/twenty_hosts.ini -e "@$CONFIG" -e "work_dir=$WORK" -e "credential=$credential" \
            -e "phase=$phase" --forks 10 forks_app.yml "$@" | tee "$WORK/forks-app-$credential-$phase.out"
        grep -q "FORKS credential=$credential phase=$phase hosts=20 token_requests=$([ "$phase" = cold ] && echo 1 || echo 0)\"" \
            "$WORK/forks-app-$credential-$phase.out"
    done
done

# The user's entra_* settings of the config would be variables, which win over the environment for the lookup.
grep -v -E '^entra_(username|password|tenant|client_id):' "$CONFIG" >"$WORK/config-without-user.yml"
ansible-playbook -i "$INVENTORY_PATH" -e "@$WORK/config-without-user.yml" -e "work_dir=$WORK" -e run=setup \
    service_principal_env.yml "$@"
for run in a b c d e; do
    (
        # shellcheck disable=SC1090 # written by the setup run
        . "$WORK/sp-env/$run.env"
        ansible-playbook -i "$INVENTORY_PATH" -e "@$WORK/config-without-user.yml" -e "work_dir=$WORK" -e "run=$run" \
            service_principal_env.yml "$@"
    )
done
