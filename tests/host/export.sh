#!/usr/bin/env bash
# tests/host/export.sh: `vmon export` and `vmon import` with the counter guest on the host KVM.
# Two state roots stand for two hosts (VMON_STATE_DIR=$T/ha and $T/hb: each its own host key
# and lineage store). A managed VM a (counter, --mem 4M, a sparse 8 MiB disk with a marker):
#   export-paused   a paused: the archive holds manifest.json first, the snapshot and the disk
#                   (holes kept: the file is smaller than its members), a stays paused
#   import-continue on host B as b: b goes on from a's last count, no reboot; its disk is
#                   B/b/disk0.img (open in b's process, with the marker); the two host keys differ
#   export-running  a running: exported, resumed afterwards
#   exists          FILE exists: refused without --force (FILE unchanged), replaced with it
#   tampered-disk   one byte of the disk member flipped: refused, nothing left behind
#   tampered-manifest one byte of the manifest flipped: refused
#   truncated       the archive cut in half: refused, nothing left behind
#   rollback        b's snapshot took generation 2 on B: importing generation 1 as c refused
#                   naming both; --allow-rollback imports it and writes the audit line
#   key             exported with --key: refused without it and with another key; with it,
#                   --dir D holds the files
#   stopped         a stopped: configuration, disk and kernel only; imported as a stopped VM
#                   whose run flags name the placed files, and `vmon create` with them counts
#   errors          usage errors (2), unknown VM, missing or junk FILE (1), --help
# Ends "N passed, N failed, N skipped"; no /dev/kvm: every case skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
G=build/guests/counter.elf
V=${VMON:-build/vmon.san}
CASES="export-paused import-continue export-running exists tampered-disk tampered-manifest truncated rollback key stopped errors"
pass=0 fail=0 skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	for c in $CASES; do echo "SKIP $c: /dev/kvm is absent or not accessible"; skip=$((skip + 1)); done
	echo "0 passed, 0 failed, $skip skipped"; exit 0
fi
T=$(mktemp -d)
A=$T/ha B=$T/hb
kill_ours() {
	local m pid
	for m in "$A"/*/meta.json "$B"/*/meta.json; do
		[ -f "$m" ] || continue
		pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$m")
		[ -n "$pid" ] && grep -qa vmon "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
}
trap 'kill_ours; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$A" "$B"
export VMON_LIMITS=$T/limits.conf
: >"$VMON_LIMITS"
# va/vb: the command on host A / B; rc, $T/out, $T/err.
va() { VMON_STATE_DIR=$A timeout 60 "$V" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
vb() { VMON_STATE_DIR=$B timeout 60 "$V" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
st() { sed -nE 's/.*"state":"([^"]*)".*/\1/p' "$1/$2/state.json" 2>/dev/null; }
last() { grep -E '^count [0-9]+$' "$1" | tail -1 | cut -d' ' -f2; }
first() { grep -E '^count [0-9]+$' "$1" | head -1 | cut -d' ' -f2; }
ends_midline() { [ -s "$1" ] && [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; }
continues() {
	local x y; x=$(last "$1") y=$(first "$2")
	[ -n "$x" ] && [ -n "$y" ] && { [ "$y" = $((x + 1)) ] || { ends_midline "$1" && [ "$y" = $((x + 2)) ]; }; }
}
# Flip one byte of $1 at the first occurrence of $2 (+ $3), into $4.
flip() {
	python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); i=b.find(sys.argv[2].encode()); assert i >= 0; b[i+int(sys.argv[3])]^=1; open(sys.argv[4],'wb').write(b)" "$1" "$2" "$3" "$4"
}
# Nothing of a refused import may remain: no VM directory, no stage directory.
clean_b() { [ ! -e "$B/$1" ] && ! ls -d "$B"/.vmon-import-* >/dev/null 2>&1; }
python3 -c "f=open('$T/disk.img','wb'); f.seek(1<<20); f.write(b'DISKMARK-export-test'*16); f.truncate(8<<20)"

# export-paused
va create a -k $G --mem 4M --disk $T/disk.img
if [ $rc = 0 ]; then
	sleep 1
	va pause a
	sleep 0.3; cp "$A/a/serial.log" $T/a.log
	va export a $T/a.vmon
	members=$(tar -tf $T/a.vmon 2>/dev/null | tr '\n' ' ')
	if [ $rc = 0 ] && [ "$(st "$A" a)" = Paused ] && [ "${members%% *}" = manifest.json ] &&
		grep -q 'snapshot.state' <<<"$members" && grep -q 'disk0-disk.img' <<<"$members" &&
		[ "$(stat -c %s $T/a.vmon)" -lt $((4 << 20)) ] && grep -q 'members in .* s' $T/err; then
		ok "export-paused (members: $members; $(stat -c %s $T/a.vmon) bytes for 12 MiB of members; a paused)"
	else bad export-paused "rc=$rc state=$(st "$A" a) members=$members: $(cat $T/out $T/err)"; fi
else bad export-paused "create: $(cat $T/err)"; fi

# import-continue
vb import $T/a.vmon --name b
sleep 1
pid=$(sed -nE 's/.*"pid":([0-9]+).*/\1/p' "$B/b/meta.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$(st "$B" b)" = Running ] && continues $T/a.log "$B/b/serial.log" &&
	! grep -q 'counter: start' "$B/b/serial.log" && ls -l /proc/$pid/fd 2>/dev/null | grep -q "$B/b/disk0.img" &&
	grep -q DISKMARK "$B/b/disk0.img" && ! cmp -s "$A/.host/snapshot/hostkey" "$B/.host/snapshot/hostkey"; then
	ok "import-continue (a's last count $(last $T/a.log), b's first $(first "$B/b/serial.log"); b's disk $B/b/disk0.img; another host key)"
else bad import-continue "rc=$rc state=$(st "$B" b) a last $(last $T/a.log) b first $(first "$B/b/serial.log" 2>/dev/null): $(cat $T/out $T/err)"; fi

# export-running
va resume a
va export a $T/a2.vmon
if [ $rc = 0 ] && grep -q 'the VM was resumed' $T/out && [ "$(st "$A" a)" = Running ]; then
	ok "export-running (a $(st "$A" a) after the export)"
else bad export-running "rc=$rc state=$(st "$A" a): $(cat $T/out $T/err)"; fi

# exists
sum=$(sha256sum <$T/a2.vmon)
va export a $T/a2.vmon; r1=$rc; grep -q 'exists (--force replaces it)' $T/err; e1=$?
[ "$sum" = "$(sha256sum <$T/a2.vmon)" ]; same=$?
va export a $T/a2.vmon --force; r2=$rc
if [ $r1 = 1 ] && [ $e1 = 0 ] && [ $same = 0 ] && [ $r2 = 0 ] && [ "$sum" != "$(sha256sum <$T/a2.vmon)" ] &&
	! ls $T/a2.vmon.tmp-* >/dev/null 2>&1; then
	ok "exists (refused rc=1, FILE unchanged; --force replaced it)"
else bad exists "rc=$r1/$r2 message=$e1 unchanged=$same: $(cat $T/err)"; fi

# tampered-disk
flip $T/a.vmon DISKMARK 3 $T/td.vmon
vb import $T/td.vmon --name x
if [ $rc = 1 ] && grep -q 'disk0-disk.img: checksum mismatch (damaged or tampered archive): refused' $T/err && clean_b x; then
	ok "tampered-disk ($(grep -o 'disk0.*refused' $T/err))"
else bad tampered-disk "rc=$rc: $(cat $T/out $T/err)"; fi

# tampered-manifest
flip $T/a.vmon '"generation"' 3 $T/tm.vmon
vb import $T/tm.vmon --name x
if [ $rc = 1 ] && grep -q 'the manifest does not match its checksum' $T/err && clean_b x; then
	ok "tampered-manifest ($(grep -o 'the manifest.*' $T/err))"
else bad tampered-manifest "rc=$rc: $(cat $T/out $T/err)"; fi

# truncated
head -c $(($(stat -c %s $T/a.vmon) / 2)) $T/a.vmon >$T/tr.vmon
vb import $T/tr.vmon --name x
if [ $rc = 1 ] && grep -qi 'truncated' $T/err && clean_b x; then
	ok "truncated ($(grep -io '[^:]*truncated[^)]*)' $T/err | head -1))"
else bad truncated "rc=$rc: $(cat $T/out $T/err)"; fi

# rollback
vb snapshot b $T/sb
s1=$rc
vb import $T/a.vmon --name c
if [ $s1 = 0 ] && [ $rc = 1 ] && grep -q 'refusing generation 1 of lineage .*newest generation is 2 (pass --allow-rollback' $T/err &&
	clean_b c && [ ! -s "$B/.host/snapshot/audit.log" ]; then
	vb import $T/a.vmon --name c --allow-rollback
	sleep 1
	if [ $rc = 0 ] && [ "$(wc -l <"$B/.host/snapshot/audit.log")" = 1 ] &&
		grep -q 'from=2 to=1' "$B/.host/snapshot/audit.log" && continues $T/a.log "$B/c/serial.log"; then
		ok "rollback (refused naming generations 1 and 2; allowed and audited: $(grep -o 'from=2 to=1' "$B/.host/snapshot/audit.log"); c counts on from $(first "$B/c/serial.log"))"
	else bad rollback "allowed: rc=$rc: $(cat $T/out $T/err)"; fi
else bad rollback "snapshot rc=$s1, import rc=$rc: $(cat $T/out $T/err)"; fi

# key
head -c 32 /dev/urandom >$T/k1; head -c 32 /dev/urandom >$T/k2; chmod 600 $T/k1 $T/k2
errs=""
va export a $T/k.vmon --key $T/k1; [ $rc = 0 ] || errs+=" export(rc=$rc $(cat $T/err))"
vb import $T/k.vmon --name d; [ $rc = 1 ] && grep -q 'authenticated with a key: pass --key' $T/err && clean_b d || errs+=" nokey(rc=$rc)"
vb import $T/k.vmon --name d --key $T/k2; [ $rc = 1 ] && grep -q 'does not match its MAC' $T/err && clean_b d || errs+=" wrongkey(rc=$rc)"
vb import $T/a.vmon --name d --key $T/k1; [ $rc = 1 ] && grep -q 'not authenticated' $T/err && clean_b d || errs+=" unkeyed(rc=$rc)"
vb import $T/k.vmon --name d --key $T/k1 --dir $T/dd --allow-rollback
[ $rc = 0 ] && [ -s $T/dd/disk0.img ] && [ -s $T/dd/snapshot.memory ] && [ "$(st "$B" d)" = Running ] || errs+=" good(rc=$rc $(cat $T/err))"
if [ -z "$errs" ]; then ok "key (no key, another key, a key for an unkeyed archive refused; the right key imports into --dir)"
else bad key "$errs"; fi

# stopped
va stop a
va export a $T/s.vmon
r1=$rc members=$(tar -tf $T/s.vmon 2>/dev/null | tr '\n' ' ')
vb import $T/s.vmon --name s
r2=$rc
flags=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['argv'][6:]))" "$B/s/meta.json" 2>/dev/null)
if [ $r1 = 0 ] && [ $r2 = 0 ] && ! grep -q snapshot <<<"$members" && grep -q kernel- <<<"$members" &&
	VMON_STATE_DIR=$B "$V" ls 2>/dev/null | grep -qE '^s +stopped' && grep -q -- "--disk=$B/s/disk0.img" <<<"$flags" &&
	grep -q -- "--kernel=$B/s/kernel" <<<"$flags"; then
	vb create s2 $flags
	sleep 1
	if [ $rc = 0 ] && grep -q 'counter: start' "$B/s2/serial.log"; then
		ok "stopped (members: $members; imported stopped with flags: $flags; created from them it counts)"
	else bad stopped "create s2 rc=$rc: $(cat $T/err)"; fi
else bad stopped "export rc=$r1 import rc=$r2 members=$members flags=$flags: $(cat $T/out $T/err)"; fi

# errors
errs=""
va export; [ $rc = 2 ] && grep -q 'missing NAME and FILE' $T/err || errs+=" no-args(rc=$rc)"
va export a; [ $rc = 2 ] && grep -q 'missing FILE' $T/err || errs+=" no-file(rc=$rc)"
va export a $T/z --bogus; [ $rc = 2 ] && grep -q "unknown option '--bogus'" $T/err || errs+=" bogus(rc=$rc)"
va export nosuch $T/z; [ $rc = 1 ] && grep -q "no VM named 'nosuch'" $T/err && [ ! -e $T/z ] || errs+=" nosuch(rc=$rc)"
vb import; [ $rc = 2 ] && grep -q 'missing FILE' $T/err || errs+=" import-no-args(rc=$rc)"
vb import $T/a.vmon --name 'bad/name'; [ $rc = 2 ] && grep -q 'not a valid VM name' $T/err || errs+=" bad-name(rc=$rc)"
vb import $T/nosuch.vmon; [ $rc = 1 ] && grep -q 'No such file' $T/err || errs+=" no-file(rc=$rc)"
head -c 5000 /dev/urandom >$T/junk.vmon
vb import $T/junk.vmon --name j; [ $rc = 1 ] && clean_b j || errs+=" junk(rc=$rc)"
vb import $T/a.vmon --name b; [ $rc = 1 ] && grep -q 'b: exists' $T/err || errs+=" in-use(rc=$rc)"
va export --help; [ $rc = 0 ] && grep -q -- '--force' $T/out || errs+=" help-export(rc=$rc)"
va import --help; [ $rc = 0 ] && grep -q -- '--allow-rollback' $T/out || errs+=" help-import(rc=$rc)"
if [ -z "$errs" ]; then ok "errors (usage 2; unknown VM, no FILE, junk FILE, name in use 1; --help)"
else bad errors "$errs"; fi

kill_ours
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
