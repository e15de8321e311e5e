#!/usr/bin/env bash
# tests/host/genid.sh: what a restored guest is told (#15), on the host KVM, with the
# genid guest (guests/hosttest/genid.c: prints the vmgenid page, the GPE0 status byte
# and its kvmclock every 100 ms) through build/snap_vm (boot 1 s, snapshot; restore, 1 s):
#   first-boot   the first boot's generation ID is not all zero and GPE0 status is 0
#   restore-id   after a restore the guest reads exactly the ID vmon drew (snap_vm's
#                "genid" line), not the snapshot's
#   two-restores two restores of one snapshot read different IDs
#   gpe          after each restore GPE0 status bit 0 is set (what raises the SCI to _E00)
#   clock        the guest's kvmclock after a restore is at least its last reading before
#                the snapshot plus the wall time the test slept between snapshot and
#                restore (GAP s): the KVM clock was advanced, not frozen
# Ends "N passed, N failed, N skipped"; no /dev/kvm: every case skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build/snap_vm G=build/guests/genid.elf GAP=2
pass=0 fail=0 skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
cases="first-boot restore-id two-restores gpe clock"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT # snap_vm stops its own VM before it exits; nothing else runs
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	for c in $cases; do echo "SKIP $c: /dev/kvm is absent or not accessible"; skip=$((skip + 1)); done
	echo "$pass passed, $fail failed, $skip skipped"
	exit 0
fi
if [ ! -x "$B" ] || [ ! -f "$G" ]; then
	for c in $cases; do echo "SKIP $c: build $B and $G first (make)"; skip=$((skip + 1)); done
	echo "$pass passed, $fail failed, $skip skipped"
	exit 0
fi
# field NAME LINE: the value after NAME in a guest line "genid X gpe N ms M".
field() { sed -nE "s/.* $1 ([0-9a-f]+).*/\1/p" <<<"$2"; }
gid() { sed -nE 's/^genid ([0-9a-f]{32}) .*/\1/p' <<<"$1"; }

timeout 30 $B save $G $T/s $T/st $T/o0 >$T/save.out 2>$T/save.err || bad save "$(cat $T/save.err)"
last0=$(grep '^genid ' $T/o0 | tail -1)
id0=$(gid "$last0") gpe0=$(field gpe "$last0") ms0=$(field ms "$last0")
if [ -n "$id0" ] && [ "$id0" != 00000000000000000000000000000000 ] && [ "$gpe0" = 0 ]; then
	ok "first-boot (id $id0, gpe $gpe0)"
else bad first-boot "last line before the snapshot: '$last0'"; fi
sleep $GAP
for i in 1 2; do
	timeout 30 $B restore $G $T/s $T/st $T/o$i >$T/r$i.out 2>$T/r$i.err || bad "restore $i" "$(cat $T/r$i.err)"
	drawn[$i]=$(sed -n 's/^genid //p' $T/r$i.out)
	first[$i]=$(grep '^genid ' $T/o$i | head -1)
done
id1=$(gid "${first[1]}") id2=$(gid "${first[2]}")
if [ -n "$id1" ] && [ "$id1" = "${drawn[1]}" ] && [ "$id2" = "${drawn[2]}" ] && [ "$id1" != "$id0" ]; then
	ok "restore-id (guest reads $id1 = vmon's, not the snapshot's $id0)"
else bad restore-id "guest '$id1' / '$id2', vmon '${drawn[1]}' / '${drawn[2]}', snapshot '$id0'"; fi
if [ -n "$id1" ] && [ -n "$id2" ] && [ "$id1" != "$id2" ]; then
	ok "two-restores ($id1 vs $id2)"
else bad two-restores "'$id1' vs '$id2'"; fi
g1=$(field gpe "${first[1]}") g2=$(field gpe "${first[2]}")
if [ -n "$g1" ] && [ $((g1 & 1)) = 1 ] && [ -n "$g2" ] && [ $((g2 & 1)) = 1 ]; then
	ok "gpe (GPE0 status after restores: $g1, $g2; before: $gpe0)"
else bad gpe "GPE0 status after restores '$g1' '$g2'"; fi
ms1=$(field ms "${first[1]}")
if [ -n "$ms0" ] && [ -n "$ms1" ] && [ "$ms1" -ge $((ms0 + GAP * 1000)) ]; then
	ok "clock (kvmclock $ms0 ms before the snapshot, $ms1 ms after a ${GAP} s gap)"
else bad clock "kvmclock '$ms0' ms before, '$ms1' ms after a ${GAP} s gap"; fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
