#!/usr/bin/env bash
# tests/host/hostile.sh: what a guest (or a second vmon) must not reach through
# host files, checked on real vmon processes (issue #12): a disk image one vmon
# uses read-write cannot be opened by a second one, read-write or read-only
# (refused before boot with one line naming the image and "in use by another
# process"); two read-only users share an image; the lock goes with the
# process. The first vmon runs guests/hosttest/echo.c, which waits for input
# forever, fed by a FIFO nobody writes. Ends with "N passed, N failed, N
# skipped" (tests/host/run.sh adds these to its own).
# Needs: build/vmon.san, build/guests/{echo,hello}.elf, /dev/kvm.
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
G=build/guests
T=$(mktemp -d)
holder='' first=''
cleanup() {
	[ -n "$first" ] && kill "$first" 2>/dev/null
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" 2>/dev/null | head -30; }

# first_on DISK-ARG: start the long-lived first vmon with that --disk; 0 once its guest is up.
first_on() {
	sleep 60 >"$T/fifo" &
	holder=$!
	timeout 60 "$VMON" run -k $G/echo.elf --mem 4M --disk "$1" <"$T/fifo" >"$T/first.out" 2>"$T/first.err" &
	first=$!
	for _ in $(seq 100); do grep -q 'echo: ready' "$T/first.out" && return 0; sleep 0.1; done
	return 1
}
first_stop() {
	kill "$first" 2>/dev/null; wait "$first" 2>/dev/null
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
	first='' holder=''
}
# second NAME DISK-ARG: the second vmon, a guest that exits at once.
second() { timeout 30 "$VMON" run -k $G/hello.elf --mem 4M --disk "$2" >"$T/out" 2>"$T/err"; rc=$?; }
# refused NAME: exit 1 before boot, one line naming the image and the reason, no sanitizer report.
refused() {
	if [ "$rc" != 1 ]; then bad "$1" "exit status $rc, want 1"; return; fi
	if ! grep -qE -- "--disk '$T/disk.img.*in use by another process" "$T/err"; then
		bad "$1" "stderr lacks the image and 'in use by another process'"; return; fi
	if grep -q 'PASS hello' "$T/out"; then bad "$1" "the guest ran"; return; fi
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then bad "$1" "sanitizer report"; return; fi
	ok "$1"
}
runs() {
	if [ "$rc" != 0 ] || ! grep -q '^PASS hello$' "$T/out"; then bad "$1" "exit status $rc, want 0 and PASS hello"; return; fi
	ok "$1"
}

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP image-locks: /dev/kvm is absent or not accessible"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

mkfifo "$T/fifo"
head -c 65536 /dev/zero >"$T/disk.img"

# ---- one user read-write: nobody else
if first_on "$T/disk.img"; then
	second lock-rw-rw "$T/disk.img";    refused "image-lock: a second read-write vmon is refused"
	second lock-rw-ro "$T/disk.img,ro"; refused "image-lock: a read-only vmon beside a writer is refused"
else
	cp "$T/first.out" "$T/out"; cp "$T/first.err" "$T/err"; bad image-lock "the first vmon did not come up"
fi
first_stop

# ---- the lock went with the process
second lock-after "$T/disk.img"; runs "image-lock: free again once the first vmon is gone"

# ---- readers share
if first_on "$T/disk.img,ro"; then
	second lock-ro-ro "$T/disk.img,ro"; runs "image-lock: two read-only vmons share an image"
	second lock-ro-rw "$T/disk.img";    refused "image-lock: a writer beside a reader is refused"
else
	cp "$T/first.out" "$T/out"; cp "$T/first.err" "$T/err"; bad image-lock-ro "the first vmon did not come up"
fi
first_stop

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
