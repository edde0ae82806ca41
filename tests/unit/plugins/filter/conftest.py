# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Requests as a user of the identity.entra.graph role writes them."""

from __future__ import annotations

import pytest


@pytest.fixture
def requests():
    return [
        {'name': 'me', 'path': '/me'},
        {'name': 'users', 'path': '/users', 'all_pages': True},
        {'name': 'adele', 'path': '/users/adele@contoso.com', 'query': {'$select': 'id'}},
        {'name': 'add', 'method': 'POST', 'path': '/groups/g/members/$ref', 'body': {'@odata.id': 'x'}},
        {'name': 'count', 'path': '/users/$count', 'consistency_level': 'eventual'},
    ]
