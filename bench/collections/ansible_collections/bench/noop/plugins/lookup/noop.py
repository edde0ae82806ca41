# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmarks' floor for a lookup: a lookup of another collection that does nothing."""

from __future__ import annotations

DOCUMENTATION = r'''
name: noop
short_description: Return a constant, whatever the arguments (the floor of the lookup benchmark)
version_added: 1.0.0
author:
  - Identity Entra Maintainers (@identity-entra)
description:
  - Takes any keyword arguments, as M(identity.entra.entra_token) does, and returns V(noop).
'''

RETURN = r'''
_raw:
  description: The string V(noop).
  type: list
  elements: str
'''

from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return ['noop']
