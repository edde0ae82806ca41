# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""quiet(): nothing msal or the HTTP stack logs, warns or prints escapes an acquisition; everything is restored after."""

from __future__ import annotations

import json
import logging
import sys
import warnings

import pytest

from ansible_collections.identity.entra.plugins.plugin_utils._quiet import QUIET_LOGGERS, quiet

CANARY = 'eyJ-CANARY-ACCESS-TOKEN'


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


@pytest.fixture
def handlers():
    """A handler on the root logger, on each quiet logger and on msal.application itself."""
    names = [''] + list(QUIET_LOGGERS) + ['msal.application', 'urllib3.connectionpool']
    attached = []
    for name in names:
        handler = Collect()
        logging.getLogger(name).addHandler(handler)
        attached.append((name, handler))
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield attached
    logging.getLogger().setLevel(root_level)
    for name, handler in attached:
        logging.getLogger(name).removeHandler(handler)


def received(handlers):
    return [(name or 'root', message) for name, handler in handlers for message in handler.records]


def state():
    loggers = {name: (logging.getLogger(name).level, logging.getLogger(name).disabled, logging.getLogger(name).propagate)
               for name in QUIET_LOGGERS + ('msal.application',)}
    return loggers, logging.lastResort, sys.stderr, list(warnings.filters)


@pytest.mark.parametrize('name', ['msal.application', 'msal.token_cache', 'msal', 'urllib3.connectionpool', 'requests', 'http.client',
                                  'jwt', 'cryptography'])
@pytest.mark.parametrize('level', [logging.DEBUG, logging.WARNING, logging.CRITICAL])
def test_records_inside_quiet_reach_no_handler_and_nothing_reaches_stderr(handlers, capfd, name, level):
    with quiet():
        logging.getLogger(name).log(level, 'Token response is not in json format: %s', CANARY)
        try:
            raise ValueError(CANARY)
        except ValueError:
            logging.getLogger(name).exception('failed: %s', CANARY)
    assert received(handlers) == []
    out, err = capfd.readouterr()
    assert CANARY not in out + err


def test_the_same_record_outside_quiet_does_reach_handlers(handlers):
    """The control: without quiet() the canary would be seen (so the test above can fail)."""
    logging.getLogger('msal.application').warning('Token response is not in json format: %s', CANARY)
    assert ('root', 'Token response is not in json format: %s' % CANARY) in received(handlers)


def test_a_child_logger_with_its_own_level_is_silenced_too(handlers, capfd):
    child = logging.getLogger('msal.application')
    child.setLevel(logging.DEBUG)
    try:
        with quiet():
            child.warning('Token response is not in json format: %s', CANARY)
    finally:
        child.setLevel(logging.NOTSET)
    assert received(handlers) == []
    assert CANARY not in ''.join(capfd.readouterr())


def test_last_resort_handler_is_not_used(capfd):
    """With no handler anywhere, Python prints WARNING records to stderr through logging.lastResort."""
    with quiet():
        logging.getLogger('msal.brand_new_child').error('raw body %s', CANARY)
    assert CANARY not in ''.join(capfd.readouterr())


def test_warnings_and_stray_stderr_are_discarded(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        with quiet():
            warnings.warn('deprecated ROPC %s' % CANARY, DeprecationWarning)
            warnings.warn('user warning %s' % CANARY)
            print('stray %s' % CANARY, file=sys.stderr)
            sys.stderr.write('written %s\n' % CANARY)
    assert CANARY not in ''.join(capfd.readouterr())


def test_state_is_restored_after_the_block_and_after_an_exception():
    logging.getLogger('msal').setLevel(logging.INFO)
    try:
        before = state()
        with quiet():
            assert logging.getLogger('msal').disabled and logging.lastResort is None
        assert state() == before
        with pytest.raises(KeyError):
            with quiet():
                raise KeyError('inside')
        assert state() == before
    finally:
        logging.getLogger('msal').setLevel(logging.NOTSET)


def test_nested_quiet_restores_the_outer_state():
    before = state()
    with quiet():
        inner_before = state()
        with quiet():
            pass
        assert state()[0] == inner_before[0]
    assert state() == before


def test_msal_itself_logging_a_cut_off_token_answer_is_silenced(handlers, capfd):
    """Real msal, a stubbed socket: the 200 answer is cut off, msal logs it in full; nothing of it escapes quiet()."""
    msal = pytest.importorskip('msal')
    host, tenant = 'https://login.example.test', '11111111-2222-3333-4444-555555555555'

    class Answer:
        def __init__(self, status, text):
            self.status_code, self.text, self.headers = status, text, {}

        def raise_for_status(self):
            if self.status_code >= 400:
                raise RuntimeError(self.status_code)

    class CutOffTokenAnswers:
        def get(self, url, **kwargs):
            return Answer(200, json.dumps({'token_endpoint': '%s/%s/oauth2/v2.0/token' % (host, tenant),
                                           'authorization_endpoint': '%s/%s/oauth2/v2.0/authorize' % (host, tenant),
                                           'issuer': '%s/%s/v2.0' % (host, tenant), 'account_type': 'Managed',
                                           'device_authorization_endpoint': '%s/%s/oauth2/v2.0/devicecode' % (host, tenant)}))

        def post(self, url, **kwargs):
            return Answer(200, '{"access_token": "%s", "refresh_token": "rt-CANARY' % CANARY)

        def close(self):
            pass

    def attempt():
        app = msal.ConfidentialClientApplication('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', client_credential='s',
                                                 authority='%s/%s' % (host, tenant), instance_discovery=False,
                                                 http_client=CutOffTokenAnswers())
        try:
            app.acquire_token_for_client(['https://graph.microsoft.com/.default'])
        except Exception:  # pylint: disable=broad-except  # msal raises on the cut-off JSON; here only the logs matter
            pass

    attempt()
    if not any(CANARY in message for _name, message in received(handlers)):
        pytest.skip('this msal version does not log the raw answer (nothing to silence)')
    for _name, handler in handlers:
        handler.records.clear()
    capfd.readouterr()
    with quiet():
        attempt()
    assert received(handlers) == []
    assert CANARY not in ''.join(capfd.readouterr())
