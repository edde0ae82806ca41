# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""JSON from untrusted places (answers, cache files, token payloads) that can never raise.

For internal collection use only; standard library only. ``json.loads`` raises more than
ValueError: a deeply nested document ('[[[[...' within the size limits) raises RecursionError,
and bytes that are not UTF-8 raise UnicodeDecodeError. Each would escape as a raw exception.
"""

from __future__ import annotations

import json


def loads(text):
    """The parsed value, or None when ``text`` is not JSON this process can read."""
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError, MemoryError):
        return None


def loads_object(text) -> dict | None:
    """The parsed value when it is a JSON object, else None."""
    value = loads(text)
    return value if isinstance(value, dict) else None
