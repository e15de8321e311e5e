#!/usr/bin/env bash
# tests/host/mgmt.sh: the management commands (vmon create, ls, pause, resume,
# console, stop, rm, gc, limits, TTL) on the tiny host-test guests, each VM a
# detached `vmon run --state-dir` process. State lives in temporary directories
# (VMON_STATE_DIR), limits in a temporary file (VMON_LIMITS); every VM process
# is killed on exit. Ends with "N passed, N failed, N skipped".
# Needs: build/vmon, build/vmon.san, build/guests/{ticker,echo}.elf.
set -uo pipefail
cd "$(dirname "$0")/../.."

. tests/host/own-pidns.sh
own_pidns tests/host/mgmt.sh "$@"

VMON=${VMON:-build/vmon.san}   # most cases: the sanitizer build
FAST=${FAST:-build/vmon}       # the 50-VM ls benchmark: the optimised build
G=build/guests
T=$(mktemp -d)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export VMON_LIMITS=$T/limits.conf
: >"$VMON_LIMITS"
pass=0 fail=0 skip=0

# Kill every VM process any of our state directories recorded.
kill_all() {
	local m pid
	for m in "$T"/*/*/meta.json; do
		[ -f "$m" ] || continue
		pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m")
		[ -n "$pid" ] && grep -qa vmon "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
}
cleanup() { kill_all; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" 2>/dev/null | head -30; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }

# v ARGS...: vmon with stdout/stderr to $T/out, $T/err and the status in rc.
v() { timeout 60 "$VMON" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# newstate: a fresh, empty state directory for the next cases.
newstate() { export VMON_STATE_DIR; VMON_STATE_DIR=$(mktemp -d "$T/state.XXXX"); }
# state NAME: its STATE column in `vmon ls` ("" when not listed).
state() { "$VMON" ls 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }
pid_of() { sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$VMON_STATE_DIR/$1/meta.json" 2>/dev/null; }
# alive PID: running and not a zombie (exited VM processes are reparented and
# may wait a while to be reaped).
alive() { local s; s=$(sed -E 's/.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]; }
lines() { wc -l <"$VMON_STATE_DIR/$1/serial.log" 2>/dev/null || echo 0; }
sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error' "$T/err" "$VMON_STATE_DIR"/*/vmon.log 2>/dev/null; }

# ---- cases that need no KVM
newstate
v create 'bad/name' -k $G/ticker.elf
if [ $rc = 2 ] && grep -q "not a valid VM name" "$T/err" && [ -z "$(ls "$VMON_STATE_DIR")" ]; then ok "bad name refused"
else bad "bad name refused" "exit $rc, want 2 and a message"; fi

v create -x
if [ $rc = 2 ] && grep -q "missing NAME" "$T/err"; then ok "create without NAME is a usage error"
else bad "create without NAME" "exit $rc"; fi

printf 'max_vms = 2\nmax_cpus = 3\n' >"$VMON_LIMITS"
v create lim0 -k $G/ticker.elf --mem 4M
if [ $rc = 1 ] && grep -q "limits.conf:2: unknown key 'max_cpus'" "$T/err"; then ok "bad limits file named with its line"
else bad "bad limits file" "exit $rc"; fi
: >"$VMON_LIMITS"

helpbad=
for c in create ls pause resume stop rm inspect console gc; do
	v "$c" --help
	[ $rc = 0 ] && grep -q "^Usage: vmon $c" "$T/out" || helpbad="$helpbad $c"
done
[ -z "$helpbad" ] && ok "--help of every management command" || bad "--help" "wrong for:$helpbad"

# gc on hand-made entries: an old orphan, an old stopped VM, a fresh stopped one with a socket.
newstate
now=$(date +%s); old=$((now - 7200))
mkdir "$VMON_STATE_DIR/orph" && touch -d '2 hours ago' "$VMON_STATE_DIR/orph"
mkdir "$VMON_STATE_DIR/young"
for n in old1 new1; do
	mkdir "$VMON_STATE_DIR/$n"
	t=$old; [ $n = new1 ] && t=$now
	echo "{\"name\":\"$n\",\"pid\":2147483000,\"pid_start\":1,\"created\":$t,\"uid\":0,\"user\":\"x\",\"ttl\":0}" >"$VMON_STATE_DIR/$n/meta.json"
	echo "{\"state\":\"Stopped\",\"pid\":2147483000,\"started\":$t,\"updated\":$t,\"exit_status\":0,\"reason\":\"test\"}" >"$VMON_STATE_DIR/$n/state.json"
done
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$VMON_STATE_DIR/new1/api.sock" 2>/dev/null || touch "$VMON_STATE_DIR/new1/api.sock"
v gc
if [ $rc = 0 ] && grep -q '^would remove orph (orphan' "$T/out" && grep -q '^would remove old1 (stopped' "$T/out" &&
   grep -q '^would remove new1/api.sock' "$T/out" && ! grep -qE 'remove (young|new1) ' "$T/out" && [ -d "$VMON_STATE_DIR/orph" ]; then
	v gc --yes
	if [ $rc = 0 ] && grep -q '^removed orph ' "$T/out" && [ ! -e "$VMON_STATE_DIR/orph" ] && [ ! -e "$VMON_STATE_DIR/old1" ] &&
	   [ -d "$VMON_STATE_DIR/young" ] && [ -f "$VMON_STATE_DIR/new1/meta.json" ] && [ ! -e "$VMON_STATE_DIR/new1/api.sock" ]; then
		ok "gc lists then removes old orphans, old stopped entries and dead sockets only"
	else bad "gc --yes" "exit $rc or wrong removals: $(ls "$VMON_STATE_DIR" | tr '\n' ' ')"; fi
else bad "gc listing" "exit $rc"; fi
v ls
if [ $rc = 0 ] && grep -qE '^young +orphan' "$T/out" && grep -qE '^new1 +stopped' "$T/out"; then ok "ls shows orphan and stopped entries"
else bad "ls of hand-made entries" "exit $rc"; fi

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	for c in lifecycle pause-resume console stop rm duplicate ttl limits stale gc-live ls-50; do
		skip "$c" "/dev/kvm is absent or not accessible"
	done
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail = 0 ]; exit
fi

# ---- lifecycle on KVM
newstate
v create web1 -k $G/ticker.elf --mem 4M --label env=test --ttl 1h
if [ $rc = 0 ] && grep -qE '^web1: started \(pid [0-9]+\)' "$T/out" && [ "$(state web1)" = running ] &&
   "$VMON" ls | grep -qE '^web1 +running +1 +4M .* env=test$'; then ok "create + ls shows running"
else bad "create + ls" "exit $rc, state '$(state web1)'"; fi

v create web1 -k $G/ticker.elf --mem 4M
if [ $rc = 1 ] && grep -q "web1: exists" "$T/err"; then ok "duplicate name refused"
else bad "duplicate name" "exit $rc"; fi

v pause web1
sleep 0.2; a=$(lines web1); sleep 1; b=$(lines web1)
if [ $rc = 0 ] && [ "$(state web1)" = paused ] && [ "$a" = "$b" ] && [ "$a" -gt 0 ]; then
	v resume web1; sleep 0.5; c=$(lines web1)
	if [ $rc = 0 ] && [ "$c" -gt "$b" ] && [ "$(state web1)" = running ]; then ok "pause stops the output, resume restarts it ($a, $b, $c lines)"
	else bad "resume" "exit $rc, serial.log lines $b -> $c"; fi
else bad "pause" "exit $rc, serial.log lines $a -> $b over 1 s, state '$(state web1)'"; fi

v inspect web1
if [ $rc = 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="running" and d["api"]["/"]["state"]=="Running" and "/stats" in d["api"]' "$T/out" 2>/dev/null
then ok "inspect shows meta, state and the API's answers"; else bad inspect "exit $rc"; fi

v create echo1 -k $G/echo.elf --mem 4M
if [ $rc = 0 ]; then
	echo x | timeout 10 "$VMON" console echo1 >"$T/out" 2>"$T/err"; rc=$?
	if [ $rc = 0 ] && grep -q 'PASS echo x' "$T/out" && grep -q 'attached to echo1' "$T/err"; then ok "console relays input and the guest's echo"
	else bad console "exit $rc"; fi
else bad console "create echo1: exit $rc"; fi

v stop web1
st=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exit_status"])' "$VMON_STATE_DIR/web1/state.json" 2>/dev/null)
pid=$(pid_of web1)
if [ $rc = 0 ] && [ "$(state web1)" = stopped ] && [ "$st" = 4 ] && ! alive "$pid"; then ok "stop: ls shows stopped, exit status 4 recorded"
else bad stop "exit $rc, state '$(state web1)', exit_status '$st'"; fi

v create web1 -k $G/ticker.elf --mem 4M
if [ $rc = 1 ] && grep -q "web1: exists (stopped); vmon rm web1 first" "$T/err"; then ok "create over a stopped entry says rm first"
else bad "create over stopped" "exit $rc"; fi

v rm web1
if [ $rc = 0 ] && [ ! -e "$VMON_STATE_DIR/web1" ] && [ -z "$(state web1)" ]; then ok "rm removes a stopped VM"
else bad rm "exit $rc"; fi

v create live1 -k $G/ticker.elf --mem 4M
v rm live1
if [ $rc = 1 ] && grep -q "is live" "$T/err" && [ "$(state live1)" = running ]; then
	pid=$(pid_of live1); v rm --force live1
	if [ $rc = 0 ] && [ ! -e "$VMON_STATE_DIR/live1" ] && ! alive "$pid"; then ok "rm refuses a live VM; rm --force stops and removes it"
	else bad "rm --force" "exit $rc"; fi
else bad "rm of a live VM" "exit $rc, state '$(state live1)'"; fi

v create short -k $G/ticker.elf --mem 4M --ttl 2s
pid=$(pid_of short)
if [ $rc = 0 ] && "$VMON" ls | grep -qE '^short +running .* [12]s +'; then
	sleep 4
	if [ -z "$(state short)" ] && ! alive "$pid" && [ ! -e "$VMON_STATE_DIR/short" ]; then ok "TTL: gone from ls and the process exited after 2 s"
	else bad ttl "after 4 s: state '$(state short)', pid $pid $(alive "$pid" && echo alive)"; fi
else bad ttl "create: exit $rc"; fi

v create doomed -k $G/ticker.elf --mem 4M
pid=$(pid_of doomed)
kill -9 "$pid"; sleep 0.3
if [ "$(state doomed)" = stale ] && ! "$VMON" ls | grep -qE '^doomed +running'; then ok "kill -9: ls shows stale, not running"
else bad stale "state '$(state doomed)'"; fi

# A VM process that ignores SIGTERM (stopped with SIGSTOP) gets SIGKILL after --timeout.
v create frozen -k $G/ticker.elf --mem 4M
pid=$(pid_of frozen); kill -STOP "$pid"
v stop --timeout 1 frozen
if [ $rc = 0 ] && grep -q 'sending SIGKILL' "$T/err" && [ "$(state frozen)" = stopped ] && ! alive "$pid" &&
   grep -q '"exit_status":137' "$VMON_STATE_DIR/frozen/state.json"; then ok "stop --timeout: SIGKILL after the grace period, recorded as stopped"
else bad "stop --timeout" "exit $rc, state '$(state frozen)'"; fi

v create bad1 -k /nonexistent --mem 4M
if [ $rc = 1 ] && grep -q "the VM process exited" "$T/err" && grep -q "cannot open kernel '/nonexistent'" "$T/err" &&
   [ "$(state bad1)" = stopped ]; then ok "create of a VM that cannot start prints its log, exit 1, entry stopped"
else bad "create failing" "exit $rc, state '$(state bad1)'"; fi

# gc never touches a live VM, even an old one (its dir aged with touch).
v create keeper -k $G/ticker.elf --mem 4M
touch -d '3 hours ago' "$VMON_STATE_DIR/keeper" "$VMON_STATE_DIR/keeper"/*
v gc --older-than 1s --yes
if [ $rc = 0 ] && [ "$(state keeper)" = running ] && ! grep -q keeper "$T/out"; then ok "gc leaves a live VM alone"
else bad gc-live "exit $rc, keeper '$(state keeper)'"; fi
sanitizer_clean && ok "no sanitizer report in the CLI or the VM processes" || bad sanitizer "see vmon.log files"

# Limits count every VM process on the host (state_limits.c): the earlier cases' VMs go first.
stop_all() {
	local m pid left
	kill_all
	for _ in $(seq 50); do
		left=0
		for m in "$T"/*/*/meta.json; do
			pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m" 2>/dev/null)
			[ -n "$pid" ] && alive "$pid" && left=1
		done
		[ $left = 0 ] && return
		sleep 0.1
	done
}
stop_all
# Limits: a fresh state dir, max_vms = 2.
newstate
printf '# test\nmax_vms = 2\n' >"$VMON_LIMITS"
v create l1 -k $G/ticker.elf --mem 4M; r1=$rc
v create l2 -k $G/ticker.elf --mem 4M; r2=$rc
v create l3 -k $G/ticker.elf --mem 4M
if [ "$r1$r2" = 00 ] && [ $rc = 1 ] && grep -q "vmon: create: l3: limit max_vms = 2 reached (2 VMs live)" "$T/err" && [ ! -e "$VMON_STATE_DIR/l3" ]; then
	"$VMON" stop l2 >/dev/null
	v create l3 -k $G/ticker.elf --mem 4M
	if [ $rc = 0 ]; then ok "limits: third create refused naming max_vms; a stopped VM frees its slot"
	else bad limits "create after a stop: exit $rc"; fi
else bad limits "creates: $r1 $r2 $rc"; fi
# A second state root, or a plain `vmon run`, is no way around max_vms: l1 and l3 are live.
rootA=$VMON_STATE_DIR
newstate
v create other -k $G/ticker.elf --mem 4M
timeout 20 "$VMON" run -k $G/ticker.elf --mem 4M >/dev/null 2>"$T/run.err"; rrc=$?
if [ $rc = 1 ] && grep -q "limit max_vms = 2 reached (2 VMs live)" "$T/err" &&
   [ $rrc = 1 ] && grep -q "limit max_vms = 2 reached (2 VMs live)" "$T/run.err"; then
	ok "limits: another state root and a plain vmon run count the host's VMs"
else bad limits-host-wide "create in a second root: exit $rc; vmon run: exit $rrc $(head -c 200 "$T/run.err")"; fi
VMON_STATE_DIR=$rootA
printf 'max_mem = 8M\n' >"$VMON_LIMITS"
"$VMON" stop l1 >/dev/null
v create m1 -k $G/ticker.elf --mem 8M
if [ $rc = 1 ] && grep -q "limit max_mem = 8M exceeded (4M live + 8M requested)" "$T/err"; then ok "limits: max_mem counts live VMs' RAM"
else bad "limits max_mem" "exit $rc"; fi
: >"$VMON_LIMITS"

# Two concurrent creates against max_vms = 1: exactly one passes (the lock).
stop_all
newstate
printf 'max_vms = 1\n' >"$VMON_LIMITS"
"$VMON" create c1 -k $G/ticker.elf --mem 4M >/dev/null 2>&1 & p1=$!
"$VMON" create c2 -k $G/ticker.elf --mem 4M >/dev/null 2>&1 & p2=$!
wait $p1; a=$?; wait $p2; b=$?
if [ $((a + b)) = 1 ]; then ok "concurrent creates: one passes max_vms = 1 ($a, $b)"
else bad "concurrent creates" "statuses $a and $b"; fi
: >"$VMON_LIMITS"

# ---- the ls benchmark: 50 VMs, the optimised build.
newstate
made=0
for i in $(seq 1 50); do
	"$FAST" create "b$i" -k $G/ticker.elf --mem 4M >/dev/null 2>"$T/err" && made=$((made + 1))
done
if [ $made = 50 ]; then
	best=
	for r in 1 2 3 4 5; do
		t0=$(date +%s%N); "$FAST" ls >"$T/out"; t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000)); [ -z "$best" ] || [ $ms -lt $best ] && best=$ms
	done
	running=$(grep -c ' running ' "$T/out")
	echo "ls of 50 VMs: $best ms"
	if [ $best -le 100 ] && [ "$running" = 50 ]; then ok "ls of 50 VMs in $best ms"
	else bad ls-50 "$best ms (limit 100), $running of 50 running"; fi
else bad ls-50 "only $made of 50 VMs started"; fi
for i in $(seq 1 50); do "$FAST" rm --force "b$i" >/dev/null 2>&1 & done; wait
left=$(ls "$VMON_STATE_DIR" | wc -l)
[ "$left" = 0 ] && ok "50 VMs stopped and removed" || bad "ls-50 cleanup" "$left entries left"

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
