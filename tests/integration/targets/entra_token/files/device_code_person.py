"""Play the person of a device-code sign-in against the emulator, and read its counters.

  approve UPN | decline | expire   find the code, then act on it through the admin API. With
      --run COMMAND --output FILE, COMMAND (a shell command line, such as a pasted sign-in command)
      runs with its output in FILE, and the code is read from that output while COMMAND is still
      running, as a person reads it on the console; the exit status is then COMMAND's. Without,
      the code is the newest pending one of the admin API (for a task that waits in the background).
  grants                           print the token grants counted since the last reset, as JSON
Standard library only (it runs beside any ansible-test venv). Prints one line saying what it did.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

# Entra's sentence: "To sign in, use a web browser to open the page ... and enter the code XXXX to authenticate."
CODE_RE = re.compile(r'enter the code (\S+) to authenticate')


class Admin:
    def __init__(self, url: str, ca_path: str):
        self.url = url.rstrip('/')
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(
            context=ssl.create_default_context(cafile=ca_path)))

    def call(self, method: str, route: str, body=None):
        data = json.dumps(body).encode('utf-8') if body is not None else None
        request = urllib.request.Request('%s/%s' % (self.url, route), data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        with self.opener.open(request, timeout=10) as answer:
            return json.loads(answer.read().decode('utf-8'))

    def pending(self) -> list:
        return self.call('GET', 'device_codes?status=pending')['device_codes']


def code_from_console(path: str, process, deadline: float) -> str:
    while time.time() < deadline:
        running = process.poll() is None  # checked first: a code found afterwards was shown while it ran
        with open(path, encoding='utf-8', errors='replace') as handle:
            found = CODE_RE.search(handle.read())
        if found and running:
            return found.group(1)
        if not running:
            raise SystemExit('the command ended (status %s) before its output showed a device code' % process.returncode)
        time.sleep(0.2)
    raise SystemExit('no device code appeared in %s in time' % path)


def code_from_admin(admin: Admin, deadline: float) -> str:
    while time.time() < deadline:
        pending = admin.pending()
        if pending:
            return pending[-1]['user_code']
        time.sleep(0.2)
    raise SystemExit('no device code was pending in time')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('action', choices=('approve', 'decline', 'expire', 'grants'))
    parser.add_argument('user', nargs='?', help='approve: the account the person signs in as')
    parser.add_argument('--admin', required=True, help="the emulator's admin URL (entra_admin_url)")
    parser.add_argument('--ca', required=True, help="the emulator's CA file")
    parser.add_argument('--run', metavar='COMMAND', help='a shell command line to run, whose output shows the code')
    parser.add_argument('--output', metavar='FILE', help="where COMMAND's output goes")
    parser.add_argument('--timeout', type=float, default=60)
    args = parser.parse_args()
    admin = Admin(args.admin, args.ca)
    if args.action == 'grants':
        print(json.dumps(admin.call('GET', 'counters').get('grants') or {}, sort_keys=True))
        return 0
    if (args.action == 'approve') != bool(args.user) or bool(args.run) != bool(args.output):
        parser.error('approve takes the account (and only approve); --run and --output go together')
    deadline = time.time() + args.timeout
    process = None
    if args.run:
        # Output to a file is block-buffered unless PYTHONUNBUFFERED is set (as in some developers'
        # shells, not in ansible-test's): without it, a message that is not flushed stays unseen.
        env = {name: value for name, value in os.environ.items() if name != 'PYTHONUNBUFFERED'}
        with open(args.output, 'wb') as output:
            process = subprocess.Popen(['bash', '-c', args.run], stdout=output, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                       start_new_session=True, env=env)
        try:
            code = code_from_console(args.output, process, deadline)
            if code not in [entry['user_code'] for entry in admin.pending()]:
                raise SystemExit('the output shows the code %s, which is not pending at the emulator' % code)
        except BaseException:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the command and the workers it started
            process.wait()
            with open(args.output, encoding='utf-8', errors='replace') as handle:
                sys.stdout.write(handle.read())
            raise
        where = 'read from the output of the running command (pid %d)' % process.pid
    else:
        code = code_from_admin(admin, deadline)
        where = 'pending at the emulator'
    if args.action == 'approve':
        admin.call('POST', 'device_codes/approve', {'user_code': code, 'user': args.user})
    else:
        admin.call('POST', 'device_codes/%s' % args.action, {'user_code': code})
    print('device code %s (%s): %s%s' % (code, where, args.action, ' as %s' % args.user if args.user else ''))
    if process is None:
        return 0
    status = process.wait()
    if status:
        with open(args.output, encoding='utf-8', errors='replace') as handle:
            sys.stdout.write(handle.read())
        print('the command failed with status %d' % status)
    return status


if __name__ == '__main__':
    sys.exit(main())
