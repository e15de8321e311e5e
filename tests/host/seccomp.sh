#!/usr/bin/env bash
# tests/host/seccomp.sh: the sandbox's seccomp filters (src/sandbox/seccomp.c) on this host.
# vmon (ASan+UBSan build unless VMON is set) runs the tiny guests of guests/hosttest/; the
# checks assert that every thread of a running VM is filtered by default (Seccomp: 2 in
# /proc/PID/task/*/status, the vCPU and I/O threads with two stacked filters), that
# --seccomp=off leaves every thread unfiltered (Seccomp: 0), that a forbidden syscall in each
# role (VMON_SECCOMP_SELFTEST=<role>) kills vmon by SIGSYS with the report naming the role and
# the call, that the listing counts each role's calls (the vCPU's under Firecracker's 27), and
# that bad --seccomp values are usage errors. Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
G=build/guests
T=$(mktemp -d)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" 2>/dev/null | head -30; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
have_kvm=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && have_kvm=1
kvm_case() {
	if [ $have_kvm = 0 ]; then skip "$1" "/dev/kvm is absent or not accessible"; return 1; fi
	return 0
}

# ---- the listing: every role, the vCPU's list shorter than Firecracker's vCPU filter (27)
"$VMON" seccomp-list >"$T/out" 2>"$T/err"; rc=$?
count() { awk -v r="$1" '$1 == r && $2 ~ /^[0-9]+$/ { print $2; exit }' "$T/out"; }
vc=$(count vcpu); vs=$(count vcpu-soft); io=$(count io); api=$(count api); mn=$(count main)
if [ "$rc" != 0 ]; then bad seccomp-list "exit status $rc"
elif [ -z "$vc" ] || [ -z "$vs" ] || [ -z "$io" ] || [ -z "$api" ] || [ -z "$mn" ]; then
	bad seccomp-list "a role is missing from the summary"
elif [ "$vc" -ge 27 ]; then bad seccomp-list "the vCPU may make $vc syscalls, want fewer than 27"
elif ! grep -q 'KVM_RUN' "$T/out" || ! grep -q 'vcpu_thread' "$T/out"; then
	bad seccomp-list "the vCPU's ioctl requests or their callers are not listed"
else ok "seccomp-list (vcpu $vc, vcpu-soft $vs, io $io, api $api, main $mn syscalls)"; fi

# ---- usage
timeout 10 "$VMON" run -k $G/hello.elf --seccomp=maybe >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" = 2 ] && grep -q -- "--seccomp: 'maybe' is not on or off" "$T/err"; then ok seccomp-bad-value
else bad seccomp-bad-value "exit status $rc, want 2 and one line"; fi
timeout 10 "$VMON" run -k $G/hello.elf --seccomp=off --dump-config >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" = 0 ] && grep -q '"seccomp": false' "$T/out"; then ok seccomp-in-dump-config
else bad seccomp-in-dump-config "exit $rc, no \"seccomp\": false in --dump-config"; fi

# status_of PID: one line per thread, "<Seccomp> <Seccomp_filters>", sorted. KVM's own
# kernel workers (kvm-nx-lpage-recovery) are tasks of the process too: not vmon's, skipped.
status_of() {
	for t in /proc/"$1"/task/*; do
		case $(cat "$t/comm") in kvm-*) continue ;; esac
		awk '/^Seccomp:/ { m = $2 } /^Seccomp_filters:/ { f = $2 } END { print m, f }' "$t/status"
	done | sort
}
# start_vm NAME ARGS...: vmon in the background on a held-open FIFO, its pid in $pid once the
# guest printed $READY (echo.elf: "echo: ready"; ticker.elf with --api-sock: "tick 2").
start_vm() {
	local name=$1; shift
	rm -f "$T/fifo"; mkfifo "$T/fifo"
	sleep 30 >"$T/fifo" & pids+=($!)
	rm -f "$T/out" "$T/err" # the last VM's "$READY" must not count for this one
	"$VMON" run "$@" <"$T/fifo" >"$T/out" 2>"$T/err" & pid=$!; pids+=($pid)
	for _ in $(seq 100); do grep -q "$READY" "$T/out" 2>/dev/null && return 0; sleep 0.1; done
	bad "$name" "the guest never printed '$READY'"
	return 1
}
stop_vm() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rc=$?; }

# ---- on by default: every thread filtered; vCPU and I/O threads stack their own on main's
if kvm_case seccomp-default-on; then
	READY='echo: ready'
	if start_vm seccomp-default-on -k $G/echo.elf --mem 4M --cpus 2; then
		st=$(status_of $pid); stop_vm
		# main: 1 filter; I/O and two vCPUs: 2 (main's, inherited, and their own)
		if [ "$st" = "$(printf '2 1\n2 2\n2 2\n2 2')" ]; then
			ok "seccomp-default-on (main 1 filter; I/O and 2 vCPU threads 2 each)"
		else bad seccomp-default-on "per-thread Seccomp/Seccomp_filters: $(echo $st)"; fi
		[ "$rc" = 4 ] || bad seccomp-default-on-exit "exit $rc after SIGTERM, want 4"
	fi
fi
if kvm_case seccomp-off; then
	READY='echo: ready'
	if start_vm seccomp-off -k $G/echo.elf --mem 4M --cpus 2 --seccomp=off; then
		st=$(status_of $pid); stop_vm
		if [ "$st" = "$(printf '0 0\n0 0\n0 0\n0 0')" ]; then ok "seccomp-off (4 threads, none filtered)"
		else bad seccomp-off "per-thread Seccomp/Seccomp_filters: $(echo $st)"; fi
	fi
fi
# The API's thread (libmicrohttpd) too: it has only the API filter, main only its own.
if ! command -v curl >/dev/null; then
	skip seccomp-api "curl is not installed"
elif kvm_case seccomp-api; then
	READY='^tick 2$'
	if start_vm seccomp-api --api-sock "$T/api.sock" -k $G/ticker.elf --mem 4M; then
		code=$(curl -s --max-time 10 --unix-socket "$T/api.sock" -o "$T/body" -w '%{http_code}' \
			http://localhost/stats)
		st=$(status_of $pid | sort); stop_vm
		if [ "$code" != 200 ]; then bad seccomp-api "GET /stats answered $code"
		elif [ "$st" = "$(printf '2 1\n2 1\n2 1\n2 2\n2 2')" ]; then
			ok "seccomp-api (main, API and reaper threads 1 filter each, I/O and vCPU 2; GET /stats 200)"
		else bad seccomp-api "per-thread Seccomp/Seccomp_filters: $(echo $st)"; fi
		[ "$rc" = 4 ] || bad seccomp-api-exit "exit $rc after SIGTERM, want 4"
	fi
	READY='^tick 2$'
	if start_vm seccomp-api-off --api-sock "$T/api2.sock" -k $G/ticker.elf --mem 4M --seccomp=off; then
		st=$(status_of $pid); stop_vm
		if [ "$st" = "$(printf '0 0\n0 0\n0 0\n0 0\n0 0')" ]; then ok "seccomp-api-off (5 threads, none filtered)"
		else bad seccomp-api-off "per-thread Seccomp/Seccomp_filters: $(echo $st)"; fi
	fi
fi

# ---- a forbidden syscall in each role: killed by SIGSYS (status 159), reported by name
selftest() { # ROLE WHAT ARGS...: VMON_SECCOMP_SELFTEST=WHAT, expect the report for ROLE
	local role=$1 what=$2 call=socket; shift 2
	case $what in *:ioctl) call=ioctl ;; esac
	VMON_SECCOMP_SELFTEST=$what timeout 30 "$VMON" run "$@" </dev/null >"$T/out" 2>"$T/err"; rc=$?
	if [ "$rc" != 159 ]; then bad "seccomp-selftest-$what" "exit status $rc, want 159 (SIGSYS)"
	elif ! grep -qE "^vmon: seccomp: thread $role made forbidden syscall $call \([0-9]+\)$" "$T/err"; then
		bad "seccomp-selftest-$what" "no report naming thread $role and $call"
	elif grep -qE 'Sanitizer|runtime error' "$T/err"; then bad "seccomp-selftest-$what" "sanitizer report"
	else ok "seccomp-selftest-$what ($(grep -m1 '^vmon: seccomp' "$T/err" | cut -c16-))"; fi
}
if kvm_case seccomp-selftest; then
	for r in main vcpu io; do selftest $r $r -k $G/hello.elf --mem 4M; done
	# an argument filter: the vCPU may ioctl, but not TCGETS
	selftest vcpu vcpu:ioctl -k $G/hello.elf --mem 4M
	if command -v curl >/dev/null; then
		selftest api api --api-sock "$T/st.sock" -k $G/hello.elf --mem 4M
	else skip seccomp-selftest-api "curl is not installed"; fi
	# off: the same request does nothing
	VMON_SECCOMP_SELFTEST=vcpu timeout 30 "$VMON" run -k $G/hello.elf --mem 4M --seccomp=off \
		</dev/null >"$T/out" 2>"$T/err"; rc=$?
	if [ "$rc" = 0 ] && grep -q '^PASS hello$' "$T/out"; then ok "seccomp-selftest-off (no filter, no report)"
	else bad seccomp-selftest-off "exit status $rc"; fi
fi
# The software vCPU's role: needs no KVM, but a MIPS kernel (tests/host/mips.sh builds it).
kdir=$(scripts/build-kernel-mips.sh 2>/dev/null) || kdir=
if [ -n "$kdir" ] && [ -f "$kdir/vmlinux" ]; then
	selftest vcpu-soft vcpu-soft --arch mips32 --kernel "$kdir/vmlinux" --mem 32M
else skip seccomp-selftest-vcpu-soft "no MIPS kernel in ~/.cache/vmon (scripts/build-kernel-mips.sh)"; fi

echo "seccomp tests: $pass passed, $fail failed, $skip skipped"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
