"""The closing lines of `make test`: one line per nox session, then "N passed, N failed[, N skipped]".

    python hacking/nox_summary.py REPORT.json NOX_EXIT_STATUS

REPORT.json is what ``nox --report`` wrote. Exits non-zero when a session failed, when nox
itself failed, or when no session passed (a run that tested nothing is not a success).
"""

import json
import sys


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
