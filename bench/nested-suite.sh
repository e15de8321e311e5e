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
#   stock      Debian's stock kernel (scripts/fetch-stock-kernel.sh, 256 MiB, 1 vCPU, a
#              virtio-rng) under vmon --transport pci, vmon --transport mmio and QEMU
#              `-M microvm,pcie=on`, STOCK_ROUNDS rounds, order rotating per round. Its /init
#              (the stock initramfs with /init replaced) prints the marker, insmods the virtio
#              modules (and virtio_mmio with the command line's virtio_mmio.device= words),
#              waits up to 3 s for a virtio device, prints `VMON-STOCK-BENCH virtio=N rng=...
#              pci=N mmio=...` and resets. l1bench reads L1 KVM's debugfs exit counters of the
#              VM (at init and at the end): the same ruler for both VMMs.
# Every measurement is one line `BENCH-RAW kind=... vmm=... cpus=... round=... <fields>`
# (fields: see bench/l1bench.c), appended to OUT with `BENCH-META` lines; the report is made
# by bench/report.py. Progress: `[k/T] boot vmon 2cpu run 2/5` on stdout.
#
# usage: bench/nested-suite.sh --vmm PATH --l1bench PATH --out FILE [--rounds N] [--log FILE]
# Environment: BENCH_ROUNDS (default 5), BENCH_SCALE ("1 2 4 8"), BENCH_CASES (the parts to
#   run: "suite" = boot, native and scale; "stock"; default "suite stock"; other words, such as
#   bench/run.sh's exitcost and mips, are ignored here), BENCH_STOCK_ROUNDS (default 3),
#   BENCH_STOCK_TIMEOUT (s per stock run, default 300; the mmio runs get a third of it),
#   BENCH_STOCK_CMDLINE (the stock kernel's command line for both VMMs, default
#   "console=ttyS0 panic=-1 quiet"), BENCH_STOCK_VMON_ARGS (more vmon options for the stock runs, e.g. --stats) and
#   BENCH_STOCK_LOG_TAIL (N: every stock run's last N console lines into the console log,
#   prefixed L2LOG; default 0) to see where a stock boot's exits go,
#   VMON_NESTED_TSC_MHZ,
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
stock_rounds=${BENCH_STOCK_ROUNDS:-3}
stock_timeout=${BENCH_STOCK_TIMEOUT:-300}
run_suite=0 run_stock=0
for c in ${BENCH_CASES:-suite stock}; do
	case $c in suite) run_suite=1 ;; stock) run_stock=1 ;; esac
done
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
case $stock_rounds$stock_timeout in *[!0-9]*) echo "BENCH_STOCK_ROUNDS/TIMEOUT: integers" >&2; exit 2 ;; esac
[ $((run_suite + run_stock)) -gt 0 ] || { echo "BENCH_CASES selects neither suite nor stock" >&2; exit 2; }
vmm=$(readlink -f "$vmm")
l1bench=$(readlink -f "$l1bench")
qemu_bin=$(readlink -f "$(command -v qemu-system-x86_64)")
qemu_share=/usr/share/qemu
busybox=/bin/busybox

nscale=0
for n in $scale_counts; do nscale=$((nscale + 1)); done
total_steps=$((run_suite * (rounds * 5 + nscale * 2) + run_stock * stock_rounds * 3))
# per step, under TCG on 2 cores: boot+compute ~12 s, native ~4 s, scale ~3 s per VM + 8 s,
# stock boot ~30-60 s
scale_vms=0
for n in $scale_counts; do scale_vms=$((scale_vms + n)); done
estimate=$((60 + run_suite * (rounds * 4 * 12 + rounds * 4 + 2 * (scale_vms * 3 + nscale * 8)) +
	run_stock * stock_rounds * 3 * 50))
timeout_s=$((estimate * 3 + 300))

# ---------------------------------------------------------------- images
log "building/looking up images (cached in $VMON_CACHE)"
l1=$("$repo/scripts/build-kernel.sh" l1) || { echo "ERROR: building the L1 kernel failed"; exit 5; }
if [ $run_suite = 1 ]; then
	l2=$("$repo/scripts/build-kernel.sh" l2) || { echo "ERROR: building the L2 kernel failed"; exit 5; }
	l2initrd=$("$repo/scripts/build-initramfs.sh") || { echo "ERROR: building the L2 initramfs failed"; exit 5; }
fi
if [ $run_stock = 1 ]; then
	stock=$("$repo/scripts/fetch-stock-kernel.sh") || { echo "ERROR: fetching the stock kernel failed"; exit 5; }
	stockrd=$("$repo/scripts/build-initramfs-stock.sh" "$stock") ||
		{ echo "ERROR: building the stock initramfs failed"; exit 5; }
	mmio_ko=$(find "$stock/modules" -name 'virtio_mmio.ko*' | head -n 1)
	[ -n "$mmio_ko" ] || { echo "ERROR: the stock kernel has no virtio_mmio module"; exit 5; }
fi
gen=$(gen_init_cpio_tool)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
consolelog=${consolelog:-$tmp/console.log}

l1_list_init "$tmp/l1.list" "$busybox"
add_file /bin/vmon "$vmm"
add_file /bin/l1bench "$l1bench"
add_with_libs "$qemu_bin" /usr/bin/qemu-system-x86_64
for f in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin; do
	[ -e "$qemu_share/$f" ] && add_file "/usr/share/qemu/$f" "$qemu_share/$f" 0644
done

if [ $run_suite = 1 ]; then
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
add_file /l2/bzImage "$l2/bzImage" 0644
add_file /l2/initrd.cpio "$tmp/l2initrd.cpio" 0644
add_file /bench/compute.sh "$repo/bench/compute.sh"
fi

l2_cmdline="console=ttyS0 panic=-1 quiet"
# inner-vmm VMM CPUS MIB [TEST]: boot L2 under vmon or QEMU microvm (acpi=off: the L2 kernel has
# no ACPI; microvm then boots through qboot, as in bench/nested-io.sh)
cat >"$tmp/inner-vmm" <<EOF
#!/bin/sh
vmm=\$1 cpus=\$2 mib=\$3 test=\${4:+ vmon.test=\$4}
case \$vmm in
vmon)
	exec /bin/vmon run --transport mmio --kernel /l2/bzImage --initrd /l2/initrd.cpio --mem "\${mib}M" \\
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

# ---- stock: Debian's kernel with its initramfs (scripts/build-initramfs-stock.sh), whose /init
# a second cpio archive replaces (a later archive's file overwrites an earlier one's).
stock_cmdline=${BENCH_STOCK_CMDLINE:-"console=ttyS0 panic=-1 quiet"}
if [ $run_stock = 1 ]; then
	mkdir -p "$tmp/stock"
	case $mmio_ko in
	*.ko) cp "$mmio_ko" "$tmp/stock/virtio_mmio.ko" ;;
	*.ko.xz) xz -dc "$mmio_ko" >"$tmp/stock/virtio_mmio.ko" ;;
	*.ko.zst) zstd -qdc "$mmio_ko" >"$tmp/stock/virtio_mmio.ko" ;;
	esac
	cat >"$tmp/stock/init" <<'EOF'
#!/bin/sh
# /init of the stock-kernel bench (bench/nested-suite.sh): the marker, then the virtio modules,
# then what the kernel found, then a reset.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
read -r up _ </proc/uptime
echo "VMON-L2-INIT-OK uptime=$up cpus=$(grep -c '^processor' /proc/cpuinfo)"
loaded=0 failed=
while read -r ko; do
	case $ko in */virtio_net.ko) continue ;; */virtio*.ko | */hw_random/*.ko) ;; *) continue ;; esac
	if insmod "$ko" 2>/dev/null; then loaded=$((loaded + 1)); else n=${ko##*/}; failed="$failed${failed:+,}${n%.ko}"; fi
done </etc/vmon-modules
# virtio_mmio takes its devices from module parameters only with CMDLINE_DEVICES built in
mmio=none args=
for a in $(cat /proc/cmdline); do
	case $a in virtio_mmio.device=*) args="$args device=${a#virtio_mmio.device=}" ;; esac
done
if [ -n "$args" ]; then
	# shellcheck disable=SC2086 # one word per device
	if insmod /lib/vmon-bench/virtio_mmio.ko $args 2>/dev/null; then mmio=loaded; else mmio=insmod-failed; fi
fi
i=0
while [ -z "$(ls /sys/bus/virtio/devices 2>/dev/null)" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
nv=$(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)
np=$(ls /sys/bus/pci/devices 2>/dev/null | wc -l)
rng=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null || echo -)
why=$(dmesg | grep -m1 -o "virtio_mmio: unknown parameter '[a-z]*' ignored" | tr ' ' _)
echo "VMON-STOCK-BENCH virtio=$nv rng=${rng:--} pci=$np modules=$loaded failed=${failed:-none} mmio=$mmio why=${why:--}"
reboot -f
EOF
	cat >"$tmp/stock/extra.list" <<EOF
file /init $tmp/stock/init 0755 0 0
dir /lib/vmon-bench 0755 0 0
file /lib/vmon-bench/virtio_mmio.ko $tmp/stock/virtio_mmio.ko 0644 0 0
EOF
	"$gen" "$tmp/stock/extra.list" >"$tmp/stock/extra.cpio"
	cat "$stockrd" "$tmp/stock/extra.cpio" >"$tmp/stock/initrd.cpio"
	add_file /l2/stock/vmlinuz "$stock/vmlinuz" 0644
	add_file /l2/stock/initrd.cpio "$tmp/stock/initrd.cpio" 0644
	# inner-vmm-stock VMM: vmon-pci | vmon-mmio | qemu (microvm with its PCIe host and ACPI,
	# as a stock kernel needs), 256 MiB, 1 vCPU, a virtio-rng, the same command line but for
	# the reset method each VMM takes as exit
	cat >"$tmp/inner-vmm-stock" <<EOF
#!/bin/sh
case \$1 in
vmon-pci | vmon-mmio)
	# shellcheck disable=SC2086 # a word list
	exec /bin/vmon run ${BENCH_STOCK_VMON_ARGS:-} --transport "\${1#vmon-}" --kernel /l2/stock/vmlinuz \\
		--initrd /l2/stock/initrd.cpio --mem 256M --cpus 1 --cmdline "$stock_cmdline reboot=k" ;;
qemu)
	exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm,pcie=on -enable-kvm -cpu host \\
		-m 256M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \\
		-kernel /l2/stock/vmlinuz -initrd /l2/stock/initrd.cpio -append "$stock_cmdline reboot=t" \\
		-device virtio-rng-pci ;;
esac
echo "inner-vmm-stock: unknown VMM \$1"
exit 2
EOF
	add_file /bin/inner-vmm-stock "$tmp/inner-vmm-stock"
fi

cat >"$tmp/init" <<EOF
#!/bin/sh
# L1 /init generated by bench/nested-suite.sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
ROUNDS=$rounds
SCALE="$scale_counts"
TOTAL=$total_steps
RUN_SUITE=$run_suite
RUN_STOCK=$run_stock
STOCK_ROUNDS=$stock_rounds
STOCK_TIMEOUT=$stock_timeout
STOCK_LOG_TAIL=${BENCH_STOCK_LOG_TAIL:-0}
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
stock() { # VMM ROUND: the mmio runs are expected not to find their devices: a shorter timeout
	progress "stock $1 run $2/$STOCK_ROUNDS"
	t=$STOCK_TIMEOUT
	[ "$1" != vmon-mmio ] || t=$((STOCK_TIMEOUT / 3))
	show "$(l1bench --tag "kind=stock vmm=$1 cpus=1 round=$2" --idle-ms 0 --guest-mib 256 \
		--note VMON-STOCK-BENCH --kvm-exits --timeout "$t" --log /tmp/l2.log \
		-- /bin/inner-vmm-stock "$1" </dev/null)"
	[ "$STOCK_LOG_TAIL" = 0 ] || tail -n "$STOCK_LOG_TAIL" /tmp/l2.log | sed 's/^/L2LOG /'
}
if [ -c /dev/kvm ] && [ "$RUN_STOCK" = 1 ]; then
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	if [ -d /sys/kernel/debug/kvm ]; then echo "BENCH-META l1_kvm_debugfs=1"
	else echo "BENCH-META l1_kvm_debugfs=0"; fi
	r=1
	while [ $r -le $STOCK_ROUNDS ]; do
		case $((r % 3)) in
		1) order="vmon-pci qemu vmon-mmio" ;;
		2) order="qemu vmon-mmio vmon-pci" ;;
		0) order="vmon-mmio vmon-pci qemu" ;;
		esac
		for v in $order; do stock "$v" "$r"; done
		r=$((r + 1))
	done
fi
if [ -c /dev/kvm ] && [ "$RUN_SUITE" = 0 ]; then
	echo "L1-KVM ok"
elif [ -c /dev/kvm ]; then
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
echo "nested: $total_steps steps in one L1 boot (cases: ${BENCH_CASES:-suite stock}; $rounds rounds; scale: $scale_counts VMs; stock: $stock_rounds rounds);" \
	"estimated $((estimate / 60)) min $((estimate % 60)) s, hard limit $timeout_s s"
{
	echo "BENCH-META rounds=$rounds scale=\"$scale_counts\" cases=\"$([ $run_suite = 0 ] || printf 'suite ')$([ $run_stock = 0 ] || printf stock)\""
	[ $run_stock = 0 ] || echo "BENCH-META stock_rounds=$stock_rounds stock_kernel=$(cat "$stock/kver") stock_cmdline=\"$stock_cmdline\""
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
