# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of identity.entra.entra_token: a thin adapter over plugin_utils._acquire."""

from __future__ import annotations

import keyword

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.identity.entra.plugins.plugin_utils._acquire import get_token
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError
from ansible_collections.identity.entra.plugins.plugin_utils._module_defaults import GRAPH_OPTIONS, without_foreign_group_defaults
from ansible_collections.identity.entra.plugins.plugin_utils._options import from_mapping

display = Display()


def _is_variable_name(name: str) -> bool:
    """The rule set_fact applies: an ASCII Python identifier that is no keyword, and no Jinja literal either."""
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name) and name.lower() not in ('true', 'false', 'none')


def check_fact_name(fact_name) -> str:
    """A variable name of the user's own: never one Ansible defines (inventory_hostname, omit, hostvars...),
    where the token would show wherever Ansible prints that variable."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel
    from ansible.vars.reserved import is_reserved_name  # pylint: disable=import-outside-toplevel

    if not isinstance(fact_name, str) or not _is_variable_name(fact_name) or fact_name.startswith('ansible_'):
        raise EntraTokenError('invalid_argument', detail="Option 'fact_name' must be a valid variable name that does not "
                              "start with ansible_, got %r" % (str(fact_name)[:80],))
    if fact_name in C.INTERNAL_STATIC_VARS or fact_name in C.MAGIC_VARIABLE_MAPPING or is_reserved_name(fact_name) \
            or fact_name in ('vars', 'environment', 'omit', 'hostvars', 'groups', 'lookup', 'query', 'q', 'item'):
        raise EntraTokenError('invalid_argument', detail="Option 'fact_name' is %r, a name Ansible itself defines; "
                              'choose a name of your own' % fact_name)
    return str(fact_name)


class ActionModule(ActionBase):
    """Runs on the controller whatever host the task targets; returns the token as a fact."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result['changed'] = False
        args = without_foreign_group_defaults(self._task.args, self._task.module_defaults, GRAPH_OPTIONS)
        fact_name = args.pop('fact_name', None) or 'entra_token'
        warnings = []
        try:
            fact_name = check_fact_name(fact_name)
            facts = get_token(from_mapping(args), warn=warnings.append, show=self._show)
        except EntraTokenError as exc:
            result.update(failed=True, msg=exc.message, error=exc.as_dict())
            return self._with_warnings(result, warnings)
        result['ansible_facts'] = {fact_name: facts}
        return self._with_warnings(result, warnings)

    def _show(self, message: str) -> None:
        """What a person must do now (the device-code message), on the controller's console at once.

        A worker's display goes through Ansible's result queue to the controller process, which
        writes without flushing: on stdout, when that is a file or a pipe (``| tee``, CI logs,
        AWX without a terminal) the message would wait in the buffer until the task ends - after
        the code expired. stderr is line-buffered, as Ansible's warnings are. Screen only: the
        code is of use to a person now, not in a log file later.
        """
        task = self._task.get_name() if self._task else 'entra_token'
        display.display('%s: %s' % (task, message), stderr=True, screen_only=True)

    @staticmethod
    def _with_warnings(result, warnings):
        if warnings:
            result['warnings'] = result.get('warnings', []) + warnings
        return result
