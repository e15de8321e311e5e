#!/bin/sh
# bench/compute.sh: the fixed CPU-bound job of `make bench`, run the same way in L1 (natively)
# and in L2 (under vmon and under QEMU): gzip then md5sum of a 1.9 MB text file in RAM
# (the numbers 1..300000; built before the timed part). l1bench times the span between the
# BEGIN and END lines, on L1's clock, for every placement.
f=/tmp/compute.dat
[ -s $f ] || seq 1 300000 >$f
sync
echo "BENCH-COMPUTE-BEGIN"
gzip -6 -c $f | md5sum >/tmp/compute.sum
echo "BENCH-COMPUTE-END $(cut -c1-8 /tmp/compute.sum)"
