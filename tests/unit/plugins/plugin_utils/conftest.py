# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the tests of the private files and directories."""

from __future__ import annotations

import pytest

from ansible_collections.identity.entra.tests.unit.plugins.plugin_utils.cache_helpers import make_removable


@pytest.fixture
def base(tmp_path):
    """pytest's tmp_path, made removable afterwards whatever a test chmodded in it."""
    yield tmp_path
    make_removable(str(tmp_path))
