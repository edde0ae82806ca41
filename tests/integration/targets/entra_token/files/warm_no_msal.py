"""A cached app-only token in a fresh process: get_token must not import msal (nor the sign-in code).

usage: warm_no_msal.py COLLECTIONS_PATHS OPTIONS_JSON   (client secret in $ENTRA_TEST_SECRET)

COLLECTIONS_PATHS: Ansible's collection paths, joined by ':'. Prints one JSON line: the token's
source and which of msal, cryptography, requests and the collection's sign-in modules were imported.
"""

import json
import os
import sys

for path in reversed(sys.argv[1].split(':')):
    sys.path.insert(0, os.path.expanduser(path))

from ansible_collections.identity.entra.plugins.plugin_utils._acquire import get_token  # noqa: E402
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping  # noqa: E402

SIGN_IN = 'ansible_collections.identity.entra.plugins.plugin_utils.'
options = dict(json.loads(sys.argv[2]), client_secret=os.environ['ENTRA_TEST_SECRET'])
facts = get_token(from_mapping(options, environ={}))
print(json.dumps({'source': facts['source'], 'roles': facts['roles'],
                  'imported': sorted(name for name in ('msal', 'cryptography', 'requests', SIGN_IN + '_sign_in', SIGN_IN + '_flow_app')
                                     if name in sys.modules)}))
