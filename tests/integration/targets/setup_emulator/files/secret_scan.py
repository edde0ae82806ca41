"""Search outputs and files for secrets: the one scanner of the integration targets and the reliability suite.

The secrets are the values given with ``--secret NAME=VALUE`` (or ``--secret-file NAME=PATH``), the
``entra_password`` and the emulator's service-principal secret of an integration config
(``--config``), and every refresh token, id token and (with ``--access-tokens``) access token in the
account files of a token cache directory (``--cache``, or every cache found under ``--caches-under``).
Those may appear only in the account files themselves. Every other file under the
given paths (files or directories, searched recursively) must hold none of them.
Exit status 1 and one line per leak when something is found; 2 when there is nothing to look for.
Standard library only; usable as a module (``find_leaks``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

TOKEN_SECTIONS = ('RefreshToken', 'IdToken')


def cache_account_files(cache_dir: str) -> list:
    accounts = os.path.join(cache_dir, 'accounts')
    if not os.path.isdir(accounts):
        return []
    return sorted(os.path.join(accounts, name) for name in os.listdir(accounts) if name.endswith('.json'))


def cache_secrets(cache_dir: str, access_tokens: bool = False) -> dict:
    """Every token secret of a cache directory, by a name that says where it came from."""
    sections = TOKEN_SECTIONS + (('AccessToken',) if access_tokens else ())
    secrets = {}
    for path in cache_account_files(cache_dir):
        with open(path, encoding='utf-8') as handle:
            document = json.load(handle)
        for section in sections:
            for index, entry in enumerate((document.get(section) or {}).values()):
                if isinstance(entry, dict) and isinstance(entry.get('secret'), str) and len(entry['secret']) >= 8:
                    secrets['%s %d of %s' % (section, index, os.path.basename(path))] = entry['secret']
    return secrets


def config_secrets(config_path: str) -> dict:
    """The password of an integration config, and the emulator's client secret when it names one."""
    import yaml  # pylint: disable=import-outside-toplevel  # the config is YAML; ansible brings PyYAML

    with open(config_path, encoding='utf-8') as handle:
        config = yaml.safe_load(handle) or {}
    if not config.get('entra_password'):
        raise SystemExit('no entra_password in %s' % config_path)
    secrets = {'password': str(config['entra_password'])}
    app = (config.get('entra_emulator') or {}).get('demo_app') or {}
    if app.get('client_secret'):
        secrets['client secret'] = str(app['client_secret'])
    return secrets


def caches_under(root: str) -> list:
    """Every token cache directory (one holding accounts/) under ``root``."""
    return sorted(folder for folder, dirs, _files in os.walk(root) if 'accounts' in dirs)


def _files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, names in os.walk(path):
                for name in names:
                    yield os.path.join(root, name)
        elif os.path.exists(path):
            yield path


def find_leaks(secrets: dict, paths, allowed_files=()) -> list:
    """'<secret name> in <file>' for every secret found outside ``allowed_files``."""
    allowed = {os.path.realpath(path) for path in allowed_files}
    leaks = []
    for path in _files(paths):
        if os.path.realpath(path) in allowed or os.path.islink(path):
            continue
        with open(path, 'rb') as handle:
            data = handle.read()
        for name, secret in secrets.items():
            if secret and secret.encode('utf-8') in data:
                leaks.append('%s in %s' % (name, path))
    return leaks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('paths', nargs='+', help='files or directories to search')
    parser.add_argument('--cache', action='append', default=[], help='a token cache directory (its tokens are secrets)')
    parser.add_argument('--caches-under', action='append', default=[], help='every token cache directory under this one')
    parser.add_argument('--access-tokens', action='store_true', help='treat access tokens as secrets too')
    parser.add_argument('--config', help='an integration config whose entra_password is a secret')
    parser.add_argument('--secret', action='append', default=[], help='NAME=VALUE')
    parser.add_argument('--secret-file', action='append', default=[], help='NAME=PATH: the content of PATH is a secret')
    parser.add_argument('--expect-tokens', type=int, default=0, help='fail unless the caches hold at least this many tokens')
    args = parser.parse_args(argv)
    secrets, allowed = {}, []
    token_count = 0
    for root in args.caches_under:
        args.cache.extend(caches_under(root))
    for cache in args.cache:
        found = cache_secrets(cache, args.access_tokens)
        token_count += len(found)
        secrets.update(found)
        allowed.extend(cache_account_files(cache))
    if token_count < args.expect_tokens:
        print('expected at least %d tokens in %s, found %d' % (args.expect_tokens, ', '.join(args.cache), token_count))
        return 2
    if args.config:
        secrets.update(config_secrets(args.config))
    for item in args.secret:
        name, dummy, value = item.partition('=')
        secrets[name] = value
    for item in args.secret_file:
        name, dummy, path = item.partition('=')
        with open(path, encoding='utf-8') as handle:
            secrets[name] = handle.read().strip()
    if not secrets:
        print('nothing to look for')
        return 2
    leaks = find_leaks(secrets, args.paths, allowed)
    for leak in leaks:
        print('SECRET LEAK: %s' % leak)
    if not leaks:
        print('no secret (%d looked for) in %d files' % (len(secrets), len(list(_files(args.paths)))))
    return 1 if leaks else 0


if __name__ == '__main__':
    sys.exit(main())
