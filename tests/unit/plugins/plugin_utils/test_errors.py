# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Error kinds: classification by the most specific known code, mitigations with the identity's command, docs from the table."""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys

import pytest
import yaml

from ansible_collections.identity.entra.plugins.plugin_utils import _errors as errors
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

ROOT = pathlib.Path(__file__).resolve().parents[4]
COMMAND = 'ansible-playbook identity.entra.sign_in -e tenant=t -e client_id=c -e username=u@contoso.com'


def entra_body(code, error='invalid_grant', suberror=None, codes=None, description=None):
    """An error body shaped like Entra's (see the ROPC wire reference)."""
    body = {
        'error': error,
        'error_description': (description or 'AADSTS%d: Something happened.' % code)
        + '\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-11-27 10:00:00Z',
        'error_codes': codes if codes is not None else [code], 'timestamp': '2026-11-27 10:00:00Z', 'trace_id': 't-1',
        'correlation_id': 'c-1', 'error_uri': 'https://login.microsoftonline.com/error?code=%d' % code,
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
    (1002012, 'invalid_scope', None, 'invalid_scope'),
    (28000, 'invalid_request', None, 'invalid_scope'),
    (28003, 'invalid_request', None, 'invalid_scope'),
    (90002, 'invalid_request', None, 'tenant_not_found'),
    (9001023, 'invalid_request', None, 'tenant_endpoint_required'),
    (90010, 'invalid_request', None, 'tenant_endpoint_required'),
    (700082, 'invalid_grant', None, 'refresh_token_expired'),
    (50173, 'invalid_grant', None, 'refresh_token_expired'),
    (70043, 'invalid_grant', None, 'refresh_token_expired'),
    (70019, 'expired_token', None, 'device_code_expired'),
    (7000215, 'invalid_client', None, 'invalid_client_secret'),
    (7000222, 'invalid_client', None, 'client_secret_expired'),
    (700027, 'invalid_client', None, 'invalid_client_certificate'),
    (700024, 'invalid_client', None, 'invalid_client_certificate'),
    (700211, 'invalid_client', None, 'federated_credential_mismatch'),
    (700212, 'invalid_client', None, 'federated_credential_mismatch'),
    (700213, 'invalid_client', None, 'federated_credential_mismatch'),
    (70021, 'invalid_request', None, 'federated_credential_mismatch'),
    (7000112, 'unauthorized_client', None, 'app_disabled'),
])
def test_classified_by_aadsts(code, error, suberror, kind):
    failure = errors.from_response_body(entra_body(code, error, suberror), 400)
    assert (failure.kind, failure.aadsts, failure.correlation_id, failure.trace_id) == (kind, code, 'c-1', 't-1')
    assert failure.description == 'AADSTS%d: Something happened.' % code
    assert 'AADSTS%d' % code in failure.message and failure.mitigation in failure.message
    assert '{command}' not in failure.message and '\n' not in failure.message


def test_the_most_specific_known_code_wins_not_the_first():
    """A real Entra body: [70002, 50126] with 'AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password'."""
    body = entra_body(70002, codes=[70002, 50126],
                      description='AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password.')
    failure = errors.from_response_body(body, 400)
    assert (failure.kind, failure.aadsts) == ('invalid_credentials', 50126)
    assert failure.description == 'AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password.'


@pytest.mark.parametrize('body, code', [
    ({'error_codes': [70002, 50126]}, 50126),
    ({'error_codes': [50126, 70002]}, 50126),
    ({'error_codes': [70002, 99999]}, 70002),  # none known: the first one
    ({'error_codes': []}, None),
    ({}, None),
    ({'error_description': 'AADSTS70002: generic. AADSTS50053: locked'}, 50053),
    ({'error_codes': [70002], 'error_description': 'AADSTS70002: x. AADSTS50126: y'}, 50126),
    ({'error_codes': ['50126']}, 50126),
    ({'error_codes': [True, None, 'x', {'a': 1}, 50057]}, 50057),  # untrusted bodies: junk is skipped
    ({'error_codes': 'AADSTS50126'}, None),
    ({'error_codes': None, 'error_description': ['AADSTS50126']}, 50126),
])
def test_main_aadsts(body, code):
    assert errors.main_aadsts(body) == code


def test_50012_means_a_wrong_password_for_a_user_and_a_bad_assertion_for_an_app():
    body = entra_body(50012, 'invalid_client')
    assert errors.from_response_body(body, 401).kind == 'invalid_credentials'
    assert errors.from_response_body(body, 401, app_flow=True).kind == 'invalid_client_certificate'
    body = entra_body(70002, 'invalid_client', codes=[70002, 50012])
    assert errors.from_response_body(body, 401, app_flow=True).aadsts == 50012
    assert errors.classify(50012, app_flow=True) == 'invalid_client_certificate'


def test_code_wins_over_error_and_status():
    assert errors.classify(50126, 'interaction_required', 'message_only', 503) == 'invalid_credentials'


@pytest.mark.parametrize('error, suberror, status, kind', [
    ('interaction_required', 'consent_required', 400, 'consent_required'),
    ('interaction_required', 'message_only', 400, 'conditional_access_blocked'),
    ('interaction_required', 'basic_action', 400, 'interaction_required'),
    ('invalid_scope', None, 400, 'invalid_scope'),
    ('temporarily_unavailable', None, 400, 'service_unavailable'),
    ('authorization_declined', None, 400, 'device_code_declined'),
    ('expired_token', None, 400, 'device_code_expired'),
    ('bad_verification_code', None, 400, 'device_code_invalid'),
    (None, None, 429, 'throttled'),
    (None, None, 503, 'service_unavailable'),
    ('invalid_grant', None, 400, 'unknown'),
])
def test_fallbacks_without_known_code(error, suberror, status, kind):
    assert errors.classify(None, error, suberror, status) == kind


def test_code_read_from_description_when_error_codes_missing():
    body = {'error': 'invalid_grant', 'error_description': 'AADSTS50057: The user account is disabled.'}
    assert errors.from_response_body(body).kind == 'account_disabled'


def test_untrusted_fields_become_short_single_lines():
    body = {'error': {'nested': 'x'}, 'error_description': 'AADSTS50126:   spread\tover  ' + 'x' * 2000,
            'correlation_id': ['c'], 'trace_id': 'line1\nline2', 'suberror': 5}
    failure = errors.from_response_body(body, 400)
    assert failure.error is None and failure.correlation_id is None and failure.suberror == '5'
    assert failure.description.startswith('AADSTS50126: spread over x') and len(failure.description) == 500
    assert failure.trace_id == 'line1 line2'


def test_error_dict_shape():
    failure = errors.from_response_body(entra_body(50076, suberror='basic_action'), 400)
    assert set(failure.as_dict()) == {'kind', 'aadsts', 'error', 'suberror', 'description', 'correlation_id',
                                      'trace_id', 'timestamp', 'status', 'retryable', 'mitigation'}
    assert failure.as_dict()['retryable'] is False and failure.as_dict()['status'] == 400
    assert errors.EntraTokenError('throttled').as_dict()['retryable'] is True


def test_unknown_kind_falls_back_to_unknown_text():
    failure = errors.EntraTokenError('no_such_kind')
    assert failure.spec is errors.KINDS['unknown'] and failure.mitigation == errors.KINDS['unknown'].mitigation


# -- {command}: the identity's own sign-in command ------------------------------------------------

COMMAND_KINDS = [kind.name for kind in errors.ERROR_KINDS if '{command}' in kind.mitigation]


def test_the_device_code_kinds_and_dead_sign_ins_name_the_command():
    assert set(COMMAND_KINDS) >= {'password_required', 'sign_in_required', 'mfa_required', 'interaction_required', 'device_code_declined',
                                  'device_code_expired', 'device_code_invalid', 'sign_in_timeout', 'refresh_token_expired'}


@pytest.mark.parametrize('kind', COMMAND_KINDS)
def test_command_replaces_the_placeholder(kind):
    failure = errors.EntraTokenError(kind, detail='what happened').with_command(COMMAND)
    assert COMMAND in failure.message and COMMAND in failure.as_dict()['mitigation'] and COMMAND in str(failure)
    assert '{command}' not in failure.message and errors.GENERIC_SIGN_IN_COMMAND not in failure.message


@pytest.mark.parametrize('kind', COMMAND_KINDS)
def test_without_an_identity_the_generic_command_is_shown(kind):
    assert errors.GENERIC_SIGN_IN_COMMAND in errors.EntraTokenError(kind).message


def test_with_command_leaves_other_kinds_and_an_earlier_command_alone():
    failure = errors.EntraTokenError('invalid_credentials').with_command(COMMAND)
    assert failure.sign_in_command is None and COMMAND not in failure.message
    first = errors.EntraTokenError('sign_in_required', sign_in_command='first').with_command(COMMAND)
    assert 'first' in first.message and COMMAND not in first.message
    assert errors.EntraTokenError('sign_in_required').with_command(None).sign_in_command is None


def test_the_command_is_the_one_of_the_request():
    request = from_mapping({'tenant': 'contoso.com', 'client_id': 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'username': 'ops@contoso.com',
                            'cloud': 'usgov'}, environ={})
    failure = errors.EntraTokenError('mfa_required', aadsts=50076).with_command(request.sign_in_command)
    assert ('ansible-playbook identity.entra.sign_in -e tenant=contoso.com -e client_id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee '
            '-e username=ops@contoso.com -e cloud=usgov') in failure.message


# -- the table and the docs rendered from it -------------------------------------------------------


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
    contract = ('invalid_argument password_required sign_in_required tenant_endpoint_required invalid_credentials user_not_found '
                'mfa_required consent_required conditional_access_blocked account_locked account_disabled password_expired '
                'interaction_required device_code_declined device_code_expired device_code_invalid sign_in_timeout app_not_found '
                'app_disabled public_client_required confidential_client_required invalid_client_secret client_secret_expired '
                'invalid_client_certificate '
                'federated_credential_mismatch invalid_federated_token invalid_scope tenant_not_found unsupported_account federated_sign_in_failed '
                'refresh_token_expired throttled service_unavailable network_error tls_error invalid_response cache_error unknown').split()
    assert [kind.name for kind in errors.ERROR_KINDS] == contract


def test_docs_are_rendered_from_the_table():
    """Module docs and docs/troubleshooting.md list every kind, as rendered from ERROR_KINDS."""
    module = importlib.import_module('ansible_collections.identity.entra.plugins.modules.entra_token')
    listed = yaml.safe_load(module.RETURN)['error']['contains']['kind']['description'][1:]
    assert listed == [errors.describe_kind(kind) for kind in errors.ERROR_KINDS]
    troubleshooting = (ROOT / 'docs/troubleshooting.md').read_text()
    assert errors.render_kinds_table() in troubleshooting
    for kind in errors.ERROR_KINDS:
        assert '`%s`' % kind.name in troubleshooting
    assert '{command}' not in troubleshooting and '{command}' not in module.RETURN


def test_the_renderer_reports_nothing_stale():
    """hacking/render_error_docs.py regenerates the docs; run in check mode it must find them current."""
    script = ROOT / 'hacking' / 'render_error_docs.py'
    if not script.exists():
        pytest.skip('hacking/ is not part of this copy of the collection')
    spec = importlib.util.spec_from_file_location('render_error_docs_under_test', script)
    renderer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(renderer)
    try:
        for path, text in renderer.render().items():
            assert path.read_text() == text, '%s is stale: run hacking/render_error_docs.py' % path
    finally:
        sys.modules.pop('_errors', None)
