#!/bin/sh
# run-tests.sh [--asan] - install the dependencies, build, and run the whole
# test suite (check unit tests and the integration tests against the real
# daemon). Ends with a summary line "N passed, N failed, N skipped".
# This is the command README.md gives and CI (.ci/run) runs.
# --asan: the same suite against an AddressSanitizer/UBSan build, made in
# build-asan/ from a copy of the tracked files (the in-tree build is left
# alone; autotools refuse a second build of an already configured tree).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tests/install-deps.sh" || exit 1
if [ "${1:-}" = --asan ]; then
	mkdir -p "$top/build-asan" || exit 1
	(cd "$top" && git ls-files -z | xargs -0 cp --parents -p -t build-asan) ||
	    exit 1
	cd "$top/build-asan" || exit 1
	sh tests/build.sh CFLAGS="-O1 -g -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" || exit 1
else
	sh "$top/tests/build.sh" || exit 1
	cd "$top" || exit 1
fi
make -j"$(nproc)" check >/dev/null 2>&1
rc=$?
sh "$top/tests/summary.sh" test-suite.log
exit $rc
