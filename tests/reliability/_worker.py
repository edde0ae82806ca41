"""One acquisition in a fresh interpreter (see _procs.run_fresh).

Reads one JSON line of entra_token options from standard input, imports, prints
READY, waits for standard input to close (the start signal), acquires, and
prints the result as one JSON line.
"""

import json
import sys


def main():
    options = json.loads(sys.stdin.readline())
    from _procs import acquire  # pylint: disable=import-outside-toplevel  # the import is part of "ready"

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdin.read()
    result = acquire(options)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
