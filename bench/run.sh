#!/usr/bin/env bash
# bench/run.sh - `make bench`: the penalty of vmon, measured beside an anchor in the same run.
#   1. exit cost on this host's KVM (build/bench/exitcost: vmon's dispatch vs a raw KVM_RUN
#      loop, interleaved, BENCH_EXIT_REPS repetitions of 20,000 exits per kind, default 7)
#   2. the nested suite in one L1 boot (bench/nested-suite.sh: boot, footprint, compute,
#      scale; vmon vs QEMU microvm interleaved, BENCH_ROUNDS rounds, default 5)
#   2b. MIPS32 boot speed, vmon's software vCPU vs qemu-system-mipsel TCG (bench/mips.sh,
#      BENCH_MIPS_RUNS interleaved runs, default 7): $dir/mips.txt
#   3. bench/report.py: bench/results/<date>/report.md, PNG plots, raw.txt, console.log;
#      prints the summary table and which targets hold.
# Exit status: 0 report written and no run failed; 1 some run failed (crash, timeout: shown in
# the report as FAIL); 2 the nested L1 run itself failed (the report shows what ran).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
t0=$SECONDS
day=$(date +%F)
dir=bench/results/$day
k=2
while [ -e "$dir" ]; do dir=bench/results/$day-$k; k=$((k + 1)); done
mkdir -p "$dir"
raw=$dir/raw.txt
reps=${BENCH_EXIT_REPS:-7}
rounds=${BENCH_ROUNDS:-5}

kvm_kind=$(build/vmon.static info 2>/dev/null | sed -n 's/^backend: *\([^(]*\).*/\1/p' | sed 's/ *$//' || true)
{
	echo "BENCH-META date=$day host_kernel=$(uname -r) host_cpus=$(nproc) exit_reps=$reps"
	echo "BENCH-META host_kvm=\"${kvm_kind:-unknown}\" commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)"
} >"$raw"
echo "bench: results in $dir"
echo "bench: time budget ~$((reps * 2 * 3 / 60 + 1)) min exit cost + ~$(((60 + rounds * 52 + 2 * (15 * 3 + 32)) / 60 + 1)) min nested (cold cache: + 10-20 min of kernel builds first)"

echo "[exit cost] $reps x (vmon, raw KVM_RUN) x 20,000 exits per kind, guest at CPL3"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	build/bench/exitcost build/guests/exitcost.elf --reps "$reps" | tee -a "$raw"
else
	echo "SKIP exit cost: /dev/kvm is absent or not accessible (shown as missing runs)"
fi

# MIPS32 software vCPU beside qemu-system-mipsel TCG (no KVM involved): bench/mips.sh.
echo "[mips32] vmon --arch mips32 vs qemu-system-mipsel -M mipssim, interleaved, ${BENCH_MIPS_RUNS:-7} runs"
make --no-print-directory build/vmon >/dev/null
bench/mips.sh "${BENCH_MIPS_RUNS:-7}" 2>&1 | tee "$dir/mips.txt" || echo "FAIL mips32 bench (see $dir/mips.txt)"

set +e
bench/nested-suite.sh --vmm build/vmon.static --l1bench build/bench/l1bench --out "$raw" \
	--rounds "$rounds" --log "$dir/console.log"
nrc=$?
set -e
echo "BENCH-META total_s=$((SECONDS - t0))" >>"$raw"
echo
python3 bench/report.py "$raw" "$dir" --date "$day" | tee "$dir/summary.md"
echo
echo "bench: report $dir/report.md; total $((SECONDS - t0)) s"
[ $nrc -eq 0 ] || exit 2
grep -q '^failed runs: 0$' "$dir/summary.md" || exit 1
