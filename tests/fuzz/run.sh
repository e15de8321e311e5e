#!/usr/bin/env bash
# tests/fuzz/run.sh [NAME...]: build and run vmon's libFuzzer harnesses (default:
# boot virtq uart api blk vmconfig snapshot mips pci virtio_pci virtio_mmio net i8042 rtc
# acpi_pm), each for FUZZ_SECONDS (default 60) on a scratch copy of
# tests/fuzz/corpus/NAME, so the checked-in corpus never grows. A fuzzer passes
# when it ran its time without a crash, leak, timeout or failed invariant.
# Crash inputs land in $FUZZ_OUT/artifacts/NAME/ (replay: $FUZZ_OUT/fuzz_NAME FILE).
# Without clang or the libFuzzer runtime every fuzzer is skipped with the reason.
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
#
# Environment: FUZZ_SECONDS, FUZZ_CC (clang), FUZZ_OUT (build/fuzz),
# FUZZ_ARGS (extra libFuzzer flags), FUZZ_VERBOSE=1 (keep vmon's log lines).
set -uo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_OUT=${FUZZ_OUT:-build/fuzz}
MAKE=${MAKE:-make}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(boot virtq uart api blk vmconfig snapshot mips pci virtio_pci virtio_mmio net i8042 rtc acpi_pm)

# Per fuzzer: longest input. A bzImage needs its setup sectors, so boot gets more;
# blk's image is guest RAM from its descriptor table on (a 256-entry table is 4 KiB).
max_len() {
	case $1 in
	boot) echo 16384 ;;
	virtq | blk | net) echo 8192 ;; # net: receive frames, then RAM from the table on
	pci) echo 1024 ;; # every op is followed by a full invariant check
	*) echo 4096 ;;
	esac
}

pass=0 fail=0 skip=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

summary() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit
}

# ---- the checked-in seeds are what make-seeds.py writes (a stale corpus hides a layout change).
if python3 tests/fuzz/make-seeds.py --check; then
	echo "PASS seeds-fresh"
	pass=$((pass + 1))
else
	echo "FAIL seeds-fresh: tests/fuzz/make-seeds.py --check"
	fail=$((fail + 1))
fi

# ---- toolchain: clang that can link -fsanitize=fuzzer with ASan and UBSan.
reason=
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	reason="$FUZZ_CC not found (Debian: apt-get install clang libclang-rt-14-dev)"
else
	printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$T/probe.c"
	if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$T/probe.c" -o "$T/probe" >"$T/probe.log" 2>&1; then
		reason="$FUZZ_CC cannot link -fsanitize=fuzzer,address,undefined: $(grep -m1 -iE 'error|cannot' "$T/probe.log") (needs clang and its libFuzzer runtime; Debian: clang libclang-rt-14-dev)"
	fi
fi
if [ -n "$reason" ]; then
	for n in "${names[@]}"; do
		echo "SKIP fuzz_$n: $reason"
		skip=$((skip + 1))
	done
	summary
fi

# ---- build (make only rebuilds what changed; -k: one harness that does not build fails alone).
fmake() { FUZZ_CC="$FUZZ_CC" FUZZ_OUT="$FUZZ_OUT" "$MAKE" --no-print-directory -f tests/fuzz/fuzz.mk "$@"; }
if ! fmake -k "${names[@]/#/$FUZZ_OUT/fuzz_}" >"$T/build.log" 2>&1; then
	cat "$T/build.log"
	built=()
	for n in "${names[@]}"; do
		if fmake -q "$FUZZ_OUT/fuzz_$n" 2>/dev/null; then built+=("$n"); continue; fi
		echo "FAIL fuzz_$n: build failed"
		fail=$((fail + 1))
	done
	[ ${#built[@]} -gt 0 ] || summary
	names=("${built[@]}")
fi

# ---- run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
quiet=-close_fd_mask=2
[ "${FUZZ_VERBOSE:-0}" = 1 ] && quiet=
for n in "${names[@]}"; do
	bin=$FUZZ_OUT/fuzz_$n
	seeds=tests/fuzz/corpus/$n
	art=$FUZZ_OUT/artifacts/$n
	work=$T/corpus-$n
	mkdir -p "$work" "$art"
	if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/"; fi
	nseeds=$(find "$work" -type f | wc -l)
	echo "== fuzz_$n: ${FUZZ_SECONDS}s from $nseeds seeds"
	touch "$T/start-$n"
	# shellcheck disable=SC2086 # FUZZ_ARGS and $quiet are word lists
	"$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$n")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" $quiet \
		${FUZZ_ARGS:-} "$work" >"$T/$n.log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$T/$n.log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$T/$n.log")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$n.log")
	cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+).*/cov \1, ft \2/p' <<<"$stats")
	found=$(find "$work" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		echo "ok   fuzz_$n: ${runs:-?} runs, ${eps:-?} exec/s, ${cov:-cov ?}, corpus $nseeds -> $found"
		pass=$((pass + 1))
	else
		echo "FAIL fuzz_$n: exit $rc after ${runs:-?} runs (${cov:-cov ?}); log tail:"
		grep -vE '^#[0-9]+' "$T/$n.log" | tail -40 | sed 's/^/     | /'
		find "$art" -type f -newer "$T/start-$n" | while read -r a; do
			echo "     reproducer: $a (replay: $bin $a)"
		done
		fail=$((fail + 1))
	fi
done
summary
