# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Silence what third-party code could print while a token is being acquired.

For internal collection use only. msal logs a token answer it cannot parse in full
(``logger.exception("Token response is not in json format: %s", resp.text)``), and
Python's last-resort logging handler prints such records to stderr, where Ansible shows
them at any verbosity and copies them into ANSIBLE_LOG_PATH. Our HTTP client already
refuses such answers before msal sees them; this is the second wall: during an
acquisition, the loggers of msal and of the HTTP stack drop every record, warnings are
not shown, and anything written to ``sys.stderr`` is discarded.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings

QUIET_LOGGERS = ('msal', 'urllib3', 'requests', 'http.client', 'jwt', 'cryptography')


@contextlib.contextmanager
def quiet():
    """Within the block: no log record of QUIET_LOGGERS, no warning and no stderr output escapes."""
    saved = []
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.disabled, logger.propagate))
        # A level above CRITICAL on the parent drops the records of every child logger
        # (msal.application, msal.token_cache...) that has no level of its own.
        logger.setLevel(logging.CRITICAL + 10)
        logger.disabled = True
        logger.propagate = False
    # A child given a level of its own (by logging configuration) would pass its records to its own
    # handlers and its parent's: disable every existing child as well.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if isinstance(child, logging.Logger) and name.startswith(tuple(q + '.' for q in QUIET_LOGGERS)):
            saved.append((child, child.level, child.disabled, child.propagate))
            child.disabled = True
    last_resort = logging.lastResort
    logging.lastResort = None
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter('ignore')
            yield
    finally:
        logging.lastResort = last_resort
        for logger, level, disabled, propagate in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.propagate = propagate
        sys.stderr.flush()
