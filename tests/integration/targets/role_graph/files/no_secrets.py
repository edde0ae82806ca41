"""Fail if a password, client secret or any cached access/refresh/id token appears in the given output files.

Usage: no_secrets.py INTEGRATION_CONFIG CACHE_ROOT OUTPUT... ; every msal cache file under CACHE_ROOT
(a 0.1.0 cache file or the accounts/*.json of a 0.2.0 cache directory) gives its tokens.
"""
import json
import os
import sys

import yaml

config_path, cache_root, outputs = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(config_path) as f:
    config = yaml.safe_load(f)
secrets = {'password': config['entra_password']}
app_only = (config.get('entra_emulator') or {}).get('app_only') or {}
if app_only.get('client_secret'):
    secrets['client secret'] = app_only['client_secret']
for folder, _dirs, files in os.walk(cache_root):
    for name in files:
        path = os.path.join(folder, name)
        if not name.endswith('.json') or path in outputs:
            continue
        try:
            with open(path) as f:
                cache = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(cache, dict):
            continue
        for section in ('AccessToken', 'RefreshToken', 'IdToken'):
            for index, entry in enumerate((cache.get(section) or {}).values()):
                secrets['%s %d of %s' % (section, index, path)] = entry['secret']
assert any(name.startswith('AccessToken') for name in secrets), 'no access token cached under %s' % cache_root
leaks = []
for path in outputs:
    with open(path) as f:
        text = f.read()
    leaks += ['%s in %s' % (name, path) for name, secret in secrets.items() if secret in text]
if leaks:
    sys.exit('SECRET LEAK: ' + ', '.join(leaks))
print('no secret (%d checked) in %s' % (len(secrets), ', '.join(outputs)))
