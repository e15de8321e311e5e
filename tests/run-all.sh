#!/usr/bin/env bash
# tests/run-all.sh: every test level in order, continuing past failures:
# unit (ASan+UBSan), host (tiny guests on this machine's /dev/kvm), mips (MIPS Linux on the
# software vCPU, tests/host/mips.sh), api (the
# management API over its socket, with curl), mgmt (create/ls/console/pause/
# stop/rm/gc, TTL, limits, ls of 50 VMs), a short
# libFuzzer run of each harness (FUZZ_SECONDS, default 8: 15 harnesses in about two minutes) and the nested end-to-end boot of Linux (QEMU TCG -> L1 Linux with KVM -> vmon -> L2),
# x86-64 and arm64 (tests/e2e/nested-arm64.sh; the test_arm64_* unit tests run on x86).
# Arguments: the unit-test binaries. Prints each level's result and ends with the total line CI counts.
set -uo pipefail
cd "$(dirname "$0")/.."
P=0 F=0 S=0
run_level() { # NAME CMD...
	local name=$1; shift
	echo "===== $name: $*"
	local log; log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "===== $name: FAILED without a result line (exit $rc)"
		F=$((F + 1)); return
	fi
	local p f s
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line"); s=${s:-0}
	P=$((P + p)); F=$((F + f)); S=$((S + s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "===== $name: exit $rc with no failed test counted: counting one failure"
		F=$((F + 1))
	fi
	echo "===== $name: $line"
}
run_level lint tests/lint/seams.sh
run_level unit tests/run-unit.sh "$@"
run_level host tests/host/run.sh
run_level mips tests/host/mips.sh
run_level api  tests/host/api.sh
run_level mgmt tests/host/mgmt.sh
run_level snapshot tests/host/snapshot.sh
run_level export tests/host/export.sh
run_level genid tests/host/genid.sh
run_level migrate tests/host/migrate.sh
run_level bench-report tests/bench/test_report.py
run_level fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-8}" tests/fuzz/run.sh
run_level e2e  tests/e2e/nested.sh --vmm build/vmon.static
# arm64: vmon cross-built (make ARCH=arm64) in an arm64 L1 under qemu-system-aarch64 (one L1 boot).
run_level e2e-arm64 tests/e2e/nested-arm64.sh
echo "===== total"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
