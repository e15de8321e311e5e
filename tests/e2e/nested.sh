#!/usr/bin/env bash
# tests/e2e/nested.sh - nested end-to-end test: boot real Linux guests (L2) with a VMM running
# inside an L1 Linux that itself runs under QEMU TCG (-cpu max emulates AMD SVM, so L1 has a
# working /dev/kvm). This is how real guests are tested on hosts whose /dev/kvm cannot run
# them (see /work/shared/NESTED.md).
#
# usage: tests/e2e/nested.sh [--vmm PATH] [--inner vmon|qemu] [--timeout SECONDS] [--keep]
#   --vmm PATH      the vmon binary to test (default: build/vmon.static in the repository).
#                   A static binary is best; a dynamic one gets its ldd libraries copied in.
#   --inner qemu    use QEMU (microvm; q35 for the PCI cases) as the inner VMM instead of vmon
#                   (validates the harness).
#   --timeout S     hard limit for the whole L1 run (default 1200, env VMON_NESTED_TIMEOUT).
#   --keep          keep the temporary directory (L1 initramfs, console log) even on success.
# Environment: VMON_NESTED_CASE_TIMEOUT (per-case limit inside L1, default 150 s),
#   VMON_NESTED_PCI_CASE_TIMEOUT (the same for the PCI cases, default 600 s: stock-root under
#   QEMU q35 took 303 s launch to exit at host load 21, 170 s of it before L2's clock started
#   (SeaBIOS, loading the kernel)),
#   VMON_NESTED_L1_SMP (outer -smp value, default "2,sockets=2"), VMON_NESTED_TSC_MHZ (host TSC
#   frequency, normally read from dmesg or /proc/cpuinfo), VMON_CACHE (image cache).
#
# L1 is booted with tsc_early_khz=<host TSC kHz> tsc=reliable: without it L1 often fails to
# calibrate its TSC under TCG, and then L1's KVM never enters a guest (the inner VMM hangs).
#
# Steps: build (cached, see scripts/build-kernel.sh and scripts/build-initramfs.sh) the L1
# kernel, the L2 bzImage + vmlinux and the L2 initramfs; assemble an L1 initramfs (busybox, the
# inner VMM, the L2 images, an /init that runs the cases); boot it under `timeout` with the
# console piped through `sed -u` into a log; parse the CASE lines that L1 prints:
#   CASE <name> rc=<VMM exit status> ms=<launch-to-exit ms> marker=<yes|no>
#        marker_ms=<launch-to-marker ms|-> cpus=<n|-> l2_uptime=<L2's /proc/uptime at marker|->
#        test_rc=<rc|-> disk=<..|-> exits=<n|-> kvm_exits=<n|-> io_exits=<n|-> mmio_exits=<n|->
#   The exit counts are L1's KVM statistics for the inner VMM's VM (debugfs kvm/<pid>-<fd>/,
#   polled every 0.5 s while it runs: the last reading, so up to 0.5 s short): kvm_exits all VM
#   exits, io_exits port-I/O intercepts (nearly all go to the VMM: UART, PCI config), mmio_exits
#   MMIO emulations handed to user space; exits = io_exits + mmio_exits, the exits to user space.
# Cases: bzimage-1cpu, bzimage-2cpu (bzImage entry), pvh-1cpu (ELF vmlinux, PVH entry); with
# vmon also virtio-rng, virtio-blk, virtio-blk-ro and virtio-net (L1 makes TAP tap0 with busybox
# tunctl as 10.0.2.1/24, vmon attaches --net tap=tap0, L2 pings 10.0.2.1 from eth0). A case
# passes when the VMM exits 0, the L2 marker line was seen and it reports the expected CPU count.
# acpi-poweroff (vmon): the l2pci kernel (scripts/build-kernel.sh l2pci) powers off through ACPI S5;
# it also needs vmon to say so: its "guest powered off (ACPI S5)" line or the acpi-pm
# device's --stats row counting one poweroff.
# The non-PCI cases boot the project's L2 kernel (guests/linux/l2.config: no PCI) and give vmon
# --transport mmio; its default on x86 is pci.
# PCI cases (issue #11; both inner VMMs; vmon gets --transport pci, QEMU -M q35 with
# virtio-*-pci devices; each must end by powering off):
#   stock-root       Debian's linux-image-6.1.0-*-amd64 (scripts/fetch-stock-kernel.sh) with its
#                    initramfs (scripts/build-initramfs-stock.sh: virtio_pci, virtio_blk, ext4, ...)
#                    boots the ext4 root of scripts/build-rootfs-stock.sh read-write from
#                    --disk; its init writes /stock-root.txt and powers off. The image comes back
#                    out of L1 through L1's own disk: the outer QEMU gives L1 a virtio-blk-pci
#                    drive holding a copy of the image, L1 copies it to RAM for the inner VMM and
#                    back to the drive after the case; the host then reads the file with debugfs
#                    and checks the file system with e2fsck -fn. vmon gets no --transport here:
#                    the issue's user story, the stock kernel on the default (pci on x86).
#   pci-blk-net-rng  the project's L2 kernel with ACPI and PCI (build-kernel.sh l2pci) runs
#                    guests/linux/l2-tests/pcidev (disk read, ping over tap0, /dev/hwrng, and
#                    PCI-MSI lines for every virtio device in /proc/interrupts), then poweroff.
# Times are taken inside L1 with busybox `adjtimex` (gettimeofday, 1 us resolution; each reading
# costs a fork under TCG) or, if that fails, /proc/uptime (10 ms); L1 says which it used.
#
# Output ends with `N passed, N failed[, N skipped]`. Exit status: 0 all passed or skipped,
# 1 some case failed, 2 the L1 run timed out, 3 L1 never reached its /init, 4 L1 has no /dev/kvm,
# 5 building the images failed. Missing prerequisites (qemu, the vmon binary, busybox) are
# reported as `SKIP: <reason>` with every case counted as skipped, exit 0.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMON_LOG_TAG=nested
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/nested.sh
source "$repo/scripts/lib/nested.sh"

vmm=$repo/build/vmon.static
inner=vmon
timeout_s=${VMON_NESTED_TIMEOUT:-1200}
case_timeout_s=${VMON_NESTED_CASE_TIMEOUT:-150}
pci_case_timeout_s=${VMON_NESTED_PCI_CASE_TIMEOUT:-600}
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--vmm=*) vmm=${1#*=}; shift ;;
	--inner) inner=$2; shift 2 ;;
	--inner=*) inner=${1#*=}; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
case $inner in vmon | qemu) ;; *) echo "--inner must be vmon or qemu" >&2; exit 2 ;; esac

# name, vCPUs, kernel inside L1, L2 test (guests/linux/l2-tests, - for none), extra vmon flags
cases=(
	"bzimage-1cpu 1 /l2/bzImage -"
	"bzimage-2cpu 2 /l2/bzImage -"
	"pvh-1cpu 1 /l2/vmlinux -"
)
# Device cases need vmon's own devices; QEMU's microvm is only the harness check.
if [ "$inner" = vmon ]; then
	cases+=(
		"virtio-rng 1 /l2/bzImage rng"
		"virtio-blk 1 /l2/bzImage blk --disk /l2/disk.img"
		"virtio-blk-ro 1 /l2/bzImage blkro --disk /l2/disk.img,ro"
		"virtio-net 1 /l2/bzImage net --net tap=tap0,mac=52:54:00:12:34:56"
	)
	# acpi-poweroff: the l2pci kernel (ACPI + PCI) finds its machine through vmon's ACPI tables and
	# powers off through S5 (guests/linux/l2-tests/poweroff); vmon must exit 0 saying so.
	cases+=("acpi-poweroff 1 /l2/bzImage-pci poweroff")
fi
# ---- PCI cases (issue #11), for both inner VMMs; run by /bin/inner-vmm-pci, which takes
# name CPUS KERNEL TEST and then KEY=VALUE words: initrd=, mem=, disk=PATH[,ro],
# net=TAP,MAC, append=WORD (added to the kernel command line), transport=default (vmon gets
# no --transport: its default must be the PCI one; QEMU ignores it).
pci_cases=(
	"stock-root 1 /l2/stock/vmlinuz - initrd=/l2/stock/initrd.cpio mem=512M disk=/tmp/stock-root.img append=root=/dev/vda append=rw transport=default"
	"pci-blk-net-rng 1 /l2/bzImage-pci pcidev disk=/l2/pci-disk.img,ro net=tap0,52:54:00:12:34:56 append=vmon.test=poweroff"
)
declare -A is_pci_case=()
for c in "${pci_cases[@]}"; do is_pci_case[${c%% *}]=1; done
cases+=("${pci_cases[@]}")
# ---- end of the PCI cases
# VMON_NESTED_CASES="name ..." runs only those cases (the demo runs one).
if [ -n "${VMON_NESTED_CASES:-}" ]; then
	picked=()
	for c in "${cases[@]}"; do
		for want in $VMON_NESTED_CASES; do [ "${c%% *}" = "$want" ] && picked+=("$c"); done
	done
	[ ${#picked[@]} -gt 0 ] || { echo "VMON_NESTED_CASES matches no case" >&2; exit 2; }
	cases=("${picked[@]}")
fi
ncases=${#cases[@]}

summary() { # passed failed skipped
	if [ "$3" -gt 0 ]; then echo "$1 passed, $2 failed, $3 skipped"; else echo "$1 passed, $2 failed"; fi
}
skip_all() {
	echo "SKIP: $*"
	summary 0 0 "$ncases"
	exit 0
}

# ---------------------------------------------------------------- prerequisites
command -v qemu-system-x86_64 >/dev/null ||
	skip_all "qemu-system-x86_64 not found (install the Debian package qemu-system-x86)"
command -v timeout >/dev/null || skip_all "timeout not found (install coreutils)"
busybox=/bin/busybox
[ -x "$busybox" ] || skip_all "$busybox not found (install the Debian package busybox-static)"
if [ "$inner" = vmon ]; then
	[ -f "$vmm" ] || skip_all "vmon binary $vmm not found (build it first, or pass --vmm PATH)"
	[ -x "$vmm" ] || skip_all "vmon binary $vmm is not executable"
	vmm=$(readlink -f "$vmm")
else
	qemu_bin=$(readlink -f "$(command -v qemu-system-x86_64)")
	qemu_share=/usr/share/qemu
	[ -e "$qemu_share/bios-microvm.bin" ] ||
		skip_all "$qemu_share/bios-microvm.bin not found (install qemu-system-data)"
	command -v ldd >/dev/null || skip_all "ldd not found (install libc-bin)"
fi

# ---------------------------------------------------------------- images
t_start=$SECONDS
log "building/looking up images (cached in $VMON_CACHE)"
l1=$("$repo/scripts/build-kernel.sh" l1) || { echo "ERROR: building the L1 kernel failed"; summary 0 "$ncases" 0; exit 5; }
l2=$("$repo/scripts/build-kernel.sh" l2) || { echo "ERROR: building the L2 kernel failed"; summary 0 "$ncases" 0; exit 5; }
l2initrd=$("$repo/scripts/build-initramfs.sh") || { echo "ERROR: building the L2 initramfs failed"; summary 0 "$ncases" 0; exit 5; }
# The l2pci kernel only when a case boots it.
l2pci=
for c in "${cases[@]}"; do
	case $c in *" /l2/bzImage-pci "*)
		l2pci=$("$repo/scripts/build-kernel.sh" l2pci) || { echo "ERROR: building the l2pci kernel failed"; summary 0 "$ncases" 0; exit 5; } ;;
	esac
done
gen=$(gen_init_cpio_tool)
# ---- PCI case images: a case whose images cannot be had is not run; the verdict reports it
# as SKIP (a prerequisite from outside: the Debian package) or FAIL (our own build failed).
declare -A pci_skip=() pci_fail=()
has_case() { local c; for c in "${cases[@]}"; do [ "${c%% *}" = "$1" ] && return 0; done; return 1; }
if has_case stock-root; then
	if ! command -v mkfs.ext4 >/dev/null || ! command -v debugfs >/dev/null || ! command -v e2fsck >/dev/null; then
		pci_skip[stock-root]="mkfs.ext4/debugfs/e2fsck not found (install the Debian package e2fsprogs)"
	elif ! stock=$("$repo/scripts/fetch-stock-kernel.sh"); then
		pci_skip[stock-root]="Debian's linux-image-6.1.0-*-amd64 could not be fetched (scripts/fetch-stock-kernel.sh)"
	elif ! stockrd=$("$repo/scripts/build-initramfs-stock.sh" "$stock"); then
		pci_fail[stock-root]="building the stock initramfs failed (scripts/build-initramfs-stock.sh)"
	elif ! stockroot=$("$repo/scripts/build-rootfs-stock.sh"); then
		pci_fail[stock-root]="building the stock root image failed (scripts/build-rootfs-stock.sh)"
	fi
fi
# (pci-blk-net-rng boots /l2/bzImage-pci, the l2pci kernel built above for it as for acpi-poweroff)
if [ ${#pci_skip[@]} -gt 0 ] || [ ${#pci_fail[@]} -gt 0 ]; then
	run=()
	for c in "${cases[@]}"; do
		n=${c%% *}
		[ -n "${pci_skip[$n]+x}${pci_fail[$n]+x}" ] || run+=("$c")
	done
	cases=(${run[@]+"${run[@]}"})
fi
# ---- end of the PCI case images
log "images ready after $((SECONDS - t_start)) s: L1 $l1, L2 $l2, initrd $l2initrd"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-nested.XXXXXX")
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	rm -f "$tmp/l1.cpio"
	if [ "$keep" = 1 ] || [ "${outcome:-fail}" != pass ]; then
		echo "logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- L1 initramfs
l1_list_init "$tmp/l1.list" "$busybox"
add_file /l2/bzImage "$l2/bzImage" 0644
add_file /l2/vmlinux "$l2/vmlinux" 0644
add_file /l2/initrd.cpio "$l2initrd" 0644
[ -z "$l2pci" ] || add_file /l2/bzImage-pci "$l2pci/bzImage" 0644
# An empty ext2 image for the virtio-blk cases; debugfs reads it back in L1.
if [ "$inner" = vmon ]; then
	if ! command -v mke2fs >/dev/null || ! command -v debugfs >/dev/null; then
		skip_all "mke2fs/debugfs not found (install the Debian package e2fsprogs)"
	fi
	truncate -s 16M "$tmp/disk.img"
	mke2fs -q -t ext2 -F "$tmp/disk.img"
	add_file /l2/disk.img "$tmp/disk.img" 0644
	add_with_libs "$(command -v debugfs)" /sbin/debugfs
fi

# ---- PCI case files. stock-root's image travels as L1's own disk (/dev/vda in L1, a
# virtio-blk-pci drive of the outer QEMU), so that the host can read it after L1 is gone.
L1_QEMU_EXTRA=()
if has_case stock-root && [ -z "${pci_skip[stock-root]+x}${pci_fail[stock-root]+x}" ]; then
	add_file /l2/stock/vmlinuz "$stock/vmlinuz" 0644
	add_file /l2/stock/initrd.cpio "$stockrd" 0644
	cp "$stockroot" "$tmp/stock-root.img"
	# shellcheck disable=SC2054 # the commas are inside QEMU option values
	L1_QEMU_EXTRA+=(-drive "file=$tmp/stock-root.img,format=raw,if=none,id=stockroot"
		-device virtio-blk-pci,drive=stockroot)
fi
if has_case pci-blk-net-rng; then
	# 1 MiB, read-only in L2, which checks that it starts with this line
	printf 'VMON-PCI-DISK\n' >"$tmp/pci-disk.img"
	truncate -s 1M "$tmp/pci-disk.img"
	add_file /l2/pci-disk.img "$tmp/pci-disk.img" 0644
fi
# QEMU runs the PCI cases as q35 (SeaBIOS; microvm's pcie=on gives Linux no usable config
# space access: "PCI: Fatal: No config space access function found").
if [ "$inner" = qemu ] && [ ${#is_pci_case[@]} -gt 0 ]; then
	for f in /usr/share/seabios/bios-256k.bin "$qemu_share/kvmvapic.bin"; do
		[ -e "$f" ] && add_file "/usr/share/qemu/${f##*/}" "$f" 0644
	done
fi
# ---- end of the PCI case files

# VMON_NESTED_L2_CMDLINE replaces the L2 command line (less the reboot= choice);
# VMON_NESTED_VMON_ARGS adds vmon flags (e.g. --stats). The demo uses both.
l2_cmdline_common=${VMON_NESTED_L2_CMDLINE:-"console=ttyS0 panic=-1 quiet"}
if [ "$inner" = vmon ]; then
	add_with_libs "$vmm" /bin/vmon
	# shellcheck disable=SC2016 # $1/$2 expand in the generated script
	inner_cmd='cpus=$1 kernel=$2 test=$3; shift 3; [ "$test" = - ] && test=
exec /bin/vmon run '"${VMON_NESTED_VMON_ARGS:-}"' --stats --transport mmio --kernel "$kernel" --initrd /l2/initrd.cpio --mem 256M \
	--cpus "$cpus" --cmdline "'"$l2_cmdline_common"' reboot=k${test:+ vmon.test=$test}" "$@"'
else
	add_with_libs "$qemu_bin" /usr/bin/qemu-system-x86_64
	# firmware and option ROMs microvm loads; bios-microvm.bin is a symlink: copy its target
	for f in bios-microvm.bin linuxboot_dma.bin pvh.bin; do
		[ -e "$qemu_share/$f" ] && add_file "/usr/share/qemu/$f" "$qemu_share/$f" 0644
	done
	# shellcheck disable=SC2016 # $1/$2 expand in the generated script
	inner_cmd='cpus=$1 kernel=$2; shift 3 # TEST and device flags are for vmon cases only
exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M microvm -enable-kvm -cpu host \
	-m 256M -smp "$cpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
	-kernel "$kernel" -initrd /l2/initrd.cpio -append "'"$l2_cmdline_common"' reboot=t"'
fi

# ---- /bin/inner-vmm-pci CPUS KERNEL TEST KEY=VALUE...: the PCI cases' inner VMM command
# (KEY=VALUE as in pci_cases above; the rng is always there). vmon gets --transport pci
# (none for transport=default),
# QEMU a q35 machine (ACPI, MCFG, MSI; SeaBIOS boots the kernel).
cat >"$tmp/inner-vmm-pci" <<EOF
#!/bin/sh
# inner-vmm-pci CPUS KERNEL TEST KEY=VALUE...: a PCI case under $inner (made by nested.sh)
inner=$inner
base="$l2_cmdline_common"
vmon_args="${VMON_NESTED_VMON_ARGS:-}"
EOF
cat >>"$tmp/inner-vmm-pci" <<'EOF'
cpus=$1 kernel=$2 test=$3
shift 3
initrd=/l2/initrd.cpio mem=256M append= devs= n=0 transport="--transport pci"
for a in "$@"; do
	case $a in
	initrd=*) initrd=${a#*=} ;;
	mem=*) mem=${a#*=} ;;
	append=*) append="$append ${a#*=}" ;;
	transport=default) transport= ;;
	disk=*)
		d=${a#*=} n=$((n + 1)) ro=
		if [ $inner = vmon ]; then
			devs="$devs --disk $d"
		else
			case $d in *,ro) d=${d%,ro} ro=,readonly=on ;; esac
			devs="$devs -drive file=$d,format=raw,if=none,id=d$n$ro -device virtio-blk-pci,drive=d$n"
		fi
		;;
	net=*)
		v=${a#*=}
		tap=${v%%,*} mac=${v#*,}
		if [ $inner = vmon ]; then
			devs="$devs --net tap=$tap,mac=$mac"
		else # romfile=: no PXE ROM (efi-virtio.rom is not in L1)
			devs="$devs -netdev tap,id=n0,ifname=$tap,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=$mac,romfile="
		fi
		;;
	*) echo "inner-vmm-pci: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ "$test" = - ] || append=" vmon.test=$test$append" # the case's test runs first
if [ $inner = vmon ]; then
	# shellcheck disable=SC2086 # $vmon_args, $transport and $devs are word lists
	exec /bin/vmon run $vmon_args --stats $transport --kernel "$kernel" --initrd "$initrd" \
		--mem "$mem" --cpus "$cpus" --cmdline "$base reboot=k$append" $devs
fi
# shellcheck disable=SC2086
exec /usr/bin/qemu-system-x86_64 -L /usr/share/qemu -M q35 -enable-kvm -cpu host \
	-m "$mem" -smp "$cpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$base reboot=t$append" $devs -device virtio-rng-pci
EOF
# ---- end of inner-vmm-pci

case_calls=
for c in "${cases[@]}"; do
	if [ -n "${is_pci_case[${c%% *}]+x}" ]; then # PCI cases: their own inner VMM and time limit
		case_calls+="INNER_VMM=/bin/inner-vmm-pci CASE_TIMEOUT=$pci_case_timeout_s"$'\n'
		case_calls+="run_case $c"$'\n'
		case_calls+="INNER_VMM=/bin/inner-vmm CASE_TIMEOUT=$case_timeout_s"$'\n'
	else
		case_calls+="run_case $c"$'\n'
	fi
done

cat >"$tmp/init" <<EOF
#!/bin/sh
# L1 /init generated by tests/e2e/nested.sh (inner VMM: $inner)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
read -r up _ </proc/uptime
echo
echo "VMON-L1-INIT-OK uptime=\$up cpus=\$(grep -c '^processor' /proc/cpuinfo)"
CASE_TIMEOUT=$case_timeout_s
EOF
cat >>"$tmp/init" <<'EOF'
CR=$(printf '\r')
# Clock: busybox date has no %N; `adjtimex` prints gettimeofday with microseconds.
T0=$(adjtimex 2>/dev/null | awk '/tv_sec/ {print $2}')
if [ -n "$T0" ]; then
	CLOCK=adjtimex
	now_ms() { adjtimex | awk -v b="$T0" '/tv_sec/ {s=$2} /tv_usec/ {u=$2} END {printf "%d\n", (s-b)*1000 + u/1000}'; }
else
	CLOCK=proc-uptime
	now_ms() { awk '{printf "%d\n", $1*1000}' /proc/uptime; }
fi
CS=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
echo "L1-CLOCK source=$CLOCK clocksource=$CS"

# ---- KVM exit counts and the stock-root image's trip through L1's disk (PCI cases)
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/debug/kvm ] || echo "L1-DEBUGFS no /sys/kernel/debug/kvm: no exit counts (CONFIG_DEBUG_FS)"
exits_poll() { # every 0.5 s: "<exits> <io_exits> <mmio_exits>" of the live VM(s) to /tmp/exits
	while :; do
		for d in /sys/kernel/debug/kvm/*-*; do
			[ -r "$d/exits" ] || continue
			read -r e <"$d/exits" && read -r i <"$d/io_exits" && read -r m <"$d/mmio_exits" &&
				echo "$e $i $m" >/tmp/exits.new && mv -f /tmp/exits.new /tmp/exits
		done
		sleep 0.5
	done
}
case_pre() { # NAME: stock-root boots a RAM copy of L1's /dev/vda (the outer QEMU's drive)
	[ "$1" = stock-root ] || return 0
	if [ ! -b /dev/vda ]; then
		echo "L1-STOCK-DISK no /dev/vda in L1 (CONFIG_VIRTIO_PCI in l1.config? the outer drive?)"
	elif dd if=/dev/vda of=/tmp/stock-root.img bs=1M 2>/dev/null; then
		echo "L1-STOCK-DISK copied /dev/vda to /tmp/stock-root.img ($(wc -c </tmp/stock-root.img) bytes)"
	else
		echo "L1-STOCK-DISK copying /dev/vda failed"
	fi
}
case_post() { # NAME: ... and writes it back for the host to read after L1 exits
	[ "$1" = stock-root ] && [ -f /tmp/stock-root.img ] || return 0
	if dd if=/tmp/stock-root.img of=/dev/vda bs=1M 2>/dev/null && sync; then
		echo "L1-STOCK-DISK wrote /tmp/stock-root.img back to /dev/vda"
	else
		echo "L1-STOCK-DISK writing back to /dev/vda failed"
	fi
	rm -f /tmp/stock-root.img
}
# ---- end of the PCI case helpers

run_case() { # NAME CPUS KERNEL TEST [VMON FLAGS...]
	name=$1
	shift
	rm -f /tmp/rc /tmp/mark /tmp/test /tmp/exits
	echo "L1-CASE-START $name"
	# The net case: L1 owns tap0 (10.0.2.1/24) before vmon attaches to it; L2 pings it.
	if { [ "$3" = net ] || [ "$3" = pcidev ]; } && [ ! -e /sys/class/net/tap0 ]; then
		tunctl -t tap0 >/dev/null && ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up ||
			echo "L1-NET-SETUP failed"
	fi
	case_pre "$name"
	exits_poll &
	poller=$!
	t0=$(now_ms)
	{ timeout -s KILL "$CASE_TIMEOUT" "${INNER_VMM:-/bin/inner-vmm}" "$@" </dev/null 2>&1; echo $? >/tmp/rc; } |
		while IFS= read -r line; do
			line=${line%"$CR"}
			case $line in
			*VMON-L2-INIT-OK*) echo "$(now_ms) $line" >/tmp/mark ;;
			*VMON-L2-TEST*) echo "$line" >>/tmp/test ;;
			esac
			echo "L2| $line"
		done
	t1=$(now_ms)
	kill "$poller" 2>/dev/null
	wait "$poller" 2>/dev/null
	kx=- iox=- mmx=- ux=-
	[ -s /tmp/exits ] && read -r kx iox mmx </tmp/exits && ux=$((iox + mmx))
	case_post "$name"
	rc=$(cat /tmp/rc 2>/dev/null || echo none)
	marker=no mms=- cpus=- l2up=-
	if [ -f /tmp/mark ]; then
		marker=yes
		read -r tm _ </tmp/mark
		mms=$((tm - t0))
		cpus=$(sed -n 's/.*VMON-L2-INIT-OK.* cpus=\([0-9]*\).*/\1/p' /tmp/mark)
		l2up=$(sed -n 's/.*VMON-L2-INIT-OK.* uptime=\([0-9.]*\).*/\1/p' /tmp/mark)
	fi
	trc=$(sed -n "s/.*VMON-L2-TEST name=$3 rc=\([^ ]*\).*/\1/p" /tmp/test 2>/dev/null | head -n 1)
	disk=-
	# After the blk case, the file L2 wrote must be in the image, read without L2.
	[ "$3" = blk ] && disk=$(debugfs -R "cat /hello.txt" /l2/disk.img 2>/dev/null | head -n 1)
	echo "CASE $name rc=$rc ms=$((t1 - t0)) marker=$marker marker_ms=$mms cpus=${cpus:--} l2_uptime=${l2up:--} test_rc=${trc:--} disk=${disk:--} exits=$ux kvm_exits=$kx io_exits=$iox mmio_exits=$mmx"
}

if [ -c /dev/kvm ]; then
	echo "L1-KVM ok"
EOF
cat >>"$tmp/init" <<EOF
$case_calls
else
	echo "L1-NO-KVM /dev/kvm missing"
fi
echo "VMON-L1-DONE"
reboot -f
EOF
add_file /init "$tmp/init"
# the inner VMM command line, as a script so that busybox `timeout` can run it: inner-vmm CPUS KERNEL
printf '#!/bin/sh\n# inner-vmm CPUS KERNEL: boot the L2 kernel with %s\n%s\n' "$inner" "$inner_cmd" >"$tmp/inner-vmm"
add_file /bin/inner-vmm "$tmp/inner-vmm"
add_file /bin/inner-vmm-pci "$tmp/inner-vmm-pci"

"$gen" "$list" >"$tmp/l1.cpio" || { echo "ERROR: gen_init_cpio failed for the L1 initramfs"; exit 5; }
log "L1 initramfs: $(du -h "$tmp/l1.cpio" | cut -f1) (inner VMM: $inner)"

# ---------------------------------------------------------------- run L1
consolelog=$tmp/console.log
# scripts/lib/nested.sh: l1_qemu boots L1 with the TSC rate on its command line (or L1's KVM may hang)
log "booting L1 (timeout ${timeout_s} s, -smp ${VMON_NESTED_L1_SMP:-2,sockets=2}, cmdline: $(l1_kernel_cmdline))"
log "console log: $consolelog"
t_l1=$SECONDS
set +e
l1_qemu "$timeout_s" "$l1" "$tmp/l1.cpio" | tee "$consolelog" | sed -u 's/^/[L1] /'
qrc=${PIPESTATUS[0]}
set -e
l1_secs=$((SECONDS - t_l1))
log "L1 run ended after ${l1_secs} s (qemu exit status $qrc)"

# ---------------------------------------------------------------- verdict
passed=0 failed=0 skipped=0
# ---- PCI cases: those not run, and the checks beyond rc/marker/cpus/test_rc (append to why)
for n in "${!pci_skip[@]}"; do echo "SKIP $n: ${pci_skip[$n]}"; skipped=$((skipped + 1)); done
for n in "${!pci_fail[@]}"; do echo "FAIL $n: ${pci_fail[$n]}"; failed=$((failed + 1)); done
case_log() { sed -n "/^L1-CASE-START $1\$/,/^CASE $1 /p" "$consolelog"; }
pci_checks() { # NAME
	local s
	s=$(case_log "$1")
	if grep -q "unknown option '--transport'" <<<"$s"; then
		why=("this vmon has no --transport option yet (virtio-pci, issue #11): expected until it lands")
		return
	fi
	# a reset would end the VMM with 0 too: the guest must have asked for the power-off
	grep -qE '^L2\| (VMON-L2-POWEROFF$|VMON-L2-TEST name=poweroff rc=0)' <<<"$s" || why+=("L2 never reached its poweroff")
	! grep -q '^L2| VMON-L2-POWEROFF-FAILED' <<<"$s" || why+=("L2's poweroff -f returned (no ACPI S5?)")
	[ "$inner" != vmon ] || grep -qE 'guest powered off \(ACPI S5\)|acpi-pm @0x600: poweroffs 1,' <<<"$s" || why+=("vmon did not report an ACPI S5 poweroff")
	case $1 in
	stock-root)
		grep -q '^L2| VMON-STOCK-MODULES ' <<<"$s" || why+=("the stock initramfs did not load its modules")
		! grep -q '^L2| VMON-STOCK-ROOT-FAILED' <<<"$s" ||
			why+=("stock initramfs: $(grep -m1 -o 'VMON-STOCK-ROOT-FAILED.*' <<<"$s")")
		grep -q '^L2| VMON-STOCK-ROOT kernel=.* root=/dev/vda' <<<"$s" || why+=("the stock kernel did not run /sbin/init from /dev/vda")
		grep -q '^L1-STOCK-DISK wrote' <<<"$s" || why+=("L1 did not write the image back to its disk")
		local got
		got=$(debugfs -R 'cat /stock-root.txt' "$tmp/stock-root.img" 2>/dev/null | head -n 1 || true)
		[ "$got" = written-by-stock-l2 ] || why+=("the image has no /stock-root.txt with the right content (got '${got}')")
		e2fsck -fn "$tmp/stock-root.img" >"$tmp/stock-root.fsck" 2>&1 ||
			why+=("e2fsck -fn finds the image unclean (see $tmp/stock-root.fsck)")
		;;
	pci-blk-net-rng)
		local l devs msi
		l=$(grep -m1 -o 'VMON-L2-PCI .*' <<<"$s" || true)
		if [ -z "$l" ]; then
			why+=("no VMON-L2-PCI line from the pcidev test")
		else
			devs=$(sed -n 's/.* devs=\([0-9]*\).*/\1/p' <<<"$l") msi=$(sed -n 's/.* msi=\([0-9]*\).*/\1/p' <<<"$l")
			[ "${devs:-0}" -ge 3 ] || why+=("only ${devs:-0} virtio devices on virtio-pci, want 3 (blk, net, rng)")
			[ "$msi" = "$devs" ] || why+=("$msi of $devs virtio devices have PCI-MSI lines in /proc/interrupts")
			grep -q ' blk=ok' <<<"$l" || why+=("/dev/vda did not read the disk")
			grep -q ' rng=0' <<<"$l" || why+=("the rng test failed")
			grep -q ' net=0' <<<"$l" || why+=("the net test failed")
		fi
		;;
	esac
}
# ---- end of the PCI case checks
status=0
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "TIMEOUT: the L1 run did not finish within ${timeout_s} s"
	status=2
fi
if ! grep -q 'VMON-L1-INIT-OK' "$consolelog"; then
	if [ $status -eq 2 ]; then
		echo "ERROR: L1 never reached its /init before the timeout (see $consolelog)"
	else
		echo "ERROR: L1 never reached its /init (kernel or initramfs problem; see $consolelog)"
	fi
	grep -m1 -E 'Kernel panic|not syncing' "$consolelog" || true
	[ $status -ne 0 ] || status=3
elif grep -q '^L1-NO-KVM' "$consolelog"; then
	echo "ERROR: L1 booted but has no /dev/kvm (CONFIG_KVM_AMD / -cpu max with SVM?)"
	[ $status -ne 0 ] || status=4
else
	grep -m1 -o 'VMON-L1-INIT-OK.*' "$consolelog" | sed 's/^/L1 reached init: /'
	grep -m1 '^L1-CLOCK' "$consolelog" || true
	grep -q '^L1-CLOCK.*clocksource=tsc' "$consolelog" ||
		echo "WARNING: L1's clocksource is not the TSC: times measured in L1 may be off"
fi

for c in "${cases[@]}"; do
	read -r name want_cpus _ want_test _ <<<"$c"
	line=$(grep -m1 "^CASE $name " "$consolelog" || true)
	if [ -z "$line" ]; then
		echo "FAIL $name: no result (L1 ended or timed out before the case finished)"
		failed=$((failed + 1))
		continue
	fi
	rc=$(sed -n 's/.* rc=\([^ ]*\).*/\1/p' <<<"$line")
	marker=$(sed -n 's/.* marker=\([^ ]*\).*/\1/p' <<<"$line")
	cpus=$(sed -n 's/.* cpus=\([^ ]*\).*/\1/p' <<<"$line")
	why=()
	limit=$case_timeout_s
	[ -z "${is_pci_case[$name]+x}" ] || limit=$pci_case_timeout_s
	[ "$rc" = 0 ] || why+=("VMM exit status $rc$([ "$rc" != 137 ] || echo " (killed after ${limit} s)")")
	[ "$marker" = yes ] || why+=("no VMON-L2-INIT-OK marker")
	[ "$marker" != yes ] || [ "$cpus" = "$want_cpus" ] || why+=("L2 saw $cpus CPUs, expected $want_cpus")
	test_rc=$(sed -n 's/.* test_rc=\([^ ]*\).*/\1/p' <<<"$line")
	[ "$want_test" = - ] || [ "$test_rc" = 0 ] || why+=("L2 test $want_test gave rc=$test_rc")
	if [ "$want_test" = blk ] && ! grep -q ' disk=written-by-vmon-l2' <<<"$line"; then
		why+=("the file L2 wrote is not in the disk image")
	fi
	if [ "$name" = acpi-poweroff ] && ! grep -qE 'guest powered off \(ACPI S5\)|acpi-pm @0x600: poweroffs 1,' "$consolelog"; then
		why+=("vmon did not report an ACPI S5 poweroff")
	fi
	[ -z "${is_pci_case[$name]+x}" ] || pci_checks "$name"
	details=${line#CASE "$name" }
	if [ ${#why[@]} -eq 0 ]; then
		echo "PASS $name: $details"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $(IFS=';'; echo "${why[*]}") [$details]"
		failed=$((failed + 1))
	fi
done

echo "nested run: inner=$inner, L1 wall time ${l1_secs} s, total $((SECONDS - t_start)) s"
summary "$passed" "$failed" "$skipped"
[ $failed -eq 0 ] || [ $status -ne 0 ] || status=1
[ $status -ne 0 ] || outcome=pass
exit $status
