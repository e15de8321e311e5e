#!/usr/bin/env bash
# bench/mips.sh [RUNS] - MIPS32 boot speed: vmon's software vCPU against qemu-system-mipsel TCG,
# the anchor, measured in the same run and interleaved (vmon, qemu, vmon, qemu...).
# Both boot the same kernel (scripts/build-kernel-mips.sh) with 128 MiB and the same device tree
# (vmon's board, written by bench/mips_dtb.c; QEMU gets it appended to the ELF, vmon by UHI);
# the time is launch to the kernel's "clk: Disabling unused clocks" line (the last line before
# the root file system is mounted), read on the serial pipe; neither gets an initrd (QEMU's
# mipssim takes none), so both run the same guest code. A third, vmon-initrd, adds the busybox
# initramfs and runs on to the guest's halt (its instruction count gives instructions/s). Prints each run, the
# medians, the ratio vmon/qemu, vmon's guest instructions per second (from its own count to
# the guest's halt, over that boot's wall time) and a perf profile of one vmon boot.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
VMON=${VMON:-build/vmon}
command -v qemu-system-mipsel >/dev/null || { echo "SKIP: qemu-system-mipsel missing (Debian qemu-system-mips)"; exit 0; }
make --no-print-directory "$VMON" >&2
kdir=$(scripts/build-kernel-mips.sh)
initrd=$(scripts/build-initramfs-mips.sh)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
args="console=ttyS0 lpj=100000"
mkdir -p build/bench
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc bench/mips_dtb.c src/arch/mips/dt.c \
	-o build/bench/mips_dtb -lfdt
build/bench/mips_dtb 128 "$args" >"$T/board.dtb"
cp "$kdir/vmlinux" "$T/vmlinux.qemu"
mipsel-linux-gnu-objcopy --update-section .appended_dtb="$T/board.dtb" "$T/vmlinux.qemu"

python3 - "$runs" "$VMON" "$kdir/vmlinux" "$initrd" "$T/vmlinux.qemu" "$args" <<'PY'
import re, statistics, subprocess, sys, time
runs, vmon, kernel, initrd, qkernel, args = int(sys.argv[1]), *sys.argv[2:]
MARK = b"clk: Disabling unused clocks"
cmds = {
    "vmon": [vmon, "run", "-v", "--arch", "mips32", "--kernel", kernel,
             "--mem", "128M", "--cmdline", args],
    "vmon-initrd": [vmon, "run", "-v", "--arch", "mips32", "--kernel", kernel,
                    "--initrd", initrd, "--mem", "128M", "--cmdline", args],
    "qemu": ["qemu-system-mipsel", "-M", "mipssim", "-cpu", "24Kf", "-m", "128",
             "-nodefaults", "-display", "none", "-serial", "stdio", "-kernel", qkernel],
}
def once(name):
    t0 = time.monotonic()
    p = subprocess.Popen(cmds[name], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    for line in p.stdout:
        if MARK in line:
            t = time.monotonic() - t0
            break
    else:
        p.wait()
        sys.exit(f"{name}: no marker line (exit {p.returncode})")
    if name != "vmon-initrd":
        p.kill()
        p.wait()
        return t, None
    _, err = p.communicate(timeout=60)
    m = re.search(rb"after (\d+) instructions", err)
    return t, (int(m.group(1)), time.monotonic() - t0) if m else None
res = {"vmon": [], "qemu": [], "vmon-initrd": []}
ips = []
once("vmon"); once("qemu")  # warm the page cache
for i in range(runs):
    for name in ("vmon", "qemu", "vmon-initrd"):
        t, extra = once(name)
        res[name].append(t)
        if extra:
            ips.append(extra[0] / extra[1])
        print(f"run {i + 1} {name}: {t * 1000:.0f} ms")
mv, mq = statistics.median(res["vmon"]), statistics.median(res["qemu"])
print(f"median vmon {mv * 1000:.0f} ms, qemu-system-mipsel TCG {mq * 1000:.0f} ms, "
      f"ratio vmon/qemu {mv / mq:.2f} (<= 1.00: vmon is as fast or faster)")
if ips:
    print(f"vmon: {statistics.median(ips) / 1e6:.0f} M guest instructions/s "
          f"(with the initramfs, launch to the guest's halt, incl. start-up)")
print(f"median vmon with the busybox initramfs (unpacked by the guest): "
      f"{statistics.median(res['vmon-initrd']) * 1000:.0f} ms")
PY
if command -v perf >/dev/null && perf record -q -o "$T/perf.data" -- "$VMON" run --arch mips32 \
	--kernel "$kdir/vmlinux" --initrd "$initrd" --mem 128M --cmdline "$args" </dev/null \
	>/dev/null 2>&1; then
	echo "perf profile of one vmon boot (top symbols):"
	perf report -q -i "$T/perf.data" --sort symbol 2>/dev/null | head -n 8
else
	echo "perf profile: not available here"
fi
