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
      - V(common) and V(consumers) are refused before any request, because Entra ID does not allow these flows there; a service
        principal also needs the tenant itself, not V(organizations).
      - Falls back to the E(ENTRA_TENANT_ID) then E(AZURE_TENANT_ID) environment variables of the controller.
    type: str
    required: true
  client_id:
    description:
      - Application (client) ID of the app registration. For a user it must be a public client app with "Allow public client
        flows" turned on; for a service principal, the app that holds the client credential.
      - Falls back to E(ENTRA_CLIENT_ID) then E(AZURE_CLIENT_ID).
    type: str
    required: true
  username:
    description:
      - User principal name of a work or school account, for example V(automation@contoso.com). It selects the account in
        the cache and is the user who signs in.
      - Give a username to sign a user in, or one of O(client_secret), O(client_certificate_path) or O(client_assertion_file)
        to sign a service principal in; giving both, or two client credentials, is refused.
      - Falls back to E(ENTRA_USERNAME) then E(AZURE_USERNAME).
    type: str
  password:
    description:
      - The user's password, for O(flow=password). Needed only when the cache cannot serve (first sign-in, refresh token
        expired or revoked); without it, a token is served from the cache or by refresh only.
      - A password Entra ID refused is not sent again for 15 minutes (nor for the rest of the run), by any fork or process,
        unless it changes, so a wrong password cannot lock the account.
      - Falls back to E(ENTRA_PASSWORD) then E(AZURE_PASSWORD). Never logged, returned or written to the cache.
    type: str
  flow:
    description:
      - How a user signs in when the cache cannot serve. V(password) uses O(password) (the resource owner password
        credentials flow). V(device_code) shows Entra's sign-in message (a URL and a code) on the controller's console and
        waits until a person has signed in with it in a browser, MFA included; the refresh token then serves later runs
        without a password.
      - Only the module waits for a person; the lookup fails with C(sign_in_required) instead, whose message names the
        C(ansible-playbook identity.entra.sign_in) command to run.
      - Ignored for a service principal (a client credential chooses that flow).
    type: str
    choices: [password, device_code]
    default: password
  device_code_timeout:
    description:
      - Seconds to wait for a person to complete a device-code sign-in (Entra's code itself expires after 15 minutes).
    type: int
    default: 600
  client_secret:
    description:
      - Client secret of a confidential app registration (service principal); gets an app-only token with the application
        permissions granted to the app. Never logged, returned or written to the cache.
      - Falls back to E(ENTRA_CLIENT_SECRET) then E(AZURE_CLIENT_SECRET).
    type: str
  client_certificate_path:
    description:
      - PEM file holding the private key and the certificate registered on the app registration (service principal).
      - Falls back to E(ENTRA_CLIENT_CERTIFICATE_PATH) then E(AZURE_CLIENT_CERTIFICATE_PATH).
    type: path
  client_certificate_password:
    description:
      - Password of an encrypted private key in O(client_certificate_path). Never logged or written anywhere.
      - Falls back to E(ENTRA_CLIENT_CERTIFICATE_PASSWORD) then E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  client_certificate_send_chain:
    description:
      - Send the certificate with each assertion (C(x5c)), as subject name and issuer authentication needs.
      - Falls back to E(ENTRA_CLIENT_SEND_CERTIFICATE_CHAIN) then E(AZURE_CLIENT_SEND_CERTIFICATE_CHAIN).
    type: bool
    default: false
  client_assertion_file:
    description:
      - File holding a federated token (a JWT) that the app registration trusts through a federated identity credential,
        as written by Kubernetes workload identity, GitHub Actions or AWX. Read again at every sign-in.
      - Falls back to E(ENTRA_FEDERATED_TOKEN_FILE) then E(AZURE_FEDERATED_TOKEN_FILE).
    type: path
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
      - HTTP proxy URL for all sign-in requests, for example V(http://proxy.example:3128) (TLS is tunnelled with CONNECT;
        SOCKS and https:// proxies are not supported). Without it the usual E(HTTPS_PROXY) / E(NO_PROXY) apply.
    type: str
  timeout:
    description:
      - Deadline in seconds of each whole HTTP request (connecting, sending, and reading the entire answer).
      - A sign-in makes at most 8 requests, so it takes at most 8 times this, plus O(device_code_timeout) for a device code.
    type: int
    default: 30
  cache_path:
    description:
      - Token cache directory on the controller, shared by every user, app, tenant and cloud. Each account's tokens are one file
        in msal's unified cache format inside it.
      - Created with mode 0700 (files 0600); refused if another user owns it or group/others can write it.
      - Must be an absolute path after C(~) and C($VARIABLE) expansion; a path naming an unset variable or an unknown user's
        home is refused before anything is written.
      - Falls back to E(ENTRA_TOKEN_CACHE).
    type: path
    default: ~/.ansible/entra/token_cache
  cache:
    description:
      - Whether to use the token cache. V(false) keeps tokens in memory for this one call only, so every call signs in.
      - Even then, the sign-in lock and the record of refused credentials (no tokens) live in O(cache_path), so that a wrong
        password is still not sent by every fork; when that directory cannot be used, a warning says so.
    type: bool
    default: true
  force_refresh:
    description:
      - Ignore a cached access token and get a new one (with the refresh token, else the password; a service principal asks
        for a new app-only token).
      - With O(flow=device_code), a new device-code sign-in instead, without trying the refresh token (for example before a
        sign-in frequency deadline; C(ansible-playbook identity.entra.sign_in -e force=true) does this).
    type: bool
    default: false
  min_validity:
    description:
      - A cached access token is returned only if it stays valid at least this many seconds; otherwise a new one is obtained.
      - When this is longer than the lifetime of the tokens Entra issues, a token is used until half its lifetime has passed
        (and a warning says so), rather than getting a new one on every call.
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
  flow:
    vars:
      - name: entra_flow
  device_code_timeout:
    vars:
      - name: entra_device_code_timeout
  client_secret:
    env:
      - name: ENTRA_CLIENT_SECRET
      - name: AZURE_CLIENT_SECRET
    vars:
      - name: entra_client_secret
  client_certificate_path:
    env:
      - name: ENTRA_CLIENT_CERTIFICATE_PATH
      - name: AZURE_CLIENT_CERTIFICATE_PATH
    vars:
      - name: entra_client_certificate_path
  client_certificate_password:
    env:
      - name: ENTRA_CLIENT_CERTIFICATE_PASSWORD
      - name: AZURE_CLIENT_CERTIFICATE_PASSWORD
    vars:
      - name: entra_client_certificate_password
  client_certificate_send_chain:
    env:
      - name: ENTRA_CLIENT_SEND_CERTIFICATE_CHAIN
      - name: AZURE_CLIENT_SEND_CERTIFICATE_CHAIN
    vars:
      - name: entra_client_certificate_send_chain
  client_assertion_file:
    env:
      - name: ENTRA_FEDERATED_TOKEN_FILE
      - name: AZURE_FEDERATED_TOKEN_FILE
    vars:
      - name: entra_client_assertion_file
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
  force_refresh:
    vars:
      - name: entra_force_refresh
  min_validity:
    vars:
      - name: entra_min_validity
'''
