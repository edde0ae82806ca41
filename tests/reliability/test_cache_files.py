"""Damaged, hostile and unusual cache files: the documented behaviour, never a traceback.

Documented (doc fragment cache_path, _cache_store module docstring):
- a corrupt, truncated, empty or binary file is moved aside (kept 0600 for
  inspection) with a warning, and acquisition goes on;
- a file larger than 64 MiB, a directory, a symbolic link or any other
  non-regular file at the cache path, a file or directory owned by another
  user, a file group/world accessible, a directory group/world writable, an
  unwritable directory: ``cache_error`` with a message saying what to do,
  before anything is sent to Entra.
"""

from __future__ import annotations

import grp
import hashlib  # noqa: F401  pylint: disable=unused-import  # imported before privileges are dropped
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

from _procs import acquire, run_forked
from conftest import reliability_user

IS_ROOT = os.geteuid() == 0
USER, PASSWORD = reliability_user(1)


def _valid_cache(emu, directory) -> bytes:
    """The bytes of a real cache file holding USER's tokens."""
    path = os.path.join(str(directory), "seed", "token_cache.json")
    result = acquire(emu.options(USER, PASSWORD, cache_path=path))
    assert result["ok"], result
    with open(path, "rb") as handle:
        return handle.read()


def _nested(depth):
    return ("[" * depth + "]" * depth).encode()


RECOVERED = {
    "empty": lambda valid: b"",
    "whitespace": lambda valid: b"  \n\t ",
    "truncated": lambda valid: valid[: len(valid) // 2],
    "corrupt": lambda valid: valid.replace(b'"', b"'", 7),
    "binary": lambda valid: os.urandom(4096),
    "not utf-8": lambda valid: b'{"Account": {"\xff\xfe": {}}}',
    "json array": lambda valid: b"[1, 2, 3]",
    "json string": lambda valid: b'"token_cache"',
    "section not an object": lambda valid: b'{"AccessToken": [], "Account": {}}',
    "entry not an object": lambda valid: b'{"RefreshToken": {"k": "v"}}',
    "nested too deeply": lambda valid: _nested(100000),
    "nul bytes": lambda valid: b"\0" * 1024,
}


def _run(options, user=None):
    """One acquisition in a forked child (bounded: a hang is a failure), optionally as another user."""
    def job():
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        return acquire(options)
    return run_forked([job], timeout=60)[0]


def _assert_cache_error(result, *phrases):
    assert not result["ok"], result
    assert result["kind"] == "cache_error", result
    assert result["retryable"] is False
    message = result["message"]
    assert "\n" not in message and "Traceback" not in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)


@pytest.mark.parametrize("case", sorted(RECOVERED))
def test_unreadable_content_is_moved_aside(emu, tmp_path, case):
    valid = _valid_cache(emu, tmp_path)
    bad = RECOVERED[case](valid)
    cache_file = tmp_path / "token_cache.json"
    fd = os.open(cache_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, bad)
    os.close(fd)
    emu.reset()

    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    assert result["ok"], result
    assert result["facts"]["source"] == "password"
    assert len(result["warnings"]) == 1, result["warnings"]
    warning = result["warnings"][0]
    assert "moved it to" in warning and "\n" not in warning
    kept = [name for name in os.listdir(tmp_path) if name.startswith("token_cache.json.corrupt-")]
    assert len(kept) == 1
    kept_path = tmp_path / kept[0]
    assert kept_path.read_bytes() == bad  # kept as it was, for inspection
    assert stat.S_IMODE(kept_path.stat().st_mode) == 0o600
    assert str(kept_path) in warning
    # never quoted: the content may hold secrets
    if len(bad) > 16:
        assert bad[:16].decode("latin-1") not in warning
    # the new file is a good cache that serves the next call
    json.loads(cache_file.read_bytes())
    again = _run(emu.options(USER, cache_path=str(cache_file)))
    assert again["ok"] and again["facts"]["source"] == "cache", again
    assert emu.token_requests() == 1


def test_large_valid_cache_is_fast(emu, tmp_path):
    """A cache grown to a few MiB by many accounts still serves a warm hit quickly."""
    valid = json.loads(_valid_cache(emu, tmp_path))
    template_key, template = next(iter(valid["AccessToken"].items()))
    for number in range(4000):
        entry = dict(template, home_account_id="filler-%d" % number, secret="y" * 1500)
        valid["AccessToken"]["%s-%d" % (template_key, number)] = entry
    cache_file = tmp_path / "token_cache.json"
    fd = os.open(cache_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(valid).encode())
    os.close(fd)
    assert cache_file.stat().st_size > 6 * 1024 * 1024
    emu.reset()
    result = _run(emu.options(USER, cache_path=str(cache_file)))
    assert result["ok"] and result["facts"]["source"] == "cache", result
    assert result["elapsed"] < 1.5, result["elapsed"]
    assert emu.token_requests() == 0


def test_too_large_file_is_refused_and_left_alone(emu, tmp_path):
    cache_file = tmp_path / "token_cache.json"
    fd = os.open(cache_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.truncate(fd, 65 * 1024 * 1024)
    os.close(fd)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    _assert_cache_error(result, "64 MiB", str(cache_file))
    assert cache_file.stat().st_size == 65 * 1024 * 1024
    assert sorted(os.listdir(tmp_path)) == ["token_cache.json"]
    assert emu.token_requests() == 0


def _plant_directory(path):
    os.mkdir(path, 0o700)


def _plant_fifo(path):
    os.mkfifo(path, 0o600)


def _plant_socket(path):
    import socket  # pylint: disable=import-outside-toplevel
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


@pytest.mark.parametrize("plant,phrase", [
    (_plant_directory, "is a directory"),
    (_plant_fifo, "not a regular file"),
    (_plant_socket, "not a regular file"),
])
def test_not_a_file_at_the_cache_path(emu, tmp_path, plant, phrase):
    cache_file = tmp_path / "token_cache.json"
    plant(cache_file)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    _assert_cache_error(result, phrase)
    assert emu.token_requests() == 0


@pytest.mark.parametrize("target_kind", ["valid cache", "missing file", "directory", "lock file link"])
def test_symlink_at_the_cache_path_is_not_followed(emu, tmp_path, target_kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    target = elsewhere / "target.json"
    original = None
    if target_kind == "valid cache":
        original = _valid_cache(emu, tmp_path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, original)
        os.close(fd)
    elif target_kind == "directory":
        target.mkdir()
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    cache_file = cache_dir / "token_cache.json"
    if target_kind == "lock file link":
        # the cache file is fine, but its lock file was replaced by a link to a file of the victim's
        original = _valid_cache(emu, tmp_path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, original)
        os.close(fd)
        os.symlink(target, str(cache_file) + ".lock")
        shutil.copy(tmp_path / "seed" / "token_cache.json", cache_file)
        os.chmod(cache_file, 0o600)
        options = emu.options(USER, PASSWORD, cache_path=str(cache_file), force_refresh=True)
    else:
        os.symlink(target, cache_file)
        options = emu.options(USER, PASSWORD, cache_path=str(cache_file))
    emu.reset()
    result = _run(options)
    _assert_cache_error(result, "symbolic link")
    if target_kind == "lock file link":
        # The cache lock is taken only to store a result, so the sign-in happened first (one token
        # request); nothing was written through the link.
        assert emu.token_requests() <= 1
    else:
        assert emu.token_requests() == 0
    if original is not None:
        assert target.read_bytes() == original
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    elif target_kind == "missing file":
        assert not os.path.lexists(target)  # not created through the link


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640, 0o604, 0o700])
def test_accessible_file_is_refused(emu, tmp_path, mode):
    valid = _valid_cache(emu, tmp_path)
    cache_file = tmp_path / "token_cache.json"
    cache_file.write_bytes(valid)
    os.chmod(cache_file, mode)
    emu.reset()
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    if mode & 0o077:
        _assert_cache_error(result, "mode %04o" % mode, "chmod 600 %s" % cache_file)
        assert stat.S_IMODE(cache_file.stat().st_mode) == mode  # left as it was
        assert emu.token_requests() == 0
    else:  # 0700: only the owner: accepted
        assert result["ok"] and result["facts"]["source"] == "cache", result


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o707, 0o1777])
def test_writable_directory_is_refused(emu, tmp_path, mode):
    cache_dir = tmp_path / "shared"
    cache_dir.mkdir()
    os.chmod(cache_dir, mode)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir / "token_cache.json")))
    _assert_cache_error(result, "writable by group or others", "chmod go-w")
    assert os.listdir(cache_dir) == []
    assert emu.token_requests() == 0


def test_group_readable_directory_is_accepted(emu, tmp_path):
    """0755 is a usual home directory mode: refusing it would be wrong (only the file must be private)."""
    cache_dir = tmp_path / "home"
    cache_dir.mkdir()
    os.chmod(cache_dir, 0o755)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir / "token_cache.json")))
    assert result["ok"], result
    assert stat.S_IMODE((cache_dir / "token_cache.json").stat().st_mode) == 0o600


def test_parent_is_a_file(emu, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    result = _run(emu.options(USER, PASSWORD, cache_path=str(blocker / "token_cache.json")))
    _assert_cache_error(result, "not a directory")


def test_new_directories_are_private(emu, tmp_path):
    cache_file = tmp_path / "a" / "b" / "token_cache.json"
    old_umask = os.umask(0)
    try:
        result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    finally:
        os.umask(old_umask)
    assert result["ok"], result
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / ".locks"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for name in os.listdir(tmp_path / "a" / "b"):
        path = tmp_path / "a" / "b" / name
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --- other users -----------------------------------------------------------------------------

def _nobody():
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = entry.pw_gid
    return entry.pw_uid, gid


needs_root = pytest.mark.skipif(not IS_ROOT, reason="making files of another user, or dropping to one, needs root")


@needs_root
def test_file_owned_by_another_user(emu, tmp_path):
    uid, gid = _nobody()
    valid = _valid_cache(emu, tmp_path)
    cache_file = tmp_path / "token_cache.json"
    fd = os.open(cache_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, valid)
    os.close(fd)
    os.chown(cache_file, uid, gid)
    emu.reset()
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_file)))
    _assert_cache_error(result, "owned by uid %d" % uid)
    assert cache_file.read_bytes() == valid
    assert emu.token_requests() == 0


@needs_root
def test_directory_owned_by_another_user(emu, tmp_path):
    uid, gid = _nobody()
    cache_dir = tmp_path / "theirs"
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, uid, gid)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir / "token_cache.json")))
    _assert_cache_error(result, "owned by uid %d" % uid)
    assert emu.token_requests() == 0


@pytest.fixture
def nobody_dir(emu):
    """A directory owned by 'nobody' outside root's private temp dirs, with a copy of the emulator CA."""
    uid, gid = _nobody()
    base = tempfile.mkdtemp(prefix="entra-reliability-")
    os.chmod(base, 0o755)
    shutil.copy(emu.ca_path, os.path.join(base, "ca.pem"))
    os.chmod(os.path.join(base, "ca.pem"), 0o644)
    cache_dir = os.path.join(base, "cache")
    os.mkdir(cache_dir, 0o700)
    os.chown(cache_dir, uid, gid)
    yield base, cache_dir, (uid, gid)
    shutil.rmtree(base)


@needs_root
def test_read_only_directory(emu, nobody_dir, tmp_path):
    """As an unprivileged user: a cold cache in a read-only directory is a cache_error; a warm one still serves."""
    base, cache_dir, nobody = nobody_dir
    cache_file = os.path.join(cache_dir, "token_cache.json")
    options = emu.options(USER, PASSWORD, cache_path=cache_file, ca_path=os.path.join(base, "ca.pem"))
    os.chmod(cache_dir, 0o500)
    cold = _run(options, user=nobody)
    _assert_cache_error(cold, cache_dir, "Permission denied", "cache_path")
    assert emu.token_requests() == 0

    # warm: a valid cache of nobody's (tokens and discovery), then the directory made read-only
    _valid_cache(emu, tmp_path)
    os.chmod(cache_dir, 0o700)
    for name in ("token_cache.json", "token_cache.json.discovery.json"):
        shutil.copy(tmp_path / "seed" / name, os.path.join(cache_dir, name))
        os.chown(os.path.join(cache_dir, name), *nobody)
    os.chmod(cache_dir, 0o500)
    emu.reset()
    warm = _run(options, user=nobody)
    assert warm["ok"] and warm["facts"]["source"] == "cache", warm
    assert emu.token_requests() == 0


@needs_root
def test_read_only_cache_file_in_writable_directory(emu, nobody_dir, tmp_path):
    """A 0400 cache file is read-only for its owner, not unsafe: served when warm, replaced when a write is needed."""
    base, cache_dir, nobody = nobody_dir
    cache_file = os.path.join(cache_dir, "token_cache.json")
    _valid_cache(emu, tmp_path)
    for name in ("token_cache.json", "token_cache.json.discovery.json"):
        shutil.copy(tmp_path / "seed" / name, os.path.join(cache_dir, name))
        os.chown(os.path.join(cache_dir, name), *nobody)
    os.chmod(cache_file, 0o400)
    options = emu.options(USER, PASSWORD, cache_path=cache_file, ca_path=os.path.join(base, "ca.pem"))
    emu.reset()
    warm = _run(options, user=nobody)
    assert warm["ok"] and warm["facts"]["source"] == "cache", warm
    forced = _run(dict(options, force_refresh=True), user=nobody)
    assert forced["ok"], forced


def test_failures_through_ansible_have_no_traceback(emu, tmp_path, ansible_env):
    """The module and the lookup report a bad cache as a clean failure (no Python traceback)."""
    cache_dir = tmp_path / "dir-at-path"
    cache_dir.mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    playbook = tmp_path / "play.yml"
    options = emu.options(USER, PASSWORD)
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "module, directory", "identity.entra.entra_token": dict(options, cache_path=str(cache_dir)),
             "register": "module_result", "ignore_errors": True},
            {"name": "lookup, symlink", "ansible.builtin.set_fact": {"x": "{{ lookup('identity.entra.entra_token', **o) }}"},
             "vars": {"o": dict(options, cache_path=str(tmp_path / "link"))}, "register": "lookup_result",
             "ignore_errors": True},
            {"ansible.builtin.assert": {"that": [
                "module_result is failed", "module_result.error.kind == 'cache_error'",
                "lookup_result is failed", "lookup_result.msg is search('\\\\[cache_error\\\\]')"]}},
        ]}]), encoding="utf-8")
    run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
                         env=ansible_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
    output = run.stdout.decode(errors="replace")
    assert run.returncode == 0, output
    assert "Traceback" not in output
    assert "is a directory" in output and "symbolic link" in output
