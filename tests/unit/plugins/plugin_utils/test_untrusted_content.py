# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile cache content and refusals that still reach the user raw, or are sent again.

Each test failed on main at 24650cb; see the review report for the reproduction with ansible-playbook.
"""

from __future__ import annotations

import base64

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils import _acquire as acquire
from ansible_collections.identity.entra.plugins.plugin_utils._cache_directory import CacheDirectory
from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore, openid_configuration_url
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError, from_response_body
from ansible_collections.identity.entra.plugins.plugin_utils._failure_memory import FailureMemory
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_acquire import request, root, store  # noqa: F401  pylint: disable=unused-import
from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import cached_doc

DEEP_JSON = b'[' * 40000 + b']' * 40000


def _first(doc, section):
    return next(iter(doc[section].values()))


def _outcome(req):
    """What a user gets: token facts, or an EntraTokenError - never any other exception."""
    try:
        return acquire.get_token(req)
    except EntraTokenError as exc:
        return exc


def test_an_expires_on_of_non_ascii_digits_is_skipped_not_a_raw_value_error(root):  # noqa: F811
    # '²³'.isdigit() is True but int('²³') raises: the entry passes usable_entries and the warm path raises ValueError
    doc = cached_doc()
    _first(doc, 'AccessToken')['expires_on'] = '\u00b2\u00b3'
    store(request(root), doc)
    assert isinstance(_outcome(request(root)), (dict, EntraTokenError))


@pytest.mark.parametrize('section', ['AccessToken', 'IdToken'])
def test_a_deeply_nested_jwt_payload_in_the_cache_is_not_a_raw_recursion_error(root, section):  # noqa: F811
    doc = cached_doc()
    payload = base64.urlsafe_b64encode(DEEP_JSON).decode('ascii').rstrip('=')[:60000]  # under MAX_FIELD_LENGTH
    _first(doc, section)['secret'] = 'eyJ.%s.x' % payload
    store(request(root), doc)
    assert isinstance(_outcome(request(root)), (dict, EntraTokenError))


def test_a_deeply_nested_discovery_document_is_not_a_raw_recursion_error(root):  # noqa: F811
    req = request(root, tenant='contoso.com')
    store(req, cached_doc())
    discovery = DiscoveryStore(CacheDirectory(root))
    discovery.add(openid_configuration_url(req.authority), 200, DEEP_JSON.decode('ascii'), 'application/json')
    discovery.save()
    assert isinstance(_outcome(req), (dict, EntraTokenError))


@pytest.mark.parametrize('code', [50135, 53011, 50142, 500121])
def test_a_password_refused_with_a_code_outside_the_table_is_not_sent_again(root, code):  # noqa: F811
    # Entra answers invalid_grant/400 for a refused password whatever the code; 'unknown' is never remembered,
    # so every fork of a run sends the same password again (100 grants for 100 hosts at forks 50).
    req = request(root, password='wrong-password')
    refusal = from_response_body({'error': 'invalid_grant', 'error_codes': [code],
                                  'error_description': 'AADSTS%d: refused.' % code}, 400)
    memory = FailureMemory(CacheDirectory(root), req)
    memory.remember(refusal, 'password', 'wrong-password')
    with pytest.raises(EntraTokenError):
        FailureMemory(CacheDirectory(root), req).check_credential('password', 'wrong-password')
