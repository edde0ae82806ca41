#!/usr/bin/env bash
# The demo command (make demo).
#
# 1. creates its own virtualenv (.work/venv-demo) with the controller's
#    requirements (requirements.txt) and ansible-core;
# 2. builds the collection from the working tree and installs the tarball into
#    .work/demo-collections;
# 3. starts the Entra ID emulator on 127.0.0.1:443, writes the playbook's
#    variables from its ready.json, runs playbooks/demo.yml with the installed
#    collection, shows what the emulator saw, and stops the emulator.
#
# msal sends its user-realm request to port 443 of the authority host, so the
# emulator must listen there. A user who may not bind port 443 (or finds it
# taken) gets step 3 run inside a private user and network namespace
# (unshare -rn), where they may; steps 1 and 2 need the network, so they run first.
# Exits with the playbook's status.
set -euo pipefail

# shellcheck source=hacking/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=$ENTRA_WORK/venv-demo
COLLECTIONS=$ENTRA_WORK/demo-collections
DEMO_DIR=$ENTRA_WORK/demo
PLAYBOOK=$ENTRA_ROOT/playbooks/demo.yml

setup() {
    controller_venv "$VENV" "the demo"
    "$VENV/bin/ansible" --version | sed -n 1p

    log "building the collection from the working tree"
    rm -rf "$DEMO_DIR/build"
    mkdir -p "$DEMO_DIR/build"
    (cd "$ENTRA_ROOT" && "$VENV/bin/ansible-galaxy" collection build --force --output-path "$DEMO_DIR/build")
    log "installing it into $(relpath "$COLLECTIONS")"
    ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS "$VENV/bin/ansible-galaxy" collection install \
        --offline --force -p "$COLLECTIONS" "$DEMO_DIR"/build/identity-entra-*.tar.gz
}

# The part that needs port 443: runs directly, or inside the namespace.
run_demo() {
    local status=0 state=$DEMO_DIR/emulator
    trap stop_emulator EXIT
    start_emulator "$VENV/bin/python" "$state" || die "the emulator did not start"

    mkdir -p "$DEMO_DIR"
    emulator_vars "$VENV/bin/python" "$state/ready.json" "$DEMO_DIR/vars.yml" "entra_demo_dir=$DEMO_DIR"
    printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$VENV/bin/python" \
        >"$DEMO_DIR/inventory.ini"

    log "running $(relpath "$PLAYBOOK")"
    ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS \
        ANSIBLE_LOCALHOST_WARNING=false \
        ANSIBLE_RETRY_FILES_ENABLED=false \
        "$VENV/bin/ansible-playbook" -i "$DEMO_DIR/inventory.ini" -e "@$DEMO_DIR/vars.yml" "$PLAYBOOK" ||
        status=$?

    log "what the emulator saw"
    show_counters "$state/ready.json" || warn "could not read the emulator's counters"
    stop_emulator
    if ((status == 0)); then
        log "demo succeeded"
    else
        warn "the demo playbook failed (exit $status)"
    fi
    return "$status"
}

# Print the emulator's request counters (its admin endpoint, over HTTPS).
show_counters() {
    "$VENV/bin/python" - "$1" <<'EOF'
import json, ssl, sys, urllib.request

with open(sys.argv[1]) as f:
    ready = json.load(f)
url = ready["admin_url"].rstrip("/") + "/counters"
context = ssl.create_default_context(cafile=ready["ca_path"])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
with opener.open(url, timeout=10) as response:
    counters = json.load(response)


def pairs(mapping):
    return ", ".join(f"{key} {value}" for key, value in mapping.items()) or "none"


print(f"  the emulator counted ({url}):")
if isinstance(counters.get("endpoints"), dict):
    print(f"    requests: {counters.get('total', sum(counters['endpoints'].values()))}"
          f" ({pairs(counters['endpoints'])})")
    for key in ("grants", "users", "statuses", "faults"):
        if isinstance(counters.get(key), dict):
            print(f"    {key}: {pairs(counters[key])}")
else:
    print(json.dumps(counters, indent=2))
EOF
}

main() {
    [[ -f $PLAYBOOK ]] || die "$PLAYBOOK is missing"
    if [[ ${1:-} == --in-namespace ]]; then
        # We are inside `unshare -rn`: a fresh network namespace whose loopback
        # interface is down, and in which we are "root".
        local ip
        ip=$(PATH=$PATH:/usr/sbin:/sbin command -v ip) || die "ip (iproute2) is needed to bring up the namespace's loopback interface"
        "$ip" link set lo up || die "could not bring up the loopback interface in the namespace"
        run_demo
        return
    fi

    setup

    local why
    if why=$(can_bind "$ENTRA_EMULATOR_HOST" "$ENTRA_EMULATOR_PORT"); then
        run_demo
    else
        # Port 443 is privileged for this user, or taken: a private user and
        # network namespace has a loopback interface of its own, where it is not.
        command -v unshare >/dev/null || die "cannot listen on $ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT ($why) and unshare is missing; run as root"
        unshare -rn true 2>/dev/null ||
            die "cannot listen on $ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT ($why), and unprivileged user namespaces are off (unshare -rn failed); run as root, or allow it: sysctl net.ipv4.ip_unprivileged_port_start=443"
        log "cannot listen on $ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT here ($why): running the demo in a private user and network namespace (unshare -rn)"
        exec unshare -rn -- bash "${BASH_SOURCE[0]}" --in-namespace
    fi
}

main "$@"
