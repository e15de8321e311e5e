#!/usr/bin/env bash
# tests/host/hostile-user.sh: what another local user must not be able to do
# to vmon (issue #12), one case per attack, each with its expected outcome:
#  1. redirect vmon's writes: a state root that is world-writable, a symlink
#     or another user's is refused; symlinks planted for state.json,
#     serial.log, api.sock, console.sock, .lock and a VM directory point at
#     a victim file that must stay untouched;
#  2. bypass the host limits: VMON_LIMITS or a limits file of one's own do
#     not raise them for a non-root user; `vmon run` and an API-configured VM
#     above max_mem are refused at their start;
#  3. hang the API: 20 clients trickling a header byte a second do not delay
#     GET / or `vmon stop` past 1 s and are dropped; a kernel swapped for a
#     FIFO after configuration is refused and the API keeps answering; a JSON
#     key holding \u0000 is a 400.
# The unprivileged cases run as nobody (setpriv) when we are root, as
# ourselves otherwise; a case that cannot run says SKIP with the reason.
# Ends with "N passed, N failed, N skipped"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/host/own-pidns.sh
own_pidns tests/host/hostile-user.sh "$@"

VMON=${VMON:-build/vmon.san}
VMON=$(realpath "$VMON")
FAST=$(realpath "${FAST:-build/vmon}")  # timings: the optimised build
[ -x "$FAST" ] || FAST=$VMON
G=$(realpath build/guests)
T=$(mktemp -d)
chmod 755 "$T"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unset VMON_LIMITS XDG_RUNTIME_DIR
pass=0 fail=0 skip=0
pids=()

cleanup() {
	local p m
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for m in "$T"/*/*/meta.json; do
		[ -f "$m" ] || continue
		p=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m")
		[ -n "$p" ] && grep -qa vmon "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" 2>/dev/null | head -20; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
summary() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" = 0 ]; exit; }

# ---- preconditions
have_kvm=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && have_kvm=1
if ! [ -x "$VMON" ]; then
	echo "SKIP hostile-user: $VMON is not built"; skip=$((skip + 1)); summary
fi
# as_user CMD...: CMD as an unprivileged user (nobody when we are root).
uid_other=
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
		UID_U=65534
	else
		as_user() { return 125; }
		UID_U=
	fi
	uid_other=0
else
	as_user() { "$@"; }
	UID_U=$(id -u)
fi
# u_run ARGS...: vmon as the unprivileged user with env UENV, output in $T/out, $T/err, status in rc.
UENV=()
u_run() { as_user timeout 30 env "${UENV[@]}" "$VMON" "$@" </dev/null >"$T/out" 2>"$T/err"; rc=$?; }
v() { timeout 30 "$VMON" "$@" </dev/null >"$T/out" 2>"$T/err"; rc=$?; }
sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error' "$T/err" "$@" 2>/dev/null; }
victim_ok() { [ "$(cat "$T/victim")" = precious ]; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
echo precious >"$T/victim"

# ====================================================================== 1. writes
# A world-writable root is refused, for the unprivileged user and for root.
if [ -z "$UID_U" ]; then skip root-world-writable "cannot switch to an unprivileged user"
else
	mkdir "$T/ww" "$T/wwr" && chmod 777 "$T/ww" "$T/wwr"   # the user's and root's
	[ "$(id -u)" != 0 ] || chown "$UID_U:$UID_U" "$T/ww"
	UENV=(VMON_STATE_DIR="$T/ww"); u_run ls
	r1=$rc; grep -q "group- or world-writable" "$T/err"; g1=$?
	VMON_STATE_DIR="$T/wwr" v create w1 --mem 4M
	if [ $r1 = 1 ] && [ $g1 = 0 ] && [ $rc = 1 ] && grep -q "world-writable (mode 777): refused" "$T/err" &&
		[ ! -e "$T/wwr/w1" ] && [ ! -e "$T/wwr/.lock" ] && [ -z "$(ls -A "$T/ww")" ]; then ok "root-world-writable refused (user and root; nothing written)"
	else bad root-world-writable "exit $r1/$rc, want 1 and 'world-writable'"; fi
fi

# A root owned by another user is refused.
if [ "$(id -u)" = 0 ] && [ -n "$UID_U" ]; then
	mkdir "$T/theirs" && chmod 700 "$T/theirs"   # root's, 0700: nobody must not use it
	mkdir "$T/nobodys" && chown "$UID_U:$UID_U" "$T/nobodys" && chmod 755 "$T/nobodys"
	UENV=(VMON_STATE_DIR="$T/theirs"); u_run ls; r1=$rc
	VMON_STATE_DIR="$T/nobodys" v ls
	if [ $r1 = 1 ] && [ $rc = 1 ] && grep -q "owned by uid $UID_U, not by you (uid 0): refused" "$T/err"; then
		ok "root-other-owner refused (root on nobody's root; nobody on root's)"
	else bad root-other-owner "exit $r1/$rc, want 1 and 'owned by uid'"; fi
elif [ "$(id -u)" != 0 ]; then
	VMON_STATE_DIR=/ v ls
	if [ $rc = 1 ] && grep -q "owned by uid 0, not by you" "$T/err"; then ok "root-other-owner refused (/ as $(id -un))"
	else bad root-other-owner "exit $rc"; fi
else skip root-other-owner "cannot switch to an unprivileged user"; fi

# The root as a symlink to our own directory: refused (it could be re-pointed).
mkdir -m 700 "$T/real" && ln -s "$T/real" "$T/link"
VMON_STATE_DIR="$T/link" v ls
if [ $rc = 1 ] && grep -q "a symlink is refused" "$T/err"; then ok "root-symlink refused"
else bad root-symlink "exit $rc"; fi

# .lock planted as a symlink to the victim: create refused, victim intact.
mkdir -m 700 "$T/s1" && ln -s "$T/victim" "$T/s1/.lock"
VMON_STATE_DIR="$T/s1" v create l1 --mem 4M
if [ $rc = 1 ] && grep -q "cannot open .*/.lock" "$T/err" && victim_ok && [ ! -e "$T/s1/l1" ]; then ok "lock-symlink refused, victim intact"
else bad lock-symlink "exit $rc"; fi

# The VM directory planted as a symlink to a victim directory: no meta.json or vmon.log lands there.
mkdir -m 700 "$T/s2" "$T/vdir" && ln -s "$T/vdir" "$T/s2/d1"
VMON_STATE_DIR="$T/s2" v create d1 --mem 4M
if [ $rc = 1 ] && [ -z "$(ls -A "$T/vdir")" ]; then ok "vmdir-symlink: create refused, nothing written through it"
else bad vmdir-symlink "exit $rc, victim dir: $(ls -A "$T/vdir")"; fi

# vmon run --state-dir DIR with one file kind planted as a symlink to the victim.
# state.json and console.sock are replaced; serial.log and api.sock refuse the start.
planted() { # NAME FILE: $rc and the directory $T/p.NAME
	local d=$T/p.$1
	mkdir -m 700 "$d" && ln -s "$T/victim" "$d/$2"
	timeout 30 "$VMON" run --state-dir "$d" --name "$1" </dev/null >"$T/out" 2>"$T/err" &
	local p=$! i
	pids+=("$p")
	for i in $(seq 60); do
		grep -q '"state":"Not started"' "$d/state.json" 2>/dev/null && [ ! -L "$d/state.json" ] && break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM "$p" 2>/dev/null
	wait "$p"; rc=$?
}
planted st state.json
if victim_ok && [ -f "$T/p.st/state.json" ] && [ ! -L "$T/p.st/state.json" ] &&
	grep -q '"state":"Stopped"' "$T/p.st/state.json"; then ok "state.json symlink replaced, victim intact"
else bad state-json-symlink "victim: $(cat "$T/victim"); state.json: $(ls -l "$T/p.st/state.json")"; fi
planted sl serial.log
if victim_ok && [ $rc != 0 ] && grep -qE "(serial log|log file) .*serial.log: Too many levels of symbolic links" "$T/err"; then
	ok "serial.log symlink refused (exit $rc), victim intact"
else bad serial-log-symlink "exit $rc, victim: $(cat "$T/victim")"; fi
planted as api.sock
if victim_ok && [ $rc != 0 ] && grep -q "api.sock: exists and is not a socket" "$T/err"; then
	ok "api.sock symlink refused (exit $rc), victim intact"
else bad api-sock-symlink "exit $rc, victim: $(cat "$T/victim")"; fi
planted cs console.sock
if victim_ok && [ ! -L "$T/p.cs/console.sock" ]; then ok "console.sock symlink replaced, victim intact"
else bad console-sock-symlink "exit $rc, victim: $(cat "$T/victim")"; fi
sanitizer_clean || bad planted-sanitizer "sanitizer report"

# A live VM's state.json swapped for a symlink, then vmon stop: the final write replaces it.
if [ $have_kvm = 0 ]; then skip stop-state-symlink "/dev/kvm is absent or not accessible"
else
	mkdir -m 700 "$T/s3"
	VMON_STATE_DIR="$T/s3" v create t1 -k "$G/ticker.elf" --mem 4M
	if [ $rc = 0 ]; then
		ln -sf "$T/victim" "$T/s3/t1/state.json"
		VMON_STATE_DIR="$T/s3" v stop t1
	fi
	if [ $rc = 0 ] && victim_ok && [ ! -L "$T/s3/t1/state.json" ] && grep -q Stopped "$T/s3/t1/state.json"; then
		ok "stop-state-symlink: replaced, victim intact"
	else bad stop-state-symlink "exit $rc, victim: $(cat "$T/victim")"; fi
fi

# ====================================================================== 2. limits
# A limits file of root's (max_mem = 8M) at /etc/vmon/limits.conf, in a private
# mount namespace so the host's /etc is left alone.
ns_ok=0 made_etc=
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	[ -d /etc/vmon ] || { mkdir /etc/vmon && made_etc=1; }
	mkdir -m 755 "$T/etc" && printf 'max_mem = 8M\n' >"$T/etc/limits.conf" && chmod 644 "$T/etc/limits.conf"
	printf 'max_mem = 64G\n' >"$T/mine.conf"; chown "${UID_U:-0}:${UID_U:-0}" "$T/mine.conf" 2>/dev/null
	unshare -m sh -c "mount --make-rprivate / 2>/dev/null; mount --bind '$T/etc' /etc/vmon" 2>/dev/null && ns_ok=1
fi
# in_ns CMD...: CMD inside a namespace where /etc/vmon is $T/etc.
in_ns() { unshare -m sh -c 'mount --make-rprivate / 2>/dev/null; mount --bind "$0" /etc/vmon && exec "$@"' "$T/etc" "$@"; }
if [ $ns_ok = 0 ] || [ -z "$UID_U" ]; then
	for c in limits-env-ignored limits-own-file limits-foreign-file; do
		skip "$c" "needs root, unshare -m and an unprivileged user (to stand in for /etc/vmon)"
	done
else
	mkdir -m 700 "$T/us" && chown "$UID_U:$UID_U" "$T/us"
	in_ns setpriv --reuid="$UID_U" --regid="$UID_U" --clear-groups env VMON_STATE_DIR="$T/us" \
		VMON_LIMITS="$T/mine.conf" "$VMON" run -k "$G/hello.elf" --mem 16M </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "limit max_mem = 8M exceeded" "$T/err"; then ok "limits-env-ignored: nobody's VMON_LIMITS does not lift max_mem = 8M"
	else bad limits-env-ignored "exit $rc, want 1 and the max_mem limit"; fi
	# The user's own file where the system one should be: refused, nothing starts.
	cp "$T/mine.conf" "$T/etc/limits.conf"; chown "$UID_U:$UID_U" "$T/etc/limits.conf"
	in_ns setpriv --reuid="$UID_U" --regid="$UID_U" --clear-groups env VMON_STATE_DIR="$T/us" \
		"$VMON" run -k "$G/hello.elf" --mem 16M </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "limits.conf: refused: it (and its directory) must be root's" "$T/err"; then
		ok "limits-own-file: a limits file owned by the user is refused"
	else bad limits-own-file "exit $rc"; fi
	chown 0:0 "$T/etc/limits.conf"; chmod 666 "$T/etc/limits.conf"
	in_ns setpriv --reuid="$UID_U" --regid="$UID_U" --clear-groups env VMON_STATE_DIR="$T/us" \
		"$VMON" run -k "$G/hello.elf" --mem 16M </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "refused" "$T/err"; then ok "limits-foreign-file: a world-writable limits file is refused"
	else bad limits-foreign-file "exit $rc"; fi
fi
[ -n "$made_etc" ] && rmdir /etc/vmon 2>/dev/null

# Root's override (tests): `vmon run` above max_mem is refused before any KVM work.
if [ "$(id -u)" = 0 ]; then
	printf 'max_mem = 8M\n' >"$T/root.conf"
	mkdir -m 700 "$T/rs"
	VMON_LIMITS="$T/root.conf" VMON_STATE_DIR="$T/rs" v run -k "$G/hello.elf" --mem 16M
	if [ $rc = 1 ] && grep -q "limit max_mem = 8M exceeded (0 live + 16M requested)" "$T/err"; then ok "run-over-limit refused"
	else bad run-over-limit "exit $rc"; fi
else
	skip run-over-limit "VMON_LIMITS is honoured for root only"
fi

# ====================================================================== 3. the API
SOCK=$T/api.sock
api() { # METHOD PATH [BODY]: $code, body in $T/body
	local args=(-X "$1")
	[ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data-binary "$3")
	code=$(curl --unix-socket "$SOCK" -s -m 5 -o "$T/body" -w '%{http_code}' "${args[@]}" "http://localhost$2")
}
api_vm() { # start `vmon run --api-sock` in the background with $apid
	rm -f "$SOCK"
	env "$@" "$VMON" run --api-sock "$SOCK" </dev/null >"$T/out" 2>"$T/err" &
	apid=$!; pids+=("$apid")
	for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	return 1
}
if ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	for c in api-over-limit api-nul-key api-fifo-kernel slow-clients slow-clients-stop; do skip "$c" "needs curl and python3"; done
	summary
fi

# An API-configured VM above max_mem: refused at InstanceStart, the API still answers.
if [ "$(id -u)" = 0 ] && api_vm VMON_LIMITS="$T/root.conf"; then
	api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":16}'; c1=$code
	api PUT /boot-source "{\"kernel_image_path\":\"$G/hello.elf\"}"; c2=$code
	api PUT /actions '{"action_type":"InstanceStart"}'; c3=$code; b3=$(cat "$T/body")
	api GET /; c4=$code
	if [ "$c1$c2$c3$c4" = 204204400200 ] && grep -q "limit max_mem = 8M exceeded" <<<"$b3"; then
		ok "api-over-limit: InstanceStart refused (400, max_mem), GET / still 200"
	else bad api-over-limit "codes $c1 $c2 $c3 $c4: $b3"; fi
	# A key holding \u0000 would reach json-c as "vcpu_count".
	api PUT /machine-config '{"vcpu_count\u0000x":2,"mem_size_mib":4}'
	if [ "$code" = 400 ] && grep -q '"fault_message":".*NUL' "$T/body"; then ok "api-nul-key: 400 with fault_message"
	else bad api-nul-key "HTTP $code: $(cat "$T/body")"; fi
	kill -TERM "$apid"; wait "$apid" 2>/dev/null
else
	skip api-over-limit "VMON_LIMITS is honoured for root only"
	skip api-nul-key "runs with api-over-limit's VM"
fi

# The kernel passes configuration as a regular file, then becomes a FIFO: refused, no hang.
if [ $have_kvm = 0 ]; then skip api-fifo-kernel "/dev/kvm is absent or not accessible"
elif api_vm; then
	cp "$G/hello.elf" "$T/k.elf"
	api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":4}'; c1=$code
	api PUT /boot-source "{\"kernel_image_path\":\"$T/k.elf\"}"; c2=$code
	rm "$T/k.elf" && mkfifo "$T/k.elf"
	t0=$(now_ms)
	api PUT /actions '{"action_type":"InstanceStart"}'; c3=$code; b3=$(cat "$T/body")
	t1=$(now_ms)
	api GET /; c4=$code
	if [ "$c1$c2$c3$c4" = 204204400200 ] && grep -q "is a FIFO, not a regular file: refused" <<<"$b3" &&
		[ $((t1 - t0)) -lt 2000 ]; then ok "api-fifo-kernel: InstanceStart 400 in $((t1 - t0)) ms, GET / still 200"
	else bad api-fifo-kernel "codes $c1 $c2 $c3 $c4 in $((t1 - t0)) ms: $b3"; fi
	kill -TERM "$apid"; wait "$apid" 2>/dev/null
else bad api-fifo-kernel "the VM process did not come up"; fi

# trickle SOCK N HOLD: N connections each sending one header byte a second for up
# to HOLD seconds; prints "connected" once all are up, at the end "cut K MAX"
# (K of them closed by the server, the last after MAX seconds).
cat >"$T/trickle.py" <<'EOF'
import socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
req = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 4096
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    socks.append(s)
print("connected", flush=True)
t0 = time.time()
cut = [None] * n
i = 0
while time.time() - t0 < hold and None in cut:
    for k, s in enumerate(socks):
        if cut[k] is not None:
            continue
        try:
            s.send(req[i:i + 1])
            if s.recv(1) == b"":
                cut[k] = time.time() - t0
        except BlockingIOError:
            pass
        except OSError:
            cut[k] = time.time() - t0
    i += 1
    time.sleep(1)
done = [c for c in cut if c is not None]
print("cut %d %.1f" % (len(done), max(done) if done else 0), flush=True)
EOF
wait_line() { # FILE PATTERN SECS
	local i
	for ((i = 0; i < $3 * 20; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
mkdir -m 700 "$T/s4"
VMON_STATE_DIR="$T/s4" v create slow --mem 4M   # no kernel: waits for the API, needs no KVM
if [ $rc != 0 ]; then
	bad slow-clients "vmon create slow (no kernel) failed"
	skip slow-clients-stop "no VM"
	summary
fi
SOCK=$T/s4/slow/api.sock
python3 "$T/trickle.py" "$SOCK" 20 12 >"$T/tr1" 2>&1 &
tp=$!; pids+=("$tp")
if wait_line "$T/tr1" connected 5; then
	sleep 2
	res=$(curl --unix-socket "$SOCK" -s -m 1 -o "$T/body" -w '%{http_code} %{time_total}' http://localhost/)
	wait "$tp"; tr=$(tail -n 1 "$T/tr1")
	n=$(awk '{print $2}' <<<"$tr"); mx=$(awk '{print $3}' <<<"$tr")
	if [ "${res%% *}" = 200 ] && grep -q '"state":"Not started"' "$T/body" && [ "$n" = 20 ] &&
		awk -v m="$mx" 'BEGIN { exit !(m <= 8) }'; then
		ok "slow-clients: GET / in ${res#* } s beside 20 tricklers; all 20 dropped by ${mx} s"
	else bad slow-clients "GET /: $res; tricklers: $tr"; fi
else bad slow-clients "tricklers did not connect: $(cat "$T/tr1")"; fi
VMON_STATE_DIR="$T/s4" v stop slow
# vmon stop's timing with the optimised build (a sanitizer's exit-time leak scan is not vmon's).
VMON_STATE_DIR="$T/s4" timeout 30 "$FAST" create slow2 --mem 4M </dev/null >"$T/out" 2>"$T/err"
SOCK=$T/s4/slow2/api.sock
python3 "$T/trickle.py" "$SOCK" 20 10 >"$T/tr2" 2>&1 &
tp=$!; pids+=("$tp")
if wait_line "$T/tr2" connected 5; then
	sleep 1
	t0=$(now_ms)
	VMON_STATE_DIR="$T/s4" timeout 30 "$FAST" stop slow2 </dev/null >"$T/out" 2>"$T/err"; rc=$?
	t1=$(now_ms)
	if [ $rc = 0 ] && [ $((t1 - t0)) -lt 1000 ] && grep -q Stopped "$T/s4/slow2/state.json"; then
		ok "slow-clients-stop: vmon stop in $((t1 - t0)) ms beside 20 tricklers"
	else bad slow-clients-stop "exit $rc in $((t1 - t0)) ms"; fi
else bad slow-clients-stop "tricklers did not connect: $(cat "$T/tr2")"; fi
kill "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
sanitizer_clean "$T"/s4/*/vmon.log || bad slow-clients-sanitizer "sanitizer report"
summary
