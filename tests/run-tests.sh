#!/bin/sh
# run-tests.sh - install the dependencies, build, and run the whole test
# suite (check unit tests and the integration tests against the real
# daemon). Ends with a summary line "N passed, N failed, N skipped".
# This is the command README.md gives and CI (.ci/run) runs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tests/install-deps.sh" || exit 1
sh "$top/tests/build.sh" || exit 1
cd "$top"
make -j"$(nproc)" check >/dev/null 2>&1
rc=$?
sh "$top/tests/summary.sh" test-suite.log
exit $rc
