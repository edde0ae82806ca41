# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark baseline: the seed's sample pattern as a task (not part of the collection).

A fresh msal PublicClientApplication with its default in-memory cache on every
task: look for the account, acquire silently, else sign in with the password.
It runs on the controller like identity.entra.entra_token (an action plugin,
one forked worker per host), so the two differ only in what they remember.
"""

from __future__ import annotations

import warnings

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        import msal
        import requests

        result = super().run(tmp, task_vars)
        args = self._task.args
        session = requests.Session()
        session.trust_env = False
        session.verify = args["ca_path"]
        app = msal.PublicClientApplication(
            args["client_id"], authority="%s/%s" % (args["authority_host"], args["tenant"]),
            instance_discovery=False, http_client=session)
        scopes = ["https://graph.microsoft.com/.default"]
        token = None
        accounts = app.get_accounts(username=args["username"])
        if accounts:
            token = app.acquire_token_silent(scopes, account=accounts[0])
        if not token:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                token = app.acquire_token_by_username_password(args["username"], args["password"], scopes)
        session.close()
        if "access_token" not in token:
            result.update(failed=True, msg=token.get("error_description", "sign-in failed"))
            return result
        result.update(changed=False, ansible_facts={"seed_token": {"access_token": token["access_token"]}})
        return result
