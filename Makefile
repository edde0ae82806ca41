# The README's commands. The work happens in nox sessions (noxfile.py, antsibull-nox.toml);
# `$(NOX) -l` lists them. Everything they build lives in .work/ (git-ignored), starting with
# .work/venv-nox, made from tests/requirements-nox.txt with python3 (3.11 or later).
#   make test                  the default sessions, then one line per session and "N passed, N failed"
#   make test NOX_ARGS='-t units'        a subset: -s SESSION..., -t TAG (sanity, units, integration,
#                                        oldest, newest, emulator, docs, ecosystem), -- ARGS for the session
#   make demo                  the demo against the emulator
#   make bench                 the benchmarks (BENCH_ARGS='--only lookup,task')
#   make clean                 remove .work/ and tests/output/

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

NOX_VENV := .work/venv-nox
NOX := $(NOX_VENV)/bin/nox
REPORT := .work/nox-report.json
NOX_LOG := .work/nox-output.log

.PHONY: test demo bench clean

test: $(NOX)
	@rm -f $(REPORT) $(NOX_LOG); status=0; \
	$(NOX) --report $(REPORT) $(NOX_ARGS) 2>&1 | tee $(NOX_LOG) || status=$$?; \
	$(NOX_VENV)/bin/python hacking/nox_summary.py $(REPORT) $$status $(NOX_LOG)

demo: $(NOX)
	$(NOX) -s demo

bench: $(NOX)
	$(NOX) -s bench -- $(BENCH_ARGS)

$(NOX): tests/requirements-nox.txt
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "ERROR: python3 must be Python 3.11 or later (it is: $$(python3 -V 2>&1))" >&2; exit 1; }
	rm -rf $(NOX_VENV)
	@python3 -m venv $(NOX_VENV) || \
		{ echo "ERROR: python3 -m venv failed; on Debian/Ubuntu: apt install python3-venv" >&2; exit 1; }
	$(NOX_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements-nox.txt
	@touch $@

clean:
	rm -rf .work tests/output
