"""msal's own ConfidentialClientApplication reads an account file of our cache and serves its token.

usage: msal_reads_cache.py ACCOUNT_FILE AUTHORITY CLIENT_ID CA_PATH SCOPE   (client secret in $ENTRA_TEST_SECRET)

Prints one JSON line: token_source and access_token of acquire_token_for_client, and whether the
cache changed. The caller checks with the emulator's counters that no token request was sent.
"""

import json
import os
import sys

import msal
import requests


def main(account_file, authority, client_id, ca_path, scope):
    cache = msal.SerializableTokenCache()
    with open(account_file, encoding='utf-8') as handle:
        cache.deserialize(handle.read())
    session = requests.Session()
    session.verify, session.trust_env = ca_path, False
    app = msal.ConfidentialClientApplication(client_id, client_credential=os.environ['ENTRA_TEST_SECRET'], authority=authority,
                                             token_cache=cache, http_client=session, instance_discovery=False)
    result = app.acquire_token_for_client([scope])
    print(json.dumps({'token_source': result.get('token_source'), 'access_token': result.get('access_token'),
                      'error': result.get('error'), 'cache_changed': cache.has_state_changed}))


if __name__ == '__main__':
    main(*sys.argv[1:6])
