#!/usr/bin/env bash
# The test command (make test; CI runs it through .ci/run).
#
# On a fresh machine it builds everything it needs under .work/ (git-ignored):
# a tools virtualenv, one virtualenv per ansible-core of the matrix, a copy of
# the collection at .work/ansible_collections/identity/entra, and the offline
# stand-in for the pip bootstrap script that `ansible-test --venv` downloads.
# Then it runs: the collection build, the emulator's pytest suite, and for each
# ansible-core of the matrix ansible-test sanity, units and integration (the
# latter against one emulator started for the whole run).
#
# Subsets, for developers:
#   TEST_ONLY=sanity,units   steps to run: build, emulator, reliability, ecosystem, sanity, units, integration (default: all)
#   CORE=newest              oldest, newest, all (default), or an ansible-core version such as 2.16
#   ANSIBLE_TEST_ARGS='-v'   extra arguments for every ansible-test call
# Example: TEST_ONLY=units CORE=newest make test
set -euo pipefail

# shellcheck source=hacking/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_ONLY=${TEST_ONLY:-all}
CORE=${CORE:-all}
read -r -a ANSIBLE_TEST_EXTRA <<<"${ANSIBLE_TEST_ARGS:-}"

# The matrix: name | pip requirement | controller Python | Pythons for units.
# oldest = what meta/runtime.yml's requires_ansible admits; newest = 2.21.
MATRIX=(
    "oldest|ansible-core>=2.16.0,<2.17|3.11|3.11"
    "newest|ansible-core>=2.21.0,<2.22|3.13|3.13 3.12"
)

COPY=$ENTRA_WORK/ansible_collections/identity/entra
TOOLS=$ENTRA_WORK/venv-tools
ANSIBLE_TEST_CACHE=$HOME/.ansible/test/cache

want() {
    [[ ,$TEST_ONLY, == *,all,* || ,$TEST_ONLY, == *,$1,* ]]
}

# core_selected NAME REQUIREMENT
core_selected() {
    [[ $CORE == all || $CORE == "$1" || $2 == *">=$CORE"* ]]
}

# write_pip_standins VENV: for each pip version the ansible-test in VENV
# bootstraps, put an offline stand-in for get-pip.py where ansible-test looks
# for its cached copy (~/.ansible/test/cache/get_pip_<version>.py).
write_pip_standins() {
    local venv=$1 src versions v path ca
    src=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
    versions=$(grep -ohE "\bpip='[0-9][0-9.]*'" "$src/_internal/python_requirements.py" | grep -oE '[0-9][0-9.]*' | sort -u)
    [[ -n $versions ]] || die "cannot tell which pip version $src bootstraps (python_requirements.py changed?)"
    ca=$(ca_bundle)
    mkdir -p "$ANSIBLE_TEST_CACHE"
    for v in $versions; do
        path=$ANSIBLE_TEST_CACHE/get_pip_${v//./_}.py
        if [[ -f $path ]] && ! grep -q 'identity.entra get-pip stand-in' "$path"; then
            log "keeping $path (not ours)"
            continue
        fi
        write_pip_standin "$ca" >"$path.tmp"
        mv "$path.tmp" "$path"
        log "pip $v bootstrap stand-in: $path"
    done
}

write_pip_standin() {
    cat <<EOF
"""identity.entra get-pip stand-in, written by hacking/test.sh.

ansible-test --venv bootstraps pip in each virtualenv it creates by running a
get-pip.py that it downloads from a host that is not reachable here. This file
takes its place: it installs the pip bundled with Python (ensurepip), then runs
"pip install" with the arguments ansible-test passes (pip==X and, for older
ansible-test, setuptools and wheel) against the package index that pip's own
configuration names. ansible-test strips the environment (PIP_CERT,
SSL_CERT_FILE...), so the CA bundle is passed explicitly.
"""
import os
import subprocess
import sys

CA_BUNDLE = ${ca@Q}
UNSUPPORTED = ('--no-setuptools', '--no-wheel')  # get-pip.py options, not pip's


def main():
    bundled = subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if bundled.returncode:
        sys.stdout.write(bundled.stdout.decode(errors='replace'))
        sys.exit(bundled.returncode)
    cmd = [sys.executable, '-m', 'pip', 'install', '--quiet']
    if CA_BUNDLE and os.path.exists(CA_BUNDLE):
        cmd += ['--cert', CA_BUNDLE]
    cmd += [arg for arg in sys.argv[1:] if arg not in UNSUPPORTED]
    sys.exit(subprocess.call(cmd))


if __name__ == '__main__':
    main()
EOF
}

build_collection() {
    local out=$ENTRA_WORK/build tarball
    rm -rf "$out"
    mkdir -p "$out"
    (cd "$COPY" && "$TOOLS/bin/ansible-galaxy" collection build --force --output-path "$out")
    tarball=$(find "$out" -name 'identity-entra-*.tar.gz' | head -n 1)
    [[ -n $tarball ]] || die "no tarball was built"
    if tar -tzf "$tarball" | grep -E '(^|/)(tests/output|\.work|integration_config\.yml|__pycache__)(/|$)'; then
        die "the tarball holds development files (see above): extend build_ignore in galaxy.yml"
    fi
    "$TOOLS/bin/ansible-galaxy" collection install --offline --force -p "$out/collections" "$tarball"
}

emulator_tests() {
    [[ -d $ENTRA_ROOT/tests/emulator/tests ]] || die "tests/emulator/tests is missing"
    cd "$ENTRA_ROOT"
    "$TOOLS/bin/python" -m pytest -p no:cacheprovider tests/emulator/tests
}

# ansible_test VENV COMMAND ARGS...: run ansible-test from VENV in the copy
ansible_test() {
    local venv=$1
    shift
    cd "$COPY"
    PATH="$ENTRA_WORK/bin:$venv/bin:$PATH" "$venv/bin/ansible-test" "$@" "${ANSIBLE_TEST_EXTRA[@]}"
}

last_ok() {
    [[ ${STEP_RESULTS[-1]} == passed ]]
}

abort() {
    warn "setup failed (see above); nothing else was run"
    print_summary || true
    exit 1
}

# One emulator serves the whole integration run; it runs in this shell (not in
# a step's subshell) so that the EXIT trap can stop it.
start_integration_emulator() {
    local start state=$ENTRA_WORK/emulator-integration status=0
    start=$(date +%s)
    printf '\n===== emulator for integration =====\n'
    if start_emulator "$TOOLS/bin/python" "$state" &&
        emulator_vars "$TOOLS/bin/python" "$state/ready.json" "$COPY/tests/integration/integration_config.yml"; then
        log "wrote $(relpath "$COPY/tests/integration/integration_config.yml")"
    else
        status=1
    fi
    record_step "emulator start" "$status" $(($(date +%s) - start))
    return "$status"
}

main() {
    local entry name req ctl unit_pythons venv py started=0 emulator_ok=1
    local -a selected=() pythons=()

    command -v git >/dev/null || die "git is needed"
    local item
    for item in ${TEST_ONLY//,/ }; do
        [[ $item =~ ^(all|build|emulator|reliability|ecosystem|sanity|units|integration)$ ]] ||
            die "TEST_ONLY: unknown step '$item' (use build, emulator, reliability, ecosystem, sanity, units, integration)"
    done
    for entry in "${MATRIX[@]}"; do
        IFS='|' read -r name req ctl unit_pythons <<<"$entry"
        core_selected "$name" "$req" && selected+=("$entry")
    done
    [[ ${#selected[@]} -gt 0 ]] || die "CORE=$CORE matches nothing in the matrix"

    if want emulator || want integration; then
        local why
        if ! why=$(can_bind "$ENTRA_EMULATOR_HOST" "$ENTRA_EMULATOR_PORT"); then
            [[ $why == "in use" ]] && die "$ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT is in use (a demo running?); stop that, or set ENTRA_EMULATOR_HOST=127.0.0.2"
            die "cannot listen on $ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT ($why), which the emulator needs (msal sends its user-realm request to port 443). Run as root, or allow it: sysctl net.ipv4.ip_unprivileged_port_start=443"
        fi
    fi

    # Setup: interpreters, virtualenvs, stand-ins, the copy.
    pythons=(3.11)
    for entry in "${selected[@]}"; do
        IFS='|' read -r name req ctl unit_pythons <<<"$entry"
        # shellcheck disable=SC2206 # a list of versions
        pythons+=("$ctl" $unit_pythons)
    done
    run_step "setup: python interpreters" link_pythons "${pythons[@]}"
    last_ok || abort
    run_step "setup: tools venv" ensure_venv "$TOOLS" "$ENTRA_WORK/bin/python3.11" -r "$ENTRA_ROOT/tests/requirements-tools.txt"
    last_ok || abort
    ln -sfn "$TOOLS/bin/shellcheck" "$ENTRA_WORK/bin/shellcheck"
    run_step "setup: copy of the collection" sync_tree "$ENTRA_ROOT" "$COPY"
    last_ok || abort
    for entry in "${selected[@]}"; do
        IFS='|' read -r name req ctl unit_pythons <<<"$entry"
        venv=$ENTRA_WORK/venv-core-$name
        run_step "setup: $name ansible-core venv" ensure_venv "$venv" "$ENTRA_WORK/bin/python$ctl" "$req"
        [[ ${STEP_RESULTS[-1]} == passed ]] && run_step "setup: $name pip bootstrap stand-in" write_pip_standins "$venv"
        "$venv/bin/ansible" --version 2>/dev/null | sed -n 1p || true
    done

    want build && run_step "collection build" build_collection
    want emulator && run_step "emulator pytest" emulator_tests
    want reliability && run_step "reliability and security suite" bash "$ENTRA_ROOT/hacking/reliability.sh"
    want ecosystem && run_step "ecosystem checks (docs, lint, changelog, galaxy-importer, EE)" bash "$ENTRA_ROOT/hacking/ecosystem.sh"

    for entry in "${selected[@]}"; do
        IFS='|' read -r name req ctl unit_pythons <<<"$entry"
        venv=$ENTRA_WORK/venv-core-$name
        want sanity && run_step "$name sanity (python $ctl)" ansible_test "$venv" sanity --venv --python "$ctl"
        if want units; then
            for py in $unit_pythons; do
                run_step "$name units (python $py)" ansible_test "$venv" units --venv --python "$py"
            done
        fi
        if want integration; then
            if ((!started)); then
                started=1
                trap stop_emulator EXIT
                start_integration_emulator || emulator_ok=0
            fi
            if ((emulator_ok)); then
                run_step "$name integration (python $ctl)" ansible_test "$venv" integration --venv --python "$ctl"
            else
                record_step "$name integration (python $ctl)" 1 0
            fi
        fi
    done
    stop_emulator

    print_summary
}

main "$@"
