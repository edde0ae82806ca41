"""Damaged, hostile and unusual cache directories and account files: the documented behaviour, never a traceback.

Since 0.2.0 ``cache_path`` is a directory (0700) holding one msal cache file per
account (``accounts/<key>.json``, 0600); see _layout and plugin_utils/_cache_directory.
Documented (doc fragment cache_path, _cache_store and _cache_directory docstrings):
- a corrupt, truncated, empty or binary account file is moved aside (kept 0600 for
  inspection) with a warning, and acquisition goes on; entries of the wrong shape
  are skipped with a warning and left in the file (other tools may write them);
- a file at cache_path (a 0.1.0 cache), an account file larger than 64 MiB, a
  directory, symbolic link or other non-regular file at an account file, a file or
  directory owned by another user, a file group/world accessible, a directory
  group/world writable, an unwritable directory: ``cache_error`` with a message
  saying what to do, before anything is sent to Entra.
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

from _layout import account_path, load, tree, write_private
from _procs import acquire, run_forked
from conftest import reliability_user

IS_ROOT = os.geteuid() == 0
USER, PASSWORD = reliability_user(1)


def _signed_in(emu, directory, name="seed"):
    """(cache directory, USER's account file) after a real sign-in into a new cache under ``directory``."""
    cache_dir = os.path.join(str(directory), name)
    result = acquire(emu.options(USER, PASSWORD, cache_path=cache_dir))
    assert result["ok"], result
    return cache_dir, account_path(emu.options(USER, cache_path=cache_dir))


def _valid_account(emu, directory) -> bytes:
    """The bytes of a real account file holding USER's tokens."""
    _cache_dir, path = _signed_in(emu, directory)
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
    "nested too deeply": lambda valid: _nested(100000),
    "nul bytes": lambda valid: b"\0" * 1024,
}

# Valid documents whose entries are not in the shape msal writes: skipped (with a warning), kept in the file.
SKIPPED = {
    "entry not an object": lambda doc, rt: doc["RefreshToken"].update({"k": "v"}),
    "refresh token secret a list": lambda doc, rt: doc["RefreshToken"].update({"x": dict(rt, secret=["a"])}),
    "account without authority_type": lambda doc, rt: [a.pop("authority_type") for a in doc["Account"].values()],
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


def _plant_account(emu, cache_dir, data: bytes) -> str:
    """A cache directory whose USER account file holds ``data`` (0600); return the account file."""
    path = account_path(emu.options(USER, cache_path=str(cache_dir)))
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.chmod(str(cache_dir), 0o700)
    write_private(path, data)
    return path


@pytest.mark.parametrize("case", sorted(RECOVERED))
def test_unreadable_content_is_moved_aside(emu, tmp_path, case):
    valid = _valid_account(emu, tmp_path)
    bad = RECOVERED[case](valid)
    cache_dir = tmp_path / "cache"
    path = _plant_account(emu, cache_dir, bad)
    emu.reset()

    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    assert result["ok"], result
    assert result["facts"]["source"] == "password"
    assert len(result["warnings"]) == 1, result["warnings"]
    warning = result["warnings"][0]
    assert "moved it to" in warning and "\n" not in warning
    directory, name = os.path.split(path)
    kept = [entry for entry in os.listdir(directory) if entry.startswith(name + ".corrupt-")]
    assert len(kept) == 1
    kept_path = os.path.join(directory, kept[0])
    with open(kept_path, "rb") as handle:
        assert handle.read() == bad  # kept as it was, for inspection
    assert stat.S_IMODE(os.stat(kept_path).st_mode) == 0o600
    assert kept_path in warning
    # never quoted: the content may hold secrets
    if len(bad) > 16:
        assert bad[:16].decode("latin-1") not in warning
    # the new file is a good cache that serves the next call
    load(path)
    again = _run(emu.options(USER, cache_path=str(cache_dir)))
    assert again["ok"] and again["facts"]["source"] == "cache", again
    assert emu.token_requests() == 1


@pytest.mark.parametrize("case", sorted(SKIPPED))
def test_wrong_shape_entries_are_skipped_and_kept(emu, tmp_path, case):
    doc = json.loads(_valid_account(emu, tmp_path))
    refresh_token = next(iter(doc["RefreshToken"].values()))
    for section in ("AccessToken", "RefreshToken"):  # no usable token left: a sign-in is needed
        doc[section] = {}
    SKIPPED[case](doc, refresh_token)
    cache_dir = tmp_path / "cache"
    path = _plant_account(emu, cache_dir, json.dumps(doc).encode())
    emu.reset()
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    assert result["ok"] and result["facts"]["source"] == "password", result
    assert [w for w in result["warnings"] if "skipped" in w and path in w], result["warnings"]
    after = load(path)
    for key, entry in doc["RefreshToken"].items():
        assert after["RefreshToken"][key] == entry  # another tool's entry: left alone
    again = _run(emu.options(USER, cache_path=str(cache_dir)))
    assert again["ok"] and again["facts"]["source"] == "cache", again
    assert emu.token_requests() == 1


def test_large_account_file_still_serves(emu, tmp_path):
    """An account file grown to a few MiB by many entries still serves a warm hit."""
    valid = json.loads(_valid_account(emu, tmp_path))
    template_key, template = next(iter(valid["AccessToken"].items()))
    for number in range(4000):
        entry = dict(template, home_account_id="filler-%d" % number, secret="y" * 1500)
        valid["AccessToken"]["%s-%d" % (template_key, number)] = entry
    cache_dir = tmp_path / "cache"
    path = _plant_account(emu, cache_dir, json.dumps(valid).encode())
    assert os.stat(path).st_size > 6 * 1024 * 1024
    emu.reset()
    result = _run(emu.options(USER, cache_path=str(cache_dir)))
    assert result["ok"] and result["facts"]["source"] == "cache", result
    assert emu.token_requests() == 0


def test_too_large_file_is_refused_and_left_alone(emu, tmp_path):
    cache_dir = tmp_path / "cache"
    path = _plant_account(emu, cache_dir, b"")
    fd = os.open(path, os.O_WRONLY)
    os.truncate(fd, 65 * 1024 * 1024)
    os.close(fd)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    _assert_cache_error(result, "64 MiB", path)
    assert os.stat(path).st_size == 65 * 1024 * 1024
    assert sorted(os.listdir(os.path.dirname(path))) == [os.path.basename(path)]
    assert emu.token_requests() == 0


def _plant_directory(path):
    os.mkdir(path, 0o700)


def _plant_fifo(path):
    os.mkfifo(path, 0o600)


def _plant_socket(path):
    import socket  # pylint: disable=import-outside-toplevel
    short = tempfile.mkdtemp(prefix="s")  # AF_UNIX paths are limited to about 100 bytes: bind, then move
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(short, "s"))
    sock.close()
    os.rename(os.path.join(short, "s"), str(path))
    os.rmdir(short)


def _plant_file(path):
    write_private(path, b'{"AccessToken": {}}')


@pytest.mark.parametrize("plant,phrase", [
    (_plant_file, "since identity.entra 0.2.0 the token cache is a directory"),
    (_plant_fifo, "not a directory"),
    (_plant_socket, "not a directory"),
])
def test_not_a_directory_at_the_cache_path(emu, tmp_path, plant, phrase):
    cache_path = tmp_path / "token_cache"
    plant(cache_path)
    before = tree(tmp_path)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_path)))
    _assert_cache_error(result, phrase, str(cache_path))
    assert emu.token_requests() == 0
    assert tree(tmp_path) == before


@pytest.mark.parametrize("plant,phrase", [
    (_plant_directory, "is a directory"),
    (_plant_fifo, "not a regular file"),
    (_plant_socket, "not a regular file"),
])
def test_not_a_file_at_the_account_file(emu, tmp_path, plant, phrase):
    cache_dir = tmp_path / "cache"
    path = account_path(emu.options(USER, cache_path=str(cache_dir)))
    os.makedirs(os.path.dirname(path), mode=0o700)
    os.chmod(cache_dir, 0o700)
    plant(path)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    _assert_cache_error(result, phrase)
    assert emu.token_requests() == 0


def test_symlink_to_a_directory_at_the_cache_path_is_used(emu, tmp_path):
    """A relocated cache directory (cache_path a link to it) is accepted: the directory it points at is checked."""
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(tmp_path / "link")))
    assert result["ok"], result
    assert os.path.isfile(account_path(emu.options(USER, cache_path=str(real))))


def test_dangling_symlink_at_the_cache_path(emu, tmp_path):
    """A link to a directory that does not exist: say so and what to create, not 'vanished, retry'; create nothing."""
    target = tmp_path / "missing"
    (tmp_path / "link").symlink_to(target)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(tmp_path / "link")))
    _assert_cache_error(result, "symbolic link", str(target), "does not exist")
    assert "retry" not in result["message"] and "vanished" not in result["message"]
    assert not os.path.lexists(target)
    assert emu.token_requests() == 0


@pytest.mark.parametrize("target_kind", ["valid cache", "missing file", "directory", "lock file link"])
def test_symlink_at_the_account_file_is_not_followed(emu, tmp_path, target_kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    target = elsewhere / "target.json"
    original = None
    if target_kind in ("valid cache", "lock file link"):
        original = _valid_account(emu, tmp_path)
        write_private(target, original)
    elif target_kind == "directory":
        target.mkdir()
    cache_dir, path = _signed_in(emu, tmp_path, "cache")
    if target_kind == "lock file link":
        # the account file is fine, but its lock file was replaced by a link to a file of the victim's
        os.unlink(path + ".lock")
        os.symlink(target, path + ".lock")
        options = emu.options(USER, PASSWORD, cache_path=cache_dir, force_refresh=True)
    else:
        os.unlink(path)
        os.symlink(target, path)
        options = emu.options(USER, PASSWORD, cache_path=cache_dir)
    emu.reset()
    result = _run(options)
    _assert_cache_error(result, "symbolic link")
    # the lock is checked before any credential is sent
    assert emu.token_requests() == 0
    if original is not None:
        assert target.read_bytes() == original
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    elif target_kind == "missing file":
        assert not os.path.lexists(target)  # not created through the link


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640, 0o604, 0o700])
def test_accessible_file_is_refused(emu, tmp_path, mode):
    _cache_dir, path = _signed_in(emu, tmp_path, "cache")
    os.chmod(path, mode)
    emu.reset()
    result = _run(emu.options(USER, PASSWORD, cache_path=str(tmp_path / "cache")))
    if mode & 0o077:
        _assert_cache_error(result, "mode %04o" % mode, "chmod 600 %s" % path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode  # left as it was
        assert emu.token_requests() == 0
    else:  # 0700: only the owner: accepted
        assert result["ok"] and result["facts"]["source"] == "cache", result


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o707, 0o1777])
def test_writable_directory_is_refused(emu, tmp_path, mode):
    cache_dir = tmp_path / "shared"
    cache_dir.mkdir()
    os.chmod(cache_dir, mode)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    _assert_cache_error(result, "writable by group or others", "chmod 700 %s" % cache_dir)
    assert os.listdir(cache_dir) == []
    assert emu.token_requests() == 0


def test_group_readable_directory_is_accepted(emu, tmp_path):
    """0755 is a usual mode for a directory someone made by hand: refusing it would be wrong (only writes by others matter)."""
    cache_dir = tmp_path / "home"
    cache_dir.mkdir()
    os.chmod(cache_dir, 0o755)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    assert result["ok"], result
    assert stat.S_IMODE(os.stat(account_path(emu.options(USER, cache_path=str(cache_dir)))).st_mode) == 0o600


def test_new_directories_are_private(emu, tmp_path):
    cache_dir = tmp_path / "a" / "b" / "token_cache"
    old_umask = os.umask(0)
    try:
        result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
    finally:
        os.umask(old_umask)
    assert result["ok"], result
    directories = [tmp_path / "a", tmp_path / "a" / "b"]
    for root, dirs, files in os.walk(tmp_path / "a"):
        directories += [os.path.join(root, name) for name in dirs]
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600, os.path.join(root, name)
    assert {os.path.basename(str(d)) for d in directories} >= {"token_cache", "accounts", "locks"}
    for path in directories:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700, path


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
    _cache_dir, path = _signed_in(emu, tmp_path, "cache")
    with open(path, "rb") as handle:
        valid = handle.read()
    os.chown(path, uid, gid)
    emu.reset()
    result = _run(emu.options(USER, PASSWORD, cache_path=str(tmp_path / "cache")))
    _assert_cache_error(result, "owned by uid %d" % uid)
    with open(path, "rb") as handle:
        assert handle.read() == valid
    assert emu.token_requests() == 0


@needs_root
def test_directory_owned_by_another_user(emu, tmp_path):
    uid, gid = _nobody()
    cache_dir = tmp_path / "theirs"
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, uid, gid)
    result = _run(emu.options(USER, PASSWORD, cache_path=str(cache_dir)))
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


def _give_cache(source_dir, cache_dir, owner):
    """Copy a cache directory's content into ``cache_dir`` (kept), owned by ``owner``."""
    for root, dirs, files in os.walk(source_dir):
        relative = os.path.relpath(root, source_dir)
        target_root = os.path.normpath(os.path.join(cache_dir, relative))
        for name in dirs:
            os.makedirs(os.path.join(target_root, name), mode=0o700, exist_ok=True)
            os.chown(os.path.join(target_root, name), *owner)
        for name in files:
            shutil.copy2(os.path.join(root, name), os.path.join(target_root, name))
            os.chown(os.path.join(target_root, name), *owner)


def _chmod_tree(root, directory_mode):
    for path, dirs, _files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(path, name), directory_mode)
    os.chmod(root, directory_mode)


@needs_root
def test_read_only_directory(emu, nobody_dir, tmp_path):
    """As an unprivileged user: a cold cache in a read-only directory is a cache_error; a warm one still serves."""
    base, cache_dir, nobody = nobody_dir
    options = emu.options(USER, PASSWORD, cache_path=cache_dir, ca_path=os.path.join(base, "ca.pem"))
    os.chmod(cache_dir, 0o500)
    cold = _run(options, user=nobody)
    _assert_cache_error(cold, cache_dir, "Permission denied")
    assert emu.token_requests() == 0

    # warm: a valid cache of nobody's (tokens and discovery), then every directory made read-only
    seed_dir, _path = _signed_in(emu, tmp_path)
    os.chmod(cache_dir, 0o700)
    _give_cache(seed_dir, cache_dir, nobody)
    _chmod_tree(cache_dir, 0o500)
    emu.reset()
    warm = _run(options, user=nobody)
    assert warm["ok"] and warm["facts"]["source"] == "cache", warm
    assert emu.token_requests() == 0
    _chmod_tree(cache_dir, 0o700)


@needs_root
def test_read_only_cache_file_in_writable_directory(emu, nobody_dir, tmp_path):
    """A 0400 account file is read-only for its owner, not unsafe: served when warm, replaced when a write is needed."""
    base, cache_dir, nobody = nobody_dir
    seed_dir, _path = _signed_in(emu, tmp_path)
    _give_cache(seed_dir, cache_dir, nobody)
    options = emu.options(USER, PASSWORD, cache_path=cache_dir, ca_path=os.path.join(base, "ca.pem"))
    os.chmod(account_path(options), 0o400)
    emu.reset()
    warm = _run(options, user=nobody)
    assert warm["ok"] and warm["facts"]["source"] == "cache", warm
    forced = _run(dict(options, force_refresh=True), user=nobody)
    assert forced["ok"], forced


def test_failures_through_ansible_have_no_traceback(emu, tmp_path, ansible_env):
    """The module and the lookup report a bad cache as a clean failure (no Python traceback)."""
    old_cache = tmp_path / "token_cache.json"
    write_private(old_cache, b'{"AccessToken": {}}')  # a 0.1.0 cache file
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    playbook = tmp_path / "play.yml"
    options = emu.options(USER, PASSWORD)
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "module, 0.1.0 file", "identity.entra.entra_token": dict(options, cache_path=str(old_cache)),
             "register": "module_result", "ignore_errors": True},
            {"name": "lookup, dangling symlink", "ansible.builtin.set_fact": {"x": "{{ lookup('identity.entra.entra_token', **o) }}"},
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
    assert "is now a directory" in output or "token cache is a directory" in output
    assert "symbolic link" in output and "does not exist" in output
    assert old_cache.read_bytes() == b'{"AccessToken": {}}'
