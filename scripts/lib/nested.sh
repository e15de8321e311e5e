# shellcheck shell=bash
# scripts/lib/nested.sh - sourced by tests/e2e/nested.sh and bench/nested-io.sh: the pieces
# both need to boot an L1 Linux under QEMU TCG. Functions only; nothing runs on source.

# L1 initramfs list (gen_init_cpio format). l1_list_init FILE BUSYBOX starts one with the
# base system (device nodes, the usual directories, /l2, busybox and its applet links); the
# add_* helpers append to it, creating parent directories and each shared library once.
l1_list_init() {
	local applet d
	list=$1
	: >"$list"
	declare -gA have_dir=() have_lib=()
	add_dir /dev
	echo "nod /dev/console 0600 0 0 c 5 1" >>"$list"
	echo "nod /dev/null 0666 0 0 c 1 3" >>"$list"
	for d in /proc /sys /tmp /bin /sbin /usr/bin /usr/sbin /l2; do add_dir "$d"; done
	add_file /bin/busybox "$2"
	"$2" --list-full | while read -r applet; do
		[ "$applet" = bin/busybox ] || echo "slink /$applet /bin/busybox 0777 0 0"
	done >>"$list"
}
add_dir() { # create PATH and its parents in the image
	local d=$1
	[ "$d" = / ] || [ -n "${have_dir[$d]+x}" ] && return 0
	add_dir "$(dirname "$d")"
	have_dir[$d]=1
	echo "dir $d 0755 0 0" >>"$list"
}
add_file() { # PATH_IN_IMAGE HOST_FILE [MODE]; symlinks on the host are dereferenced
	add_dir "$(dirname "$1")"
	echo "file $1 $(readlink -f "$2") ${3:-0755} 0 0" >>"$list"
}
add_with_libs() { # HOST_BINARY PATH_IN_IMAGE: the binary plus its ldd libraries and loader
	add_file "$2" "$1"
	local lib
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)"
	for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		[ -n "${have_lib[$lib]+x}" ] && continue
		have_lib[$lib]=1
		add_file "$lib" "$lib"
	done
}

# L1's TSC. Under TCG the guest TSC ticks at the host's TSC rate, but L1 has no HPET/PM timer
# (no ACPI) and its PIT calibration fails often, more so when the host is busy: then L1 marks the
# TSC unstable with tsc_khz=0 and its KVM never enters a guest (KVM_RUN spins re-requesting a
# kvmclock update; the inner VMM hangs without printing a byte). So tell L1 the frequency.
host_tsc_khz() {
	local mhz=${VMON_NESTED_TSC_MHZ:-}
	if [ -z "$mhz" ]; then # the kernel's own calibration, when dmesg is readable
		mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p; s/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
	fi
	if [ -z "$mhz" ] && grep -qw constant_tsc /proc/cpuinfo; then
		mhz=$(awk -F': *' '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo)
	fi
	[ -n "$mhz" ] && awk -v m="$mhz" 'BEGIN {printf "%d\n", m * 1000 + 0.5}'
}

# Print L1's kernel command line: console, reset-as-exit, and the TSC rate when known.
l1_kernel_cmdline() {
	local c="console=ttyS0 reboot=k panic=-1 quiet kvm.report_ignored_msrs=0" khz
	if khz=$(host_tsc_khz) && [ -n "$khz" ]; then
		c+=" tsc_early_khz=$khz tsc=reliable"
	else
		log "WARNING: host TSC frequency unknown (set VMON_NESTED_TSC_MHZ); L1's KVM may hang"
	fi
	printf '%s\n' "$c"
}

# l1_qemu TIMEOUT_S L1_KERNEL_DIR INITRD: boot L1 under QEMU TCG (emulating AMD SVM) with
# l1_kernel_cmdline; its console, without CRs and the terminal escapes SeaBIOS prints, goes
# to stdout. Returns QEMU's (or timeout's) exit status. L1 gets 2 CPUs as `-smp 2,sockets=2`
# (VMON_NESTED_L1_SMP overrides it): plain `-smp 2` would give it only one, as QEMU 7.2's
# default topology is 1 socket x 2 cores and SeaBIOS's MP table lists only the first CPU of
# each package (L1 has no ACPI).
# A caller may set the array L1_QEMU_EXTRA: more QEMU arguments (nested.sh adds a disk).
l1_qemu() {
	timeout -k 10 "$1" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp "${VMON_NESTED_L1_SMP:-2,sockets=2}" -m 2048 -nographic -no-reboot \
		${L1_QEMU_EXTRA[@]+"${L1_QEMU_EXTRA[@]}"} \
		-kernel "$2/bzImage" -initrd "$3" -append "$(l1_kernel_cmdline)" </dev/null 2>&1 |
		sed -u 's/\r$//; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'
	return "${PIPESTATUS[0]}"
}
