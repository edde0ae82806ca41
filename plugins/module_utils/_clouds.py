# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""National clouds: the one table of sign-in and Graph hosts (tokens do not cross clouds).

For internal collection use only.
"""

from __future__ import annotations

# cloud -> (authority host, Graph resource)
CLOUDS = {
    'public': ('https://login.microsoftonline.com', 'https://graph.microsoft.com'),
    'usgov': ('https://login.microsoftonline.us', 'https://graph.microsoft.us'),
    'usgov_dod': ('https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'),
    'china': ('https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'),
}
