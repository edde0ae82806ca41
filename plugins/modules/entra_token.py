#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the module: the action plugin of the same name does the work on the controller.

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_token
short_description: Get a Microsoft Entra ID access token for a user or a service principal, cache first
version_added: 0.1.0
author:
  - Identity Entra Maintainers (@identity-entra)
description:
  - Gets an access token from a Microsoft Entra ID tenant and returns it as a fact, for a user or for a service principal.
  - Runs on the controller whatever host the task targets. It looks in the controller's token cache first (no network call
    while a cached token is valid for O(min_validity) seconds), then uses the cached refresh token, and only then signs in.
  - A user signs in with O(username) and O(password) (the resource owner password credentials flow, ROPC), or with
    O(flow=device_code) - a person opens a URL and enters a code, MFA included, once; later runs use the cached refresh
    token without any password. C(ansible-playbook identity.entra.sign_in) does that sign-in in one command.
  - A service principal signs in with O(client_secret), O(client_certificate_path) or O(client_assertion_file) (a federated
    token) and gets an app-only token carrying the application permissions (app roles) granted to the app.
  - The token cache is one directory per controller user; each account's tokens are one file in msal's unified format,
    locked across processes, replaced atomically and private to its owner. When many forks need the same token at once,
    one signs in and the others use its result; a credential Entra ID refused is not sent again by any of them.
  - Failures are structured. RV(error.kind) is stable and says what happened; RV(error.mitigation) says what a person must do;
    RV(msg) says both in one line.
  - Username/password sign-in cannot satisfy MFA, Conditional Access interaction or consent prompts and does not work for personal
    Microsoft accounts. msal marks the flow as deprecated for that reason; the collection silences that warning once, here, on purpose.
    Prefer a service principal for new automation; use the device code for accounts that must use MFA.
requirements:
  - msal >= 1.31 on the controller
extends_documentation_fragment:
  - identity.entra.entra_token
options:
  fact_name:
    description:
      - Name of the fact that receives the token.
    type: str
    default: entra_token
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Getting a token changes nothing on any host, so it runs normally in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in diff mode) when in diff mode.
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
notes:
  - The module never reports C(changed).
  - Options fall back to the controller's environment variables named in each option.
  - The access token is returned as a fact. With fact caching on (for example C(jsonfile)), facts are persisted by Ansible,
    so the access token is written to the fact cache until it expires; use the lookup if that matters to you. The refresh
    token, id token, password and client credentials are never returned.
  - O(fact_name) must be a name of your own; names Ansible defines (C(inventory_hostname), C(omit), C(hostvars)...) are refused,
    since the token would show wherever Ansible prints them.
  - A device-code sign-in prints Entra's message (the URL and the code) on the controller's console while the task waits,
    also in AWX / Automation Platform job output.
  - Where the cache lives in AWX / Automation Platform and how to share it is described in the collection's docs (docs/cache.md).
seealso:
  - plugin: identity.entra.entra_token
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Get a token for Microsoft Graph (the password is needed only when the cache cannot serve)
  identity.entra.entra_token:
    tenant: contoso.com
    client_id: 00000000-0000-0000-0000-000000000001
    username: automation@contoso.com
    password: "{{ vault_entra_password }}"

- name: Use it
  ansible.builtin.uri:
    url: https://graph.microsoft.com/v1.0/me
    headers:
      Authorization: "Bearer {{ entra_token.access_token }}"

- name: A token for another resource, under another fact name, from a national cloud
  identity.entra.entra_token:
    tenant: 11111111-2222-3333-4444-555555555555
    client_id: 00000000-0000-0000-0000-000000000001
    username: automation@contoso.us
    password: "{{ vault_entra_password }}"
    cloud: usgov
    scopes: ['https://management.usgovcloudapi.net/.default']
    fact_name: arm_token

- name: A service principal (app-only token with the app's application permissions)
  identity.entra.entra_token:
    tenant: 11111111-2222-3333-4444-555555555555
    client_id: 00000000-0000-0000-0000-000000000002
    client_secret: "{{ vault_entra_client_secret }}"

- name: An account that must use MFA - a person signs in once by device code, later runs need no password
  identity.entra.entra_token:
    tenant: contoso.com
    client_id: 00000000-0000-0000-0000-000000000001
    username: admin@contoso.com
    flow: device_code
  run_once: true

- name: Handle a sign-in failure by its kind
  identity.entra.entra_token:
    tenant: contoso.com
    client_id: 00000000-0000-0000-0000-000000000001
    username: automation@contoso.com
    password: "{{ vault_entra_password }}"
  register: sign_in
  failed_when: sign_in is failed and sign_in.error.kind not in ['throttled', 'service_unavailable']
'''

RETURN = r'''
ansible_facts:
  description: The token, under the name given in O(fact_name) (default C(entra_token)).
  returned: success
  type: dict
  contains:
    entra_token:
      description: The token and what is known about it. Never the refresh token, the id token or the password.
      returned: success
      type: dict
      contains:
        access_token:
          description: 'The access token, for an C(Authorization: Bearer) header.'
          type: str
          returned: success
        token_type:
          description: Token type, normally V(Bearer).
          type: str
          returned: success
          sample: Bearer
        expires_on:
          description: Expiry time in epoch seconds.
          type: int
          returned: success
          sample: 1767225600
        expires_in:
          description: Seconds the token stays valid from now.
          type: int
          returned: success
          sample: 3599
        scopes:
          description: Scopes granted to the token.
          type: list
          elements: str
          returned: success
          sample: ['https://graph.microsoft.com/.default', 'https://graph.microsoft.com/User.Read']
        roles:
          description:
            - The app roles in the access token (for a service principal, the application permissions granted to it, such as
              V(User.Read.All)); an empty list when the token carries none, null when the token cannot be read as a JWT.
            - RV(ansible_facts.entra_token.scopes) holds the requested scopes (V(<resource>/.default) for a service principal).
          type: list
          elements: str
          returned: success
          sample: ['User.Read.All', 'Group.Read.All']
        username:
          description: The signed-in user's name; null for a service principal.
          type: str
          returned: success
          sample: automation@contoso.com
        tenant_id:
          description: Tenant ID (GUID) the token was issued by.
          type: str
          returned: success
        home_account_id:
          description: msal's account id (C(<object id>.<home tenant id>)) in the cache; null for a service principal.
          type: str
          returned: success
        authority:
          description: The authority URL used.
          type: str
          returned: success
          sample: https://login.microsoftonline.com/contoso.com
        source:
          description:
            - Where the token came from. V(cache) (no network call), V(refresh) (the cached refresh token), V(password) (a password
              sign-in), V(device_code) (a device-code sign-in), V(client_credentials) (a new app-only token).
          type: str
          returned: success
          sample: cache
msg:
  description: On failure, one line saying what happened and what to do.
  returned: failure
  type: str
  sample: The sign-in requires multi-factor authentication, which the username/password flow cannot perform (AADSTS50076). Use ...
error:
  description: On failure, the structured error.
  returned: failure
  type: dict
  contains:
    kind:
      description:
        - Stable error kind; one of the following.
        # BEGIN error kinds (generated by hacking/render_error_docs.py)
        - >-
          V(invalid_argument): An option has a wrong value. Retryable: no. What to do: Fix the option named in the message.
        - >-
          V(password_required): No usable token or refresh token is cached and no password was given. Retryable: no. What to do: Set the password
          option (or ENTRA_PASSWORD / AZURE_PASSWORD) for the first sign-in, or sign in once by device code: ansible-playbook identity.entra.sign_in
          -e tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(sign_in_required): A person must sign in: a device-code sign-in cannot run here (a lookup never waits for a person), or the cached sign-in
          of this account can no longer be refreshed. Retryable: no. What to do: Sign in once by device code (MFA included), then run the playbook
          again: ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e username=<username> (see Accounts with MFA,
          docs/mfa-accounts.md).
        - >-
          V(tenant_endpoint_required) (AADSTS 90010, 9001023): The username/password flow is not supported on the /common or /consumers endpoints.
          Retryable: no. What to do: Set tenant to the directory's tenant ID or domain (a user may also use 'organizations').
        - >-
          V(invalid_credentials) (AADSTS 50126, 50056, 50012): The username or password is wrong. Retryable: no. What to do: Check the password (and
          that it has not been changed); it is not sent again until it changes or 15 minutes have passed, so that repeated failures cannot lock the
          account.
        - >-
          V(user_not_found) (AADSTS 50034, 50020, 50155): The user does not exist in this tenant. Retryable: no. What to do: Check the username and
          that tenant is the directory the user belongs to (or is a guest in).
        - >-
          V(mfa_required) (AADSTS 50076, 50078, 50079, 50074, 50072, 53004, 500121): The sign-in requires multi-factor authentication, which the
          username/password flow cannot perform. Retryable: no. What to do: Sign in once by device code (MFA included; later runs use the cached
          refresh token, no password): ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e username=<username> (see
          Accounts with MFA, docs/mfa-accounts.md) - or use a service principal, or an account excluded from MFA by a Conditional Access exclusion.
        - >-
          V(consent_required) (AADSTS 65001, 65004): The application has no consent for the requested scopes. Retryable: no. What to do: Grant admin
          consent for these scopes on the app registration (API permissions > Grant admin consent); the username/password flow cannot show a consent
          prompt.
        - >-
          V(conditional_access_blocked) (AADSTS 53003, 53000, 53001, 53002, 530032, 530003, 53011, 530084): A Conditional Access policy blocked the
          sign-in. Retryable: no. What to do: Ask an administrator for a policy exception for this account (or workload identity) and app, or use a
          flow the policy allows (the sign-in logs show the policy by correlation id).
        - >-
          V(account_locked) (AADSTS 50053, 500532): The account is locked, usually after too many wrong passwords. Retryable: no. What to do: Wait for
          the lockout to end or ask an administrator to unlock it; fix the stored password first.
        - >-
          V(account_disabled) (AADSTS 50057): The account is disabled. Retryable: no. What to do: Ask an administrator to enable the account
          (accountEnabled) or use another account.
        - >-
          V(password_expired) (AADSTS 50055, 50144, 50135, 50142): The password has expired, or must be changed (account risk, a Conditional Access
          policy). Retryable: no. What to do: Change the password interactively, then update the stored password.
        - >-
          V(interaction_required) (AADSTS 50158, 50097, 50105, 50129, 50199): The sign-in needs a user interaction that the username/password flow
          cannot perform. Retryable: no. What to do: Sign in once by device code to resolve it: ansible-playbook identity.entra.sign_in -e
          tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(device_code_declined): The person declined the device-code sign-in. Retryable: no. What to do: Run the sign-in again and approve it,
          signed in as the account named by username: ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e
          username=<username>
        - >-
          V(device_code_expired) (AADSTS 70019, 70020): The device code expired before anyone signed in with it. Retryable: no. What to do: Run the
          sign-in again and enter the new code before it expires (Entra ID gives 15 minutes): ansible-playbook identity.entra.sign_in -e
          tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(device_code_invalid) (AADSTS 70018): Entra ID did not recognise the device code. Retryable: no. What to do: Run the sign-in again; if it
          happens again, check that no proxy between the controller and Entra ID alters requests: ansible-playbook identity.entra.sign_in -e
          tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(sign_in_timeout): Nobody completed the device-code sign-in within device_code_timeout. Retryable: no. What to do: Run the sign-in again
          and complete it in time, or wait longer (device_code_timeout; Entra ID's code itself lasts 15 minutes: add -e device_code_timeout=900):
          ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(app_not_found) (AADSTS 700016, 700054): The application (client_id) was not found in the tenant. Retryable: no. What to do: Check
          client_id and tenant; a single-tenant app must be used with its own tenant, and a service principal must exist in the tenant (admin consent
          creates it, or: az ad sp create --id <client_id>).
        - >-
          V(app_disabled) (AADSTS 7000112): The application or its service principal is disabled in the tenant. Retryable: no. What to do: Ask an
          administrator to enable the enterprise application (Enterprise applications > the app > Properties > 'Enabled for users to sign in?' = Yes)
          or use another application.
        - >-
          V(public_client_required) (AADSTS 7000218): The application is not allowed to use public client flows. Retryable: no. What to do: Turn on
          'Allow public client flows' (Authentication blade; allowPublicClient=true in the manifest) of the app registration.
        - >-
          V(confidential_client_required) (AADSTS 700025): Entra ID treats the application as a public client, which may not present a client secret,
          certificate or federated token. Retryable: no. What to do: A service principal needs a confidential application: use an app registration
          with the Web platform (or no platform) and 'Allow public client flows' set to No (Authentication blade); an app whose redirect URIs are all
          'Mobile and desktop applications' is public. Keep the public app of the user sign-ins (device code, username/password) apart.
        - >-
          V(invalid_client_secret) (AADSTS 7000215, 50012 (client secret)): The client secret is wrong. Retryable: no. What to do: Use the secret's
          Value (not its Secret ID) from Certificates & secrets of the app registration, for the right client_id.
        - >-
          V(client_secret_expired) (AADSTS 7000222): The client secret has expired. Retryable: no. What to do: Create a new client secret on the app
          registration (Certificates & secrets) and update client_secret; or move to a certificate or a federated credential, which need no rotation
          of a stored secret.
        - >-
          V(invalid_client_certificate) (AADSTS 700027, 700024, 50012 (service principal)): The client certificate is not registered on the
          application, has expired, or the assertion signed with it is invalid or outside its validity. Retryable: no. What to do: Upload the
          certificate (public part) to the app registration (Certificates & secrets) or renew it, check that client_certificate_path holds the private
          key of that certificate, and that the controller clock is right.
        - >-
          V(federated_credential_mismatch) (AADSTS 700211, 700212, 700213, 70021, 7002131, 7002137, 7002138): The federated token does not match any
          federated credential of the application (issuer, subject or audience). Retryable: no. What to do: Add a federated credential to the app
          registration whose issuer, subject and audience (api://AzureADTokenExchange) equal those of the token in client_assertion_file (the error
          description shows the ones presented), or fix the workload that writes that file.
        - >-
          V(invalid_federated_token) (AADSTS 700222, 50166, 90061, 700024 (federated token), 50027 (federated token), 50012 (federated token)): The
          federated token in client_assertion_file was refused: it has expired or is not yet valid, is malformed or wrongly signed, was issued by
          Entra ID itself, or Entra ID could not fetch its issuer's keys. Retryable: no. What to do: Make the workload write a fresh token to
          client_assertion_file (it is read at every sign-in: Kubernetes and AWX rewrite it, a CI job must request a new one when it expires); check
          that the issuer's OpenID configuration and keys are reachable from the internet.
        - >-
          V(invalid_scope) (AADSTS 70011, 28000, 28003, 500011, 650057, 1002012): The requested scopes are invalid or name more than one resource.
          Retryable: no. What to do: Request scopes of one resource per token, e.g. ['https://graph.microsoft.com/.default'] (a service principal can
          only ask for <resource>/.default), and check their spelling.
        - >-
          V(tenant_not_found) (AADSTS 90002, 50128, 50059, 90072, 90038): The tenant was not found. Retryable: no. What to do: Check the tenant ID or
          domain, and that cloud / authority_host matches the cloud the tenant lives in.
        - >-
          V(unsupported_account) (AADSTS 500200, 50107): The account is a personal Microsoft account or its domain is unknown to Entra ID; the
          username/password flow supports work or school accounts only. Retryable: no. What to do: Use a work or school account of the tenant.
        - >-
          V(federated_sign_in_failed): The user's federated identity provider (AD FS / WS-Trust) refused or could not be reached. Retryable: no. What
          to do: Check the password at the identity provider, and that its WS-Trust username/password endpoint is enabled and reachable.
        - >-
          V(refresh_token_expired) (AADSTS 700082, 50173, 70043, 70008, 50132, 50133, 700084): The cached refresh token has expired, was revoked, or
          Conditional Access asks for a new sign-in (sign-in frequency). Retryable: no. What to do: Sign in again: give the password (password flow),
          or by device code: ansible-playbook identity.entra.sign_in -e tenant=<tenant> -e client_id=<client_id> -e username=<username>
        - >-
          V(throttled) (AADSTS 50196): Entra ID throttled the request (HTTP 429). Retryable: yes. What to do: Wait for the Retry-After period and
          retry; reduce parallel sign-ins (the token cache serves repeated requests).
        - >-
          V(service_unavailable): Entra ID answered with a server error (HTTP 5xx). Retryable: yes. What to do: Retry later; if it persists, check the
          Azure status page and the correlation id.
        - >-
          V(network_error): The sign-in endpoint could not be reached, or did not answer in time (connection refused, reset or timed out). Retryable:
          yes. What to do: Check network access, proxy and DNS to the authority host, and the timeout option; then retry.
        - >-
          V(tls_error): The TLS certificate of the sign-in endpoint could not be verified. Retryable: no. What to do: Give the CA bundle that signs it
          in ca_path (for TLS-inspecting proxies), or check the authority host.
        - >-
          V(invalid_response): The sign-in endpoint sent an answer that is not valid (HTML, truncated, oversized, a redirect or a token answer of the
          wrong shape). Retryable: yes. What to do: Check proxies between you and the authority host and that authority_host is an Entra endpoint;
          then retry.
        - >-
          V(cache_error): The token cache cannot be used safely. Retryable: no. What to do: Do what the message says to the cache directory or file,
          or set cache_path to another directory (or cache=false).
        - >-
          V(unknown): Sign-in failed for a reason this collection does not recognise. Retryable: no. What to do: Read the error description and look
          up the AADSTS code and correlation id in the Entra sign-in logs.
        # END error kinds
      type: str
      returned: failure
      sample: mfa_required
    aadsts:
      description: The AADSTS error code Entra ID sent, or null.
      type: int
      returned: failure
      sample: 50076
    error:
      description: The OAuth error code, for example V(invalid_grant).
      type: str
      returned: failure
    suberror:
      description: Entra's suberror, for example V(consent_required) or V(basic_action), when it sent one.
      type: str
      returned: failure
    description:
      description: The first line of Entra's error description.
      type: str
      returned: failure
    correlation_id:
      description: Correlation id to look up in the Entra sign-in logs.
      type: str
      returned: failure
    trace_id:
      description: Trace id of the failed request.
      type: str
      returned: failure
    timestamp:
      description: Time of the failure as Entra reported it.
      type: str
      returned: failure
    status:
      description: HTTP status of the failing answer, when there was one.
      type: int
      returned: failure
    retryable:
      description: Whether retrying the same request later can succeed.
      type: bool
      returned: failure
    mitigation:
      description: What a person must do.
      type: str
      returned: failure
'''
