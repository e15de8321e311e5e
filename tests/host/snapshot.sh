#!/usr/bin/env bash
# tests/host/snapshot.sh: snapshots of the counter guest on the host KVM, each
# snapshot and restore in its own process (build/snap_vm, see its comment):
#   continue   restored, the counter goes on from the last value it printed
#   rollback   an older generation of the lineage is refused, naming both
#   allowed    --allow-rollback restores it and writes one audit line (from=2 to=1)
#   tampered   one byte of the state file changed: refused
#   foreign    another host's key (another state directory): refused
#   genid      two restores of one snapshot draw different VM generation IDs
#   diff       full snapshot, 1 s on, a diff (dirty pages only): base + diff restores
#              to the diff's point (the counter goes on from the last value printed),
#              and the diff's memory file holds fewer blocks than the base's
#   restore-time  vm_create + vm_restore (to the first KVM_RUN) at 128 MiB and 1 GiB, interleaved, 9 rounds each:
#              the 1 GiB median must be <= 1.2x the 128 MiB median
# Ends "N passed, N failed, N skipped"; no /dev/kvm: every case skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build/snap_vm G=build/guests/counter.elf
pass=0 fail=0 skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	for c in continue rollback allowed tampered foreign genid diff restore-time; do
		echo "SKIP $c: /dev/kvm is absent or not accessible"; skip=$((skip + 1))
	done
	echo "$skip skipped"; echo "0 passed, 0 failed, $skip skipped"; exit 0
fi
last() { grep -E '^count [0-9]+$' "$1" | tail -1 | cut -d' ' -f2; }
first() { grep -E '^count [0-9]+$' "$1" | head -1 | cut -d' ' -f2; }

# continue
if $B save $G $T/s1 $T/st $T/o1 >$T/log 2>&1 && $B restore $G $T/s1 $T/st $T/o2 --then-snapshot $T/s2 >>$T/log 2>&1; then
	a=$(last $T/o1) b=$(first $T/o2)
	if [ -n "$a" ] && [ -n "$b" ] && [ "$b" = $((a + 1)) ] && ! grep -q 'counter: start' $T/o2; then
		ok "continue (last count before the snapshot $a, first after the restore $b, no reboot)"
	else bad continue "last before $a, first after $b"; fi
else bad continue "$(tail -3 $T/log)"; fi

# rollback: s2 (generation 2) exists, so s1 (generation 1) is older.
if $B restore $G $T/s1 $T/st $T/o3 >$T/log 2>&1; then bad rollback "restored"
elif grep -q 'generation 1 of lineage .* newest generation is 2 (pass --allow-rollback' $T/log && [ ! -s $T/st/snapshot/audit.log ]; then
	ok "rollback ($(grep -o 'refusing.*' $T/log | cut -c1-100)...)"
else bad rollback "$(cat $T/log)"; fi

# allowed
if $B restore $G $T/s1 $T/st $T/o4 --allow-rollback >$T/log 2>&1 && [ "$(wc -l <$T/st/snapshot/audit.log)" = 1 ] &&
	grep -q "uid=$(id -u) .*from=2 to=1 file=$T/s1" $T/st/snapshot/audit.log && [ "$(first $T/o4)" = $(($(last $T/o1) + 1)) ]; then
	ok "allowed (audit: $(cut -c1-90 $T/st/snapshot/audit.log)...)"
else bad allowed "$(cat $T/log; cat $T/st/snapshot/audit.log 2>/dev/null)"; fi

# tampered: flip one byte in the middle of s2's state file
cp -r $T/s2 $T/s3
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" $T/s3/state
if $B restore $G $T/s3 $T/st $T/o5 >$T/log 2>&1; then bad tampered "restored"
elif grep -qE 'checksum mismatch|authentication failed' $T/log; then ok "tampered ($(grep -o 'restore: .*' $T/log))"
else bad tampered "$(cat $T/log)"; fi

# foreign: another state directory has another host key
if $B restore $G $T/s2 $T/other $T/o6 >$T/log 2>&1; then bad foreign "restored"
elif grep -q 'authentication failed' $T/log; then ok "foreign (another host key: refused)"
else bad foreign "$(cat $T/log)"; fi

# genid: two restores of one snapshot get different VM generation IDs
g1=$($B restore $G $T/s2 $T/st $T/o10 2>/dev/null | sed -n 's/^genid //p')
g2=$($B restore $G $T/s2 $T/st $T/o11 2>/dev/null | sed -n 's/^genid //p')
if [ ${#g1} = 32 ] && [ ${#g2} = 32 ] && [ "$g1" != "$g2" ] && [ "$g1" != 00000000000000000000000000000000 ]; then
	ok "genid (two restores of one snapshot: $g1 vs $g2)"
else bad genid "'$g1' vs '$g2'"; fi

# diff (its own lineage and state directory)
if $B save $G $T/b $T/sd $T/od1 --diff $T/d >$T/log 2>&1 && $B restore $G $T/b $T/sd $T/od2 --diff $T/d >>$T/log 2>&1; then
	a=$(last $T/od1) b=$(first $T/od2) fb=$(du -k $T/b/memory | cut -f1) fd=$(du -k $T/d/memory | cut -f1)
	if [ -n "$a" ] && [ -n "$b" ] && [ "$b" = $((a + 1)) ] && [ "$fd" -lt "$fb" ]; then
		ok "diff (last count at the diff $a, first after base + diff $b; memory files ${fb} KiB full, ${fd} KiB diff)"
	else bad diff "last at the diff $a, first after restore $b, full ${fb} KiB, diff ${fd} KiB"; fi
else bad diff "$(tail -3 $T/log)"; fi

# restore-time: 128 MiB and 1 GiB, interleaved
$B save $G $T/m128 $T/st $T/o7 --mem 128 >/dev/null 2>&1 && $B save $G $T/m1g $T/st $T/o8 --mem 1024 >/dev/null 2>&1
small=() big=()
for i in 1 2 3 4 5 6 7 8 9; do
	small+=("$($B restore $G $T/m128 $T/st $T/o9 --mem 128 2>/dev/null | sed -n 's/^restore-us //p')")
	big+=("$($B restore $G $T/m1g $T/st $T/o9 --mem 1024 2>/dev/null | sed -n 's/^restore-us //p')")
done
med() { printf '%s\n' "$@" | sort -n | sed -n 5p; }
ms=$(med "${small[@]}") mb=$(med "${big[@]}")
if [ -n "$ms" ] && [ -n "$mb" ] && [ "$ms" -gt 0 ]; then
	ratio=$(awk -v a="$mb" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')
	if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.2) }'; then
		ok "restore-time (create+restore median 128 MiB ${ms} us, 1 GiB ${mb} us: ratio $ratio <= 1.2)"
	else bad restore-time "128 MiB ${ms} us, 1 GiB ${mb} us: ratio $ratio > 1.2"; fi
else bad restore-time "no timings (${small[*]} / ${big[*]})"; fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
