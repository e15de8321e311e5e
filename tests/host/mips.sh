#!/usr/bin/env bash
# tests/host/mips.sh: the MIPS32 software vCPU end to end on this host (no KVM needed):
# vmon (ASan+UBSan build unless VMON is set) boots the project's MIPS Linux 6.1
# (scripts/build-kernel-mips.sh) with the busybox initramfs (scripts/build-initramfs-mips.sh)
# and a virtio-blk disk, and the checks assert the /init marker, the disk's first line read
# back in the guest, the guest's reboot ending vmon with status 0, and the --stats rows;
# plus the refusals of bad --arch input. Skips (counted) when the cross compiler or the
# mipsel busybox cannot be had. Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" | tail -40; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
run()  { timeout 60 "$VMON" run "$@" </dev/null >"$T/out" 2>"$T/err"; rc=$?; }

# --- input errors: no guest needed ---
run --arch sparc --kernel /dev/null
if [ "$rc" = 1 ] && grep -q -- '--arch sparc: unknown' "$T/err"; then ok arch-unknown-refused
else bad arch-unknown-refused "exit $rc"; fi
run --arch mips32 --cpus 2 --kernel /dev/null
if [ "$rc" = 1 ] && grep -q -- 'one vCPU' "$T/err"; then ok mips-two-cpus-refused
else bad mips-two-cpus-refused "exit $rc"; fi
run --arch mips32 --mem 512M --kernel /dev/null
if [ "$rc" = 1 ] && grep -q -- 'more than 256 MiB' "$T/err"; then ok mips-mem-too-big-refused
else bad mips-mem-too-big-refused "exit $rc"; fi
head -c 4096 /dev/zero >"$T/bad.elf" # long enough for a header, not ELF
run --arch mips32 --mem 32M --kernel "$T/bad.elf"
if [ "$rc" = 1 ] && grep -q 'not a 32-bit little-endian MIPS ELF' "$T/err"; then ok mips-bad-elf-refused
else bad mips-bad-elf-refused "exit $rc"; fi
if "$VMON" run --arch mips32 --kernel /x --dump-config 2>/dev/null | grep -q '"arch": "mips32"'; then
	ok arch-in-json
else
	bad arch-in-json "--dump-config lacks \"arch\": \"mips32\""
fi

# --- the boot ---
kdir=$(scripts/build-kernel-mips.sh 2>"$T/kbuild.log") || kdir=
initrd=$(scripts/build-initramfs-mips.sh 2>"$T/ibuild.log") || initrd=
if [ -z "$kdir" ] || [ -z "$initrd" ]; then
	skip mips-boot "no MIPS kernel or initramfs: $(tail -n 1 "$T/kbuild.log" "$T/ibuild.log" | tr '\n' ' ')"
else
	printf 'vmon-mips-disk-%s\n' "$$" >"$T/disk.img"
	truncate -s 1M "$T/disk.img"
	run --arch mips32 --kernel "$kdir/vmlinux" --initrd "$initrd" --mem 64M \
		--disk "$T/disk.img" --stats
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then bad mips-boot "sanitizer report"
	elif ! grep -q 'VMON-MIPS-INIT-OK' "$T/out"; then bad mips-boot "no /init marker (exit $rc)"
	else ok mips-boot-to-init; fi
	if grep -q "VMON-MIPS-DISK vmon-mips-disk-$$" "$T/out"; then ok mips-virtio-blk-read
	else bad mips-virtio-blk-read "the guest did not print the disk's first line"; fi
	if [ "$rc" = 0 ] && grep -q 'reboot: Restarting system' "$T/out"; then ok mips-reboot-status-0
	else bad mips-reboot-status-0 "exit $rc"; fi
	if grep -qE '^  mmio serial0 +0x1fd003f8 +[1-9]' "$T/err" &&
	   grep -qE 'virtio-blk0 @0x1e[0-9a-f]+: requests [1-9]' "$T/err"; then ok mips-stats
	else bad mips-stats "--stats lacks the serial0 / virtio-blk0 rows"; fi

	# An idle guest (busybox sleep 2) must not cost a spinning host CPU: wait blocks.
	# Host CPU seconds of a boot with `sleep 2` in /init minus one with `sleep 0`.
	cpu_of() { # SECONDS: host CPU time of one boot that sleeps that long in /init
		/usr/bin/time -f '%U %S' -o "$T/time" timeout 60 "$VMON" run --arch mips32 \
			--kernel "$kdir/vmlinux" --initrd "$initrd" --mem 64M \
			--cmdline "console=ttyS0 vmon.sleep=$1" </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		grep -q "VMON-MIPS-SLEPT $1" "$T/out" || rc=99
		awk 'END { print $1 + $2 }' "$T/time"
	}
	c0=$(cpu_of 0); rc0=$rc
	c2=$(cpu_of 2)
	if [ "$rc0" = 0 ] && [ "$rc" = 0 ] && awk -v a="$c0" -v b="$c2" 'BEGIN { exit !(b - a < 0.5) }'; then
		ok "mips-idle-does-not-spin (host cpu ${c0}s without, ${c2}s with a 2 s guest sleep)"
	else
		bad mips-idle-does-not-spin "exit $rc0/$rc, host cpu ${c0}s vs ${c2}s"
	fi

	# Pause and resume through the API while the guest sleeps.
	if command -v curl >/dev/null && "$VMON" run --help 2>&1 | grep -q -- '--api-sock'; then
		sock=$T/api.sock
		"$VMON" run --api-sock "$sock" --arch mips32 --kernel "$kdir/vmlinux" \
			--initrd "$initrd" --mem 64M --cmdline "console=ttyS0 vmon.sleep=3" \
			</dev/null >"$T/out" 2>"$T/err" &
		vpid=$!
		for _ in $(seq 100); do grep -q VMON-MIPS-INIT-OK "$T/out" && break; sleep 0.1; done
		p=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PATCH \
			-H 'Content-Type: application/json' -d '{"state":"Paused"}' http://localhost/vm)
		st=$(curl -s --unix-socket "$sock" http://localhost/)
		r=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PATCH \
			-H 'Content-Type: application/json' -d '{"state":"Resumed"}' http://localhost/vm)
		wait "$vpid"
		rc=$?
		if [ "$p" = 204 ] && [ "$r" = 204 ] && grep -q '"state":"Paused"' <<<"$st" &&
		   [ "$rc" = 0 ] && grep -q 'VMON-MIPS-SLEPT 3' "$T/out"; then
			ok mips-api-pause-resume
		else
			bad mips-api-pause-resume "pause $p, state '$st', resume $r, exit $rc"
		fi
	else
		skip mips-api-pause-resume "curl or --api-sock missing"
	fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
