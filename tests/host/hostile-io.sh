#!/usr/bin/env bash
# tests/host/hostile-io.sh: a guest must not stall vmon by flooding a virtqueue (issue #12).
# The guest is guests/hosttest/blkstorm.c on a sparse 8 GiB --disk in a temp dir: it keeps
# 256 reads of 4088 MiB each queued on virtio-blk and refills what completes.
#   storm-pause, storm-get: PATCH /vm Paused and GET / answer within LIMIT_MS (1000).
#   storm-stop, storm-sigterm: `vmon stop` and SIGTERM take effect (state.json "Stopped")
#            within LIMIT_MS; the process is gone within END_MS (5000).
#   flood:   mode=flood (a notify in a tight loop) for FLOOD_SECS (default 20) with
#            --log-max 16K: vmon still answers GET /, its logs stay under the cap and the
#            state directory stays writable; then `vmon stop` within LIMIT_MS.
# Each time is measured and printed. Runs VMON (default build/vmon).
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon}
G=build/guests
T=$(mktemp -d)
LIMIT_MS=${LIMIT_MS:-1000}
END_MS=${END_MS:-5000}
FLOOD_SECS=${FLOOD_SECS:-20}
export VMON_STATE_DIR=$T/state VMON_LIMITS=$T/limits.conf
mkdir -p "$VMON_STATE_DIR"
: >"$VMON_LIMITS"
pass=0 fail=0 skip=0

cleanup() {
	local m pid
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

CASES=(storm-pause storm-get storm-stop storm-sigterm flood)
why=
if ! command -v curl >/dev/null 2>&1; then why="curl is not installed"
elif ! command -v python3 >/dev/null 2>&1; then why="python3 is not installed"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then why="/dev/kvm is absent or not accessible"
elif ! [ -x "$VMON" ]; then why="$VMON is not built (make $VMON)"
elif ! [ -f $G/blkstorm.elf ]; then why="$G/blkstorm.elf is not built (make $G/blkstorm.elf)"
elif ! truncate -s 8G "$T/disk.img" 2>/dev/null; then why="cannot make a sparse 8 GiB file in $T"
fi
if [ -n "$why" ]; then
	for c in "${CASES[@]}"; do skip "hostile-io-$c" "$why"; done
	summary
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pid_of() { sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$VMON_STATE_DIR/$1/meta.json" 2>/dev/null; }
alive() { local s; s=$(sed -E 's/.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[d.get(k) for k in sys.argv[2:]])' "$@" 2>/dev/null; }
wait_for() { for _ in $(seq "${3:-300}"); do grep -qa -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
api() { # SOCK METHOD PATH [JSON]: the HTTP status; the body lands in $T/body
	curl -s --max-time 10 --unix-socket "$1" -o "$T/body" -w '%{http_code}' -X "$2" \
		${4:+-H 'Content-Type: application/json' -d "$4"} "http://vmon$3"
}
timed() { local t0; t0=$(now_ms); st=$(api "$@"); ms=$(( $(now_ms) - t0 )); }
# create NAME ARGS...: a detached VM running blkstorm on its own copy-free sparse disk.
create() {
	local n=$1; shift
	truncate -s 8G "$T/$n.img"
	timeout 30 "$VMON" create "$n" -k $G/blkstorm.elf --mem 16M --transport mmio --disk "$T/$n.img" "$@" \
		>"$T/out" 2>"$T/err"
}
# end_vm stop|sigterm NAME: sets rc, ems (until state.json says Stopped), ms (until the end).
end_vm() {
	local how=$1 d=$VMON_STATE_DIR/$2 sf=$T/stop.rc pid spid= t0
	pid=$(pid_of "$2"); rm -f "$sf"; ems=
	t0=$(now_ms)
	if [ "$how" = stop ]; then
		( timeout 30 "$VMON" stop "$2" >"$T/out" 2>"$T/err"; echo $? >"$sf" ) &
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
stop_ok() { # CASE WHAT
	local st; st=$(json "$VMON_STATE_DIR/$3/state.json" state exit_status)
	if [ "$rc" != 0 ]; then bad "$1" "vmon stop: exit $rc"
	elif [ "$st" != "Stopped 4" ]; then bad "$1" "state.json says '$st', want 'Stopped 4'"
	elif [ "$ems" -gt "$LIMIT_MS" ]; then bad "$1" "took effect after $ems ms, want <= $LIMIT_MS"
	elif [ "$ms" -gt "$END_MS" ]; then bad "$1" "ended after $ms ms, want <= $END_MS"
	else ok "$1 ($2: stopped in $ems ms, process gone in $ms ms)"; fi
}
# storming NAME: the guest has queued its requests and the device is reading.
storming() {
	local d=$VMON_STATE_DIR/$1
	wait_for "$d/serial.log" 'blkstorm: ready' || return 1
	sleep 1
	api "$d/api.sock" GET /stats >/dev/null
	return 0
}

# ---- storm: pause, GET, then stop; and SIGTERM of a second storming VM
for how in stop sigterm; do
	name=storm-$how
	create $name
	d=$VMON_STATE_DIR/$name s=$d/api.sock
	if ! storming $name; then
		bad "storm-$how" "the guest did not start: $(grep -a -m1 FAIL "$d/serial.log" 2>/dev/null)"
		continue
	fi
	if [ $how = stop ]; then
		timed "$s" PATCH /vm '{"state":"Paused"}'
		if [ "$st" != 204 ]; then bad storm-pause "PATCH /vm Paused answered $st after $ms ms"
		elif [ "$ms" -ge "$LIMIT_MS" ]; then bad storm-pause "took $ms ms, want < $LIMIT_MS"
		else ok "storm-pause (PATCH /vm Paused under 256 x 4 GiB reads in $ms ms)"; fi
		timed "$s" GET /
		state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("state"))' "$T/body" 2>/dev/null)
		if [ "$st" != 200 ] || [ "$state" != Paused ]; then bad storm-get "GET / answered $st '$state'"
		elif [ "$ms" -ge "$LIMIT_MS" ]; then bad storm-get "took $ms ms, want < $LIMIT_MS"
		else ok "storm-get (GET / while paused: $state, in $ms ms)"; fi
		api "$s" PATCH /vm '{"state":"Resumed"}' >/dev/null
		sleep 0.5
	fi
	end_vm $how $name
	stop_ok "storm-$how" "$how of the storming VM" $name
done

# ---- flood: notify in a tight loop for FLOOD_SECS, logs capped
name=flood
create $name --log-max 16K --cmdline "mode=flood"
d=$VMON_STATE_DIR/$name s=$d/api.sock
if ! storming $name; then
	bad flood "the guest did not start: $(grep -a -m1 FAIL "$d/serial.log" 2>/dev/null)"
else
	worst=0 answers=0 t_end=$(( $(now_ms) + FLOOD_SECS * 1000 ))
	while [ "$(now_ms)" -lt "$t_end" ]; do
		timed "$s" GET /
		[ "$st" = 200 ] && answers=$((answers + 1))
		[ "$ms" -gt "$worst" ] && worst=$ms
		sleep 0.5
	done
	over=
	for f in "$d"/serial.log* "$d"/vmon.log*; do
		[ -f "$f" ] && [ "$(size "$f")" -gt 16384 ] && over="$over $(basename "$f")=$(size "$f")"
	done
	probe=$d/.writable.$$
	if [ "$answers" = 0 ]; then bad flood "GET / never answered in $FLOOD_SECS s"
	elif [ "$worst" -ge "$LIMIT_MS" ]; then bad flood "GET / took up to $worst ms, want < $LIMIT_MS"
	elif [ -n "$over" ]; then bad flood "logs over 16K:$over"
	elif ! { : >"$probe" && rm -f "$probe"; }; then bad flood "the state directory is not writable"
	else
		end_vm stop $name
		stop_ok flood "$FLOOD_SECS s of notifies in a loop, GET / answered $answers times (worst $worst ms), logs under 16K; vmon stop" $name
	fi
fi
summary
