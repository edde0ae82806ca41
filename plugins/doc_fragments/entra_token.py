# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Options of identity.entra.entra_token, shared by the module and the lookup."""

    DOCUMENTATION = r'''
options:
  tenant:
    description:
      - The directory to sign in to, as a tenant ID (GUID), a verified domain such as V(contoso.com), or V(organizations).
      - V(common) and V(consumers) are refused before any request, because Entra ID does not allow the username/password flow there.
      - Falls back to the E(ENTRA_TENANT_ID) then E(AZURE_TENANT_ID) environment variables of the controller.
    type: str
    required: true
  client_id:
    description:
      - Application (client) ID of a public client app registration with "Allow public client flows" turned on.
      - Falls back to E(ENTRA_CLIENT_ID) then E(AZURE_CLIENT_ID).
    type: str
    required: true
  username:
    description:
      - User principal name of a work or school account, for example V(automation@contoso.com).
      - Falls back to E(ENTRA_USERNAME) then E(AZURE_USERNAME).
    type: str
    required: true
  password:
    description:
      - The user's password. Needed only when the cache cannot serve (first sign-in, refresh token expired or revoked).
      - Falls back to E(ENTRA_PASSWORD) then E(AZURE_PASSWORD). Never logged, returned or written to the cache.
    type: str
  scopes:
    description:
      - Scopes of one resource. Reserved OpenID scopes (V(openid), V(profile), V(offline_access)) are always requested and are dropped from this list.
      - Scopes without a resource (such as V(User.Read)) are Microsoft Graph scopes.
      - Default is the V(.default) scope of Microsoft Graph in the chosen O(cloud), for example V(https://graph.microsoft.com/.default).
    type: list
    elements: str
  cloud:
    description:
      - National cloud; chooses the default authority host and Microsoft Graph resource.
      - Falls back to E(ENTRA_CLOUD).
    type: str
    choices: [public, usgov, usgov_dod, china]
    default: public
  authority_host:
    description:
      - Authority host URL, for example V(https://login.microsoftonline.com) or the URL of a test emulator. Defaults to the host of O(cloud).
      - Falls back to E(ENTRA_AUTHORITY_HOST).
    type: str
  validate_authority:
    description:
      - Whether msal validates the authority against Microsoft's instance discovery.
      - Set V(false) for a host msal does not know (an emulator, AD FS); nothing is then checked against Microsoft.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle (PEM) to trust for the authority host, for example the CA of a TLS-inspecting proxy.
      - Takes effect even when E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) are set. Falls back to E(ENTRA_CA_PATH).
    type: path
  validate_certs:
    description:
      - Whether TLS certificates are verified. Keep V(true) outside of tests.
    type: bool
    default: true
  proxy:
    description:
      - Proxy URL for all sign-in requests, for example V(http://proxy.example:3128). Without it the usual E(HTTPS_PROXY) / E(NO_PROXY) apply.
    type: str
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 30
  cache_path:
    description:
      - Token cache file on the controller, in msal's unified cache format, shared by every user, app, tenant and cloud.
      - Created with mode 0600 in a 0700 directory; refused if another user owns it or group/others can read it.
      - Falls back to E(ENTRA_TOKEN_CACHE).
    type: path
    default: ~/.ansible/entra/token_cache.json
  cache:
    description:
      - Whether to use the cache file. V(false) keeps tokens in memory for this one call only, so every call signs in with the password.
    type: bool
    default: true
  force_refresh:
    description:
      - Ignore a cached access token and get a new one (with the refresh token, else the password).
    type: bool
    default: false
  min_validity:
    description:
      - A cached access token is returned only if it stays valid at least this many seconds; otherwise a new one is obtained.
    type: int
    default: 300
'''

    PLUGINS = r'''
options:
  tenant:
    env:
      - name: ENTRA_TENANT_ID
      - name: AZURE_TENANT_ID
    ini:
      - section: entra
        key: tenant
    vars:
      - name: entra_tenant
  client_id:
    env:
      - name: ENTRA_CLIENT_ID
      - name: AZURE_CLIENT_ID
    ini:
      - section: entra
        key: client_id
    vars:
      - name: entra_client_id
  username:
    env:
      - name: ENTRA_USERNAME
      - name: AZURE_USERNAME
    vars:
      - name: entra_username
  password:
    env:
      - name: ENTRA_PASSWORD
      - name: AZURE_PASSWORD
    vars:
      - name: entra_password
  scopes:
    vars:
      - name: entra_scopes
  cloud:
    env:
      - name: ENTRA_CLOUD
    ini:
      - section: entra
        key: cloud
    vars:
      - name: entra_cloud
  authority_host:
    env:
      - name: ENTRA_AUTHORITY_HOST
    ini:
      - section: entra
        key: authority_host
    vars:
      - name: entra_authority_host
  validate_authority:
    vars:
      - name: entra_validate_authority
  ca_path:
    env:
      - name: ENTRA_CA_PATH
    ini:
      - section: entra
        key: ca_path
    vars:
      - name: entra_ca_path
  validate_certs:
    vars:
      - name: entra_validate_certs
  proxy:
    ini:
      - section: entra
        key: proxy
    vars:
      - name: entra_proxy
  timeout:
    ini:
      - section: entra
        key: timeout
    vars:
      - name: entra_timeout
  cache_path:
    env:
      - name: ENTRA_TOKEN_CACHE
    ini:
      - section: entra
        key: cache_path
    vars:
      - name: entra_cache_path
  cache:
    vars:
      - name: entra_cache
  min_validity:
    vars:
      - name: entra_min_validity
'''
