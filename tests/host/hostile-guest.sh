#!/usr/bin/env bash
# tests/host/hostile-guest.sh: a guest must not be able to stall vmon, deadlock its
# console or fill the disk with logs (issue #12). The guest is guests/hosttest/flood.c:
# it prints through COM1 from CPL3 without pause, and with ap=1 a second vCPU does port
# output in a loop too (apport=1016: also COM1; default: the POST port 0x80).
#   console: a console client that never reads, and `vmon run` with stdout a pipe nobody
#            reads: the guest keeps running (its output is dropped or buffered, bounded),
#            and `vmon stop`, SIGTERM and SIGINT each end vmon within 1 s.
#   logs:    with --log-max 16K, serial.log and vmon.log stay under it, each rotated to
#            .1, and the state directory stays writable.
#   stall:   a busy guest on two vCPUs: PATCH /vm Paused (and its output stands still),
#            GET /, Resumed, `vmon stop` and SIGTERM each take effect within 1 s.
# Each time is measured and printed; LIMIT_MS (default 1000) is the bound asserted on
# when a stop takes effect (the VM has stopped and says so: state.json "Stopped", or
# `vmon run`'s "stopped by a signal"); END_MS (default 5000) bounds the process's end,
# which adds the accelerator's teardown and the exit (slow on a loaded PVM host). The
# timed cases run the optimised build (VMON, default build/vmon): the sanitizer build's
# exit-time leak check alone can take seconds on a loaded host. The sanitizer build
# (SAN, default build/vmon.san) runs the logs case and a pause/resume/stop of the busy
# guest (san-busy), whose times are printed but only bounded by 10 s, and no VM process
# may print a sanitizer report.
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon}
SAN=${SAN:-build/vmon.san}
BIN=$VMON
G=build/guests
T=$(mktemp -d)
LIMIT_MS=${LIMIT_MS:-1000}
END_MS=${END_MS:-5000}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export VMON_STATE_DIR=$T/state VMON_LIMITS=$T/limits.conf
mkdir -p "$VMON_STATE_DIR"
: >"$VMON_LIMITS"
pass=0 fail=0 skip=0
bgpids=()

cleanup() {
	local m pid
	for pid in "${bgpids[@]}"; do { kill -9 "$pid"; wait "$pid"; } 2>/dev/null; done
	for m in "$VMON_STATE_DIR"/*/meta.json; do
		[ -f "$m" ] || continue
		pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m")
		[ -n "$pid" ] && grep -qa vmon "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  {
	echo "FAIL $1: $2"; fail=$((fail + 1))
	for f in "$T/out" "$T/err" "$VMON_STATE_DIR"/*/vmon.log; do
		[ -s "$f" ] && tail -n 8 "$f" | sed "s#^#     | $(basename "$f"): #"
	done
}
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
summary() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" = 0 ]; exit; }

CASES=(console-client-stop console-client-sigterm run-pipe-sigterm run-pipe-sigint
	logs-capped busy-pause busy-get busy-resume busy-stop busy-sigterm san-busy sanitizer)
why=
if ! command -v curl >/dev/null 2>&1; then why="curl is not installed"
elif ! command -v python3 >/dev/null 2>&1; then why="python3 is not installed"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then why="/dev/kvm is absent or not accessible"
elif ! [ -x "$VMON" ]; then why="$VMON is not built (make $VMON)"
elif ! [ -x "$SAN" ]; then why="$SAN is not built (make $SAN)"
elif ! [ -f $G/flood.elf ]; then why="$G/flood.elf is not built (make $G/flood.elf)"
fi
if [ -n "$why" ]; then
	for c in "${CASES[@]}"; do skip "hostile-$c" "$why"; done
	summary
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pid_of() { sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$VMON_STATE_DIR/$1/meta.json" 2>/dev/null; }
alive() { local s; s=$(sed -E 's/.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[d.get(k) for k in sys.argv[2:]])' "$@" 2>/dev/null; }
# wait_for FILE PATTERN [TENTHS]: until FILE matches (default 30 s).
wait_for() { for _ in $(seq "${3:-300}"); do grep -qa -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# end_vm stop|sigterm NAME: end a created VM with `vmon stop` or SIGTERM. Sets rc (vmon
# stop's status), ems (ms until state.json says Stopped: the stop took effect) and ms
# (until vmon stop returned, or the process was gone).
end_vm() {
	local how=$1 d=$VMON_STATE_DIR/$2 sf=$T/stop.rc pid spid= t0
	pid=$(pid_of "$2"); rm -f "$sf"; ems=
	t0=$(now_ms)
	if [ "$how" = stop ]; then
		( timeout 30 "$BIN" stop "$2" >"$T/out" 2>"$T/err"; echo $? >"$sf" ) &
		spid=$!
	else
		kill -TERM "$pid"
	fi
	for _ in $(seq 3000); do
		[ -z "$ems" ] && grep -q '"state":"Stopped"' "$d/state.json" 2>/dev/null && ems=$(( $(now_ms) - t0 ))
		if [ -n "$ems" ]; then
			if [ -n "$spid" ]; then [ -s "$sf" ] && break; else alive "$pid" || break; fi
		fi
		sleep 0.01
	done
	ms=$(( $(now_ms) - t0 )); ems=${ems:-$ms} rc=0
	if [ -n "$spid" ]; then wait "$spid"; rc=$(cat "$sf" 2>/dev/null || echo none); fi
}
# stop_ok CASE WHAT: the checks after end_vm. $first: an earlier try's times, if any.
stop_ok() {
	local st; st=$(json "$d/state.json" state exit_status)
	if [ "$rc" != 0 ] || grep -q SIGKILL "$T/err"; then bad "$1" "vmon stop: exit $rc"
	elif [ "$st" != "Stopped 4" ]; then bad "$1" "state.json says '$st', want 'Stopped 4'"
	elif [ "$ems" -gt "$LIMIT_MS" ]; then bad "$1" "took effect after $ems ms, want <= $LIMIT_MS"
	elif [ "$ms" -gt "$END_MS" ]; then bad "$1" "ended after $ms ms, want <= $END_MS"
	else ok "$1 ($2: stopped in $ems ms, process gone in $ms ms$first)"; return 0; fi
	return 1
}
# create NAME ARGS...: a detached VM running the flood guest.
create() {
	local n=$1; shift
	timeout 30 "$BIN" create "$n" -k $G/flood.elf --mem 4M "$@" >"$T/out" 2>"$T/err"
}
# A console client that connects and then never reads (a small receive buffer).
noread_client() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(3600)' "$1" >"$T/client.out" 2>&1 &
	bgpids+=($!)
	wait_for "$T/client.out" connected 50
}
api() { # SOCK METHOD PATH [JSON]: the HTTP status; the body lands in $T/body
	curl -s --max-time 10 --unix-socket "$1" -o "$T/body" -w '%{http_code}' -X "$2" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} "http://localhost$3"
}

# ---- console: a client attached to the detached console never reads
# (`vmon stop` is a process of its own whose start alone can take over half a second on a
# loaded host: a stop that took effect too late is tried once more on a fresh VM.)
for how in stop sigterm; do
	first= s1=0 s2=0
	for try in 1 2; do
		name=cc-$how-$try
		create $name --cpus 2 --cmdline "ap=1 apport=1016"
		d=$VMON_STATE_DIR/$name
		if ! wait_for "$d/serial.log" 'flood: ready'; then bad "console-client-$how" "the guest did not start"; break; fi
		noread_client "$d/console.sock"
		sleep 3 # the client's socket is full by now: output to it is dropped
		s1=$(size "$d/serial.log"); sleep 1; s2=$(size "$d/serial.log")
		if [ "$s2" -le "$s1" ]; then
			bad "console-client-$how" "the guest stood still ($s1 -> $s2 bytes) while the client did not read"
			break
		fi
		end_vm $how $name
		[ "$ems" -le "$LIMIT_MS" ] || [ $try = 2 ] && break
		first="; a first try took $ems ms"
	done
	[ "$s2" -gt "$s1" ] && stop_ok "console-client-$how" "guest ran on, serial.log $s1 -> $s2 bytes in 1 s; $how"
done

# ---- console: `vmon run` with stdout a pipe nobody reads (4 KiB), stdin held open. Its
# API (--api-sock keeps the console on stdout) shows the guest writing on, far past the pipe.
cat >"$T/noread.py" <<'PY'
import fcntl, json, os, signal, subprocess, sys, time
sock, min_tx, sig, errf = sys.argv[1], int(sys.argv[2]), getattr(signal, sys.argv[3]), sys.argv[4]
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: the reader's pipe holds one page
p = subprocess.Popen(sys.argv[5:], stdout=w, stdin=subprocess.PIPE, stderr=open(errf, "w"))
os.close(w)
def tx_bytes():
    out = subprocess.run(["curl", "-s", "--max-time", "5", "--unix-socket", sock,
                          "http://localhost/stats"], capture_output=True, text=True).stdout
    try:
        devs = json.loads(out)["device_stats"]
    except (ValueError, KeyError):
        return -1
    return next((d["counters"].get("tx_bytes", 0) for d in devs if d["name"] == "serial0"), -1)
tx, end = -1, time.monotonic() + 60
while time.monotonic() < end and p.poll() is None:
    time.sleep(0.5)
    tx = tx_bytes()
    if tx > min_tx:
        break
t0 = time.monotonic()
p.send_signal(sig)
effect = None  # vm_run returned: "stopped by a signal" is logged
while effect is None and time.monotonic() < t0 + 10:
    if "stopped by a signal" in open(errf).read():
        effect = time.monotonic()
    else:
        time.sleep(0.005)
try:
    rc = p.wait(10)
except subprocess.TimeoutExpired:
    p.kill(); p.wait(); rc = "hung"
end = time.monotonic()
print(rc, int(((effect or end) - t0) * 1000), int((end - t0) * 1000), tx)
PY
for sig in SIGTERM SIGINT; do
	c=run-pipe-$(tr A-Z a-z <<<"$sig")
	rm -f "$T/run.sock"
	read -r rc ems ms tx < <(python3 "$T/noread.py" "$T/run.sock" 65536 $sig "$T/err" "$VMON" run \
		--api-sock "$T/run.sock" -k $G/flood.elf --mem 4M --cpus 2 --cmdline "ap=1 apport=1016")
	if [ "$rc" != 4 ]; then bad "$c" "exit $rc, want 4 (after $ms ms)"
	elif ! grep -q 'stopped by a signal' "$T/err"; then bad "$c" "no 'stopped by a signal' on stderr"
	elif [ "${tx:-0}" -le 65536 ]; then bad "$c" "the guest wrote ${tx:-0} bytes: it stalled on the full pipe (4 KiB)"
	elif [ "$ems" -gt "$LIMIT_MS" ]; then bad "$c" "took effect after $ems ms, want <= $LIMIT_MS"
	elif [ "$ms" -gt "$END_MS" ]; then bad "$c" "ended after $ms ms, want <= $END_MS"
	else ok "$c (guest wrote $tx bytes into a 4 KiB pipe nobody read, its API answering; $sig: stopped in $ems ms, exit 4 in $ms ms)"; fi
done

# ---- logs: a guest printing without end, --log-max 16K; vmon.log flooded by console attaches (-v)
BIN=$SAN create logs --log-max 16K -v --cpus 2 --cmdline "ap=1 apport=1016"
d=$VMON_STATE_DIR/logs
if wait_for "$d/serial.log" 'flood: ready'; then
	# Each attach and detach is a line in vmon.log at -v: 1000 of each, ~58 KB.
	python3 -c '
import socket, sys, time
for i in range(1000):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close(); time.sleep(0.001)' \
		"$d/console.sock" 2>/dev/null
	for _ in $(seq 300); do [ -e "$d/serial.log.1" ] && break; sleep 0.1; done
	sleep 1
	touch "$d/writable" 2>/dev/null; wr=$?
	timeout 30 "$BIN" stop logs >"$T/out" 2>"$T/err"
	cap=16384 worst=0 missing=
	for f in serial.log serial.log.1 vmon.log vmon.log.1; do
		[ -e "$d/$f" ] || missing="$missing $f"
		[ "$(size "$d/$f")" -gt $worst ] && worst=$(size "$d/$f")
	done
	sizes=$(cd "$d" && stat -c '%n=%s' serial.log serial.log.1 vmon.log vmon.log.1 2>/dev/null | tr '\n' ' ')
	if [ -n "$missing" ]; then bad logs-capped "not rotated:$missing ($sizes)"
	elif [ "$worst" -gt $cap ]; then bad logs-capped "a log is over the 16 KiB cap: $sizes"
	elif [ "$wr" != 0 ]; then bad logs-capped "the state directory is not writable"
	elif ! grep -q 'console client attached' "$d/vmon.log" "$d/vmon.log.1"; then bad logs-capped "vmon.log lost its lines"
	else ok "logs-capped (--log-max 16K: $sizes; state directory writable)"; fi
else
	bad logs-capped "the guest did not start"
fi

# ---- stall: a busy guest (CPL3 printing on vCPU 0, port output in a loop on vCPU 1).
# The API's answers are timed from curl's start to its end. On a loaded shared host one
# answer can wait for a CPU: an API case takes the best of up to 3 tries, all printed.
timed() { local t0; t0=$(now_ms); st=$(api "$@"); ms=$(( $(now_ms) - t0 )); tries="$tries${tries:+/}$ms"; }
pause_vm()  { api "$1" PATCH /vm '{"state":"Paused"}' >/dev/null; }
resume_vm() { api "$1" PATCH /vm '{"state":"Resumed"}' >/dev/null; sleep 0.3; }
for how in stop sigterm; do
	name=busy-$how
	create $name --cpus 2 --cmdline "ap=1"
	d=$VMON_STATE_DIR/$name s=$VMON_STATE_DIR/$name/api.sock
	if ! wait_for "$d/serial.log" 'flood: ready'; then bad "busy-$how" "the guest did not start"; continue; fi
	sleep 1
	if [ $how = stop ]; then
		tries=
		for try in 1 2 3; do
			[ $try = 1 ] || resume_vm "$s"
			timed "$s" PATCH /vm '{"state":"Paused"}'
			{ [ "$st" != 204 ] || [ "$ms" -le "$LIMIT_MS" ]; } && break
		done
		s1=$(size "$d/serial.log"); sleep 0.5; s2=$(size "$d/serial.log")
		if [ "$st" != 204 ]; then bad busy-pause "PATCH /vm Paused answered $st after $ms ms"
		elif [ "$s1" != "$s2" ]; then bad busy-pause "output went on while paused ($s1 -> $s2 bytes)"
		elif [ "$ms" -gt "$LIMIT_MS" ]; then bad busy-pause "took $tries ms, want <= $LIMIT_MS"
		else ok "busy-pause (PATCH /vm Paused in $tries ms; output stood at $s2 bytes)"; fi
		tries=
		for try in 1 2 3; do
			timed "$s" GET /; state=$(json "$T/body" state)
			{ [ "$st" != 200 ] || [ "$ms" -le "$LIMIT_MS" ]; } && break
		done
		if [ "$st" != 200 ] || [ "$state" != Paused ]; then bad busy-get "GET / answered $st '$state'"
		elif [ "$ms" -gt "$LIMIT_MS" ]; then bad busy-get "took $tries ms, want <= $LIMIT_MS"
		else ok "busy-get (GET / while paused: $state, in $tries ms)"; fi
		tries=
		for try in 1 2 3; do
			[ $try = 1 ] || pause_vm "$s"
			timed "$s" PATCH /vm '{"state":"Resumed"}'
			{ [ "$st" != 204 ] || [ "$ms" -le "$LIMIT_MS" ]; } && break
		done
		rtries=$tries rst=$st rms=$ms tries=
		sleep 0.5; s3=$(size "$d/serial.log")
		for try in 1 2 3; do
			timed "$s" GET /; state=$(json "$T/body" state)
			{ [ "$st" != 200 ] || [ "$ms" -le "$LIMIT_MS" ]; } && break
		done
		if [ "$rst" != 204 ] || [ "$st" != 200 ] || [ "$state" != Running ]; then
			bad busy-resume "Resumed answered $rst, GET / $st '$state'"
		elif [ "$s3" -le "$s2" ]; then bad busy-resume "no output after resume ($s2 -> $s3 bytes)"
		elif [ "$rms" -gt "$LIMIT_MS" ] || [ "$ms" -gt "$LIMIT_MS" ]; then bad busy-resume "took $rtries / $tries ms"
		else ok "busy-resume (Resumed in $rtries ms, output went on; GET / while running in $tries ms)"; fi
		end_vm stop $name; first=
		if [ "$ems" -gt "$LIMIT_MS" ]; then # once more on a fresh VM (see the console cases)
			first="; a first try took $ems ms"
			create $name-2 --cpus 2 --cmdline "ap=1"; d=$VMON_STATE_DIR/$name-2
			wait_for "$d/serial.log" 'flood: ready' && sleep 1
			end_vm stop $name-2
		fi
		stop_ok busy-stop "vmon stop of the running busy VM"
	else
		pause_vm "$s" # a signal must end a paused VM as well
		first=; end_vm sigterm $name; stop_ok busy-sigterm "SIGTERM to the paused busy VM"
	fi
done

# ---- the sanitizer build through pause, resume and stop of the busy guest
BIN=$SAN create san-busy --cpus 2 --cmdline "ap=1"
d=$VMON_STATE_DIR/san-busy s=$VMON_STATE_DIR/san-busy/api.sock
if wait_for "$d/serial.log" 'flood: ready'; then
	sleep 1; tries=
	timed "$s" PATCH /vm '{"state":"Paused"}'; p1=$st
	timed "$s" GET /; g1=$st state=$(json "$T/body" state)
	timed "$s" PATCH /vm '{"state":"Resumed"}'; r1=$st
	first=; BIN=$SAN end_vm stop san-busy
	st=$(json "$d/state.json" state exit_status)
	if [ "$p1 $g1 $r1" != "204 200 204" ] || [ "$state" != Paused ]; then
		bad san-busy "Paused $p1, GET / $g1 '$state', Resumed $r1"
	elif [ "$rc" != 0 ] || [ "$st" != "Stopped 4" ] || grep -q SIGKILL "$T/err"; then
		bad san-busy "vmon stop: exit $rc, state.json '$st'"
	elif [ "$ms" -gt 10000 ]; then bad san-busy "vmon stop took $ms ms"
	else ok "san-busy (pause/GET/resume in $tries ms, vmon stop: stopped in $ems ms, gone in $ms ms; sanitizer build)"; fi
else
	bad san-busy "the guest did not start"
fi

if grep -qE 'Sanitizer|runtime error' "$T/err" "$VMON_STATE_DIR"/*/vmon.log* 2>/dev/null; then
	bad sanitizer "a sanitizer report in a VM's vmon.log"
else ok "sanitizer (no report in any VM process)"; fi
summary
