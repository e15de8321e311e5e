#!/usr/bin/env bash
# tests/run-unit.sh BIN...: run each unit-test binary (ASan+UBSan builds), show
# its output, and add up the "N passed, N failed" lines into one total.
set -uo pipefail
pass=0 fail=0
for bin in "$@"; do
	echo "== $(basename "$bin")"
	out=$("$bin" 2>&1); rc=$?
	echo "$out" | grep -v '^ok  ' || true
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $(basename "$bin"): crashed or printed no summary (exit $rc)"
		fail=$((fail + 1)); continue
	fi
	p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	pass=$((pass + p)); fail=$((fail + f))
	[ "$rc" = 0 ] || [ "$f" != 0 ] || { echo "FAIL $(basename "$bin"): exit $rc"; fail=$((fail + 1)); }
done
echo "unit tests: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
