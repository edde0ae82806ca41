# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The national clouds: where each one signs in and where its Microsoft Graph is.

For internal collection use only. The one table of cloud names and hosts, read by
entra_token on the controller (authority host, Graph resource of the default scope) and by
graph_request on the managed node (Graph host). It lives in module_utils because a module may
import only ansible.module_utils and the collection's module_utils. Tokens do not cross clouds:
a token from one login host is refused by the Graph of another cloud.

Hosts from Microsoft Graph's national cloud deployments page (GCC uses the global cloud).
"""

from __future__ import annotations


class Cloud:
    """The hosts of one cloud (names without scheme or port)."""

    __slots__ = ('login_host', 'graph_host')

    def __init__(self, login_host: str, graph_host: str) -> None:
        self.login_host = login_host
        self.graph_host = graph_host

    @property
    def authority_host(self) -> str:
        """The sign-in authority host URL, ``https://{login_host}``."""
        return 'https://%s' % self.login_host

    @property
    def graph_resource(self) -> str:
        """The Graph resource URL that scopes are qualified with, ``https://{graph_host}``."""
        return 'https://%s' % self.graph_host


CLOUDS = {
    'public': Cloud('login.microsoftonline.com', 'graph.microsoft.com'),  # global, also GCC
    'usgov': Cloud('login.microsoftonline.us', 'graph.microsoft.us'),  # US Government L4 (GCC High)
    'usgov_dod': Cloud('login.microsoftonline.us', 'dod-graph.microsoft.us'),  # US Government L5 (DoD)
    'china': Cloud('login.chinacloudapi.cn', 'microsoftgraph.chinacloudapi.cn'),  # operated by 21Vianet
}
DEFAULT_CLOUD = 'public'
