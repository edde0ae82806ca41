#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: graph_request
short_description: Call Microsoft Graph with paging, throttling retries, JSON batching and national clouds
version_added: 0.1.0
author:
  - Identity Entra Maintainers (@identity-entra)
description:
  - Sends one Microsoft Graph request, or many through JSON batching, with a bearer token, for example one from
    M(identity.entra.entra_token).
  - Follows C(@odata.nextLink) to the last page when asked (O(all_pages)), and returns every item in RV(value).
  - Waits out throttling. Answers 429 and 503 (and 504 for idempotent requests) are retried after their C(Retry-After)
    header, or after an exponential backoff with jitter when there is none, within O(max_retries) and O(max_retry_wait).
  - Sends a O(batch) of any length through C($batch) calls of 20 requests, retries only the throttled inner requests and
    returns one response per request, in request order.
  - Fails with Graph's own error code in RV(error.code) (and nested inner codes in RV(error.inner_codes)), so that playbooks can
    branch on codes rather than on messages.
  - Sends the token only to the Graph host of O(cloud) or O(graph_host), over HTTPS. Runs on the managed node with the Python
    standard library only.
options:
  token:
    description:
      - The access token for Microsoft Graph, sent in the C(Authorization) header as a bearer token. It must be issued for the Graph
        of the chosen O(cloud) (tokens do not cross clouds).
      - For example C({{ entra_token.access_token }}) after M(identity.entra.entra_token). A user's (delegated) token and a service
        principal's app-only token work alike; Graph decides what each may do (delegated scopes or application roles).
      - Never returned or logged.
    type: str
    required: true
  method:
    description:
      - HTTP method of the request. Not used with O(batch), where each request has its own.
    type: str
    choices: [GET, POST, PATCH, PUT, DELETE]
    default: GET
  path:
    description:
      - What to call, relative to the version root, such as V(/users), V(users/{id}), V(me) or V(groups/{id}/members/$ref).
        A query string in the path (V(users?$top=5)) is kept and O(query) is appended to it.
      - Or a full URL on the Graph host, such as an C(@odata.nextLink) saved earlier; its version (V(v1.0) or V(beta)) is kept.
      - Anything else is refused before a request is sent, for example another host, plain C(http://), C(..) segments, or a path
        that starts with the version (set O(api_version) instead).
      - Required unless O(batch) is given; mutually exclusive with O(batch).
    type: str
  api_version:
    description:
      - Graph API version.
    type: str
    choices: [v1.0, beta]
    default: v1.0
  cloud:
    description:
      - National cloud whose Graph host is called. V(public) is C(graph.microsoft.com) (also for GCC), V(usgov) is
        C(graph.microsoft.us) (GCC High), V(usgov_dod) is C(dod-graph.microsoft.us), V(china) is
        C(microsoftgraph.chinacloudapi.cn) (21Vianet).
      - The same choices as the O(identity.entra.entra_token#module:cloud) option. Ignored when O(graph_host) is set.
    type: str
    choices: [public, usgov, usgov_dod, china]
    default: public
  graph_host:
    description:
      - Graph host to call instead of the host of O(cloud), as V(host), V(host:port) or V(https://host[:port]), for example a
        test emulator.
    type: str
  query:
    description:
      - OData query options and other query parameters, such as V($select), V($filter), V($top), V($count), V($search),
        V($orderby), V($expand).
      - A list value is joined with commas. C($) and C(,) are sent unescaped, as Graph's SDKs send them; the rest is
        percent-encoded.
      - Advanced queries (V($count), V($search), some V($filter)) also need O(consistency_level).
    type: dict
  body:
    description:
      - Request body for V(POST), V(PATCH) and V(PUT). A dict or list is sent as JSON; a string is sent as it is.
      - C(Content-Type) defaults to C(application/json).
    type: raw
  headers:
    description:
      - Extra request headers, such as C(Prefer) or C(If-Match). C(Authorization) is refused (see O(token)).
      - With O(batch), these go on the outer C($batch) requests only; give inner headers per request.
    type: dict
  consistency_level:
    description:
      - Value of the C(ConsistencyLevel) header, needed by Graph's advanced queries on directory objects.
      - With O(batch), added to every inner request that does not set it itself.
    type: str
    choices: [eventual]
  all_pages:
    description:
      - For a V(GET) of a collection, follow C(@odata.nextLink) verbatim until the last page (or O(max_pages)) and return
        all items in RV(value).
    type: bool
    default: false
  max_pages:
    description:
      - With O(all_pages), the most pages to fetch; V(0) means no limit. When the limit stops paging, RV(json) still holds the
        C(@odata.nextLink) to continue from.
    type: int
    default: 0
  batch:
    description:
      - Requests to send through JSON batching (C(POST /$batch)), in chunks of at most 20. Mutually exclusive with O(path).
      - Each response is matched by id and RV(responses) lists them in the order of this list.
      - Inner answers 429 and 503 (and 504 for V(GET)) are retried in a later C($batch) call, after the largest inner
        C(Retry-After); requests that only failed because a throttled request they depend on was throttled are retried with it.
      - A request whose dependency failed gets 424 and counts as failed.
    type: list
    elements: dict
    suboptions:
      id:
        description:
          - Id of the request, unique in the list (compared case-insensitively). Defaults to its position, V(1), V(2), ...
        type: str
      method:
        description:
          - HTTP method.
        type: str
        choices: [GET, POST, PATCH, PUT, DELETE]
        default: GET
      path:
        description:
          - As O(path), relative to the version (or a full URL on the Graph host under the same O(api_version)).
        type: str
        required: true
      query:
        description:
          - As O(query).
        type: dict
      body:
        description:
          - JSON body of the request. A C(Content-Type) header of C(application/json) is added when a body is given.
        type: raw
      headers:
        description:
          - Headers of this request (inner requests do not inherit the outer headers).
        type: dict
      depends_on:
        description:
          - Ids of requests that must succeed before this one runs (Graph's C(dependsOn)).
          - Dependencies in the same C($batch) call are ordered by Graph; a request is never sent before a dependency in an
            earlier call has finished.
        type: list
        elements: str
  fail_on_inner_error:
    description:
      - With O(batch), fail the task when any inner request failed (status 400 or more, including 424). The results still list
        every response.
      - Set V(false) to inspect RV(responses) yourself.
    type: bool
    default: true
  max_retries:
    description:
      - Most retries of one request (or one inner batch request) after throttling, an outage answer or a transient network
        failure. V(0) disables retries.
    type: int
    default: 5
  max_retry_wait:
    description:
      - Most seconds all waits of this task may add up to. A C(Retry-After) that would cross it is not waited for; the task fails
        with the throttling error (RV(error.retryable) is V(true)).
    type: int
    default: 300
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 30
  validate_certs:
    description:
      - Whether the TLS certificate of the Graph host is verified. Keep V(true) outside of tests.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle (PEM) to trust for the Graph host, for example the CA of a TLS-inspecting proxy or of a test emulator.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - V(GET) requests are sent, so that later tasks have data to work with.
      - V(POST), V(PATCH), V(PUT) and V(DELETE) are not sent and report C(changed=true).
      - In a O(batch), only the V(GET) requests that do not depend on a write are sent; the writes and their dependents are
        listed in RV(responses) with C(skipped=true) and C(status=null).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing) when in diff mode.
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin only keeps the sign-in options of M(identity.entra.entra_token) that a C(group/identity.entra.entra)
        module_defaults entry supplies (O(identity.entra.entra_token#module:password) among them) on the controller; the module
        itself runs where the task runs.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
notes:
  - C(changed) is V(false) for V(GET) and V(true) for a successful V(POST), V(PATCH), V(PUT) or V(DELETE) (in a O(batch), when at
    least one of them succeeded). The module does not compare states; read first when you need idempotence.
  - Redirects are not followed (the token must not travel to another host); a 3xx answer is returned with its headers.
  - Bodies are JSON or text; binary content (such as photos) is not supported.
  - A token Graph refuses (HTTP 401 C(InvalidAuthenticationToken), for example revoked or expired before its cached expiry time)
    is not retried; RV(msg) and RV(error.mitigation) say to get a new one with M(identity.entra.entra_token) and
    O(identity.entra.entra_token#module:force_refresh=true), then repeat the request. The C(identity.entra.graph) role does
    that once by itself.
  - An app-only token (a service principal signed in with a client secret, certificate or federated credential) has no user.
    Graph answers C(/me) and the paths under it only for delegated tokens; with an app-only token it answers HTTP 400
    C(BadRequest) "/me request is only valid with delegated authentication flow.", and RV(error.mitigation) says to ask for
    C(/users/{id}) (or the user principal name) instead, which needs the application permission C(User.Read.All).
  - Retry policy. Waits honour C(Retry-After) (seconds or an HTTP date). Without it, the n-th retry (n from 0) waits
    min(60, 2 * 2^n) seconds scaled by a random factor between 0.5 and 1. A refused connection is retried for every method;
    a reset connection or a timeout only for V(GET), V(PUT), V(DELETE) and batches of V(GET) requests; TLS and name
    resolution failures are not retried.
seealso:
  - module: identity.entra.entra_token
  - name: Microsoft Graph paging
    description: How C(@odata.nextLink) works.
    link: https://learn.microsoft.com/graph/paging
  - name: Microsoft Graph throttling
    description: C(Retry-After) and the guidance this module follows.
    link: https://learn.microsoft.com/graph/throttling
  - name: Microsoft Graph JSON batching
    description: C($batch), C(dependsOn) and inner throttling.
    link: https://learn.microsoft.com/graph/json-batching
  - name: Microsoft Graph national cloud deployments
    description: The Graph host of each cloud.
    link: https://learn.microsoft.com/graph/deployments
'''

EXAMPLES = r'''
- name: Get a token for Microsoft Graph (cache first)
  identity.entra.entra_token:
    tenant: contoso.onmicrosoft.com
    client_id: 00000000-0000-0000-0000-000000000000
    username: automation@contoso.com
    password: "{{ vault_automation_password }}"

- name: Who am I
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    path: /me
    query:
      $select: id,displayName,userPrincipalName
  register: me

- name: Every user, 999 per page
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    path: /users
    query:
      $select: [id, userPrincipalName, accountEnabled]
      $top: 999
    all_pages: true
  register: users

- name: Show how many
  ansible.builtin.debug:
    msg: "{{ users.value | length }} users in {{ users.pages }} pages"

- name: Count disabled accounts (an advanced query)
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    path: /users/$count
    query:
      $filter: accountEnabled eq false
    consistency_level: eventual
  register: disabled

- name: Treat a missing user as absent
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    path: users/someone@contoso.com
  register: someone
  failed_when:
    - someone is failed
    - someone.error.code != 'Request_ResourceNotFound'

- name: Add a user to a group
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    method: POST
    path: groups/{{ group_id }}/members/$ref
    body:
      "@odata.id": https://graph.microsoft.com/v1.0/directoryObjects/{{ user_id }}

- name: Build one GET per user id
  ansible.builtin.set_fact:
    user_requests: "{{ user_requests | default([]) + [{'path': 'users/' ~ item, 'query': {'$select': 'id,displayName'}}] }}"
  loop: "{{ user_ids }}"

- name: Read them in few calls (20 per $batch)
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    batch: "{{ user_requests }}"
    fail_on_inner_error: false
  register: lookups

- name: Users that were found
  ansible.builtin.debug:
    msg: "{{ lookups.responses | selectattr('status', 'eq', 200) | map(attribute='body.displayName') | list }}"

- name: Update a user, then read it back, in one call
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    batch:
      - id: update
        method: PATCH
        path: users/{{ user_id }}
        body:
          jobTitle: Engineer
      - id: read
        path: users/{{ user_id }}
        query:
          $select: id,jobTitle
        depends_on: [update]

- name: As a service principal (app-only token) - there is no /me, so name the user
  identity.entra.entra_token:
    tenant: contoso.onmicrosoft.com
    client_id: 11111111-1111-1111-1111-111111111111
    client_secret: "{{ vault_automation_client_secret }}"
    fact_name: app_token
  no_log: true

- name: One user by user principal name (application permission User.Read.All)
  identity.entra.graph_request:
    token: "{{ app_token.access_token }}"
    path: users/automation@contoso.com
    query:
      $select: id,displayName

- name: In a US Government (GCC High) tenant
  identity.entra.graph_request:
    token: "{{ entra_token.access_token }}"
    cloud: usgov
    path: /organization
'''

RETURN = r'''
status:
  description:
    - HTTP status of the last answer. With O(batch), the status of the last C($batch) call (inner statuses are in RV(responses)).
    - V(null) when nothing was answered (check mode write, network failure, refused path).
  returned: always
  type: int
  sample: 200
url:
  description: The URL requested (the first page, or the C($batch) endpoint). The token is never part of it.
  returned: unless the path or options were refused before a URL was built
  type: str
  sample: https://graph.microsoft.com/v1.0/users?$select=id,displayName&$top=999
json:
  description:
    - The parsed JSON body.
    - With O(all_pages), the last page's body without C(value) (the items are in RV(value)), plus C(@odata.count) of the first
      page; C(@odata.nextLink) is there only when O(max_pages) stopped the paging.
  returned: when the answer is JSON and not a batch
  type: raw
  sample: {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity", "id": "6e7b768e-07e2-4810-8459-485f84f8f204"}
content:
  description: The body as text when it is not JSON, for example the number of V(/users/$count).
  returned: when the answer is not JSON
  type: str
  sample: "2500"
headers:
  description: Headers of the last answer, names in lower case.
  returned: when Graph answered (not with O(batch))
  type: dict
  sample: {"content-type": "application/json", "request-id": "0c4b1f3e-8a4e-4d65-9f3b-1a2b3c4d5e6f"}
value:
  description: The items of a collection; with O(all_pages), the items of every page, in order.
  returned: when the answer is a collection
  type: list
  elements: raw
  sample: [{"id": "6e7b768e-07e2-4810-8459-485f84f8f204", "displayName": "Megan Bowen"}]
pages:
  description: How many pages were fetched (V(0) when nothing was fetched).
  returned: when not a batch and the path was not refused
  type: int
  sample: 3
http_requests:
  description: How many HTTP requests the task made, retries and C($batch) calls included.
  returned: always
  type: int
  sample: 3
throttled:
  description: How many throttled or unavailable answers (429, 503, 504; inner batch answers included) were waited out and retried.
  returned: always
  type: int
  sample: 1
waited:
  description: Seconds spent waiting before retries, in total.
  returned: always
  type: float
  sample: 1.0
request_id:
  description: C(request-id) header of the last answer, to quote to Microsoft support.
  returned: always
  type: str
  sample: 0c4b1f3e-8a4e-4d65-9f3b-1a2b3c4d5e6f
responses:
  description: With O(batch), one response per request, in the order of O(batch).
  returned: with O(batch)
  type: list
  elements: dict
  contains:
    id:
      description: Id of the request.
      type: str
      sample: "1"
    method:
      description: Method of the request.
      type: str
      sample: GET
    url:
      description: URL of the request, relative to the version root.
      type: str
      sample: /users/6e7b768e-07e2-4810-8459-485f84f8f204
    status:
      description: Inner HTTP status; V(null) when not sent (check mode) or when the C($batch) call failed.
      type: int
      sample: 200
    headers:
      description: Inner response headers.
      type: dict
      sample: {"Content-Type": "application/json"}
    body:
      description: Inner response body (JSON, or a string).
      type: raw
      sample: {"id": "6e7b768e-07e2-4810-8459-485f84f8f204", "displayName": "Megan Bowen"}
    error:
      description: For a failed request, the structured error (same keys as RV(error)).
      type: dict
      returned: when the request failed
    skipped:
      description: V(true) for a write (or a request depending on one) not sent in check mode.
      type: bool
      returned: in check mode, for requests not sent
msg:
  description: What went wrong, in one line (status, Graph code and message, request id); in check mode, what was not sent.
  returned: on failure, and in check mode for writes
  type: str
  sample: "GET https://graph.microsoft.com/v1.0/users/nobody failed: HTTP 404 Request_ResourceNotFound: Resource 'nobody' does not exist"
error:
  description:
    - The failure, taken from Graph's error body (or from the connection failure). With O(batch), the first failed inner request.
  returned: on failure
  type: dict
  contains:
    code:
      description:
        - Graph's error code, such as C(InvalidAuthenticationToken), C(Authorization_RequestDenied), C(Request_ResourceNotFound),
          C(TooManyRequests), C(FailedDependency).
        - Without an answer, one of C(connection_refused), C(connection_reset), C(timeout), C(tls_error), C(name_resolution),
          C(network_error), C(invalid_response), C(refused_url) (refused before sending).
        - C(http_NNN) for a non-Graph error body or a Graph error without a code.
      type: str
      sample: Request_ResourceNotFound
    message:
      description: Graph's error message (for people; branch on RV(error.code)).
      type: str
    status:
      description: HTTP status, or V(null) without an answer.
      type: int
      sample: 404
    request_id:
      description: C(request-id) of the failed answer.
      type: str
    client_request_id:
      description: C(client-request-id) of the failed request (the module sends one per task).
      type: str
    date:
      description: Date from Graph's C(innerError).
      type: str
      sample: "2026-01-01T10:00:00"
    retryable:
      description: Whether the same request may succeed later (429, 500, 502, 503, 504, transient network failures).
      type: bool
      sample: false
    inner_codes:
      description: Codes of nested C(innerError) objects, outermost first.
      type: list
      elements: str
      sample: []
    details:
      description: Graph's C(details) list (code, message, target), when present.
      type: list
      elements: dict
      returned: when Graph gave details
    claims_challenge:
      description:
        - Whether Graph's C(WWW-Authenticate) header asked for claims (C(error="insufficient_claims")).
        - Continuous Access Evaluation ended the sign-in (a password reset, a disabled account, a new location), or
          Conditional Access asks for more than the token shows; RV(error.mitigation) says what to do.
        - The challenge itself is in RV(headers).
      type: bool
      returned: for HTTP 401 and 403
      version_added: 0.2.0
    mitigation:
      description:
        - What to do, where Graph's code alone does not say.
        - For C(InvalidAuthenticationToken) (HTTP 401, the token was refused), get a new token with M(identity.entra.entra_token) and
          O(identity.entra.entra_token#module:force_refresh=true), then repeat the request.
        - For a claims challenge (RV(error.claims_challenge)), the same; when Entra refuses the refresh, sign in again as its
          error says; when a fresh token is refused too, a Conditional Access policy asks for more than the sign-in can give.
        - For C(/me) with an app-only token (HTTP 400 C(BadRequest)), ask for C(/users/{id}) instead.
        - Also in RV(msg).
      type: str
      returned: for a refused token, a claims challenge, and for /me with an app-only token
      sample: "Graph refused the access token. Get a new one with identity.entra.entra_token and force_refresh: true ..."
    id:
      description: With O(batch), the id of the failed request.
      type: str
      returned: with O(batch)
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.identity.entra.plugins.module_utils._graph_options import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_ONE_OF,
    argument_spec,
)
from ansible_collections.identity.entra.plugins.module_utils._graph_task import run


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=MUTUALLY_EXCLUSIVE,
                           required_one_of=REQUIRED_ONE_OF, supports_check_mode=True)
    if module.params.get('ca_path') and not os.path.isfile(module.params['ca_path']):
        module.fail_json(msg='ca_path %s is not a file' % module.params['ca_path'], http_requests=0, throttled=0)
    result = run(module.params, check_mode=module.check_mode)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
