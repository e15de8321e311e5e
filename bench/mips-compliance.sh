#!/usr/bin/env bash
# bench/mips-compliance.sh - run a public C test suite (c-testsuite, github.com/c-testsuite/
# c-testsuite, tests/single-exec; fetched as a git mirror, path in $CTS_REPO) in ONE boot of the
# MIPS guest under vmon (--arch mips32) and in one boot under qemu-system-mipsel -M mipssim, and
# compare: every test is cross-compiled (mipsel-linux-gnu-gcc -O1, dynamically linked against
# Debian's mipsel glibc, which goes into the initramfs), /init runs each (no timeout: busybox's
# sleep returns at once in this guest, under QEMU too, so `timeout` would race) and prints "VMON-CT <name> rc=<exit status> out=<md5 of its output>". The script reports how many
# tests match their .expected output and exit 0 under each VMM, and how many lines differ between
# vmon and QEMU (the verdict: 0 differences). Exit status 0 when vmon and QEMU agree on every test.
# Needs libc6-dev-mipsel-cross (crt files and libc for the cross compiler).
set -euo pipefail
cd "$(dirname "$0")/.."
VMON=${VMON:-build/vmon}
CTS_REPO=${CTS_REPO:-/work/.mirror/c-testsuite+c-testsuite/repo}
[ -d "$CTS_REPO" ] || { echo "SKIP: no c-testsuite mirror at $CTS_REPO (set CTS_REPO)"; exit 0; }
command -v qemu-system-mipsel >/dev/null || { echo "SKIP: qemu-system-mipsel missing"; exit 0; }
make --no-print-directory "$VMON" >&2
kdir=$(scripts/build-kernel-mips.sh)
bbinit=$(scripts/build-initramfs-mips.sh) # also fetches busybox-static:mipsel into the cache
bbdir=$(ls -d "${VMON_CACHE:-$HOME/.cache/vmon}"/busybox-mipsel-* | head -n 1)
# shellcheck source=../scripts/lib/cache.sh
source scripts/lib/cache.sh
gen=$(gen_init_cpio_tool)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
: "$bbinit"

mkdir -p "$T/src" "$T/bin"
# The mirror is a bare git directory (fetch tool) or a clone.
if [ -d "$CTS_REPO/.git" ]; then gd=$CTS_REPO/.git; else gd=$CTS_REPO; fi
git --git-dir="$gd" archive HEAD tests/single-exec | tar -x -C "$T/src"
src=$T/src/tests/single-exec
built=0 skipped=0
for c in "$src"/*.c; do
	n=$(basename "$c" .c)
	if mipsel-linux-gnu-gcc -O1 -w -o "$T/bin/$n" "$c" -lm 2>/dev/null; then
		built=$((built + 1))
	else
		skipped=$((skipped + 1))
	fi
done
echo "c-testsuite: $built tests built for mipsel, $skipped do not compile with gcc (left out)"

cat >"$T/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
echo "VMON-CT-BEGIN"
for t in /ct/*; do
	out=$("$t" 2>&1 </dev/null)
	rc=$?
	echo "VMON-CT $(basename "$t") rc=$rc out=$(printf '%s' "$out" | md5sum | cut -c1-32)"
done
echo "VMON-CT-END"
reboot -f
INIT
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	for d in /proc /bin /lib /ct; do echo "dir $d 0755 0 0"; done
	echo "file /bin/busybox $bbdir/bin/busybox 0755 0 0"
	for a in sh mount echo cat md5sum cut basename printf reboot; do
		echo "slink /bin/$a /bin/busybox 0777 0 0"
	done
	for l in ld.so.1 libc.so.6 libm.so.6; do
		echo "file /lib/$l /usr/mipsel-linux-gnu/lib/$l 0755 0 0"
	done
	echo "file /init $T/init 0755 0 0"
	for b in "$T"/bin/*; do echo "file /ct/$(basename "$b") $b 0755 0 0"; done
} >"$T/list"
"$gen" "$T/list" >"$T/ct.cpio"

args="console=ttyS0 lpj=100000"
# QEMU's mipssim loads the initrd at the kernel's end rounded up to 64 KiB: say so in the DT.
end=0
while read -r typ _ _ paddr _ memsz _; do
	[ "$typ" = LOAD ] || continue
	e=$((paddr + memsz))
	[ "$e" -gt "$end" ] && end=$e
done < <(mipsel-linux-gnu-readelf -lW "$kdir/vmlinux")
rd=$(( ((end & 0x1fffffff) + 0xffff) & ~0xffff ))
mkdir -p build/bench
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc bench/mips_dtb.c src/arch/mips/dt.c \
	-o build/bench/mips_dtb -lfdt
build/bench/mips_dtb 128 "$args" "$rd" "$(stat -c %s "$T/ct.cpio")" >"$T/q.dtb"
cp "$kdir/vmlinux" "$T/vmlinux.q"
mipsel-linux-gnu-objcopy --update-section .appended_dtb="$T/q.dtb" "$T/vmlinux.q"

t0=$SECONDS
timeout 600 "$VMON" run --arch mips32 --kernel "$kdir/vmlinux" --initrd "$T/ct.cpio" --mem 128M \
	--cmdline "$args" </dev/null >"$T/vmon.out" 2>"$T/vmon.err" || true
tv=$((SECONDS - t0))
t0=$SECONDS
# mipssim cannot reset: stop QEMU once the suite's end line is out.
timeout 900 qemu-system-mipsel -M mipssim -cpu 24Kf -m 128 -nodefaults -display none \
	-serial stdio -kernel "$T/vmlinux.q" -initrd "$T/ct.cpio" </dev/null 2>&1 |
	awk '{ print } /VMON-CT-END/ { exit }' >"$T/qemu.out" || true
tq=$((SECONDS - t0))
tr -d '\r' <"$T/vmon.out" | grep '^VMON-CT ' >"$T/vmon.ct" || true
tr -d '\r' <"$T/qemu.out" | grep '^VMON-CT ' >"$T/qemu.ct" || true

expect_ok() { # FILE: how many lines say rc=0 and the output of the .expected file
	local n=0 name rc out want
	while read -r _ name rc out; do
		[ "$rc" = rc=0 ] || continue
		want=$(printf '%s' "$(cat "$src/$name.c.expected" 2>/dev/null)" | md5sum | cut -c1-32)
		[ "$out" = "out=$want" ] && n=$((n + 1))
	done <"$1"
	echo "$n"
}
echo "vmon: $(wc -l <"$T/vmon.ct") tests ran in ${tv}s, $(expect_ok "$T/vmon.ct") match .expected with status 0"
echo "qemu: $(wc -l <"$T/qemu.ct") tests ran in ${tq}s, $(expect_ok "$T/qemu.ct") match .expected with status 0"
ndiff=$(diff "$T/vmon.ct" "$T/qemu.ct" | grep -c '^[<>]' || true)
if [ "$ndiff" = 0 ] && [ -s "$T/vmon.ct" ]; then
	echo "vmon and qemu-system-mipsel agree on all $(wc -l <"$T/vmon.ct") tests"
else
	echo "vmon and qemu-system-mipsel differ on $ndiff lines:"
	diff "$T/vmon.ct" "$T/qemu.ct" | head -n 40
	tail -n 5 "$T/vmon.err"
	exit 1
fi
