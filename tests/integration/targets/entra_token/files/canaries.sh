#!/usr/bin/env bash
# Secrets never appear in output or files: run canary.yml with -vvvv under the default callback
# (JSON and YAML result formats) and the minimal callback (raw JSON results; ansible-core no longer
# ships a `json` stdout callback: it lives in ansible.posix), with a log file and jsonfile fact
# caching, then search everything it left behind for the password, the canary wrong password,
# and the refresh and id tokens from the cache file.
set -euxo pipefail
CONFIG=$1
WORK=$2
CANARY="Canary-$RANDOM$RANDOM-Passw0rd"
OUT=$WORK/canary-output
mkdir -p "$OUT"
# Not on the command line: -vvvv prints extra_vars given there (the user's choice, not a leak).
CANARY_VARS=$(mktemp)
trap 'rm -f "$CANARY_VARS"' EXIT
printf 'canary_password: %s\n' "$CANARY" >"$CANARY_VARS"
export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION=$WORK/canary-facts ANSIBLE_LOG_PATH=$WORK/canary-ansible.log
for variant in default:json default:yaml minimal:json; do
    ANSIBLE_STDOUT_CALLBACK=${variant%%:*} ANSIBLE_CALLBACK_RESULT_FORMAT=${variant##*:} \
        ansible-playbook -vvvv -i "$INVENTORY_PATH" -e "@$CONFIG" -e "work_dir=$WORK" \
        -e "@$CANARY_VARS" canary.yml >"$OUT/${variant/:/-}.out" 2>&1
    grep -q 'invalid_credentials' "$OUT/${variant/:/-}.out"
    grep -q 'access_token' "$OUT/${variant/:/-}.out"
done
[ -n "$(ls -A "$WORK/canary-facts")" ]

python3 - "$CONFIG" "$WORK" "$CANARY" <<'PY'
import json, os, sys
config_path, work, canary = sys.argv[1:]
password = next(line.split(':', 1)[1].strip().strip('"\'') for line in open(config_path) if line.startswith('entra_password:'))
cache_file = os.path.join(work, 'canary', 'token_cache.json')
cache = json.load(open(cache_file))
assert os.stat(cache_file).st_mode & 0o777 == 0o600
secrets = {'password': password, 'canary password': canary}
for i, rt in enumerate(cache['RefreshToken'].values()):
    secrets['refresh token %d' % i] = rt['secret']
for i, idt in enumerate(cache['IdToken'].values()):
    secrets['id token %d' % i] = idt['secret']
assert len(secrets) >= 4, secrets.keys()
leaks = []
for root, _dirs, files in os.walk(work):
    for name in files:
        path = os.path.join(root, name)
        data = open(path, 'rb').read()
        for what, secret in secrets.items():
            if secret.encode() in data:
                allowed = path == cache_file and what.startswith(('refresh token', 'id token'))
                if not allowed:
                    leaks.append('%s found in %s' % (what, path))
if leaks:
    sys.exit('SECRET LEAK: ' + '; '.join(leaks))
print('no secret found in %d outputs and files' % sum(len(f) for _r, _d, f in os.walk(work)))
PY
