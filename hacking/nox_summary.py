"""The closing lines of `make test`: one line per nox session, then "N passed, N failed[, N skipped]".

    python hacking/nox_summary.py REPORT.json NOX_EXIT_STATUS [NOX_LOG]

REPORT.json is what ``nox --report`` wrote. Exits non-zero when a session failed, when nox
itself failed, or when no session passed (a run that tested nothing is not a success).
With NOX_LOG (nox's output), the end of each failed session's output is repeated just above
the summary, so a CI page that shows only the last lines still shows why.
"""

import json
import re
import sys

EXCERPT_LINES = 40
# lines that say why a session failed: pytest's summary, ansible's failures, tracebacks, errors
TELLING = re.compile(r"^(FAILED|ERROR)\b|^(fatal|failed):|Traceback|Error|FAIL|assert", re.M)


def session_output(log_path, name):
    """The lines nox printed between "Running session NAME" and the next session."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    lines, inside, found = [], False, []
    for line in text.splitlines():
        if line.startswith("nox > Running session "):
            if inside:
                found = lines
            inside, lines = line[len("nox > Running session "):].strip() == name, []
            continue
        if inside:
            lines.append(line)
    return lines if inside else found


def excerpt(lines):
    """The telling lines (at most EXCERPT_LINES), then the session's last lines."""
    telling = [line for line in lines if TELLING.search(line)][-EXCERPT_LINES // 2:]
    tail = lines[-EXCERPT_LINES // 2:]
    return telling + ["    ..."] + tail if telling else tail


def main():
    path, nox_status = sys.argv[1], int(sys.argv[2])
    try:
        with open(path, encoding="utf-8") as handle:
            sessions = json.load(handle)["sessions"]
    except (OSError, ValueError, KeyError) as exc:
        print("ERROR: nox wrote no usable report (%s; nox exited %d)" % (exc, nox_status))
        print("0 passed, 1 failed")
        return 1
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    if len(sys.argv) > 3:
        for session in sessions:
            if session["result"] not in ("success", "skipped"):
                print("\n===== why %s failed (the end of its output; all of it is above) =====" % session["name"])
                for line in excerpt(session_output(sys.argv[3], session["name"])):
                    print(line[:400])
    print("\n===== summary =====")
    for session in sessions:
        result = {"success": "passed", "skipped": "skipped"}.get(session["result"], "failed")
        counts[result] += 1
        duration = session.get("duration")
        print("%-44s %-8s %6s" % (session["name"], result.upper() if result != "passed" else result,
                                  "%.0fs" % duration if duration is not None else ""))
        if result != "passed" and session.get("reason"):
            print("    %s" % session["reason"])
    failed = counts["failed"] or (1 if nox_status and not counts["failed"] else 0)
    if not counts["passed"]:
        print("ERROR: no session passed: nothing was tested")
        failed = failed or 1
    line = "%d passed, %d failed" % (counts["passed"], failed)
    if counts["skipped"]:
        line += ", %d skipped" % counts["skipped"]
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
