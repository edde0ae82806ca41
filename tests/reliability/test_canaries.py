"""Secrets never appear in output or files.

The entra_token integration target (files/canaries.sh) runs one localhost play
under -vvvv with three callback formats. This adds: several hosts and forks
with the lookup in a host variable, a cacheable fact, the refresh path (the
refresh token is sent), a revoked refresh token, check mode, a corrupt cache
holding an old refresh token, ANSIBLE_DEBUG, the oneline callback, an ad-hoc
run with the password in the environment and the tree callback writing files,
succeeding and failing runs; and it detects every refresh token and id token
the emulator issued, by shape, not only the last ones left in the cache.

Allowed: the refresh and id tokens inside the 0600 account files of the cache
directory (and the 0600 copy a corrupt account file is moved to, which the play
creates on purpose), and the access token (it is the result).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import urllib.parse

import pytest

from _layout import account_files, account_path, load, write_private
from conftest import reliability_user

HERE = os.path.dirname(os.path.abspath(__file__))
USER, PASSWORD = reliability_user(5)
OTHER, _OTHER_PASSWORD = reliability_user(6)
REFRESH_TOKEN_SHAPE = re.compile(rb"1\.A[A-Za-z0-9_-]{64}")  # the emulator's refresh tokens
JWT_SHAPE = re.compile(rb"eyJ[A-Za-z0-9_-]+\.(eyJ[A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")

VARIANTS = [
    # (name, environment, fail)
    ("default-json-failing", {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}, True),
    ("default-yaml-succeeding", {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"}, False),
    ("minimal-failing", {"ANSIBLE_STDOUT_CALLBACK": "minimal"}, True),
    ("oneline-succeeding", {"ANSIBLE_STDOUT_CALLBACK": "oneline"}, False),
    ("debug-failing", {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_DEBUG": "1"}, True),
]


def _variants_of(secret: str) -> dict:
    """The forms a leaked string may take: as is, URL-encoded, base64, JSON-escaped."""
    raw = secret.encode()
    return {
        "plain": raw,
        "url-encoded": urllib.parse.quote_plus(secret).encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "json": json.dumps(secret)[1:-1].encode(),
    }


def _jwt_audience(payload: bytes):
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        return claims.get("aud")
    except ValueError:
        return None


def _scan(root, literal: dict, allowed: set, client_id: str):
    """Every leak under ``root``: the literal secrets in any form, refresh tokens and id tokens by shape."""
    leaks, scanned = [], 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            scanned += 1
            with open(path, "rb") as handle:
                data = handle.read()
            for what, secret in literal.items():
                if path in allowed and what.startswith(("refresh token", "id token")):
                    continue
                for form, needle in _variants_of(secret).items():
                    if needle in data:
                        leaks.append("%s (%s) in %s" % (what, form, path))
            if path in allowed:
                continue
            for match in REFRESH_TOKEN_SHAPE.finditer(data):
                leaks.append("a refresh token %s... in %s" % (match.group()[:8].decode(), path))
            for match in JWT_SHAPE.finditer(data):
                if _jwt_audience(match.group(1)) == client_id:
                    leaks.append("an id token in %s" % path)
    return leaks, scanned


def test_the_scanner_finds_leaks(tmp_path):
    """Control: the scan below would see a leak in each form it claims to look for."""
    client_id = "4f1b2c3d-0a6e-4b8f-9c71-2d5e6f7a8b90"
    header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps({"aud": client_id}).encode()).rstrip(b"=")
    (tmp_path / "a.log").write_bytes(b"x " + urllib.parse.quote_plus("Pa ss&w0rd!").encode())
    (tmp_path / "b.json").write_bytes(b'{"rt": "1.A' + b"Q" * 64 + b'"}')
    (tmp_path / "c.out").write_bytes(header + b"." + payload + b".c2ln")
    leaks, scanned = _scan(tmp_path, {"password": "Pa ss&w0rd!"}, set(), client_id)
    assert scanned == 3
    assert len(leaks) == 3, leaks


@pytest.fixture
def canary_setup(emu, tmp_path, ansible_env):
    work = tmp_path / "work"
    cache_dir = work / "cache"
    cache_dir.mkdir(parents=True, mode=0o700)
    canary = "Canary-%s-Passw0rd" % secrets.token_hex(8)
    variables = {
        "entra_tenant": emu.demo["tenant"], "entra_client_id": emu.demo["client_id"],
        "entra_authority_host": emu.url, "entra_validate_authority": False, "entra_ca_path": emu.ca_path,
        "entra_cache_path": str(cache_dir / "token_cache"),
        "entra_corrupt_cache_path": str(cache_dir / "corrupt"),
        "entra_admin_url": emu.url + "/_emulator",
        "entra_username": USER, "entra_password": PASSWORD, "entra_other_username": OTHER,
        "canary_password": canary,
    }
    vars_file = tmp_path / "secrets.yml"  # outside work/: it holds the password on purpose
    vars_file.write_text(json.dumps(variables), encoding="utf-8")
    inventory = work / "hosts.ini"
    inventory.write_text("".join("host%d ansible_connection=local\n" % n for n in range(1, 5)), encoding="utf-8")
    env = dict(ansible_env)
    env.update({
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-home" / "tmp"),
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(work / "facts"),
        "ANSIBLE_LOG_PATH": str(work / "ansible.log"),
        "ANSIBLE_FORKS": "4",
    })
    options = emu.options(USER, cache_path=variables["entra_cache_path"])
    return {"work": work, "cache_dir": cache_dir, "canary": canary, "vars_file": vars_file,
            "inventory": inventory, "env": env, "variables": variables,
            "account": account_path(options),
            "corrupt_account": account_path(dict(options, cache_path=variables["entra_corrupt_cache_path"]))}


def _corrupt_copy(setup):
    """A truncated copy of the real account file (it holds a refresh token) as the second cache's."""
    source = setup["account"]
    target = setup["corrupt_account"]
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(os.path.dirname(target)), 0o700)
    if os.path.exists(source):
        with open(source, "rb") as handle:
            data = handle.read()
    else:
        data = b'{"RefreshToken": {'
    write_private(target, data[: len(data) * 3 // 4])


def _play(setup, name, environ, fail):
    _corrupt_copy(setup)
    env = dict(setup["env"], **environ)
    cmd = ["ansible-playbook", "-vvvv", "-i", str(setup["inventory"]), "-e", "@%s" % setup["vars_file"],
           os.path.join(HERE, "canary_play.yml")]
    if not fail:
        cmd += ["--skip-tags", "fail"]
    run = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)
    (setup["work"] / ("%s.out" % name)).write_bytes(run.stdout)
    output = run.stdout.decode(errors="replace")
    if "ANSIBLE_DEBUG" not in environ:  # debug output may show tracebacks Ansible handled itself
        assert "Traceback" not in output, output[-3000:]
    assert (run.returncode != 0) == fail, (name, run.returncode, output[-3000:])
    assert "invalid_credentials" in output and "refresh_token_expired" in output, (name, output[-3000:])
    if environ.get("ANSIBLE_STDOUT_CALLBACK") != "oneline":  # oneline shows no warnings
        assert "moved it to" in output, name  # the corrupt-cache warning


def _adhoc(setup):
    """Ad hoc, the password only in the environment, results written by the tree callback."""
    v = setup["variables"]
    env = dict(setup["env"], ENTRA_PASSWORD=PASSWORD, ENTRA_TENANT_ID=v["entra_tenant"],
               ENTRA_CLIENT_ID=v["entra_client_id"], ENTRA_USERNAME=USER, ENTRA_AUTHORITY_HOST=v["entra_authority_host"],
               ENTRA_CA_PATH=v["entra_ca_path"], ENTRA_TOKEN_CACHE=v["entra_cache_path"])
    tree = setup["work"] / "tree"
    cmd = ["ansible", "all", "-vvvv", "-i", str(setup["inventory"]), "-t", str(tree),
           "-m", "identity.entra.entra_token", "-a", "validate_authority=false force_refresh=true"]
    run = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)
    (setup["work"] / "adhoc.out").write_bytes(run.stdout)
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:]
    assert len(os.listdir(tree)) == 4


def test_no_secret_in_any_output_or_file(emu, canary_setup):
    setup = canary_setup
    for name, environ, fail in VARIANTS:
        _play(setup, name, environ, fail)
    _adhoc(setup)

    work = setup["work"]
    assert stat.S_IMODE(os.stat(setup["account"]).st_mode) == 0o600
    assert os.listdir(work / "facts"), "fact caching wrote nothing"
    # files allowed to hold refresh and id tokens: the account files and the 0600 copies of corrupt ones
    allowed = set()
    for cache in (setup["variables"]["entra_cache_path"], setup["variables"]["entra_corrupt_cache_path"]):
        allowed.update(account_files(cache))
    for directory, _dirs, files in os.walk(setup["cache_dir"]):
        for name in files:
            path = os.path.join(directory, name)
            if ".corrupt-" in name:
                allowed.add(path)
    assert setup["account"] in allowed
    for path in allowed:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path

    literal = {"password": PASSWORD, "canary password": setup["canary"]}
    for path in account_files(setup["variables"]["entra_cache_path"]):
        doc = load(path)
        for number, entry in enumerate(doc["RefreshToken"].values()):
            literal["refresh token %s %d" % (os.path.basename(path)[:8], number)] = entry["secret"]
        for number, entry in enumerate(doc["IdToken"].values()):
            literal["id token %s %d" % (os.path.basename(path)[:8], number)] = entry["secret"]

    leaks, scanned = _scan(work, literal, allowed, emu.demo["client_id"])
    assert scanned > 20
    assert not leaks, "SECRET LEAK:\n" + "\n".join(sorted(set(leaks)))
    # the access token is the result: it does show (the fact cache and the verbose output hold it)
    facts = "".join(path.read_text(encoding="utf-8") for path in (work / "facts").iterdir())
    assert "token_result" in facts and "access_token" in facts
    shutil.rmtree(work / "ansible-home", ignore_errors=True)
