# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of identity.entra.graph_request: runs the module where the task runs.

Both modules of the collection are in the action group ``identity.entra.entra``, so one
``module_defaults: {group/identity.entra.entra: ...}`` can configure them. That group usually
holds entra_token's sign-in options (tenant, client_id, username, password, ...), which
graph_request does not take. This plugin drops those options when a module_defaults group
supplied them, so they never reach the managed node (a password in the group stays on the
controller), then runs the module as usual. The same options given on the task itself are
left in place, and the module refuses them as unsupported.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.identity.entra.plugins.plugin_utils._module_defaults import SIGN_IN_OPTIONS, without_foreign_group_defaults

MODULE = 'identity.entra.graph_request'


class ActionModule(ActionBase):
    """Drops sign-in options inherited from module_defaults groups, then runs the module on the target."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = without_foreign_group_defaults(self._task.args, self._task.module_defaults, SIGN_IN_OPTIONS)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars,
                                                         wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
