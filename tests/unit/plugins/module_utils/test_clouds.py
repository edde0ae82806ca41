# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cloud table against Microsoft Graph's national cloud deployments page."""

from __future__ import annotations

import pytest

from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS, DEFAULT_CLOUD

# Written out from https://learn.microsoft.com/graph/deployments, not from the code.
DEPLOYMENTS = [
    ('public', 'login.microsoftonline.com', 'graph.microsoft.com'),
    ('usgov', 'login.microsoftonline.us', 'graph.microsoft.us'),
    ('usgov_dod', 'login.microsoftonline.us', 'dod-graph.microsoft.us'),
    ('china', 'login.chinacloudapi.cn', 'microsoftgraph.chinacloudapi.cn'),
]


def test_the_four_clouds_and_no_other():
    assert list(CLOUDS) == [name for name, _login, _graph in DEPLOYMENTS]
    assert DEFAULT_CLOUD == 'public'


@pytest.mark.parametrize('name, login, graph', DEPLOYMENTS)
def test_hosts_and_urls(name, login, graph):
    cloud = CLOUDS[name]
    assert (cloud.login_host, cloud.graph_host) == (login, graph)
    assert cloud.authority_host == 'https://' + login
    assert cloud.graph_resource == 'https://' + graph
