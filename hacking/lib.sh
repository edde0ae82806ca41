# shellcheck shell=bash
# Shared code for the scripts in hacking/ (test.sh, demo.sh...). Source it; do
# not run it. Sourcing it sets INT and TERM traps (see below).
#
# Everything the scripts build lives under .work/ (git-ignored):
#   .work/bin/                          interpreters and tools put first on PATH
#   .work/venv-*/                       virtualenvs (tools, demo, one per ansible-core)
#   .work/ansible_collections/identity/entra/   the copy ansible-test runs in
#   .work/logs/                         one log per test step

ENTRA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENTRA_WORK=${ENTRA_WORK:-$ENTRA_ROOT/.work}
# The emulator entry point (a developer may point this at another checkout).
ENTRA_EMULATOR_RUN=${ENTRA_EMULATOR_RUN:-$ENTRA_ROOT/tests/emulator/run.py}
# The port msal sends its user-realm request to, whatever the authority's port.
ENTRA_EMULATOR_PORT=443
# Any loopback address works (msal keeps the host); a developer running the demo
# and the tests at once can give one of them another, e.g. 127.0.0.2.
ENTRA_EMULATOR_HOST=${ENTRA_EMULATOR_HOST:-127.0.0.1}

# Interrupted (Ctrl-C, SIGTERM): exit, so that EXIT traps (which stop the
# emulator) run. Background jobs of a script ignore SIGINT themselves.
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The CA bundle pip should trust (a TLS-inspecting proxy may sit in front of the
# package index); empty when none is configured.
ca_bundle() {
    local f
    for f in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}" /etc/ssl/certs/ca-certificates.crt; do
        if [[ -n $f && -f $f ]]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
}

# find_python X.Y: print the path of a real (not a pyenv shim, not a virtualenv)
# Python X.Y interpreter that can create virtualenvs; fail when there is none.
find_python() {
    local ver=$1 cand pyenv_root
    local -a cands=()
    pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    if [[ -d $pyenv_root/versions ]]; then
        # newest patch release first
        while IFS= read -r cand; do
            cands+=("$cand/bin/python$ver")
        done < <(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name "$ver.*" | sort -rV)
    fi
    cand=$(command -v "python$ver" 2>/dev/null || true)
    [[ -n $cand && $cand != */shims/* ]] && cands+=("$cand")
    cands+=("/usr/local/bin/python$ver" "/usr/bin/python$ver")
    for cand in "${cands[@]}"; do
        [[ -x $cand ]] || continue
        if "$cand" -c "
import ensurepip, sys, venv
ok = '%d.%d' % sys.version_info[:2] == '$ver' and sys.prefix == sys.base_prefix
sys.exit(0 if ok else 1)" >/dev/null 2>&1; then
            printf '%s\n' "$cand"
            return 0
        fi
    done
    return 1
}

# link_pythons X.Y...: put real interpreters for each version into .work/bin
# (pyenv shims exit 127 when ansible-test probes Pythons that are not selected).
link_pythons() {
    local ver path
    mkdir -p "$ENTRA_WORK/bin"
    for ver in "$@"; do
        path=$(find_python "$ver") || die "no usable Python $ver found (looked in pyenv, PATH, /usr/bin, /usr/local/bin)"
        ln -sfn "$path" "$ENTRA_WORK/bin/python$ver"
    done
}

# ensure_venv DIR PYTHON PIP-INSTALL-ARGS...: create the virtualenv DIR with
# PYTHON and pip-install the arguments into it. It is left alone when it was
# built from the same interpreter, arguments and requirement files before.
ensure_venv() {
    local dir=$1 python=$2 stamp ca arg
    shift 2
    stamp=$(
        "$python" -c 'import sys; print(sys.executable, sys.version)'
        printf '%s\n' "$@"
        for arg in "$@"; do
            if [[ -f $arg ]]; then cat "$arg"; fi
        done
    )
    # requirement files included with -r are part of the stamp too
    stamp+=$(cat "$ENTRA_ROOT/requirements.txt" 2>/dev/null)
    if [[ -x $dir/bin/python && -f $dir/.entra-stamp ]] && [[ $(cat "$dir/.entra-stamp") == "$stamp" ]]; then
        log "virtualenv $(relpath "$dir") is up to date"
        return 0
    fi
    log "creating virtualenv $(relpath "$dir") with $python"
    rm -rf "$dir"
    "$python" -m venv "$dir" || return 1
    ca=$(ca_bundle)
    local -a pip=("$dir/bin/python" -m pip install --quiet --disable-pip-version-check)
    [[ -n $ca ]] && pip+=(--cert "$ca")
    "${pip[@]}" "$@" || return 1
    printf '%s' "$stamp" >"$dir/.entra-stamp"
}

relpath() {
    local p=$1
    printf '%s\n' "${p#"$ENTRA_ROOT"/}"
}

# can_bind HOST PORT: whether this process may listen on HOST:PORT right now;
# when not, prints why ("in use" or "not permitted").
can_bind() {
    python3 - "$1" "$2" <<'EOF'
import errno, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError as e:
    print("in use" if e.errno == errno.EADDRINUSE else "not permitted" if e.errno == errno.EACCES else e.strerror)
    sys.exit(1)
finally:
    s.close()
EOF
}

# The emulator. start_emulator PYTHON STATE_DIR starts it in the background,
# waits for STATE_DIR/ready.json and sets EMULATOR_PID; stop_emulator ends it.
EMULATOR_PID=
start_emulator() {
    local python=$1 state=$2 i
    [[ -f $ENTRA_EMULATOR_RUN ]] || die "emulator not found: $ENTRA_EMULATOR_RUN"
    stop_stale_emulator "$state"
    rm -rf "$state"
    mkdir -p "$state"
    log "starting the emulator on $ENTRA_EMULATOR_HOST:$ENTRA_EMULATOR_PORT (state in $(relpath "$state"))"
    "$python" "$ENTRA_EMULATOR_RUN" --state-dir "$state" --host "$ENTRA_EMULATOR_HOST" --port "$ENTRA_EMULATOR_PORT" \
        >"$state/emulator.log" 2>&1 </dev/null &
    EMULATOR_PID=$!
    for ((i = 0; i < 300; i++)); do
        if [[ -s $state/ready.json ]]; then
            log "emulator ready (pid $EMULATOR_PID)"
            return 0
        fi
        if ! kill -0 "$EMULATOR_PID" 2>/dev/null; then
            EMULATOR_PID=
            warn "the emulator exited before it was ready; its log:"
            sed 's/^/    /' "$state/emulator.log" >&2
            return 1
        fi
        sleep 0.1
    done
    warn "the emulator was not ready after 30 s; its log:"
    sed 's/^/    /' "$state/emulator.log" >&2
    stop_emulator
    return 1
}

# stop_stale_emulator STATE_DIR: an emulator an earlier, interrupted run
# started with this state directory may still hold the port: end it.
stop_stale_emulator() {
    local state=$1 pid i
    [[ -f $state/ready.json ]] || return 0
    pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$state/ready.json" | head -n 1)
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--state-dir $state" || return 0
    warn "stopping the emulator left running by an earlier run (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_emulator() {
    local i
    [[ -n $EMULATOR_PID ]] || return 0
    if kill -TERM "$EMULATOR_PID" 2>/dev/null; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$EMULATOR_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$EMULATOR_PID" 2>/dev/null; then
            warn "emulator (pid $EMULATOR_PID) ignored SIGTERM for 10 s; killing it"
            kill -KILL "$EMULATOR_PID" 2>/dev/null || true
        fi
    fi
    wait "$EMULATOR_PID" 2>/dev/null || true
    log "emulator stopped"
    EMULATOR_PID=
}

# emulator_vars PYTHON READY_JSON OUT_YAML [EXTRA_KEY=VALUE...]: write the
# variables playbooks and integration tests read (entra_*) from ready.json.
emulator_vars() {
    local python=$1 ready=$2 out=$3
    shift 3
    "$python" - "$ready" "$out" "$@" <<'EOF'
import json, sys
import yaml

ready_path, out_path = sys.argv[1:3]
with open(ready_path) as f:
    ready = json.load(f)
demo = ready.get("demo") or {}
data = {
    "entra_emulator_url": ready["url"],
    "entra_graph_url": ready["graph_url"],
    "entra_ca_path": ready["ca_path"],
    "entra_admin_url": ready.get("admin_url"),
    "entra_tenant": demo.get("tenant"),
    "entra_client_id": demo.get("client_id"),
    "entra_username": demo.get("username"),
    "entra_password": demo.get("password"),
    "entra_emulator": ready,
}
for extra in sys.argv[3:]:
    key, _, value = extra.partition("=")
    data[key] = value
with open(out_path, "w") as f:
    f.write("# Written from the emulator's ready.json by hacking/lib.sh; do not edit.\n")
    yaml.safe_dump(data, f, default_flow_style=False, sort_keys=False)
EOF
}

# sync_tree SRC DST: make DST hold exactly the files git would ship from SRC
# (tracked plus untracked-but-not-ignored), keeping DST's tests/output/ and
# integration_config.yml so ansible-test's virtualenvs survive between runs.
# DST gets a git repository of its own (nothing is committed to it): DST lies
# inside SRC's ignored .work/, and ansible-test, which lists content through
# the nearest .git above it, would otherwise see no files at all.
sync_tree() {
    local src=$1 dst=$2
    mkdir -p "$dst"
    [[ -d $dst/.git ]] || git -C "$dst" init -q
    (cd "$src" && git ls-files -z -co --exclude-standard) | python3 -c '
import os, shutil, sys

src, dst = sys.argv[1:3]
keep_dirs = (".git/", "tests/output/")
keep_files = ("tests/integration/integration_config.yml",)
wanted = set()
for rel in sys.stdin.buffer.read().split(b"\0"):
    rel = rel.decode()
    # tracked files deleted in the work tree are listed too: skip them
    if rel and os.path.lexists(os.path.join(src, rel)):
        wanted.add(rel)
for dirpath, dirnames, filenames in os.walk(dst):
    reldir = os.path.relpath(dirpath, dst)
    reldir = "" if reldir == "." else reldir + "/"
    dirnames[:] = [d for d in dirnames if reldir + d + "/" not in keep_dirs]
    for name in filenames:
        rel = reldir + name
        if rel not in wanted and rel not in keep_files:
            os.unlink(os.path.join(dirpath, name))
for rel in sorted(wanted):
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    if os.path.islink(d) or os.path.islink(s) and os.path.lexists(d):
        os.unlink(d)
    if os.path.islink(s):
        os.symlink(os.readlink(s), d)
    else:
        shutil.copy2(s, d)
for dirpath, dirnames, filenames in os.walk(dst, topdown=False):
    rel = os.path.relpath(dirpath, dst) + "/"
    if dirpath != dst and not any(rel.startswith(k) for k in keep_dirs) and not os.listdir(dirpath):
        os.rmdir(dirpath)
' "$src" "$dst"
}

# Steps: run_step NAME COMMAND... runs the command, logs its output to
# .work/logs/NAME.log, and records its status and duration for print_summary.
STEP_NAMES=()
STEP_RESULTS=()
STEP_SECONDS=()
run_step() {
    local name=$1 start status logfile
    shift
    mkdir -p "$ENTRA_WORK/logs"
    logfile=$ENTRA_WORK/logs/${name//[^A-Za-z0-9_.-]/_}.log
    printf '\n===== %s =====\n$ %s\n' "$name" "$*"
    start=$(date +%s)
    set +e
    (set -e; "$@") 2>&1 | tee "$logfile"
    status=${PIPESTATUS[0]}
    set -e
    record_step "$name" "$status" $(($(date +%s) - start))
    return 0
}

# record_step NAME STATUS SECONDS (STATUS: an exit code, or "skip")
record_step() {
    local result=passed
    if [[ $2 == skip ]]; then
        result=skipped
    elif [[ $2 != 0 ]]; then
        result="failed (exit $2)"
    fi
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("$result")
    STEP_SECONDS+=("$3")
    printf -- '----- %s: %s in %ss\n' "$1" "$result" "$3"
}

# print_summary: the table of steps and a closing "N passed, N failed" line;
# returns non-zero when a step failed.
print_summary() {
    local i passed=0 failed=0 skipped=0 total=0
    printf '\n===== summary =====\n'
    for i in "${!STEP_NAMES[@]}"; do
        printf '%-40s %-16s %6ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECONDS[$i]}"
        total=$((total + STEP_SECONDS[i]))
        case ${STEP_RESULTS[$i]} in
        passed) passed=$((passed + 1)) ;;
        skipped) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
        esac
    done
    printf '%-40s %-16s %6ss\n' "total" "" "$total"
    if ((skipped)); then
        printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
    else
        printf '%d passed, %d failed\n' "$passed" "$failed"
    fi
    ((failed == 0))
}

# controller_venv VENV PURPOSE [EXTRA_REQUIREMENT...]: a virtualenv on python3 (3.11 or later,
# the interpreter itself, not a pyenv shim) with the controller's requirements, the
# ansible-core of tests/requirements-tools.txt and the extras.
controller_venv() {
    local venv=$1 purpose=$2 python core_req
    shift 2
    command -v python3 >/dev/null || die "python3 is needed"
    python=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is $("$python" -V 2>&1); $purpose needs Python 3.11 or later"
    core_req=$(grep -E '^ansible-core' "$ENTRA_ROOT/tests/requirements-tools.txt") ||
        die "no ansible-core line in tests/requirements-tools.txt"
    ensure_venv "$venv" "$python" -r "$ENTRA_ROOT/requirements.txt" "$core_req" "$@" ||
        die "could not create $venv"
}

# collection_venv VENV COLLECTIONS PURPOSE [EXTRA_REQUIREMENT...]: controller_venv, plus this
# working tree linked in COLLECTIONS as the installed identity.entra (benchmarks, reliability suite).
collection_venv() {
    local venv=$1 collections=$2 purpose=$3
    shift 3
    controller_venv "$venv" "$purpose" "$@"
    mkdir -p "$collections/ansible_collections/identity"
    ln -sfn "$ENTRA_ROOT" "$collections/ansible_collections/identity/entra"
}
