#!/usr/bin/env bash
# tests/host/api.sh: conformance of the management API (src/api/api.h) against
# the real VM process, `vmon run --api-sock SOCK`, with curl over the socket.
# Three VMs: one configured through the API and started with InstanceStart
# (the hello guest, which then resets: the process exits and removes the
# socket); one configured but never started (network interfaces, SIGTERM);
# one started from the command line (the ticker guest), which must refuse
# configuration, pause and resume (its ticks stand still while paused),
# take Ctrl-Alt-Del, and keep running after every kind of bad request.
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
G=build/guests
T=$(mktemp -d)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
pid=

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  {
	echo "FAIL $1: $2"; fail=$((fail + 1))
	for f in body out err; do
		[ -s "$T/$f" ] && awk 1 "$T/$f" | sed "s/^/     | $f: /" | head -15
	done
}
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
summary() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit
}

# ---- preconditions: each missing one skips every case, counted.
CASES=(not-started-config not-started-errors instance-start network-interfaces sigterm
	running-refuses-config running-bad-requests pause-resume ctrl-alt-del running-gets
	running-exit)
why=
if ! command -v curl >/dev/null 2>&1; then why="curl is not installed"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then why="/dev/kvm is absent or not accessible"
elif ! [ -x "$VMON" ]; then why="$VMON is not built (make $VMON)"
elif ! "$VMON" run --help 2>&1 | grep -q -- '--api-sock'; then why="$VMON run has no --api-sock"
else
	for g in hello ticker; do
		[ -f $G/$g.elf ] || why="$G/$g.elf is not built (make $G/$g.elf)"
	done
fi
if [ -n "$why" ]; then
	for c in "${CASES[@]}"; do skip "api-$c" "$why"; done
	summary
fi

# ---- helpers
SOCK=$T/api.sock

# api METHOD PATH [BODY [CONTENT-TYPE]]: $code, body in $T/body, headers in $T/hdr.
api() {
	local m=$1 p=$2 args=(-X "$1")
	if [ $# -ge 3 ]; then
		args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	fi
	code=$(curl --unix-socket "$SOCK" -s -m 10 -D "$T/hdr" -o "$T/body" -w '%{http_code}' \
		"${args[@]}" "http://localhost$p")
	: "$m"
}

# want NAME CODE [BODY-PATTERN]: the last api call's status and body; 0 if as expected.
want() {
	if [ "$code" != "$2" ]; then
		echo "     $1: HTTP $code, want $2: $(head -c 300 "$T/body")"; return 1
	fi
	if [ -n "${3:-}" ] && ! grep -qE -- "$3" "$T/body"; then
		echo "     $1: body lacks /$3/: $(head -c 300 "$T/body")"; return 1
	fi
	return 0
}

# fault: the body is exactly one {"fault_message": string}.
fault() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (list(d)==["fault_message"] and isinstance(d["fault_message"], str)))' "$T/body" 2>/dev/null ||
		{ echo "     not a fault body: $(head -c 300 "$T/body")"; return 1; }
}

# start_vm [vmon run args...]: in the background with $pid; waits for the socket.
start_vm() {
	rm -f "$SOCK"
	"$VMON" run --api-sock "$SOCK" "$@" </dev/null >"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# wait_exit SECONDS: $rc of the VM process, 124 after a timeout (then killed).
wait_exit() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"; rc=$?; pid=; return
		fi
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rc=124; pid=
}

sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error' "$T/err"; }

# Bad requests of every error class; each must be answered and change nothing.
bad_requests() { # prefix for messages
	local e=0 big
	api PUT /machine-config '{"vcpu_count":1,' ;          want malformed 400 'fault_message' && fault || e=1
	api PUT /machine-config '[1,2]' ;                     want not-object 400 'JSON object' || e=1
	api PUT /actions '{"action_type":"InstanceStart","x":1}'; want unknown-field 400 "unknown field 'x'" || e=1
	api PUT /actions '{"action_type":3}' ;                want wrong-type 400 'must be a string' || e=1
	api PUT /actions '{}' ;                               want missing-field 400 "missing required field 'action_type'" || e=1
	api PUT /actions '{"action_type":"Explode"}' ;        want bad-action 400 'unknown action_type' || e=1
	api PATCH /machine-config '{"vcpu_count":0}' ;        want vcpu-0 400 '1-254' || e=1
	api PATCH /machine-config '{"smt":true}' ;            want smt 400 'smt is not supported' || e=1
	api PUT /drives/a '{"drive_id":"b","path_on_host":"/x","is_root_device":false}'
	want id-mismatch 400 'does not match' || e=1
	api PUT /network-interfaces/n '{"iface_id":"n","host_dev_name":"t","guest_mac":"01:00:5e:00:00:01"}'
	want multicast-mac 400 'unicast' || e=1
	api PUT /actions '' ;                                 want empty-body 400 'needs a JSON body' || e=1
	api GET /no-such-thing ;                              want not-found 404 'unknown path' && fault || e=1
	api GET '/?x=1' ;                                     want query 404 'unknown path' || e=1
	api DELETE /machine-config ;                          want wrong-method 405 'not allowed' || e=1
	grep -qi '^Allow: GET, PUT, PATCH' "$T/hdr" || { echo "     405 without Allow: GET, PUT, PATCH"; e=1; }
	api GET /actions ;                                    want wrong-method-2 405 || e=1
	grep -qi '^Allow: PUT' "$T/hdr" || { echo "     405 without Allow: PUT"; e=1; }
	api PUT /actions '{"action_type":"InstanceStart"}' text/plain
	want content-type 415 'application/json' || e=1
	api PUT /actions '{"action_type":"FlushMetrics"}' 'application/json; charset=utf-8'
	want content-type-param 204 || e=1
	big=$(printf '{"action_type":"FlushMetrics","pad":"%*s"}' 17000 '')
	api PUT /actions "$big" ;                             want oversize 413 'larger than' || e=1
	return $e
}

# ---- 1. configure through the API, then InstanceStart (hello resets: the process ends)
if start_vm; then
	e=0
	api GET / ; want root 200 '"state":"Not started"' || e=1
	grep -q '"app_name":"vmon"' "$T/body" && grep -q '"vmm_version":"0.2.0"' "$T/body" ||
		{ echo "     GET / lacks app_name/vmm_version"; e=1; }
	api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":8,"smt":false}' ; want put-machine 204 || e=1
	api GET /machine-config ; want get-machine 200 '"vcpu_count":2,"mem_size_mib":8,"smt":false,"track_dirty_pages":false' || e=1
	api PATCH /machine-config '{"vcpu_count":1}' ; want patch-machine 204 || e=1
	api GET /machine-config ; want get-machine-2 200 '"vcpu_count":1,"mem_size_mib":8' || e=1
	api PUT /boot-source "{\"kernel_image_path\":\"$T/none.elf\"}" ; want boot-missing 400 'none.elf' || e=1
	api PUT /boot-source "{\"kernel_image_path\":\"$PWD/$G/hello.elf\",\"boot_args\":\"console=ttyS0\"}"
	want put-boot 204 || e=1
	head -c 65536 /dev/zero >"$T/disk.img"
	api PUT /drives/scratch "{\"drive_id\":\"scratch\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":false,\"is_read_only\":true,\"cache_type\":\"Unsafe\"}"
	want put-drive 204 || e=1
	api PUT /drives/gone "{\"drive_id\":\"gone\",\"path_on_host\":\"$T/none.img\",\"is_root_device\":false}"
	want put-drive-missing 400 || e=1
	api GET /vm/config ; want vm-config 200 'hello\.elf' || e=1
	grep -q 'disk\.img' "$T/body" || { echo "     /vm/config lacks the drive"; e=1; }
	api GET /stats ; want stats 200 '^\{' || e=1
	api PUT /actions '{"action_type":"FlushMetrics"}' ; want flush 204 || e=1
	[ $e = 0 ] && ok "api-not-started-config (GET /, machine-config PUT/PATCH/GET, boot-source, drives, vm/config, stats)" ||
		bad api-not-started-config "see above"

	e=0
	api PATCH /vm '{"state":"Paused"}' ; want pause-before-start 400 || e=1
	api PUT /actions '{"action_type":"SendCtrlAltDel"}' ; want cad-before-start 400 || e=1
	bad_requests || e=1
	api GET / ; want still-not-started 200 '"state":"Not started"' || e=1
	[ $e = 0 ] && ok "api-not-started-errors (400 malformed/unknown/type/missing/value/state, 404, 405+Allow, 413, 415)" ||
		bad api-not-started-errors "see above"

	api PUT /actions '{"action_type":"InstanceStart"}'; code_start=$code
	wait_exit 20
	if [ "$code_start" != 204 ]; then bad api-instance-start "InstanceStart: HTTP $code_start"
	elif [ "$rc" != 0 ]; then bad api-instance-start "exit status $rc, want 0 (hello resets)"
	elif ! grep -q '^PASS hello$' "$T/out"; then bad api-instance-start "no PASS hello on stdout"
	elif [ -e "$SOCK" ]; then bad api-instance-start "the socket is still there after exit"
	elif ! sanitizer_clean; then bad api-instance-start "sanitizer report"
	else ok "api-instance-start (hello booted, process exited 0, socket removed)"; fi
else
	bad api-not-started-config "vmon did not create $SOCK"
	skip api-not-started-errors "no VM"
	skip api-instance-start "no VM"
fi

# ---- 2. configured, never started: network interfaces, then SIGTERM
if start_vm; then
	e=0
	api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"vmontap0","guest_mac":"52:54:00:12:34:56"}'
	want put-net 204 || e=1
	api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"this-is-too-long0"}'
	want net-long-name 400 'longer than 15' || e=1
	api GET /vm/config ; want vm-config-net 200 'vmontap0' || e=1
	[ $e = 0 ] && ok "api-network-interfaces" || bad api-network-interfaces "see above"
	kill -TERM "$pid"
	wait_exit 10
	if [ "$rc" = 124 ]; then bad api-sigterm "still running 10 s after SIGTERM"
	elif [ -e "$SOCK" ]; then bad api-sigterm "exit $rc but the socket is still there"
	elif ! sanitizer_clean; then bad api-sigterm "sanitizer report"
	else ok "api-sigterm (not started, exit $rc, socket removed)"; fi
else
	bad api-network-interfaces "vmon did not create $SOCK"
	skip api-sigterm "no VM"
fi

# ---- 3. started from the command line: the ticker runs until stopped
ticks() { grep -c '^tick ' "$T/out"; }
if start_vm -k $G/ticker.elf --mem 4M; then
	e=0
	api GET / ; want running 200 '"state":"Running"' || e=1
	api PUT /boot-source "{\"kernel_image_path\":\"$PWD/$G/hello.elf\"}" ; want boot-after-start 400 && fault || e=1
	api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":8}' ; want machine-after-start 400 || e=1
	api PATCH /machine-config '{"vcpu_count":2}' ; want patch-after-start 400 || e=1
	api PUT /drives/d "{\"drive_id\":\"d\",\"path_on_host\":\"$T/disk.img\",\"is_root_device\":false}"
	want drive-after-start 400 || e=1
	api PUT /network-interfaces/n '{"iface_id":"n","host_dev_name":"vmontap1"}' ; want net-after-start 400 || e=1
	api PUT /actions '{"action_type":"InstanceStart"}' ; want start-twice 400 || e=1
	api PATCH /vm '{"state":"Resumed"}' ; want resume-running 204 || [ "$code" = 400 ] || e=1
	[ $e = 0 ] && ok "api-running-refuses-config (400 for boot-source, machine-config, drives, network-interfaces, InstanceStart)" ||
		bad api-running-refuses-config "see above"

	e=0
	bad_requests || e=1
	api GET / ; want still-running 200 '"state":"Running"' || e=1
	kill -0 "$pid" 2>/dev/null || { echo "     the VM process died"; e=1; }
	[ $e = 0 ] && ok "api-running-bad-requests (every error class answered, VM still Running)" ||
		bad api-running-bad-requests "see above"

	e=0
	sleep 0.3
	api PATCH /vm '{"state":"Paused"}' ; want pause 204 || e=1
	api GET / ; want paused 200 '"state":"Paused"' || e=1
	sleep 0.2; t1=$(ticks); sleep 0.5; t2=$(ticks)
	[ "$t1" = "$t2" ] || { echo "     ticks went on while paused: $t1 -> $t2"; e=1; }
	api PATCH /vm '{"state":"Paused"}' ; [ "$code" = 204 ] || [ "$code" = 400 ] || { echo "     pause twice: HTTP $code"; e=1; }
	api PATCH /vm '{"state":"Resumed"}' ; want resume 204 || e=1
	api GET / ; want resumed 200 '"state":"Running"' || e=1
	sleep 0.5; t3=$(ticks)
	[ "$t3" -gt "$t2" ] || { echo "     no ticks after resume: $t2 -> $t3"; e=1; }
	api PATCH /vm '{"state":"Stopped"}' ; want bad-state 400 'Paused' || e=1
	[ $e = 0 ] && ok "api-pause-resume (ticks $t1 = $t2 while paused, $t3 after resume)" ||
		bad api-pause-resume "see above"

	e=0
	api PUT /actions '{"action_type":"SendCtrlAltDel"}' ; want cad 204 || e=1
	for _ in $(seq 20); do grep -q '^key 0x' "$T/out" && break; sleep 0.1; done
	grep -q '^key 0x' "$T/out" || { echo "     the guest saw no keyboard bytes"; e=1; }
	[ $e = 0 ] && ok "api-ctrl-alt-del (guest read $(grep -c '^key 0x' "$T/out") keyboard bytes)" ||
		bad api-ctrl-alt-del "see above"

	e=0
	api GET /machine-config ; want get-machine-running 200 '"vcpu_count":1,"mem_size_mib":4,' || e=1
	api GET /vm/config ; want vm-config-running 200 'ticker\.elf' || e=1
	api GET /stats ; want stats-running 200 '^\{' || e=1
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/body" 2>/dev/null || { echo "     /stats is not JSON"; e=1; }
	# Every device's counters, from the VM's device list: [{name, kind, counters: {key: n}}].
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ds = d["device_stats"]
assert d["vcpus"] and d["devices"] and isinstance(d["virtio"], list)
assert ds and all(set(x) == {"name", "kind", "counters"} and isinstance(x["counters"], dict) and
                  all(isinstance(v, int) for v in x["counters"].values()) for x in ds)' "$T/body" 2>/dev/null ||
		{ echo "     /stats lacks vcpus, devices, virtio or a well-formed device_stats"; e=1; }
	[ $e = 0 ] && ok "api-running-gets (machine-config, vm/config, stats with device_stats)" || bad api-running-gets "see above"

	kill -TERM "$pid"
	wait_exit 10
	if [ -e "$SOCK" ]; then bad api-running-exit "exit $rc but the socket is still there"
	elif ! sanitizer_clean; then bad api-running-exit "sanitizer report"
	else ok "api-running-exit (SIGTERM, exit $rc, socket removed)"; fi
else
	for c in running-refuses-config running-bad-requests pause-resume ctrl-alt-del running-gets \
		running-exit; do
		bad "api-$c" "vmon did not create $SOCK"
	done
fi
summary
