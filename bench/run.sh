#!/usr/bin/env bash
# bench/run.sh - `make bench`: the penalty of vmon, measured beside an anchor in the same run.
#   1. exit cost on this host's KVM (build/bench/exitcost: vmon's dispatch vs a raw KVM_RUN
#      loop, interleaved, BENCH_EXIT_REPS repetitions of 20,000 exits per kind, default 7)
#   2. the nested suite in one L1 boot (bench/nested-suite.sh: boot, footprint, compute,
#      scale; vmon vs QEMU microvm interleaved, BENCH_ROUNDS rounds, default 5)
#   2b. MIPS32 boot speed, vmon's software vCPU vs qemu-system-mipsel TCG (bench/mips.sh,
#      BENCH_MIPS_RUNS interleaved runs, default 7): $dir/mips.txt
#   2c. the stock kernel (in the same L1 boot as 2): Debian's linux-image-6.1.0-*-amd64 under vmon
#      --transport pci, vmon --transport mmio and QEMU microvm,pcie=on, BENCH_STOCK_ROUNDS rounds
#      (default 3): launch->init and L1 KVM's own exit counts per boot
#   BENCH_CASES picks the parts: words exitcost, mips, suite (boot, footprint, compute,
#   scale), stock; default all four (`BENCH_CASES=stock make bench` runs the stock part only).
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
export BENCH_CASES=${BENCH_CASES:-exitcost mips suite stock}
want() { case " $BENCH_CASES " in *" $1 "*) return 0 ;; esac; return 1; }

kvm_kind=$(build/vmon.static info 2>/dev/null | sed -n 's/^backend: *\([^(]*\).*/\1/p' | sed 's/ *$//' || true)
{
	echo "BENCH-META date=$day host_kernel=$(uname -r) host_cpus=$(nproc) exit_reps=$reps"
	echo "BENCH-META host_kvm=\"${kvm_kind:-unknown}\" commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)"
	echo "BENCH-META bench_cases=\"$BENCH_CASES\" host_load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
} >"$raw"
echo "bench: results in $dir"
echo "bench: time budget ~$((reps * 2 * 3 / 60 + 1)) min exit cost + ~$(((60 + rounds * 52 + 2 * (15 * 3 + 32)) / 60 + 1)) min nested (cold cache: + 10-20 min of kernel builds first)"

if ! want exitcost; then
	echo "[exit cost] not in BENCH_CASES"
elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	echo "[exit cost] $reps x (vmon, raw KVM_RUN) x 20,000 exits per kind, guest at CPL3"
	build/bench/exitcost build/guests/exitcost.elf --reps "$reps" | tee -a "$raw"
else
	echo "SKIP exit cost: /dev/kvm is absent or not accessible (shown as missing runs)"
fi

# MIPS32 software vCPU beside qemu-system-mipsel TCG (no KVM involved): bench/mips.sh.
if want mips; then
	echo "[mips32] vmon --arch mips32 vs qemu-system-mipsel -M mipssim, interleaved, ${BENCH_MIPS_RUNS:-7} runs"
	make --no-print-directory build/vmon >/dev/null
	bench/mips.sh "${BENCH_MIPS_RUNS:-7}" 2>&1 | tee "$dir/mips.txt" || echo "FAIL mips32 bench (see $dir/mips.txt)"
fi

nrc=0
if want suite || want stock; then
	set +e
	bench/nested-suite.sh --vmm build/vmon.static --l1bench build/bench/l1bench --out "$raw" \
		--rounds "$rounds" --log "$dir/console.log"
	nrc=$?
	set -e
fi
echo "BENCH-META total_s=$((SECONDS - t0)) host_load_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$raw"
echo
python3 bench/report.py "$raw" "$dir" --date "$day" | tee "$dir/summary.md"
echo
echo "bench: report $dir/report.md; total $((SECONDS - t0)) s"
[ $nrc -eq 0 ] || exit 2
grep -q '^failed runs: 0$' "$dir/summary.md" || exit 1
