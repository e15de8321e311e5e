#!/usr/bin/env bash
# bench/net-stress.sh - crash hunt for virtio-net under nested virtualization (issue #3): in
# one L1 boot (QEMU TCG L0 -> L1 Linux with KVM -> inner VMM -> L2 Linux, see
# tests/e2e/nested.sh), boot L2 several times, each time sending vmon.mib MiB over TCP from L2
# to L1 through virtio-net on TAP tap0, then receiving --rx-mib MiB from L1
# (guests/linux/l2-tests/net-stress), interleaved with
# control boots that have eth0 up but send nothing (l2-tests/net-idle, busy for --idle-secs).
# Counts, per kind, the boots whose VMM did not exit 0 or whose L2 printed an oops or panic.
#
# usage: bench/net-stress.sh [--vmm PATH] [--inner vmon|qemu] [--boots N] [--control N]
#                            [--mib N] [--rx-mib N] [--idle-secs S] [--blk] [--timeout SECONDS]
#                            [--keep]
#   --vmm PATH      the vmon binary (default build/vmon.static)
#   --inner qemu    boot L2 with QEMU's microvm instead (same devices; checks the environment)
#   --boots N       traffic boots (default 6)
#   --control N     control boots without traffic (default 2), spread among the traffic boots
#   --mib N         MiB sent per traffic boot (default 32, as bench/nested-io.sh)
#   --rx-mib N      MiB L1 then sends to L2 per traffic boot (default 8; 0: none)
#   --idle-secs S   how long a control boot stays up (default 60)
#   --blk           give L2 a 96 MiB disk too and run l2-tests/bench-blk (64 MiB O_DIRECT write
#                   and read) before each boot's own test, as bench/nested-io.sh does
#   --timeout S     limit for the whole L1 run (default 240 + 200 per boot)
#   --keep          keep the temporary directory even on success
# Environment: VMON_STRESS_ARGS (extra vmon flags), VMON_STRESS_L2_CMDLINE (extra L2 kernel
#   arguments), BENCH_CASE_TIMEOUT (limit for one L2 boot, default 400 s), and what
#   tests/e2e/nested.sh reads (VMON_NESTED_L1_SMP, VMON_NESTED_TSC_MHZ, VMON_CACHE).
# L2 runs without `quiet`, so an oops reaches the console (and vmon's crash report, with its
# last exits, reaches stderr, which L1 shows too). L1 prints per boot:
#   STRESS-RESULT kind=net|idle boot=I rc=VMM_STATUS test_rc=RC oops=yes|no net_bytes=N wall_ms=MS
# Output ends with `N passed, N failed` (a boot passes when rc=0, the L2 test's rc=0 (for
# traffic boots: it received every byte), no oops, and for traffic boots L1 received every
# byte). Exit status: 0 all passed, 1 some failed, 2 timeout,
# 3 L1 never reached its /init or oopsed, 5 building images failed; SKIP (exit 0) if
# prerequisites are missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMON_LOG_TAG=net-stress
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/nested.sh
source "$repo/scripts/lib/nested.sh"

vmm=$repo/build/vmon.static
inner=vmon
boots=6
control=2
mib=32
rx_mib=8
idle_secs=60
blk=0
case_timeout_s=${BENCH_CASE_TIMEOUT:-400}
timeout_s=
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--inner) inner=$2; shift 2 ;;
	--boots) boots=$2; shift 2 ;;
	--control) control=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--rx-mib) rx_mib=$2; shift 2 ;;
	--idle-secs) idle_secs=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--blk) blk=1; shift ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
case $inner in vmon | qemu) ;; *) echo "--inner must be vmon or qemu" >&2; exit 2 ;; esac
for n in "$boots" "$control" "$mib" "$rx_mib" "$idle_secs"; do
	case $n in '' | *[!0-9]*) echo "--boots, --control, --mib, --rx-mib, --idle-secs take numbers" >&2; exit 2 ;; esac
done
total=$((boots + control))
[ "$total" -gt 0 ] || { echo "nothing to run" >&2; exit 2; }
timeout_s=${timeout_s:-$((240 + 200 * total))}

summary() { echo "$1 passed, $2 failed${3:+, $3 skipped}"; }
skip_all() { echo "SKIP: $*"; summary 0 0 "$total"; exit 0; }

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not found"
command -v timeout >/dev/null || skip_all "timeout not found (install coreutils)"
busybox=/bin/busybox
[ -x "$busybox" ] || skip_all "$busybox not found (install busybox-static)"
qemu_share=/usr/share/qemu
if [ "$inner" = vmon ]; then
	[ -x "$vmm" ] || skip_all "vmon binary $vmm not found (make build/vmon.static, or --vmm PATH)"
	vmm=$(readlink -f "$vmm")
else
	command -v ldd >/dev/null || skip_all "ldd not found (install libc-bin)"
	[ -e "$qemu_share/bios-microvm.bin" ] || skip_all "$qemu_share/bios-microvm.bin not found"
fi

t_start=$SECONDS
log "building/looking up images (cached in $VMON_CACHE)"
fail_build() { echo "ERROR: building $1 failed"; summary 0 "$total"; exit 5; }
l1=$("$repo/scripts/build-kernel.sh" l1) || fail_build "the L1 kernel"
l2=$("$repo/scripts/build-kernel.sh" l2) || fail_build "the L2 kernel"
l2initrd=$("$repo/scripts/build-initramfs.sh") || fail_build "the L2 initramfs"
gen=$(gen_init_cpio_tool)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-net-stress.XXXXXX")
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	rm -f "$tmp/l1.cpio"
	if [ "$keep" = 1 ] || [ "${outcome:-fail}" != pass ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

l1_list_init "$tmp/l1.list" "$busybox"
add_file /l2/bzImage "$l2/bzImage" 0644
add_file /l2/initrd.cpio "$l2initrd" 0644
if [ "$inner" = vmon ]; then
	add_with_libs "$vmm" /bin/vmon
else
	add_with_libs "$(readlink -f "$(command -v qemu-system-x86_64)")" /usr/bin/qemu-system-x86_64
	for f in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin; do
		[ -e "$qemu_share/$f" ] && add_file "/usr/share/qemu/$f" "$qemu_share/$f" 0644
	done
fi

l2_cmdline="console=ttyS0 panic=-1 vmon.mib=$mib vmon.rxmib=$rx_mib vmon.secs=$idle_secs ${VMON_STRESS_L2_CMDLINE:-}"
vmon_disk='' qemu_disk=''
if [ "$blk" = 1 ]; then
	l2_cmdline+=" vmon.test=bench-blk"
	vmon_disk="--disk /tmp/disk.img"
	qemu_disk="-drive id=d0,file=/tmp/disk.img,format=raw,if=none -device virtio-blk-device,drive=d0"
fi
mac=52:54:00:12:34:56
cat >"$tmp/inner-vmm" <<EOF
#!/bin/sh
# inner-vmm TEST: boot L2 running l2-tests/TEST with virtio-net on tap0
case $inner in
vmon)
	exec /bin/vmon run ${VMON_STRESS_ARGS:-} --stats --transport mmio --kernel /l2/bzImage --initrd /l2/initrd.cpio \\
		--mem 256M --cpus 1 --cmdline "$l2_cmdline vmon.test=\$1 reboot=k" $vmon_disk --net tap=tap0,mac=$mac ;;
qemu)
	exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm,acpi=off -enable-kvm -cpu host \\
		-m 256M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \\
		-kernel /l2/bzImage -initrd /l2/initrd.cpio -append "$l2_cmdline vmon.test=\$1 reboot=t" \\
		$qemu_disk -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \\
		-device virtio-net-device,netdev=n0,mac=$mac ;;
esac
EOF
add_file /bin/inner-vmm "$tmp/inner-vmm"

# The plan: control boots spread evenly among the traffic boots.
plan=
n_net=0 n_idle=0
for i in $(seq 1 "$total"); do
	if [ "$n_idle" -lt "$control" ] && [ $((i * control / total)) -gt "$n_idle" ]; then
		plan+=" idle"; n_idle=$((n_idle + 1))
	else
		plan+=" net"; n_net=$((n_net + 1))
	fi
done

cat >"$tmp/init" <<EOF
#!/bin/sh
# L1 /init generated by bench/net-stress.sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
PLAN="$plan"
RXMIB=$rx_mib
CASE_TIMEOUT=$case_timeout_s
EOF
cat >>"$tmp/init" <<'EOF'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo
echo "VMON-L1-INIT-OK cpus=$(grep -c '^processor' /proc/cpuinfo)"
CR=$(printf '\r')
now_ms() { awk '{printf "%d\n", $1*1000}' /proc/uptime; }
tunctl -t tap0 >/dev/null && ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up ||
	echo "L1-NET-SETUP failed"
ip link set lo up
dd if=/dev/zero of=/tmp/disk.img bs=1M count=96 2>/dev/null
mkfifo /tmp/hold
exec 3<>/tmp/hold
listening() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ':1389 0*:0000 0A'; }

boot_one() { # KIND BOOT
	kind=$1 boot=$2 test=net-idle
	[ "$kind" = net ] && test=net-stress
	rm -f /tmp/rc /tmp/ncpid /tmp/netbytes /tmp/oops /tmp/trc
	echo "L1-STRESS-START kind=$kind boot=$boot"
	if [ "$kind" = net ]; then
		(nc -l -p 5001 </tmp/hold & echo $! >/tmp/ncpid; wait) | wc -c >/tmp/netbytes &
		i=0
		while ! listening && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		# the receive part: L2 connects, reads RXMIB MiB, and sees the end when this nc quits
		[ "$RXMIB" -gt 0 ] && { dd if=/dev/zero bs=64k count=$((RXMIB * 16)) 2>/dev/null | nc -l -p 5003 >/dev/null & }
	fi
	t0=$(now_ms)
	{ timeout -s KILL "$CASE_TIMEOUT" /bin/inner-vmm "$test" </dev/null 2>&1; echo $? >/tmp/rc; } |
		while IFS= read -r line; do
			line=${line%"$CR"}
			case $line in *"VMON-L2-TEST name=net-"*) echo "${line##*rc=}" >/tmp/trc ;; esac
			case $line in *"Oops"* | *"Kernel panic"* | *"BUG:"* | *"general protection"* | *"double fault"*) echo y >/tmp/oops ;; esac
			echo "L2| $line"
		done
	t1=$(now_ms)
	if [ "$kind" = net ]; then
		i=0
		while listening || [ ! -s /tmp/netbytes ]; do
			[ $i -ge 50 ] && { kill "$(cat /tmp/ncpid 2>/dev/null)" 2>/dev/null; sleep 0.2; break; }
			sleep 0.1; i=$((i + 1))
		done
		# a receive listener nobody connected to
		for p in $(pidof nc); do kill "$p" 2>/dev/null; done
		wait
	fi
	oops=no; [ -s /tmp/oops ] && oops=yes
	echo "STRESS-RESULT kind=$kind boot=$boot rc=$(cat /tmp/rc 2>/dev/null || echo none) test_rc=$(cat /tmp/trc 2>/dev/null || echo none) oops=$oops net_bytes=$(cat /tmp/netbytes 2>/dev/null || echo -) wall_ms=$((t1 - t0))"
}

if [ -c /dev/kvm ]; then
	b=1
	for k in $PLAN; do boot_one "$k" "$b"; b=$((b + 1)); done
else
	echo "L1-NO-KVM /dev/kvm missing"
fi
echo "VMON-L1-DONE"
reboot -f
EOF
add_file /init "$tmp/init"
"$gen" "$list" >"$tmp/l1.cpio" || { echo "ERROR: gen_init_cpio failed"; exit 5; }
log "images ready after $((SECONDS - t_start)) s; plan:$plan"

consolelog=$tmp/console.log
log "booting L1 (inner $inner, $total boots, timeout ${timeout_s} s); console log: $consolelog"
t_l1=$SECONDS
set +e
l1_qemu "$timeout_s" "$l1" "$tmp/l1.cpio" | tee "$consolelog" | sed -u 's/^/[L1] /'
qrc=${PIPESTATUS[0]}
set -e
log "L1 run ended after $((SECONDS - t_l1)) s (qemu exit status $qrc)"

status=0
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then echo "TIMEOUT: the L1 run did not finish within ${timeout_s} s"; status=2; fi
if ! grep -q 'VMON-L1-INIT-OK' "$consolelog"; then
	echo "ERROR: L1 never reached its /init"; [ $status -ne 0 ] || status=3
elif grep -v '^L2|' "$consolelog" | grep -qE 'Kernel panic|BUG:|Oops:'; then
	echo "ERROR: L1 kernel oops: $(grep -v '^L2|' "$consolelog" | grep -m1 -E 'BUG:|Oops' || true)"
	[ $status -ne 0 ] || status=3
fi
want=$((mib * 1048576))
echo
echo "net-stress ($inner): $n_net traffic boots of $mib MiB out + $rx_mib MiB in, $n_idle control boots of ${idle_secs} s"
grep '^STRESS-RESULT' "$consolelog" || echo "(no STRESS-RESULT lines)"
counts=$(grep '^STRESS-RESULT' "$consolelog" | awk -v want="$want" '
	{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	  bad = f["rc"] != "0" || f["test_rc"] != "0" || f["oops"] != "no" || (f["kind"] == "net" && f["net_bytes"] != want)
	  n[f["kind"]]++; if (bad) { c[f["kind"]]++; fail++ } else pass++ }
	END { for (k in n) printf "%s: %d boots, %d failed\n", k, n[k], c[k]
	      print "COUNTS", pass + 0, fail + 0 }')
grep -v '^COUNTS ' <<<"$counts" || true
read -r _ passed failed <<<"$(grep '^COUNTS ' <<<"$counts")"
# boots that never reported count as failed
missing=$((total - passed - failed))
[ "$missing" -le 0 ] || { echo "$missing boot(s) never reported"; failed=$((failed + missing)); }
echo "net-stress: L1 wall time $((SECONDS - t_l1)) s"
summary "$passed" "$failed"
[ "$failed" -eq 0 ] || [ $status -ne 0 ] || status=1
[ $status -ne 0 ] || outcome=pass
exit $status
