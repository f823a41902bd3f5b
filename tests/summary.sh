#!/bin/sh
# summary.sh LOG... - print the failed tests' logs and one summary line,
# "N passed, N failed, N skipped", from automake test-suite logs (every TAP
# line counts: each check case and each integration test on its own).
set -u
pass=0 fail=0 skip=0
for log in "$@"; do
	[ -f "$log" ] || { echo "missing $log"; fail=$((fail + 1)); continue; }
	p=$(sed -n 's/^# PASS: *//p' "$log"); x=$(sed -n 's/^# XPASS: *//p' "$log")
	f=$(sed -n 's/^# FAIL: *//p' "$log"); e=$(sed -n 's/^# ERROR: *//p' "$log")
	s=$(sed -n 's/^# SKIP: *//p' "$log"); xf=$(sed -n 's/^# XFAIL: *//p' "$log")
	pass=$((pass + ${p:-0} + ${xf:-0}))
	fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
	skip=$((skip + ${s:-0}))
	if [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ]; then
		sed -n '/^\(FAIL\|ERROR\):/,$p' "$log" | head -200
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
