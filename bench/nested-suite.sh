#!/usr/bin/env bash
# bench/nested-suite.sh - the nested part of `make bench` (bench/run.sh calls it): in ONE L1
# boot (QEMU TCG L0 -> L1 Linux with KVM -> vmon or QEMU microvm -> L2 Linux), runs
#   boot       ROUNDS rounds x {1, 2 vCPUs} x {vmon, QEMU}, order alternating per round: L2
#              256 MiB, `quiet`. bench/l1bench (static C, the VMM's parent: no shell between)
#              times launch -> L2 init marker, reads L2's uptime at the marker, samples VmHWM,
#              VmRSS and the RSS outside guest RAM (smaps) 1 s after the marker while L2 idles,
#              then sends L2 "compute": L2 runs bench/compute.sh (timed on L1's clock), resets,
#              and l1bench times the reset line ("reboot: Restarting system") -> VMM exit.
#   native     bench/compute.sh run directly in L1, once per round, between the boots
#   scale      1, 2, 4, 8 VMs (64 MiB, 1 vCPU) started at once, vmon and QEMU alternating:
#              time from the first launch to the last marker, summed VmRSS once all idle.
# Every measurement is one line `BENCH-RAW kind=... vmm=... cpus=... round=... <fields>`
# (fields: see bench/l1bench.c), appended to OUT with `BENCH-META` lines; the report is made
# by bench/report.py. Progress: `[k/T] boot vmon 2cpu run 2/5` on stdout.
#
# usage: bench/nested-suite.sh --vmm PATH --l1bench PATH --out FILE [--rounds N] [--log FILE]
# Environment: BENCH_ROUNDS (default 5), BENCH_SCALE ("1 2 4 8"), VMON_NESTED_TSC_MHZ,
#   VMON_CACHE (see scripts/lib/nested.sh, scripts/lib/cache.sh).
# Exit status: 0 the L1 run completed (failed runs are in OUT as failures), 2 L1 timed out,
#   3 L1 never reached /init or had no KVM, 5 building images failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMON_LOG_TAG=bench
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/nested.sh
source "$repo/scripts/lib/nested.sh"

vmm='' l1bench='' out='' consolelog=''
rounds=${BENCH_ROUNDS:-5}
scale_counts=${BENCH_SCALE:-1 2 4 8}
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--l1bench) l1bench=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--log) consolelog=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$vmm" ] || [ -z "$l1bench" ] || [ -z "$out" ]; then echo "need --vmm, --l1bench and --out" >&2; exit 2; fi
case $rounds in '' | *[!0-9]* | 0) echo "--rounds must be a positive integer" >&2; exit 2 ;; esac
vmm=$(readlink -f "$vmm")
l1bench=$(readlink -f "$l1bench")
qemu_bin=$(readlink -f "$(command -v qemu-system-x86_64)")
qemu_share=/usr/share/qemu
busybox=/bin/busybox

nscale=0
for n in $scale_counts; do nscale=$((nscale + 1)); done
total_steps=$((rounds * 5 + nscale * 2))
# per step, under TCG on 2 cores: boot+compute ~12 s, native ~4 s, scale ~3 s per VM + 8 s
scale_vms=0
for n in $scale_counts; do scale_vms=$((scale_vms + n)); done
estimate=$((60 + rounds * 4 * 12 + rounds * 4 + 2 * (scale_vms * 3 + nscale * 8)))
timeout_s=$((estimate * 3 + 300))

# ---------------------------------------------------------------- images
log "building/looking up images (cached in $VMON_CACHE)"
l1=$("$repo/scripts/build-kernel.sh" l1) || { echo "ERROR: building the L1 kernel failed"; exit 5; }
l2=$("$repo/scripts/build-kernel.sh" l2) || { echo "ERROR: building the L2 kernel failed"; exit 5; }
l2initrd=$("$repo/scripts/build-initramfs.sh") || { echo "ERROR: building the L2 initramfs failed"; exit 5; }
gen=$(gen_init_cpio_tool)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
consolelog=${consolelog:-$tmp/console.log}

# The L2 initramfs plus a second cpio archive (the kernel unpacks concatenated archives):
# /vmon-tests/bench-hold and /bench/compute.sh.
cat >"$tmp/l2extra.list" <<EOF
dir /bench 0755 0 0
file /bench/compute.sh $repo/bench/compute.sh 0755 0 0
dir /vmon-tests 0755 0 0
file /vmon-tests/bench-hold $repo/bench/l2/bench-hold 0755 0 0
EOF
"$gen" "$tmp/l2extra.list" >"$tmp/l2extra.cpio"
cat "$l2initrd" "$tmp/l2extra.cpio" >"$tmp/l2initrd.cpio"

l1_list_init "$tmp/l1.list" "$busybox"
add_file /l2/bzImage "$l2/bzImage" 0644
add_file /l2/initrd.cpio "$tmp/l2initrd.cpio" 0644
add_file /bin/vmon "$vmm"
add_file /bin/l1bench "$l1bench"
add_file /bench/compute.sh "$repo/bench/compute.sh"
add_with_libs "$qemu_bin" /usr/bin/qemu-system-x86_64
for f in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin; do
	[ -e "$qemu_share/$f" ] && add_file "/usr/share/qemu/$f" "$qemu_share/$f" 0644
done

l2_cmdline="console=ttyS0 panic=-1 quiet"
# inner-vmm VMM CPUS MIB [TEST]: boot L2 under vmon or QEMU microvm (acpi=off: the L2 kernel has
# no ACPI; microvm then boots through qboot, as in bench/nested-io.sh)
cat >"$tmp/inner-vmm" <<EOF
#!/bin/sh
vmm=\$1 cpus=\$2 mib=\$3 test=\${4:+ vmon.test=\$4}
case \$vmm in
vmon)
	exec /bin/vmon run --kernel /l2/bzImage --initrd /l2/initrd.cpio --mem "\${mib}M" \\
		--cpus "\$cpus" --cmdline "$l2_cmdline\$test reboot=k" ;;
qemu)
	exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm,acpi=off -enable-kvm -cpu host \\
		-m "\${mib}M" -smp "\$cpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot \\
		-kernel /l2/bzImage -initrd /l2/initrd.cpio -append "$l2_cmdline\$test reboot=t" ;;
esac
echo "inner-vmm: unknown VMM \$vmm"
exit 2
EOF
add_file /bin/inner-vmm "$tmp/inner-vmm"

cat >"$tmp/init" <<EOF
#!/bin/sh
# L1 /init generated by bench/nested-suite.sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
ROUNDS=$rounds
SCALE="$scale_counts"
TOTAL=$total_steps
EOF
cat >>"$tmp/init" <<'EOF'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
read -r up _ </proc/uptime
echo
echo "VMON-L1-INIT-OK uptime=$up cpus=$(grep -c '^processor' /proc/cpuinfo)"
echo "BENCH-META l1_clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
step=0
progress() { step=$((step + 1)); echo "BENCH-PROGRESS $step/$TOTAL $*"; : >/tmp/l2.log; }
# print l1bench's lines; for a run that failed, the tail of the guest's console too
show() {
	echo "$1"
	case $1 in *" rc=0 "*) ;; *) tail -n 15 /tmp/l2.log 2>/dev/null | sed 's/^/L2LOG /' ;; esac
}
boot() { # VMM CPUS ROUND
	progress "boot $1 ${2}cpu run $3/$ROUNDS"
	show "$(l1bench --tag "kind=boot vmm=$1 cpus=$2 round=$3" --idle-ms 1000 --send compute \
		--guest-mib 256 --span BENCH-COMPUTE-BEGIN BENCH-COMPUTE-END --timeout 300 \
		--log /tmp/l2.log -- /bin/inner-vmm "$1" "$2" 256 bench-hold </dev/null)"
}
native() { # ROUND
	progress "compute native (L1) run $1/$ROUNDS"
	l1bench --tag "kind=native vmm=l1 cpus=- round=$1" --span BENCH-COMPUTE-BEGIN BENCH-COMPUTE-END \
		--timeout 120 -- /bench/compute.sh </dev/null
}
scale() { # VMM N
	progress "scale $1 $2 VMs"
	show "$(l1bench -n "$2" --tag "kind=scale vmm=$1 cpus=1 vms=$2 round=1" --idle-ms 300 --send go \
		--guest-mib 64 --timeout $((60 + 20 * $2)) --log /tmp/l2.log -- /bin/inner-vmm "$1" 1 64 bench-hold </dev/null)"
}
if [ -c /dev/kvm ]; then
	echo "L1-KVM ok"
	r=1
	while [ $r -le $ROUNDS ]; do
		for c in 1 2; do
			if [ $(((r + c) % 2)) = 0 ]; then order="vmon qemu"; else order="qemu vmon"; fi
			for v in $order; do boot "$v" "$c" "$r"; done
		done
		native "$r"
		r=$((r + 1))
	done
	i=0
	for n in $SCALE; do
		if [ $((i % 2)) = 0 ]; then order="vmon qemu"; else order="qemu vmon"; fi
		for v in $order; do scale "$v" "$n"; done
		i=$((i + 1))
	done
else
	echo "L1-NO-KVM /dev/kvm missing"
fi
echo "VMON-L1-DONE"
reboot -f
EOF
add_file /init "$tmp/init"
"$gen" "$list" >"$tmp/l1.cpio" || { echo "ERROR: gen_init_cpio failed"; exit 5; }

# ---------------------------------------------------------------- run L1
echo "nested: $total_steps steps in one L1 boot ($rounds rounds; scale: $scale_counts VMs);" \
	"estimated $((estimate / 60)) min $((estimate % 60)) s, hard limit $timeout_s s"
{
	echo "BENCH-META rounds=$rounds scale=\"$scale_counts\""
	echo "BENCH-META qemu=\"$(qemu-system-x86_64 --version | head -n1)\""
} >>"$out"
t_l1=$SECONDS
set +e
l1_qemu "$timeout_s" "$l1" "$tmp/l1.cpio" | tee "$consolelog" |
	while IFS= read -r line; do
		case $line in
		BENCH-PROGRESS*)
			read -r _ k desc <<<"$line"
			printf '[%s] %s  (+%d s)\n' "$k" "$desc" $((SECONDS - t_l1)) ;;
		BENCH-RAW* | BENCH-META*) echo "$line" >>"$out" ;;
		esac
	done
qrc=${PIPESTATUS[0]}
set -e
echo "BENCH-META l1_wall_s=$((SECONDS - t_l1)) l1_qemu_rc=$qrc" >>"$out"
status=0
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "TIMEOUT: the L1 run did not finish within $timeout_s s"
	echo "BENCH-META l1_timeout=1" >>"$out"
	status=2
fi
if ! grep -q 'VMON-L1-INIT-OK' "$consolelog" || grep -q '^L1-NO-KVM' "$consolelog"; then
	echo "ERROR: L1 did not reach /init with /dev/kvm (see $consolelog)"
	[ $status -ne 0 ] || status=3
fi
grep -m3 -E 'Kernel panic|BUG:|Oops:' "$consolelog" | sed 's/^/L1 problem: /' || true
exit $status
