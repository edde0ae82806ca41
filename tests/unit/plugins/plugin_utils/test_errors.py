# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import importlib
import pathlib

import pytest
import yaml

from ansible_collections.identity.entra.plugins.plugin_utils import _errors as errors

ROOT = pathlib.Path(__file__).resolve().parents[4]


def entra_body(code, error='invalid_grant', suberror=None):
    """An error body shaped like Entra's (see the ROPC wire reference)."""
    body = {
        'error': error,
        'error_description': 'AADSTS%d: Something happened.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-11-27 10:00:00Z' % code,
        'error_codes': [code], 'timestamp': '2026-11-27 10:00:00Z', 'trace_id': 't-1', 'correlation_id': 'c-1',
        'error_uri': 'https://login.microsoftonline.com/error?code=%d' % code,
    }
    if suberror:
        body['suberror'] = suberror
    return body


@pytest.mark.parametrize('code, error, suberror, kind', [
    (50126, 'invalid_grant', None, 'invalid_credentials'),
    (50034, 'invalid_grant', None, 'user_not_found'),
    (50076, 'invalid_grant', 'basic_action', 'mfa_required'),
    (50079, 'interaction_required', 'basic_action', 'mfa_required'),
    (65001, 'invalid_grant', 'consent_required', 'consent_required'),
    (53003, 'interaction_required', 'message_only', 'conditional_access_blocked'),
    (50053, 'invalid_grant', None, 'account_locked'),
    (50057, 'invalid_grant', None, 'account_disabled'),
    (50055, 'invalid_grant', None, 'password_expired'),
    (50158, 'interaction_required', None, 'interaction_required'),
    (700016, 'unauthorized_client', None, 'app_not_found'),
    (7000218, 'invalid_client', None, 'public_client_required'),
    (70011, 'invalid_scope', None, 'invalid_scope'),
    (28000, 'invalid_request', None, 'invalid_scope'),
    (28003, 'invalid_request', None, 'invalid_scope'),
    (90002, 'invalid_request', None, 'tenant_not_found'),
    (9001023, 'invalid_request', None, 'tenant_endpoint_required'),
    (90010, 'invalid_request', None, 'tenant_endpoint_required'),
    (700082, 'invalid_grant', None, 'refresh_token_expired'),
    (50173, 'invalid_grant', None, 'refresh_token_expired'),
])
def test_classified_by_aadsts(code, error, suberror, kind):
    failure = errors.from_response_body(entra_body(code, error, suberror), 400)
    assert (failure.kind, failure.aadsts, failure.correlation_id, failure.trace_id) == (kind, code, 'c-1', 't-1')
    assert failure.description == 'AADSTS%d: Something happened.' % code
    assert 'AADSTS%d' % code in failure.message and failure.spec.mitigation in failure.message
    assert '\n' not in failure.message


def test_code_wins_over_error_and_status():
    assert errors.classify(50126, 'interaction_required', 'message_only', 503) == 'invalid_credentials'


@pytest.mark.parametrize('error, suberror, status, kind', [
    ('interaction_required', 'consent_required', 400, 'consent_required'),
    ('interaction_required', 'message_only', 400, 'conditional_access_blocked'),
    ('interaction_required', 'basic_action', 400, 'interaction_required'),
    ('invalid_scope', None, 400, 'invalid_scope'),
    ('temporarily_unavailable', None, 400, 'service_unavailable'),
    (None, None, 429, 'throttled'),
    (None, None, 503, 'service_unavailable'),
    ('invalid_grant', None, 400, 'unknown'),
])
def test_fallbacks_without_known_code(error, suberror, status, kind):
    assert errors.classify(None, error, suberror, status) == kind


def test_code_read_from_description_when_error_codes_missing():
    body = {'error': 'invalid_grant', 'error_description': 'AADSTS50057: The user account is disabled.'}
    assert errors.from_response_body(body).kind == 'account_disabled'


def test_error_dict_shape():
    failure = errors.from_response_body(entra_body(50076, suberror='basic_action'), 400)
    assert set(failure.as_dict()) >= {'kind', 'aadsts', 'error', 'suberror', 'description', 'correlation_id',
                                      'trace_id', 'timestamp', 'retryable', 'mitigation'}
    assert failure.as_dict()['retryable'] is False
    assert errors.EntraTokenError('throttled').as_dict()['retryable'] is True


def test_every_kind_has_text_and_unique_codes():
    seen = {}
    for kind in errors.ERROR_KINDS:
        assert kind.summary and kind.mitigation, kind.name
        for code in kind.aadsts:
            assert code not in seen, (code, kind.name, seen.get(code))
            seen[code] = kind.name
    names = [kind.name for kind in errors.ERROR_KINDS]
    assert len(names) == len(set(names))


def test_contract_kinds_present():
    contract = ('invalid_argument password_required tenant_endpoint_required invalid_credentials user_not_found mfa_required '
                'consent_required conditional_access_blocked account_locked account_disabled password_expired interaction_required '
                'app_not_found public_client_required invalid_scope tenant_not_found unsupported_account federated_sign_in_failed '
                'refresh_token_expired throttled service_unavailable network_error tls_error invalid_response cache_error unknown').split()
    assert [kind.name for kind in errors.ERROR_KINDS] == contract


def test_docs_are_rendered_from_the_table():
    """Module docs and docs/troubleshooting.md list every kind, as rendered from ERROR_KINDS."""
    module = importlib.import_module('ansible_collections.identity.entra.plugins.modules.entra_token')
    listed = yaml.safe_load(module.RETURN)['error']['contains']['kind']['description'][1:]
    assert listed == [errors.describe_kind(kind) for kind in errors.ERROR_KINDS]
    troubleshooting = (ROOT / 'docs/troubleshooting.md').read_text()
    assert errors.render_kinds_table() in troubleshooting
