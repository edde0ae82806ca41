# The two commands of the README. The work happens in hacking/*.sh; everything
# they build lives in .work/ (git-ignored).
#   make test   ansible-test sanity, units and integration on the oldest and newest
#               ansible-core, plus the emulator tests (subsets: TEST_ONLY=..., CORE=...)
#   make demo   install the collection in its own virtualenv and run playbooks/demo.yml
#               against the emulator
#   make clean  remove .work/ and tests/output/

.PHONY: test demo bench clean

test:
	bash hacking/test.sh

demo:
	bash hacking/demo.sh

bench:
	bash hacking/bench.sh

clean:
	rm -rf .work tests/output
