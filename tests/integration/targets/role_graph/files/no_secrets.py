"""Fail if the password, the access/refresh/id tokens appear in the given output files."""
import json
import sys

config, cache_path, outputs = sys.argv[1], sys.argv[2], sys.argv[3:]
password = next(line.split(':', 1)[1].strip().strip('"\'') for line in open(config) if line.startswith('entra_password:'))
cache = json.load(open(cache_path))
secrets = {'password': password}
for section in ('AccessToken', 'RefreshToken', 'IdToken'):
    for index, entry in enumerate(cache.get(section, {}).values()):
        secrets['%s %d' % (section, index)] = entry['secret']
assert any(name.startswith('AccessToken') for name in secrets), 'no access token cached'
leaks = ['%s in %s' % (name, path) for path in outputs for name, secret in secrets.items() if secret in open(path).read()]
if leaks:
    sys.exit('SECRET LEAK: ' + ', '.join(leaks))
print('no secret in %s' % ', '.join(outputs))
