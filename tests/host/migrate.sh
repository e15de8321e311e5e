#!/usr/bin/env bash
# tests/host/migrate.sh: live migration of the counter guest between two managed VM
# processes on this host ($VMON, default build/vmon.san; a temporary VMON_STATE_DIR):
#   continue     `vmon create b --incoming unix:S`, `vmon migrate a --to unix:S`: exit 0,
#                downtime and bytes printed (downtime < 2000 ms), pre-copy used; a ended
#                Stopped with exit status 0 ("migrated to"), b goes on from a's last count
#                without a reboot and keeps counting; S was 0600 and is gone
#   target-dies  the target (a listener here) closes after 20000 bytes: exit 1 naming it, the
#                source still Running, still counting, and its API answers GET /
#   target-silent the target reads everything and never acknowledges: exit 1 after the
#                source's 3 s timeout, the source runs on
#   again        the source that survived both migrates to a real target after all
#   garbage      a client writing garbage to an --incoming socket: the target ends (status 1,
#                "not a vmon migration stream"), nothing runs
#   bad-to       tcp:..., no scheme, an empty path, no --to, an extra argument: exit 2 with
#                the reason; `vmon run --incoming bogus` exit 2; an unknown VM: 1
#   help         `vmon migrate --help` describes --to and the exit statuses
# Ends "N passed, N failed, N skipped"; no /dev/kvm: the KVM cases are skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
V=${VMON:-build/vmon.san} G=build/guests/counter.elf
pass=0 fail=0 skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
T=$(mktemp -d)
PIDS=()
kill_ours() {
	local m pid
	for m in "$T"/root/*/meta.json; do
		[ -f "$m" ] || continue
		pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m")
		[ -n "$pid" ] && grep -qa vmon "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null; done
}
trap 'kill_ours; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
export VMON_STATE_DIR=$T/root VMON_LIMITS=$T/limits.conf
mkdir -p "$VMON_STATE_DIR"
: >"$VMON_LIMITS"
v() { timeout 60 "$V" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
run_state() { sed -nE 's/.*"state":"([^"]*)".*/\1/p' "$VMON_STATE_DIR/$1/state.json" 2>/dev/null; }
exit_status() { sed -nE 's/.*"exit_status":([0-9]+).*/\1/p' "$VMON_STATE_DIR/$1/state.json" 2>/dev/null; }
last() { grep -E '^count [0-9]+$' "$1" | tail -1 | cut -d' ' -f2; }
first() { grep -E '^count [0-9]+$' "$1" | head -1 | cut -d' ' -f2; }
ends_midline() { [ -s "$1" ] && [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; }
continues() {
	local a b; a=$(last "$1") b=$(first "$2")
	[ -n "$a" ] && [ -n "$b" ] && { [ "$b" = $((a + 1)) ] || { ends_midline "$1" && [ "$b" = $((a + 2)) ]; }; }
}
# Wait up to 5 s for a VM's state.json to say $2.
wait_state() { for _ in $(seq 50); do [ "$(run_state "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
# A fake target on unix socket $1: read $2 bytes (0: all, until the source gives up) then close.
fake_target() {
	python3 - "$1" "$2" <<'PY' &
import os, socket, sys
path, limit = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); os.chmod(path, 0o600); s.listen(1)
c, _ = s.accept(); got = 0
while limit == 0 or got < limit:
    b = c.recv(65536 if limit == 0 else min(65536, limit - got))
    if not b: break
    got += len(b)
c.close()
PY
	PIDS+=($!)
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
}
CS=$VMON_STATE_DIR
have_kvm=1
[ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=0
if [ $have_kvm = 0 ]; then
	for c in continue target-dies target-silent again garbage; do
		echo "SKIP $c: /dev/kvm is absent or not accessible"; skip=$((skip + 1))
	done
else
	# continue
	v create a -k $G --mem 16M
	ca=$rc; sleep 1
	v create b --incoming unix:$T/in.sock
	cb=$rc mode=$(stat -c %a $T/in.sock 2>/dev/null)
	v migrate a --to unix:$T/in.sock
	mr=$rc; cp "$CS/a/serial.log" $T/a.log 2>/dev/null; sleep 1.5
	dt=$(sed -nE 's/.*downtime ([0-9.]+) ms.*/\1/p' $T/out) by=$(sed -nE 's/.* ([0-9]+) bytes sent.*/\1/p' $T/out)
	if [ $ca = 0 ] && [ $cb = 0 ] && [ $mr = 0 ] && [ "$mode" = 600 ] && [ -n "$dt" ] && [ -n "$by" ] &&
		awk -v d="$dt" 'BEGIN { exit !(d < 2000) }' && [ "$by" -gt 4096 ] && grep -q 'pre-copy' $T/out &&
		[ "$(run_state a)" = Stopped ] && [ "$(exit_status a)" = 0 ] &&
		grep -q '"reason":"migrated to unix:' "$CS/a/state.json" && [ "$(run_state b)" = Running ] &&
		continues $T/a.log "$CS/b/serial.log" && ! grep -q 'counter: start' "$CS/b/serial.log" &&
		[ "$(last "$CS/b/serial.log")" -gt "$(($(first "$CS/b/serial.log") + 2))" ] && [ ! -e $T/in.sock ]; then
		ok "continue ($(sed 's/^a: //' $T/out); a's last count $(last $T/a.log), b's first $(first "$CS/b/serial.log"), now $(last "$CS/b/serial.log"))"
	else bad continue "create $ca/$cb, migrate $mr, mode $mode: $(cat $T/out $T/err) a=$(run_state a)/$(exit_status a) b=$(run_state b) a.last=$(last $T/a.log) b.first=$(first "$CS/b/serial.log")"; fi
	v stop b

	# target-dies
	v create c -k $G --mem 16M
	sleep 1
	fake_target $T/die.sock 20000
	v migrate c --to unix:$T/die.sock
	mr=$rc; n1=$(last "$CS/c/serial.log"); sleep 1.2; n2=$(last "$CS/c/serial.log")
	api=$(curl -s --max-time 5 --unix-socket "$CS/c/api.sock" http://localhost/ 2>/dev/null)
	if [ $mr = 1 ] && grep -qiE 'closed|broken pipe|reset' $T/err && grep -q 'runs on' $T/err &&
		[ "$(run_state c)" = Running ] && [ -n "$n1" ] && [ "$n2" -gt "$n1" ] && echo "$api" | grep -q '"Running"'; then
		ok "target-dies (exit 1: $(head -1 $T/err | cut -c1-110); counting on $n1 -> $n2, GET / $api)"
	else bad target-dies "rc $mr: $(cat $T/out $T/err) state $(run_state c) counts $n1 $n2 api '$api'"; fi

	# target-silent
	fake_target $T/mute.sock 0
	t0=$(date +%s%N)
	v migrate c --to unix:$T/mute.sock
	mr=$rc ms=$((($(date +%s%N) - t0) / 1000000)); n1=$(last "$CS/c/serial.log"); sleep 1.2; n2=$(last "$CS/c/serial.log")
	if [ $mr = 1 ] && grep -q 'acknowledgement' $T/err && [ "$ms" -ge 2500 ] && [ "$(run_state c)" = Running ] &&
		[ "$n2" -gt "$n1" ]; then
		ok "target-silent (exit 1 after $ms ms: $(head -1 $T/err | cut -c1-100); counting on $n1 -> $n2)"
	else bad target-silent "rc $mr after $ms ms: $(cat $T/out $T/err) state $(run_state c) counts $n1 $n2"; fi

	# again: the survivor migrates for real
	v create d --incoming unix:$T/in2.sock
	v migrate c --to unix:$T/in2.sock
	mr=$rc; cp "$CS/c/serial.log" $T/c.log; sleep 1
	if [ $mr = 0 ] && [ "$(exit_status c)" = 0 ] && [ "$(run_state d)" = Running ] && continues $T/c.log "$CS/d/serial.log"; then
		ok "again (after two failed attempts: $(sed 's/^c: //' $T/out); d goes on from $(last $T/c.log))"
	else bad again "rc $mr: $(cat $T/out $T/err) c=$(run_state c)/$(exit_status c) d=$(run_state d)"; fi
	v stop d

	# garbage into a target
	v create e --incoming unix:$T/in3.sock
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'GET / HTTP/1.0\r\n\r\n' + bytes(4096)); s.close()" $T/in3.sock
	if wait_state e Stopped && [ "$(exit_status e)" = 1 ] && grep -q 'not a vmon migration stream' "$CS/e/vmon.log"; then
		ok "garbage (the target ended: $(grep -o 'incoming migration failed.*' "$CS/e/vmon.log"))"
	else bad garbage "state $(run_state e)/$(exit_status e): $(tail -3 "$CS/e/vmon.log" 2>/dev/null)"; fi
fi

# bad-to (no KVM needed: refused before any VM is looked at)
b=0 why=
for to in tcp:127.0.0.1:4444 /tmp/x unix: "unix:$(printf 'x%.0s' $(seq 120))"; do
	v migrate x --to "$to"
	[ $rc = 2 ] && grep -q 'vmon: migrate: --to' $T/err || { b=1; why="$why [$to: rc $rc $(cat $T/err)]"; }
done
v migrate x; [ $rc = 2 ] || { b=1; why="$why [no --to: rc $rc]"; }
v migrate x y --to unix:/tmp/s; [ $rc = 2 ] || { b=1; why="$why [extra arg: rc $rc]"; }
v run --incoming bogus --api-sock $T/api0.sock; [ $rc = 2 ] && grep -q 'unix:PATH' $T/err || { b=1; why="$why [run --incoming bogus: rc $rc]"; }
v migrate nosuchvm --to unix:$T/none.sock; [ $rc = 1 ] || { b=1; why="$why [unknown VM: rc $rc]"; }
v migrate x --to tcp:127.0.0.1:4444; tcpmsg=$(head -1 $T/err)
if [ $b = 0 ]; then ok "bad-to (exit 2 each; e.g. '$tcpmsg'; an unknown VM 1)"; else bad bad-to "$why"; fi

# help
v migrate --help
if [ $rc = 0 ] && grep -q -- '--to unix:PATH' $T/out && grep -q 'Exit status: 0 migrated' $T/out && grep -q -- '--incoming' $T/out; then
	ok "help"
else bad help "rc $rc"; fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
