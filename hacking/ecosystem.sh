#!/usr/bin/env bash
# The ecosystem checks: what Galaxy, Automation Hub, the Ansible docsite and
# execution environments expect of the collection. `make test` runs this script
# as one step; it can also run alone:
#
#   bash hacking/ecosystem.sh                      run every check
#   bash hacking/ecosystem.sh --release-changelog  record galaxy.yml's version in
#        changelogs/changelog.yaml (a new release dated today, or, when that version
#        is already there, the same release updated with new fragments, plugins and
#        roles) and regenerate CHANGELOG.md; then run the checks
#
# On a fresh machine it makes its own virtualenv, .work/venv-ecosystem, from
# tests/requirements-ecosystem.txt (PyPI only; no container runtime, no Galaxy
# server). It checks a copy of the files git would ship, in
# .work/ecosystem/ansible_collections/identity/entra, so that stray files in the
# work tree cannot change the result:
#
#   error docs in sync   hacking/render_error_docs.py --check
#   doc links            relative links of README.md and docs/*.md resolve
#   antsibull-docs       lint-collection-docs --plugin-docs (every plugin's and role's docs)
#   ansible-lint         production profile, roles/, playbooks/, docs/examples/ (.ansible-lint)
#   changelog lint       antsibull-changelog lint and lint-changelog-yaml
#   CHANGELOG.md current CHANGELOG.md and changelog.yaml are what antsibull-changelog makes
#   galaxy-importer      ansible-galaxy collection build, then Galaxy's importer on the
#                        tarball (hacking/galaxy-importer.cfg): no error, no warning
#   ansible-builder      the execution environment: introspect the installed tarball
#                        (meta/execution-environment.yml) and create a build context
#                        from docs/examples/execution-environment/
#
# Exits non-zero when a check fails; the last line is "N passed, N failed".
set -euo pipefail

# shellcheck source=hacking/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=$ENTRA_WORK/venv-ecosystem
ECO=$ENTRA_WORK/ecosystem
COPY=$ECO/ansible_collections/identity/entra
BUILD=$ECO/build
IMPORTER_CONFIG=$ENTRA_ROOT/hacking/galaxy-importer.cfg
EE_DEFINITION=$ENTRA_ROOT/docs/examples/execution-environment/execution-environment.yml

setup_venv() {
    local python
    python=$(find_python 3.11) || die "no usable Python 3.11 found (looked in pyenv, PATH, /usr/bin, /usr/local/bin)"
    ensure_venv "$VENV" "$python" -r "$ENTRA_ROOT/tests/requirements-ecosystem.txt"
    "$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
        grep -iE '^(ansible-core|ansible-lint|antsibull-docs|antsibull-changelog|galaxy.importer|ansible-builder) ' || true
}

# Run a tool of the virtualenv with nothing of the user's Ansible set-up leaking in.
in_venv() {
    env PATH="$VENV/bin:$PATH" \
        ANSIBLE_COLLECTIONS_PATH="$ECO" \
        ANSIBLE_LOCAL_TEMP="$ECO/tmp" \
        ANSIBLE_NOCOLOR=1 \
        ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1 \
        "$@"
}

error_docs() {
    cd "$ENTRA_ROOT"
    "$VENV/bin/python" hacking/render_error_docs.py --check
    log "docs/troubleshooting.md and the module's error kinds match plugins/plugin_utils/_errors.py"
}

# Every relative link (and image) in README.md and docs/**/*.md points at a file
# or directory of the collection.
doc_links() {
    "$VENV/bin/python" - "$COPY" <<'EOF'
import pathlib, re, sys

root = pathlib.Path(sys.argv[1])
pages = [root / 'README.md'] + sorted((root / 'docs').rglob('*.md'))
link = re.compile(r'\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
broken, count = [], 0
for page in pages:
    text = re.sub(r'```.*?```', '', page.read_text(encoding='utf-8'), flags=re.S)
    for target in link.findall(text):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith('#'):
            continue
        count += 1
        path = (page.parent / target.split('#', 1)[0]).resolve()
        if not path.exists():
            broken.append('%s: %s' % (page.relative_to(root), target))
print('%d relative links in %d pages' % (count, len(pages)))
for item in broken:
    print('broken link: ' + item)
sys.exit(1 if broken else 0)
EOF
}

antsibull_docs() {
    cd "$COPY"
    in_venv antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .
}

ansible_lint() {
    local -a targets=()
    cd "$COPY"
    [[ -d roles ]] && targets+=(roles/)
    [[ -d playbooks ]] && targets+=(playbooks/)
    # The playbooks of the docs are examples people copy: same standard.
    [[ -d docs/examples ]] && targets+=(docs/examples/)
    [[ ${#targets[@]} -gt 0 ]] || die "neither roles/ nor playbooks/ exists"
    # .ansible-lint sets the production profile, offline mode and the exclusions.
    in_venv ansible-lint --nocolor --profile production "${targets[@]}"
}

changelog_lint() {
    cd "$COPY"
    in_venv antsibull-changelog lint
    in_venv antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
}

# changelog_scratch: a throw-away copy of the collection for antsibull-changelog,
# which writes its files (and a plugin cache) in place. Prints its path.
changelog_scratch() {
    local scratch=$ECO/changelog/ansible_collections/identity/entra
    rm -rf "$ECO/changelog"
    mkdir -p "$scratch"
    cp -a "$COPY/." "$scratch/"
    rm -rf "$scratch/.git"
    printf '%s\n' "$scratch"
}

# release_date VERSION: the release date changelog.yaml records for VERSION, or nothing
release_date() {
    "$VENV/bin/python" - "$1" changelogs/changelog.yaml <<'EOF'
import os, sys, yaml
version, path = sys.argv[1:3]
releases = {}
if os.path.exists(path):  # antsibull-changelog creates it at the first release
    with open(path) as f:
        releases = (yaml.safe_load(f) or {}).get('releases') or {}
release = releases.get(version) or {}
print(release.get('release_date', ''))
EOF
}

galaxy_version() {
    "$VENV/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml
}

# regenerate_changelog RELEASE: in the scratch copy, make changelog.yaml and
# CHANGELOG.md what antsibull-changelog makes of the fragments and plugins.
# RELEASE=1 releases galaxy.yml's version when changelog.yaml does not hold it yet.
regenerate_changelog() {
    local release=$1 version date
    version=$(galaxy_version)
    date=$(release_date "$version")
    if [[ -n $date ]]; then
        # The working tree's version is already in changelog.yaml: everything in the
        # tree (fragments, new modules, plugins and roles) must be part of it.
        in_venv antsibull-changelog release --update-existing --refresh --reload-plugins --date "$date"
    elif ((release)); then
        in_venv antsibull-changelog release --reload-plugins --date "$(date -u +%Y-%m-%d)"
    else
        # galaxy.yml names the next, unreleased version: fragments wait for its release.
        in_venv antsibull-changelog generate
    fi
}

changelog_current() {
    local scratch status=0 f
    scratch=$(changelog_scratch)
    (cd "$scratch" && regenerate_changelog 0)
    for f in CHANGELOG.md changelogs/changelog.yaml; do
        if ! diff -u "$COPY/$f" "$scratch/$f"; then
            status=1
        fi
    done
    if ((status)); then
        warn "CHANGELOG.md or changelogs/changelog.yaml is not what antsibull-changelog makes of the fragments and plugins (diff above); run: bash hacking/ecosystem.sh --release-changelog"
    else
        log "CHANGELOG.md and changelogs/changelog.yaml are up to date (version $(cd "$COPY" && galaxy_version))"
    fi
    return "$status"
}

# --release-changelog: do it in a scratch copy, then bring the two files back.
release_changelog() {
    local scratch
    scratch=$(changelog_scratch)
    (cd "$scratch" && regenerate_changelog 1)
    cp "$scratch/CHANGELOG.md" "$ENTRA_ROOT/CHANGELOG.md"
    cp "$scratch/changelogs/changelog.yaml" "$ENTRA_ROOT/changelogs/changelog.yaml"
    log "wrote CHANGELOG.md and changelogs/changelog.yaml"
}

build_tarball() {
    rm -rf "$BUILD"
    mkdir -p "$BUILD"
    (cd "$COPY" && in_venv ansible-galaxy collection build --force --output-path "$BUILD" .)
    find "$BUILD" -maxdepth 1 -name 'identity-entra-*.tar.gz' | head -n 1
}

galaxy_importer() {
    local tarball out=$ECO/importer status=0
    tarball=$(build_tarball | tail -n 1)
    [[ -f $tarball ]] || die "the collection build made no tarball"
    rm -rf "$out"
    mkdir -p "$out"
    log "importing $(relpath "$tarball") with GALAXY_IMPORTER_CONFIG=$(relpath "$IMPORTER_CONFIG")"
    # The importer writes importer_result.json into its working directory.
    # Like Galaxy, it finds the collection in the tarball only: no ANSIBLE_COLLECTIONS_PATH.
    (cd "$out" && env -u ANSIBLE_COLLECTIONS_PATH PATH="$VENV/bin:$PATH" ANSIBLE_NOCOLOR=1 \
        GALAXY_IMPORTER_CONFIG="$IMPORTER_CONFIG" \
        "$VENV/bin/python" -m galaxy_importer.main "$tarball") >"$out/importer.log" 2>&1 || status=$?
    cat "$out/importer.log"
    if ((status)); then
        warn "galaxy-importer exited with status $status"
        return 1
    fi
    if grep -qE '^(WARNING|ERROR|CRITICAL)' "$out/importer.log"; then
        warn "galaxy-importer reported warnings or errors (above); Galaxy would show them on the collection's import log"
        return 1
    fi
    grep -q 'Importer processing completed successfully' "$out/importer.log" ||
        die "galaxy-importer did not report success"
    [[ -s $out/importer_result.json ]] || die "galaxy-importer wrote no importer_result.json"
    "$VENV/bin/python" - "$out/importer_result.json" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    result = json.load(f)
contents = ['%s %s' % (c.get('content_type'), c.get('name')) for c in result.get('contents', [])]
print('imported: ' + ', '.join(sorted(contents)))
EOF
}

ansible_builder() {
    local ee=$ECO/ee tarball requirements
    tarball=$(find "$BUILD" -maxdepth 1 -name 'identity-entra-*.tar.gz' 2>/dev/null | head -n 1)
    [[ -n $tarball ]] || tarball=$(build_tarball | tail -n 1)
    rm -rf "$ee"
    mkdir -p "$ee"
    in_venv env ANSIBLE_COLLECTIONS_PATH="$ee/collections" \
        ansible-galaxy collection install --offline --force -p "$ee/collections" "$tarball" >/dev/null
    # What ansible-builder takes from the collection (meta/execution-environment.yml):
    in_venv ansible-builder introspect "$ee/collections" --write-pip "$ee/pip.txt" --write-bindep "$ee/bindep.txt" >"$ee/introspect.log"
    sed 's/^/    /' "$ee/introspect.log"
    requirements=$(grep -vE '^\s*(#|$)' "$ENTRA_ROOT/requirements.txt" | sed -E 's/[<>=!~ ;].*//' | sort -u)
    for req in $requirements; do
        grep -qi "^$req" "$ee/pip.txt" || die "ansible-builder does not see the Python requirement $req of requirements.txt"
    done
    grep -q 'compile' "$ee/bindep.txt" || die "ansible-builder does not see bindep.txt"
    # A build context from the example definition (no image is built: no container runtime here).
    (cd "$(dirname "$EE_DEFINITION")" &&
        in_venv ansible-builder create -f "$EE_DEFINITION" -c "$ee/context" --output-filename Containerfile -v 1)
    [[ -s $ee/context/Containerfile && -s $ee/context/_build/requirements.yml ]] ||
        die "ansible-builder create made no Containerfile or requirements.yml"
    log "build context in $(relpath "$ee/context")"
}

main() {
    local release=0
    case ${1:-} in
    '') ;;
    --release-changelog) release=1 ;;
    -h | --help)
        sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
    command -v git >/dev/null || die "git is needed"

    run_step "ecosystem: setup venv" setup_venv
    [[ ${STEP_RESULTS[-1]} == passed ]] || { print_summary || true; die "could not set up $(relpath "$VENV")"; }
    run_step "ecosystem: setup copy" sync_tree "$ENTRA_ROOT" "$COPY"
    [[ ${STEP_RESULTS[-1]} == passed ]] || { print_summary || true; die "could not copy the collection"; }
    mkdir -p "$ECO/tmp"

    if ((release)); then
        run_step "ecosystem: release changelog" release_changelog
        run_step "ecosystem: setup copy again" sync_tree "$ENTRA_ROOT" "$COPY"
    fi

    run_step "ecosystem: error docs in sync" error_docs
    run_step "ecosystem: doc links" doc_links
    run_step "ecosystem: antsibull-docs lint" antsibull_docs
    run_step "ecosystem: ansible-lint production" ansible_lint
    run_step "ecosystem: antsibull-changelog lint" changelog_lint
    run_step "ecosystem: CHANGELOG.md up to date" changelog_current
    run_step "ecosystem: galaxy-importer" galaxy_importer
    run_step "ecosystem: ansible-builder" ansible_builder

    print_summary
}

main "$@"
