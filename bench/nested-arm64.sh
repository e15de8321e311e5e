#!/usr/bin/env bash
# bench/nested-arm64.sh - vmon beside kvmtool on arm64 KVM, in ONE arm64 L1 boot under
# qemu-system-aarch64 (TCG; see tests/e2e/nested-arm64.sh for the L1). Both VMMs are static
# arm64 binaries (vmon: make ARCH=arm64; kvmtool: bench/kvmtool-arm64.sh, built from its public
# source into the cache). Rounds are interleaved (vmon, kvmtool, vmon, ...); each boots the
# project's arm64 L2 (1 vCPU, 256 MiB, initramfs marker, then reboot -f = PSCI reset) and L1
# records, from inside L1 (/proc/uptime, 10 ms):
#   launch->init   VMM start to the L2 marker line (L1 prints raw uptimes: t0, mark, t1)
#   reset->exit    the marker (L2 resets right after it) to the VMM's exit
#   VmHWM          the VMM's peak RSS (busybox time -v), guest pages included
# Output: one line per round, then medians and the vmon/kvmtool ratios (the issue's goals:
# launch->init <= 0.8, VmHWM <= 0.6). BENCH_ROUNDS (default 5) rounds per VMM.
# usage: bench/nested-arm64.sh [--out DIR]   (DIR gets raw.txt and summary.md)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMON_LOG_TAG=bench-arm64
# shellcheck source=../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
rounds=${BENCH_ROUNDS:-5}
outdir=
[ "${1:-}" = --out ] && outdir=$2

command -v qemu-system-aarch64 >/dev/null || { echo "SKIP: qemu-system-aarch64 not found"; exit 0; }
l1=$(nice -n 10 "$repo/scripts/build-kernel-arm64.sh" l1)
l2=$(nice -n 10 "$repo/scripts/build-kernel-arm64.sh" l2)
l2rd=$("$repo/scripts/build-initramfs-arm64.sh")
busybox=$("$repo/scripts/build-initramfs-arm64.sh" --busybox)
make -C "$repo" --no-print-directory ARCH=arm64 build/arm64/vmon.static >&2
kvmtool=$(nice -n 10 "$repo/bench/kvmtool-arm64.sh")

work=$(mktemp -d "${TMPDIR:-/tmp}/vmon-bench-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/init" <<INIT
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
up() { read -r u _ </proc/uptime; echo "\$u"; }
one() { # NAME CMD...: raw /proc/uptime readings, the host computes the intervals
	name=\$1; shift
	rm -f /tmp/mark
	t0=\$(up)
	( time -v "\$@" </dev/null 2>/tmp/time.txt ) | while IFS= read -r line; do
		case \$line in *VMON-L2-INIT-OK*) up >/tmp/mark ;; esac
	done
	t1=\$(up)
	hwm=\$(sed -n 's/.*Maximum resident set size (kbytes): //p' /tmp/time.txt)
	mark=\$(cat /tmp/mark 2>/dev/null)
	echo "ROUND \$name t0=\$t0 mark=\${mark:--} t1=\$t1 hwm_kb=\${hwm:--}"
}
i=0
while [ \$i -lt $rounds ]; do
	one vmon /vmon run -k /l2/Image -i /l2/initrd.cpio -p 1 -m 256M -c "console=ttyS0 panic=-1"
	one kvmtool /lkvm run -k /l2/Image -i /l2/initrd.cpio -c 1 -m 256 --console serial -n mode=none -p "panic=-1"
	i=\$((i + 1))
done
echo "L1-DONE"
reboot -f
INIT
gen=$(gen_init_cpio_tool)
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	for d in /proc /sys /tmp /bin /sbin /usr /usr/bin /usr/sbin /l2; do echo "dir $d 0755 0 0"; done
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "slink /bin/sh /bin/busybox 0777 0 0"
	echo "file /init $work/init 0755 0 0"
	echo "file /vmon $repo/build/arm64/vmon.static 0755 0 0"
	echo "file /lkvm $kvmtool 0755 0 0"
	echo "file /l2/Image $l2/Image 0644 0 0"
	echo "file /l2/initrd.cpio $l2rd 0644 0 0"
} >"$work/list"
"$gen" "$work/list" >"$work/l1.cpio"
log "booting L1 ($rounds rounds per VMM, interleaved)"
nice -n 10 timeout 1200 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
	-cpu max,pauth-impdef=on -accel tcg,thread=multi -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "$l1/Image" -initrd "$work/l1.cpio" -append "console=ttyAMA0 panic=-1" </dev/null |
	sed -u 's/\r$//' >"$work/console.log" || true
grep '^ROUND ' "$work/console.log" >"$work/raw.txt" || true
cat "$work/raw.txt"
python3 - "$work/raw.txt" >"$work/summary.md" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[2:])
    ok = kv.get("mark", "-") != "-"
    kv["init_ms"] = str(round((float(kv["mark"]) - float(kv["t0"])) * 1000)) if ok else "-"
    kv["exit_ms"] = str(round((float(kv["t1"]) - float(kv["mark"])) * 1000)) if ok else "-"
    kv.setdefault("hwm_kb", "-")
    rows.setdefault(f[1], []).append(kv)
def med(vmm, key):
    v = [float(r[key]) for r in rows.get(vmm, []) if r[key] != "-"]
    return (statistics.median(v), len(v)) if v else (None, 0)
print("| metric | vmon median | kvmtool median | vmon/kvmtool | goal |")
print("|---|---|---|---|---|")
for key, name, unit, goal in (("init_ms", "launch->init", "ms", "<= 0.8"),
                              ("exit_ms", "reset->exit", "ms", "-"),
                              ("hwm_kb", "VmHWM", "KiB", "<= 0.6")):
    (a, na), (b, nb) = med("vmon", key), med("kvmtool", key)
    ratio = f"{a / b:.2f}" if a is not None and b else "n/a"
    fa = f"{a:.0f} {unit} (n={na})" if a is not None else "n/a"
    fb = f"{b:.0f} {unit} (n={nb})" if b is not None else "n/a"
    print(f"| {name} | {fa} | {fb} | {ratio} | {goal} |")
PY
cat "$work/summary.md"
if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	cp "$work/raw.txt" "$work/summary.md" "$work/console.log" "$outdir/"
fi
