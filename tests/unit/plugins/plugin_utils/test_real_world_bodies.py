# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Error bodies Entra ID really sent, as people pasted them in public issues, classified as a user would need.

Each body is the JSON object of the token endpoint's answer (msal returns it as the result dict),
with the HTTP status where the source shows it and the credential that was sent (``app_flow``: False
for a user, else the service principal's credential). Trace and correlation ids are the ones of the
source; identifiers of people and tenants stay as the source redacted them. Where a source shows only
the description (an SDK's message), only ``error_description`` is given: Entra's B2C-like and older
answers come like that too, and the code must then be read from the text.
"""

from __future__ import annotations

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _errors as errors

USER = False
TAIL = '\r\nTrace ID: {t}\r\nCorrelation ID: {c}\r\nTimestamp: {ts}'


def described(text, trace='00000000-0000-0000-0000-000000000001', correlation='00000000-0000-0000-0000-000000000002',
              timestamp='2024-01-01 00:00:00Z'):
    """An error_description as Entra writes it: the sentence, then the trace, correlation and timestamp lines."""
    return text + TAIL.format(t=trace, c=correlation, ts=timestamp)


# (id, body, status, app_flow, expected kind, expected AADSTS code)
BODIES = [
    # https://github.com/QuePort/passport-azure-oauth/issues/6 (2014): the older two-code form.
    ('70002-70000-old-two-codes', {
        'error': 'invalid_grant',
        'error_description': 'AADSTS70002: Error validating credentials. AADSTS70000: The provided access grant is invalid or '
                             'malformed.\r\nTrace ID: 8ccfdad7-7856-498c-82fa-88e6d5b40fee\r\nCorrelation ID: '
                             'c7f33b6a-5683-4fff-be74-ffba44a27abc\r\nTimestamp: 2014-08-27 12:08:46Z',
        'error_codes': [70002, 70000], 'timestamp': '2014-08-27 12:08:46Z', 'trace_id': '8ccfdad7-7856-498c-82fa-88e6d5b40fee',
        'correlation_id': 'c7f33b6a-5683-4fff-be74-ffba44a27abc'}, 400, USER, 'unknown', 70002),
    # https://github.com/MicrosoftDocs/azure-docs/issues/30802 (ROPC, 2023): description cut by the poster.
    ('50126-ropc', {
        'error': 'invalid_grant',
        'error_description': 'AADSTS50126: Error validating credentials due to invalid username or password'},
     400, USER, 'invalid_credentials', 50126),
    # https://github.com/MicrosoftDocs/azure-docs/issues/31900 (ROPC on /common, v1 endpoint, 2019).
    ('50126-v1-common', {
        'error': 'invalid_grant', 'error_description': 'AADSTS50126: Invalid username or password.'},
     400, USER, 'invalid_credentials', 50126),
    # https://github.com/davidjrh/dnn.azureadprovider/issues/112 (2024): a malformed grant, description on one line.
    ('9002313-one-line', {
        'error': 'invalid_grant',
        'error_description': 'AADSTS9002313: Invalid request. Request is malformed or invalid. Trace ID: '
                             '416deea9-9d5c-4cbe-81eb-e6397b902000 Correlation ID: bd487592-f96d-48f0-b095-f9ade4b75d45 '
                             'Timestamp: 2024-10-03 18:40:55Z',
        'error_codes': [9002313], 'timestamp': '2024-10-03 18:40:55Z'}, 400, USER, 'unknown', 9002313),
    # https://github.com/MartinIngesen/MSOLSpray/issues/5 (ROPC, 2023).
    ('53003-message-only', {
        'error': 'interaction_required',
        'error_description': described('AADSTS53003: Access has been blocked by Conditional Access policies. The access policy '
                                       'does not allow token issuance.', '36a9bfd2-0233-4b3b-b947-5ed41fa7a600',
                                       '85b60f58-62ff-4d26-b249-6a0229ba280e', '2023-05-29 05:46:34Z'),
        'error_codes': [53003], 'timestamp': '2023-05-29 05:46:34Z', 'trace_id': '36a9bfd2-0233-4b3b-b947-5ed41fa7a600',
        'correlation_id': '85b60f58-62ff-4d26-b249-6a0229ba280e', 'error_uri': 'https://login.microsoft.com/error?code=53003',
        'suberror': 'message_only'}, 400, USER, 'conditional_access_blocked', 53003),
    # https://github.com/Azure/azure-dev/issues/7704 (2026): only the description is shown.
    ('530084-token-protection', {
        'error_description': 'AADSTS530084: Access has been blocked by conditional access token protection policy configured by '
                             'this organization. To learn more, see https://aka.ms/TBCADocs. Trace ID: <redacted> Correlation ID: '
                             '<redacted> Timestamp: 2026-04-13 19:04:12Z'}, 400, USER, 'conditional_access_blocked', 530084),
    # https://github.com/MicrosoftDocs/azure-docs/issues/39189 (2019).
    ('65001-consent-required', {
        'error': 'invalid_grant',
        'error_description': described("AADSTS65001: The user or administrator has not consented to use the application with ID "
                                       "'5617d05d-fdc6-4c56-b1dc-38b8576cfafd' named 'AzureADBlob'. Send an interactive "
                                       'authorization request for this user and resource.', '7979ed8a-3959-4be5-9206-ce16f12a5900',
                                       '73d7243c-43ba-4d8a-865a-0b8957def6c6', '2019-09-19 08:55:37Z'),
        'error_codes': [65001], 'timestamp': '2019-09-19 08:55:37Z', 'trace_id': '7979ed8a-3959-4be5-9206-ce16f12a5900',
        'correlation_id': '73d7243c-43ba-4d8a-865a-0b8957def6c6', 'suberror': 'consent_required'},
     400, USER, 'consent_required', 65001),
    # https://github.com/hkamel/sonar-auth-aad/issues/111 (adal4j, 2021): no error_codes.
    ('50158-no-error-codes', {
        'error_description': described('AADSTS50158: External security challenge not satisfied. User will be redirected to another '
                                       'page or authentication provider to satisfy additional authentication challenges.',
                                       '31a1a782-2187-4e62-ba2b-9ac9ad709100', 'ca367647-911e-4ac3-aba5-6fdb26473bc2',
                                       '2021-01-19 00:24:08Z'),
        'error': 'interaction_required', 'error_uri': 'https://login.microsoftonline.com/error?code=50158'},
     400, USER, 'interaction_required', 50158),
    # https://github.com/canonical/authd/issues/814 (refresh, 2025): description on one line.
    ('50057-disabled', {
        'error': 'invalid_grant',
        'error_description': 'AADSTS50057: The user account is disabled. Trace ID: 5f7d76c6-ec57-4833-9d29-6087922e2300 '
                             'Correlation ID: 1f207b54-f311-4781-88d1-5a0f0cea3de5 Timestamp: 2025-02-26 16:02:16Z',
        'error_uri': 'https://login.microsoftonline.com/error?code=50057'}, 400, USER, 'account_disabled', 50057),
    # https://github.com/Azure/azure-cli/issues/26763 (2023): a lockout code newer than 50053, description only.
    ('500532-locked', {
        'error_description': "AADSTS500532: The account is locked, you've tried to sign in too many times with an incorrect "
                             'user ID or password.'}, 400, USER, 'account_locked', 500532),
    # https://github.com/Azure/azure-cli/issues/14244 (refresh, 2020).
    ('700082-inactive', {
        'error': 'invalid_grant',
        'error_description': described('AADSTS700082: The refresh token has expired due to inactivity. The token was issued on '
                                       '2020-02-26T21:52:54.2810613Z and was inactive for 90.00:00:00.',
                                       '6e94ade5-10de-4d67-909a-14d845813500', '0e87b495-1e24-4882-be85-d012c216f4f6',
                                       '2020-07-06 22:31:52Z'),
        'error_codes': [700082], 'timestamp': '2020-07-06 22:31:52Z', 'trace_id': '6e94ade5-10de-4d67-909a-14d845813500',
        'correlation_id': '0e87b495-1e24-4882-be85-d012c216f4f6',
        'error_uri': 'https://login.microsoftonline.com/error?code=700082'}, 400, USER, 'refresh_token_expired', 700082),
    # https://github.com/Azure/azure-cli/issues/17142 (refresh, 2021): interaction_required with suberror token_expired.
    ('70043-sign-in-frequency', {
        'error': 'interaction_required',
        'error_description': described('AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by '
                                       'conditional access. The token was issued on 2021-01-19T08:57:18.3420000Z and the maximum '
                                       'allowed lifetime for this request is 28800.', '7f71aec4-7ca4-457f-8346-4a6935741300',
                                       'aa01de5a-0067-4c86-a31a-1f3632d1feaa', '2021-02-27 09:01:41Z'),
        'error_codes': [70043], 'timestamp': '2021-02-27 09:01:41Z', 'trace_id': '7f71aec4-7ca4-457f-8346-4a6935741300',
        'correlation_id': 'aa01de5a-0067-4c86-a31a-1f3632d1feaa', 'suberror': 'token_expired'},
     400, USER, 'refresh_token_expired', 70043),
    # https://github.com/wkh237/react-native-azure-ad/issues/31 (2017): revoked grant, no error_codes, no error shown.
    ('50173-revoked', {
        'error_description': "AADSTS50173: The provided grant has expired due to it being revoked. The user might have changed or "
                             "reset their password. The grant was issued on '2017-11-26T09:16:07.5290000Z' and the "
                             "TokensValidFrom date for this user is '2017-11-27T17:35:50.0000000Z'\nTrace ID: \nCorrelation ID: "
                             '\nTimestamp: 2017-12-03 07:57:31Z', 'timestamp': '2017-12-03 07:57:31Z', 'trace_id': ''},
     400, USER, 'refresh_token_expired', 50173),
    # https://github.com/external-secrets/external-secrets/issues/428 (Azure China, refresh, 2021).
    ('90002-china', {
        'error': 'invalid_request',
        'error_description': described("AADSTS90002: Tenant 'e6106e37-****-*****-****-b4d47d166082' not found. Check to make sure "
                                       'you have the correct tenant ID and are signing into the correct cloud. Check with your '
                                       'subscription administrator, this may happen if there are no active subscriptions for the '
                                       'tenant.', '3e1ca0dd-5bbf-4bc8-bcaa-5ca829424f00')},
     400, USER, 'tenant_not_found', 90002),
    # https://github.com/Azure/azure-cli/issues/22145 (OIDC discovery on a retired national cloud, 2022).
    ('90002-invalid-tenant-discovery', {
        'error': 'invalid_tenant',
        'error_description': described("AADSTS90002: Tenant '2b0623dd-90fa-4c5c-bee8-8dc18bd4d948' not found. Check to make sure you "
                                       'have the correct tenant ID and are signing into the correct cloud. Check with your '
                                       'subscription administrator, this may happen if there are no active subscriptions for the '
                                       'tenant.', 'c1806f4a-bcae-4ac1-b7ff-4eea2dcd1200', '9d8aaacf-a655-4b1f-b113-3d0691054798',
                                       '2022-04-21 16:26:49Z'),
        'error_codes': [90002], 'timestamp': '2022-04-21 16:26:49Z'}, 400, USER, 'tenant_not_found', 90002),
    # https://github.com/microsoft/powercat-creator-kit/issues/452 (GCC High, 2024): the tenant lives in another cloud.
    ('90038-national-cloud', {
        'error_description': "AADSTS90038: Tenant 'microsoftservices.onmicrosoft.com' request is being redirected to the National "
                             "Cloud 'MicrosoftOnline.COM'. Trace ID: 3dee0c31-7bbb-48a2-926e-f0598b95f500 Correlation ID: "
                             '1f9158bc-6799-4967-a9d5-b8a3cd605aa0 Timestamp: 2024-03-08 19:13:22Z'},
     400, USER, 'tenant_not_found', 90038),
    # https://github.com/Azure/azure-sdk-for-python/issues/14241 (2020): a transient 503.
    ('90033-temporarily-unavailable', {
        'error': 'temporarily_unavailable',
        'error_description': described('AADSTS90033: A transient error has occurred. Please try again.',
                                       '7c3280d4-5d54-4240-bc1b-97a405a38000', '1409d806-a8f8-4ba5-a6e5-1b7c68e497ce',
                                       '2020-09-28 21:43:07Z'),
        'error_codes': [90033], 'timestamp': '2020-09-28 21:43:07Z', 'trace_id': '7c3280d4-5d54-4240-bc1b-97a405a38000',
        'correlation_id': '1409d806-a8f8-4ba5-a6e5-1b7c68e497ce'}, 503, USER, 'service_unavailable', 90033),
    # https://github.com/Azure/azure-cli/issues/22251 (device code, 2022): only the description is shown.
    ('70020-device-code-expired', {
        'error_description': "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code "
                             'has expired.'}, 400, USER, 'device_code_expired', 70020),
    # https://github.com/rootinc/laravel-azure-middleware/issues/51 (2021): ids blanked by the poster.
    ('500011-invalid-resource', {
        'error': 'invalid_resource',
        'error_description': 'AADSTS500011: The resource principal named {id} was not found in the tenant named {id} This can '
                             'happen if the application has not been installed by the administrator of the tenant or consented '
                             'to by any user in the tenant. You might have sent your authentication request to the wrong '
                             'tenant.\r\nTrace ID: \r\nCorrelation ID: \r\nTimestamp: 2021-06-01 09:55:53Z',
        'error_codes': [500011], 'timestamp': '2021-06-01 09:55:53Z', 'trace_id': '', 'correlation_id': '',
        'error_uri': 'https://login.microsoftonline.com/error?code=500011'}, 400, USER, 'invalid_scope', 500011),
    # https://github.com/Azure/sap-automation/issues/418 (client credentials, 2023).
    ('7000215-secret', {
        'error': 'invalid_client',
        'error_description': described('AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request '
                                       'is the client secret value, not the client secret ID, for a secret added to app '
                                       "'4d856d1f-8648-456c-9bb2-f36273bbe4e3'.", '6bad8289-db4a-49da-8609-0848d8d71700',
                                       '63b8bb61-5ca6-4ae3-8224-15a4de11cd87', '2023-02-20 07:21:29Z'),
        'error_codes': [7000215], 'timestamp': '2023-02-20 07:21:29Z', 'trace_id': '6bad8289-db4a-49da-8609-0848d8d71700',
        'correlation_id': '63b8bb61-5ca6-4ae3-8224-15a4de11cd87',
        'error_uri': 'https://login.microsoftonline.com/error?code=7000215'}, 401, 'client_secret', 'invalid_client_secret', 7000215),
    # https://github.com/sjkp/letsencrypt-siteextension/issues/117 (ADAL, v1 endpoint, 2017): the older code for a wrong secret.
    ('70002-50012-old-secret', {
        'error': 'invalid_client',
        'error_description': described('AADSTS70002: Error validating credentials. AADSTS50012: Invalid client secret is provided.',
                                       'f8002e35-8e39-4dce-a889-96498b8f0d00', '96cd5114-2f15-4cc4-89fd-8d110359777a',
                                       '2017-04-02 12:10:31Z')}, 401, 'client_secret', 'invalid_client_secret', 50012),
    # https://github.com/vcheckzen/FODI/issues/23 (2020).
    ('7000222-secret-expired', {
        'error': 'invalid_client',
        'error_description': described('AADSTS7000222: The provided client secret keys are expired. Visit the Azure Portal to '
                                       'create new keys for your app, or consider using certificate credentials for added security: '
                                       'https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-'
                                       'credentials', '3427eb4d-866e-4a3c-9048-6ab375960e00', '0aa7c9ea-5677-4024-b0ce-2ff6d5fe5cfa',
                                       '2020-09-04 13:52:05Z'),
        'error_codes': [7000222], 'timestamp': '2020-09-04 13:52:05Z', 'trace_id': '3427eb4d-866e-4a3c-9048-6ab375960e00',
        'correlation_id': '0aa7c9ea-5677-4024-b0ce-2ff6d5fe5cfa',
        'error_uri': 'https://login.microsoftonline.com/error?code=7000222'}, 401, 'client_secret', 'client_secret_expired', 7000222),
    # https://github.com/AzureAD/azure-activedirectory-library-for-python/issues/79 (certificate, 2017): [70002, 50012].
    ('70002-50012-old-certificate', {
        'error': 'invalid_client',
        'error_description': described('AADSTS70002: Error validating credentials. AADSTS50012: Client assertion audience claim does '
                                       'not match Realm issuer.', 'b3a77dbe-af3b-4545-8c2c-a76ab79c15ff',
                                       '5018bf95-777c-448c-96ea-19e2532cbb48', '2017-03-08 23:18:59Z'),
        'error_codes': [70002, 50012], 'timestamp': '2017-03-08 23:18:59Z', 'trace_id': 'b3a77dbe-af3b-4545-8c2c-a76ab79c15ff',
        'correlation_id': '5018bf95-777c-448c-96ea-19e2532cbb48'}, 401, 'client_certificate', 'invalid_client_certificate', 50012),
    # https://github.com/obikuro/Sato/issues/1 (certificate, 2024): description cut by the poster.
    ('700024-certificate-clock', {
        'error': 'invalid_client',
        'error_description': 'AADSTS700024: Client assertion is not within its valid time range. Current time: '
                             '2024-12-07T12:09:18.3149355Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of '
                             'assertion 2024-12-07T11:14:18.0000000Z.....'}, 401, 'client_certificate', 'invalid_client_certificate',
     700024),
    # https://github.com/dotnet/docker-tools/pull/1310 (federated token read too late, 2024): description only.
    ('700024-federated-expired', {
        'error': 'invalid_client',
        'error_description': 'AADSTS700024: Client assertion is not within its valid time range. Current time: '
                             '2024-05-28T06:01:42.5853621Z, assertion valid from 2024-05-28T02:19:01.0000000Z, expiry time of '
                             'assertion 2024-05-28T02:29:01.0000000Z. Review the documentation at '
                             'https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials . '
                             'Trace ID: 47ddff41-43d5-4e7e-aa00-dcd12eb2f600 Correlation ID: e26ff7b2-9371-4445-a593-4ec453fa9184 '
                             'Timestamp: 2024-05-28 06:01:42Z'}, 401, 'client_assertion', 'invalid_federated_token', 700024),
    # https://github.com/Azure/azure-activedirectory-library-for-java/issues/46 (2015): older code, no error_codes.
    ('70002-50012-old-assertion-time', {
        'error_description': described('AADSTS70002: Error validating credentials. AADSTS50012: Client assertion is not within its '
                                       'valid time range.', '80ad7758-a570-42f0-97b7-ae2dded006c7',
                                       '986a6c2c-a596-4189-b5b5-3a1b1a9a17e2', '2015-07-30 17:18:47Z'),
        'error': 'invalid_client'}, 401, 'client_certificate', 'invalid_client_certificate', 50012),
    # https://github.com/Azure/azure-workload-identity/issues/616 (2022): 70021 with invalid_request.
    ('70021-invalid-request', {
        'error': 'invalid_request',
        'error_description': described("AADSTS70021: No matching federated identity record found for presented assertion. Assertion "
                                       "Issuer: 'https://kubernetes.default.svc.cluster.local'. Assertion Subject: "
                                       "'system:serviceaccount:default:workload-identity-sa'. Assertion Audience: "
                                       "'api://AzureADTokenExchange'. https://docs.microsoft.com/en-us/azure/active-directory/develop/"
                                       'workload-identity-federation', '30b6df93-efd2-459c-ae6a-bad0838f6f00',
                                       'dffc6012-a4af-4f00-80ab-3e831069b3cc', '2022-10-27 23:39:22Z'),
        'error_codes': [70021], 'timestamp': '2022-10-27 23:39:22Z', 'trace_id': '30b6df93-efd2-459c-ae6a-bad0838f6f00',
        'correlation_id': 'dffc6012-a4af-4f00-80ab-3e831069b3cc',
        'error_uri': 'https://login.microsoftonline.com/error?code=70021'}, 400, 'client_assertion', 'federated_credential_mismatch',
     70021),
    # https://github.com/external-secrets/external-secrets/issues/2783 (2023): 70021 with invalid_client and 401.
    ('70021-invalid-client', {
        'error': 'invalid_client',
        'error_description': described("AADSTS70021: No matching federated identity record found for presented assertion. Assertion "
                                       "Issuer: 'https://eastus.oic.prod-aks.azure.com/c90ea95b-aead-4931-b72e-f3e703fc342b/"
                                       "85ee619b-d637-4610-bacd-d4c64ff20348/'. Assertion Subject: "
                                       "'system:serviceaccount:external-secrets:external-secrets'. Assertion Audience: "
                                       "'api://AzureADTokenExchange'.", '72348f3f-7ab2-4ad1-a3e5-4fdc75f5ae00',
                                       '21cae4b9-1c21-4751-bd19-5abac7dc93b6', '2023-10-13 19:07:11Z'),
        'error_codes': [70021], 'timestamp': '2023-10-13 19:07:11Z', 'trace_id': '72348f3f-7ab2-4ad1-a3e5-4fdc75f5ae00'},
     401, 'client_assertion', 'federated_credential_mismatch', 70021),
    # https://github.com/Azure/azure-workload-identity/issues/1200 (2025): description only.
    ('700213-subject', {
        'error': 'invalid_client',
        'error_description': "AADSTS700213: No matching federated identity record found for presented assertion subject "
                             "'system:serviceaccount:xxx:yyy'. Check your federated identity credential Subject, Audience and "
                             'Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/'
                             'workload-identity-federation Trace ID: xx Correlation ID: xx Timestamp: 2025-04-22 01:01:11Z'},
     401, 'client_assertion', 'federated_credential_mismatch', 700213),
    # https://github.com/microsoft/Agents/issues/202 (2025): a newer code of the same family.
    ('7002137-subject', {
        'error': 'invalid_client',
        'error_description': "AADSTS7002137: No matching federated identity record found for presented assertion subject "
                             "'/eid1/c/pub/t/v4j5cvGGr0GRqy180BHbRw/a/9ExAW52n_ky4ZiS_jhpJIQ/7e307b14-2a27-4f66-ada8-ec6400eb4977'. "
                             "Please make sure the federated identity credential Subject is '/eid1/c/pub/t/{tenantId}/a/"
                             "9ExAW52n_ky4ZiS_jhpJIQ/7e307b14-2a27-4f66-ada8-ec6400eb4977'. Trace ID: "
                             '007fc931-d337-4638-8760-8f5c9c231e00 Correlation ID: bc6ac312-88fd-4b97-8d37-6566985045b9 Timestamp: '
                             '2025-07-07 10:30:48Z',
        'error_codes': [7002137], 'timestamp': '2025-07-07 10:30:48Z', 'trace_id': '007fc931-d337-4638-8760-8f5c9c231e00'},
     401, 'client_assertion', 'federated_credential_mismatch', 7002137),
    # https://github.com/Azure/login/issues/517 (GitHub OIDC, 2025): description only (title of the issue).
    ('7002138-subject', {
        'error': 'invalid_client',
        'error_description': 'AADSTS7002138: No matching federated identity record found for presented assertion subject'},
     401, 'client_assertion', 'federated_credential_mismatch', 7002138),
    # https://github.com/dotnet/dnceng/issues/6455 (2026).
    ('7002131-expression', {
        'error': 'invalid_client',
        'error_description': "AADSTS7002131: No matching federated identity record found for presented assertion subject "
                             "'4ae65e7c-4cd9-4c09-8235-75c29f335cf2' or no federated identity credential expression matched. "
                             'Please check your federated identity credential Subject, Expression, Audience and Issuer against the '
                             'presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation Trace '
                             'ID: abaca795-4264-426b-9264-2f398f162d00 Correlation ID: 897c1685-8ea8-4dc0-a858-1210c5c483ae '
                             'Timestamp: 2026-02-04 03:51:39Z'}, 401, 'client_assertion', 'federated_credential_mismatch', 7002131),
    # https://github.com/harishkrupo/oauth2ms/issues/19 (2022): a secret sent for an app Entra treats as a public client.
    ('700025-public-client-secret', {
        'error': 'invalid_client',
        'error_description': "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be "
                             'presented.'}, 401, 'client_secret', 'confidential_client_required', 700025),
    # https://github.com/MicrosoftDocs/azure-docs/issues/96567 (2022): the same, with the tab-indented trace lines.
    ('700025-tabs', {
        'error': 'invalid_client',
        'error_description': "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be "
                             'presented.\r\n\tTrace ID: abdc4945-8a1c-4f70-b891-1c6f69207b00\r\n\tCorrelation ID: '
                             '8284c2d3-f550-492c-8423-259b3982415e\r\n\tTimestamp: 2022-07-29 12:41:44Z'},
     401, 'client_certificate', 'confidential_client_required', 700025),
]


@pytest.mark.parametrize('body, status, app_flow, kind, code', [row[1:] for row in BODIES], ids=[row[0] for row in BODIES])
def test_real_body_is_classified(body, status, app_flow, kind, code):
    error = errors.from_response_body(dict(body), status, app_flow=app_flow)
    assert (error.kind, error.aadsts) == (kind, code)


@pytest.mark.parametrize('body, status, app_flow, kind, code', [row[1:] for row in BODIES], ids=[row[0] for row in BODIES])
def test_real_body_message_names_the_code_and_what_to_do_on_one_line(body, status, app_flow, kind, code):
    error = errors.from_response_body(dict(body), status, app_flow=app_flow)
    message = error.message
    assert 'AADSTS%d' % code in message
    assert errors.KINDS[kind].mitigation.split('{command}')[0][:40] in message
    assert '\n' not in message and '\r' not in message
    assert '{command}' not in message
    for field in ('description', 'error', 'suberror', 'correlation_id', 'trace_id', 'timestamp'):
        value = error.as_dict()[field]
        assert value is None or ('\n' not in value and '\r' not in value)
    assert 'Trace ID' not in (error.description or '')


@pytest.mark.parametrize('body, status, app_flow', [row[1:4] for row in BODIES], ids=[row[0] for row in BODIES])
def test_the_message_does_not_echo_the_body(body, status, app_flow):
    """The message is built from the table only: what Entra echoes (a username, an app id, a subject) stays in description."""
    message = errors.from_response_body(dict(body), status, app_flow=app_flow).message
    sentence = body['error_description'].split(':', 1)[1].strip()
    assert sentence[:30] not in message


@pytest.mark.parametrize('status, kind', [(502, 'service_unavailable'), (504, 'service_unavailable'), (429, 'throttled'),
                                          (400, 'unknown')])
def test_a_body_without_any_oauth_field_falls_back_to_the_status(status, kind):
    """A proxy's page parsed into nothing usable (msal gives an empty-ish dict) never crashes the classifier."""
    error = errors.from_response_body({}, status)
    assert (error.kind, error.aadsts) == (kind, None)
    assert '\n' not in error.message
