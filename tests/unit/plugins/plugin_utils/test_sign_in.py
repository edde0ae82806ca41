# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cold path's decisions that need no network: what a forced refresh that waited for another process accepts."""

from __future__ import annotations

import time

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils._discovery_store import DiscoveryStore
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping
from ansible_collections.identity.entra.plugins.plugin_utils._sign_in import _refreshed_while_waiting

pytest.importorskip('msal')

from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.test_cache_view import (  # noqa: E402  pylint: disable=wrong-import-position
    CLIENT,
    HOST,
    TENANT,
    cached_doc,
)


def forced():
    return from_mapping(dict(tenant=TENANT, client_id=CLIENT, username='user@contoso.com', authority_host=HOST,
                             force_refresh=True), environ={})


def test_a_forced_refresh_takes_the_token_another_process_got_while_it_waited():
    now = time.time()
    before = cached_doc(now=now - 100, access_token='old')
    after = cached_doc(now=now, access_token='new')
    hit = _refreshed_while_waiting(after, forced(), DiscoveryStore(None), before)
    assert hit['access_token'] == 'new' and hit['source'] == 'cache'


def test_a_forced_refresh_never_takes_the_token_it_saw_before_waiting_even_from_the_same_second():
    """Found by the reliability suite once sign-ins got faster: a token cached in the second the wait began
    was taken for one obtained during the wait (cached_at is in whole seconds), so force_refresh got it back."""
    doc = cached_doc(now=time.time(), access_token='seen')
    assert _refreshed_while_waiting(doc, forced(), DiscoveryStore(None), doc) is None
