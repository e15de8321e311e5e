#!/usr/bin/env bash
# bench/nested-io.sh - side-by-side I/O benchmark of vmon and QEMU's microvm, both run inside
# the same nested L1 (QEMU TCG L0 -> L1 Linux with KVM -> inner VMM -> L2 Linux; see
# tests/e2e/nested.sh and /work/shared/NESTED.md). Under TCG absolute numbers mean little:
# the result is the vmon/QEMU ratio of medians, measured in one L1 boot.
#
# usage: bench/nested-io.sh [--vmm PATH] [--rounds N] [--timeout SECONDS] [--keep]
#   --vmm PATH    the vmon binary (default build/vmon.static; build with `make static`)
#   --rounds N    rounds (default 3, env BENCH_ROUNDS); each round boots L2 once with each VMM,
#                 in alternating order (vmon first in odd rounds, QEMU first in even ones)
#   --timeout S   hard limit for the whole L1 run (default 180 + 300 per round)
#   --keep        keep the temporary directory (L1 initramfs, console log) even on success
# Environment: BENCH_CASE_TIMEOUT (limit for one L2 boot inside L1, default 240 s),
#   BENCH_VMON_NET (more vmon --net options, e.g. `offload=off`), and the
#   variables tests/e2e/nested.sh reads: VMON_NESTED_L1_SMP, VMON_NESTED_TSC_MHZ, VMON_CACHE.
#
# QEMU runs as `-M microvm,acpi=off`: with microvm's default ACPI the L2 kernel (built without
# ACPI) found neither /dev/vda nor eth0; with acpi=off it finds both.
# Each L2 boot (256 MiB, 1 vCPU, the tinyconfig L2 bzImage and initramfs) gets the same
# devices from both VMMs: a 96 MiB raw image in L1's RAM (/tmp/disk.img, host page cache on
# both sides: vmon's default, QEMU's cache=writeback default; L1's tmpfs has no O_DIRECT) as
# /dev/vda, and virtio-net on TAP tap0 (L1 is 10.0.2.1/24, L2 10.0.2.15/24). L2 runs
# guests/linux/l2-tests/bench-blk (64 MiB O_DIRECT dd write then read, 1 MiB requests) and
# bench-net (32 MiB over TCP with busybox nc to `nc -l -p 5001` in L1). Rates are MiB/s,
# timed inside L2 with /proc/uptime (10 ms resolution). L1 prints one line per boot:
#   BENCH-RESULT vmm=vmon|qemu round=R blk_write=X blk_read=Y net_tx=Z rc=VMM_STATUS
#                net_bytes=<bytes L1 received> wall_ms=<VMM launch to exit, L1 clock>
# and this script prints, per metric, the median and min-max of each VMM and the ratio
# vmon/QEMU of the medians (>1: vmon faster). A metric passes when both VMMs produced at
# least one number; each boot whose VMM did not exit 0 counts as a failure too; no speed
# target is enforced. Ends with `N passed, N failed`.
# Exit status: 0 all metrics passed, 1 some failed, 2 the L1 run timed out, 3 L1 never
# reached its /init, 5 building the images failed; missing prerequisites: SKIP, exit 0.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMON_LOG_TAG=nested-io
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/nested.sh
source "$repo/scripts/lib/nested.sh"

vmm=$repo/build/vmon.static
rounds=${BENCH_ROUNDS:-3}
case_timeout_s=${BENCH_CASE_TIMEOUT:-240}
timeout_s=
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--vmm=*) vmm=${1#*=}; shift ;;
	--rounds) rounds=$2; shift 2 ;;
	--rounds=*) rounds=${1#*=}; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
case $rounds in '' | *[!0-9]* | 0) echo "--rounds must be a positive integer" >&2; exit 2 ;; esac
timeout_s=${timeout_s:-$((180 + 300 * rounds))}
metrics=(blk_write blk_read net_tx)

summary() { echo "$1 passed, $2 failed${3:+, $3 skipped}"; }
skip_all() { echo "SKIP: $*"; summary 0 0 "${#metrics[@]}"; exit 0; }

# ---------------------------------------------------------------- prerequisites
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not found (install qemu-system-x86)"
command -v timeout >/dev/null || skip_all "timeout not found (install coreutils)"
command -v ldd >/dev/null || skip_all "ldd not found (install libc-bin)"
busybox=/bin/busybox
[ -x "$busybox" ] || skip_all "$busybox not found (install busybox-static)"
[ -x "$vmm" ] || skip_all "vmon binary $vmm not found (run \`make static\`, or pass --vmm PATH)"
vmm=$(readlink -f "$vmm")
qemu_bin=$(readlink -f "$(command -v qemu-system-x86_64)")
qemu_share=/usr/share/qemu
[ -e "$qemu_share/bios-microvm.bin" ] || skip_all "$qemu_share/bios-microvm.bin not found (install qemu-system-data)"

# ---------------------------------------------------------------- images
t_start=$SECONDS
log "building/looking up images (cached in $VMON_CACHE)"
fail_build() { echo "ERROR: building $1 failed"; summary 0 "${#metrics[@]}"; exit 5; }
l1=$("$repo/scripts/build-kernel.sh" l1) || fail_build "the L1 kernel"
l2=$("$repo/scripts/build-kernel.sh" l2) || fail_build "the L2 kernel"
l2initrd=$("$repo/scripts/build-initramfs.sh") || fail_build "the L2 initramfs"
gen=$(gen_init_cpio_tool)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-nested-io.XXXXXX")
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	rm -f "$tmp/l1.cpio"
	if [ "$keep" = 1 ] || [ "${outcome:-fail}" != pass ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- L1 initramfs
l1_list_init "$tmp/l1.list" "$busybox"
add_file /l2/bzImage "$l2/bzImage" 0644
add_file /l2/initrd.cpio "$l2initrd" 0644
add_with_libs "$vmm" /bin/vmon
add_with_libs "$qemu_bin" /usr/bin/qemu-system-x86_64
# microvm loads bios-microvm.bin, or qboot.rom (its target on Debian) when acpi=off
for f in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin; do
	[ -e "$qemu_share/$f" ] && add_file "/usr/share/qemu/$f" "$qemu_share/$f" 0644
done

# loglevel=5 after quiet: boot chatter stays off the console, but an L2 oops is printed whole.
l2_cmdline="console=ttyS0 panic=-1 quiet loglevel=5 vmon.test=bench-blk vmon.test=bench-net"
mac=52:54:00:12:34:56
# inner-vmm VMM: boot L2 with the disk and the NIC under vmon or QEMU microvm
cat >"$tmp/inner-vmm" <<EOF
#!/bin/sh
case \$1 in
vmon)
	exec /bin/vmon run --transport mmio --kernel /l2/bzImage --initrd /l2/initrd.cpio --mem 256M --cpus 1 \\
		--cmdline "$l2_cmdline reboot=k" --disk /tmp/disk.img --net tap=tap0,mac=$mac${BENCH_VMON_NET:+,$BENCH_VMON_NET} --stats ;;
qemu)
	exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm,acpi=off -enable-kvm -cpu host \\
		-m 256M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \\
		-kernel /l2/bzImage -initrd /l2/initrd.cpio -append "$l2_cmdline reboot=t" \\
		-drive id=d0,file=/tmp/disk.img,format=raw,if=none \\
		-device virtio-blk-device,drive=d0 \\
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \\
		-device virtio-net-device,netdev=n0,mac=$mac ;;
esac
echo "inner-vmm: unknown VMM \$1"
exit 2
EOF
add_file /bin/inner-vmm "$tmp/inner-vmm"

cat >"$tmp/init" <<EOF
#!/bin/sh
# L1 /init generated by bench/nested-io.sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
ROUNDS=$rounds
CASE_TIMEOUT=$case_timeout_s
EOF
cat >>"$tmp/init" <<'EOF'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
read -r up _ </proc/uptime
echo
echo "VMON-L1-INIT-OK uptime=$up cpus=$(grep -c '^processor' /proc/cpuinfo)"
CR=$(printf '\r')
T0=$(adjtimex 2>/dev/null | awk '/tv_sec/ {print $2}')
if [ -n "$T0" ]; then
	now_ms() { adjtimex | awk -v b="$T0" '/tv_sec/ {s=$2} /tv_usec/ {u=$2} END {printf "%d\n", (s-b)*1000 + u/1000}'; }
else
	now_ms() { awk '{printf "%d\n", $1*1000}' /proc/uptime; }
fi
echo "L1-CLOCK clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"

# The disk lives in L1's RAM, fully allocated up front so no round pays for tmpfs allocation.
dd if=/dev/zero of=/tmp/disk.img bs=1M count=96 2>/dev/null || echo "L1-DISK-SETUP failed"
tunctl -t tap0 >/dev/null && ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up ||
	echo "L1-NET-SETUP failed"
ip link set lo up
# The listener's stdin must never reach EOF (busybox nc would then shut down its side and the
# guest's nc would stop early): a FIFO that this shell keeps open for writing.
mkfifo /tmp/hold
exec 3<>/tmp/hold

# port 5001 in state LISTEN (busybox nc listens on :: when L1 has IPv6)
listening() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ':1389 0*:0000 0A'; }

bench_one() { # VMM ROUND
	vmm=$1 round=$2
	rm -f /tmp/rc /tmp/bench /tmp/ncpid /tmp/netbytes
	echo "L1-BENCH-START vmm=$vmm round=$round"
	(nc -l -p 5001 </tmp/hold & echo $! >/tmp/ncpid; wait) | wc -c >/tmp/netbytes &
	i=0
	while ! listening && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	listening || echo "L1-NC-LISTEN failed"
	t0=$(now_ms)
	{ timeout -s KILL "$CASE_TIMEOUT" /bin/inner-vmm "$vmm" </dev/null 2>&1; echo $? >/tmp/rc; } |
		while IFS= read -r line; do
			line=${line%"$CR"}
			case $line in *"BENCH "*) echo "${line#*BENCH }" >>/tmp/bench ;; esac
			echo "L2| $line"
		done
	t1=$(now_ms)
	# the listener ends when the guest's nc closes; if the guest never connected, end it
	i=0
	while listening || [ ! -s /tmp/netbytes ]; do
		[ $i -ge 50 ] && { kill "$(cat /tmp/ncpid 2>/dev/null)" 2>/dev/null; sleep 0.2; break; }
		sleep 0.1; i=$((i + 1))
	done
	wait
	w=$(sed -n 's/^blk .*write_mbps=\([^ ]*\).*/\1/p' /tmp/bench 2>/dev/null)
	r=$(sed -n 's/^blk .*read_mbps=\([^ ]*\).*/\1/p' /tmp/bench 2>/dev/null)
	n=$(sed -n 's/^net .*tx_mbps=\([^ ]*\).*/\1/p' /tmp/bench 2>/dev/null)
	echo "BENCH-RESULT vmm=$vmm round=$round blk_write=${w:--} blk_read=${r:--} net_tx=${n:--} rc=$(cat /tmp/rc 2>/dev/null || echo none) net_bytes=$(cat /tmp/netbytes 2>/dev/null || echo -) wall_ms=$((t1 - t0))"
}

if [ -c /dev/kvm ]; then
	echo "L1-KVM ok"
	round=1
	while [ $round -le $ROUNDS ]; do
		if [ $((round % 2)) = 1 ]; then order="vmon qemu"; else order="qemu vmon"; fi
		for v in $order; do bench_one "$v" "$round"; done
		round=$((round + 1))
	done
else
	echo "L1-NO-KVM /dev/kvm missing"
fi
echo "VMON-L1-DONE"
reboot -f
EOF
add_file /init "$tmp/init"
"$gen" "$list" >"$tmp/l1.cpio" || { echo "ERROR: gen_init_cpio failed"; exit 5; }
log "images ready after $((SECONDS - t_start)) s; L1 initramfs $(du -h "$tmp/l1.cpio" | cut -f1)"

# ---------------------------------------------------------------- run L1
consolelog=$tmp/console.log
log "booting L1 ($rounds rounds, timeout ${timeout_s} s); console log: $consolelog"
t_l1=$SECONDS
set +e
l1_qemu "$timeout_s" "$l1" "$tmp/l1.cpio" | tee "$consolelog" | sed -u 's/^/[L1] /'
qrc=${PIPESTATUS[0]}
set -e
l1_secs=$((SECONDS - t_l1))
log "L1 run ended after ${l1_secs} s (qemu exit status $qrc)"

# ---------------------------------------------------------------- report
status=0
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then echo "TIMEOUT: the L1 run did not finish within ${timeout_s} s"; status=2; fi
if ! grep -q 'VMON-L1-INIT-OK' "$consolelog"; then
	echo "ERROR: L1 never reached its /init (see $consolelog)"
	[ $status -ne 0 ] || status=3
elif grep -v '^L2|' "$consolelog" | grep -qE 'Kernel panic|BUG:|Oops:'; then
	echo "ERROR: L1 kernel oops: $(grep -v '^L2|' "$consolelog" | grep -m1 -E 'BUG:|Oops' || true) (see $consolelog)"
	[ $status -ne 0 ] || status=3
elif grep -q '^L1-NO-KVM' "$consolelog"; then
	echo "ERROR: L1 has no /dev/kvm"
fi
echo
echo "nested I/O benchmark: $rounds round(s), L2 256 MiB 1 vCPU; rates in MiB/s measured in L2"
grep '^BENCH-RESULT' "$consolelog" || echo "(no BENCH-RESULT lines)"
# A boot whose VMM did not exit 0 (e.g. 3: the guest crashed) keeps the numbers it produced,
# but counts as one failure below: a benchmark must not hide a crash.
crashed=$(grep '^BENCH-RESULT' "$consolelog" | grep -vc ' rc=0 ' || true)
# An L2 oops (an L2 that crashed after it) counts once more, with its first line shown.
if grep -qE '^L2\| .*(Kernel panic|BUG:|Oops:|general protection fault)' "$consolelog"; then
	echo "FAIL: L2 oops: $(grep -m1 -E '^L2\| .*(Kernel panic|BUG:|Oops:|general protection fault)' "$consolelog")"
	crashed=$((crashed + 1))
fi
grep '^BENCH-RESULT' "$consolelog" | grep -v ' rc=0 ' | sed 's/^BENCH-RESULT /FAIL: VMM exit status not 0: /' || true
echo
table=$(grep '^BENCH-RESULT' "$consolelog" | awk -v metrics="${metrics[*]}" '
	function median(a, n,   i, j, t) { # sorts a[1..n]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	function stat(v, m,   a, n, i, s) {
		n = 0
		for (i = 1; i <= cnt[v, m]; i++) a[++n] = val[v, m, i]
		if (n == 0) return "-"
		s = median(a, n)
		med[v, m] = s
		return sprintf("%.2f (%.2f-%.2f) n=%d", s, a[1], a[n], n)
	}
	{
		v = ""
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		v = f["vmm"]
		for (k in f) if (k != "vmm" && f[k] ~ /^[0-9.]+$/) val[v, k, ++cnt[v, k]] = f[k] + 0
		delete f
	}
	END {
		nm = split(metrics, M, " ")
		printf "%-10s  %-28s  %-28s  %s\n", "metric", "vmon median (min-max)", "qemu median (min-max)", "vmon/qemu"
		pass = fail = 0
		for (i = 1; i <= nm; i++) {
			m = M[i]; sv = stat("vmon", m); sq = stat("qemu", m)
			ok = (sv != "-" && sq != "-")
			r = ok && med["qemu", m] > 0 ? sprintf("%.2f", med["vmon", m] / med["qemu", m]) : "-"
			printf "%-10s  %-28s  %-28s  %s\n", m, sv, sq, r
			if (ok) pass++; else { fail++; bad = bad " " m }
		}
		printf "RESULT %d %d%s\n", pass, fail, bad
	}')
grep -v '^RESULT ' <<<"$table"
read -r _ passed failed bad <<<"$(grep '^RESULT ' <<<"$table")"
failed=$((failed + crashed))
[ -z "$bad" ] || echo "FAIL (a VMM produced no number):$bad"
echo "(>1 in vmon/qemu: vmon faster; single nested runs vary -25%..+60%, compare only ratios)"
echo "nested-io: L1 wall time ${l1_secs} s, total $((SECONDS - t_start)) s"
summary "$passed" "$failed"
[ "$failed" -eq 0 ] || [ $status -ne 0 ] || status=1
[ $status -ne 0 ] || outcome=pass
exit $status
