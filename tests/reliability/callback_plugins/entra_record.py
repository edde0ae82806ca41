"""Test-only callback: every task result as one JSON line in $ENTRA_RECORD_PATH (task name, host, result).

The reliability suite reads task results from here instead of scraping the console; the
console output stays the default callback's, so what a user would see is what the secret
scans search.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: entra_record
type: aggregate
short_description: every task result as a JSON line (identity.entra reliability tests)
description: Writes one JSON line per task result to the file named by ENTRA_RECORD_PATH.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'entra_record'
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get('ENTRA_RECORD_PATH')
        if not path:
            return
        line = {'task': result._task.get_name(), 'host': result._host.get_name(), 'status': status,
                'result': result._result}
        with open(path, 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(line, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
