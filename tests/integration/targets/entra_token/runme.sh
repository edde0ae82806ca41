#!/usr/bin/env bash
# The module's integration test: several real playbook runs against the emulator.
set -euxo pipefail

CONFIG=$(cd ../.. && pwd)/integration_config.yml
export ANSIBLE_ROLES_PATH=..
WORK=$(mktemp -d "${OUTPUT_DIR:-/tmp}/entra_token.XXXXXX")
export ENTRA_TEST_WORK=$WORK
# The person who approves a device code runs as an async task: name its directory outright, as '~' may
# differ between the shell that starts it (HOME) and async_status (the user's home in passwd).
export ANSIBLE_ASYNC_DIR=$WORK/async

# 1. Behaviour of the module: success, cache, refresh, every error kind, cache safety.
ansible-playbook -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" module.yml "$@"

# 2. Twenty hosts, ten forks, a cold cache: exactly one token request.
ansible-playbook -i files/twenty_hosts.ini -e "@$CONFIG" -e "work_dir=$WORK" --forks 10 forks.yml "$@"

# 3. Secrets never reach output or files (-vvvv, default and json callbacks, fact caching on).
bash files/canaries.sh "$CONFIG" "$WORK"

# 4. Accounts with MFA: device-code sign-in (the message on the console), then unattended runs from the cache.
bash files/device_code.sh "$CONFIG" "$WORK"

# 5. Service principals: each credential, twenty hosts at ten forks per credential, the environment as azure-identity names it.
bash files/service_principals.sh "$CONFIG" "$WORK" "$@"
