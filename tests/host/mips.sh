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

	# Pause through the API as soon as it answers; paused, the guest prints nothing; resumed,
	# it boots on to the marker and vmon ends with status 0.
	if command -v curl >/dev/null && "$VMON" run --help 2>&1 | grep -q -- '--api-sock'; then
		sock=$T/api.sock
		"$VMON" run --api-sock "$sock" --arch mips32 --kernel "$kdir/vmlinux" \
			--initrd "$initrd" --mem 64M </dev/null >"$T/out" 2>"$T/err" &
		vpid=$!
		api() { curl -s -m 10 --unix-socket "$sock" -H 'Content-Type: application/json' "$@"; }
		for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.01; done
		p=$(api -o /dev/null -w '%{http_code}' -X PATCH -d '{"state":"Paused"}' http://localhost/vm)
		st=$(api http://localhost/)
		n1=$(wc -c <"$T/out"); sleep 0.5; n2=$(wc -c <"$T/out")
		r=$(api -o /dev/null -w '%{http_code}' -X PATCH -d '{"state":"Resumed"}' http://localhost/vm)
		wait "$vpid"
		rc=$?
		if [ "$p" = 204 ] && [ "$r" = 204 ] && grep -q '"state":"Paused"' <<<"$st" &&
		   [ "$n1" = "$n2" ] && [ "$rc" = 0 ] && grep -q 'VMON-MIPS-INIT-OK' "$T/out"; then
			ok "mips-api-pause-resume (paused at $n1 bytes of output)"
		else
			bad mips-api-pause-resume "pause $p, state '$st', output $n1 -> $n2 while paused, resume $r, exit $rc"
		fi
	else
		skip mips-api-pause-resume "curl or --api-sock missing"
	fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
