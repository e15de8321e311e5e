#!/usr/bin/env python3
"""tests/bench/test_report.py - the report generator of `make bench` (bench/report.py) on a
fixed set of raw lines: medians (odd and even counts), min-max, ratios of medians, target
verdicts, and failed or missing runs shown as failures, never dropped.
Prints "ok NAME" / "FAIL NAME: why" and ends with "N passed, N failed, N skipped"."""
import importlib.util
import os
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "report", os.path.join(here, "..", "..", "bench", "report.py"))
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)

RAW = """\
BENCH-META rounds=3 scale="1 2"
BENCH-META qemu="QEMU emulator version 7.2"
EXITCOST mode=raw rep=1 n=20000 pio_ns=100 mmio_ns=100 ioevt_ns=50 tsc_khz=1 rc=ok
EXITCOST mode=vmon rep=1 n=20000 pio_ns=104 mmio_ns=120 ioevt_ns=50 tsc_khz=1 rc=ok
EXITCOST mode=raw rep=2 n=20000 pio_ns=100 mmio_ns=100 ioevt_ns=50 tsc_khz=1 rc=ok
EXITCOST mode=vmon rep=2 n=20000 pio_ns=106 mmio_ns=100 ioevt_ns=50 tsc_khz=1 rc=ok
BENCH-RAW kind=boot vmm=vmon cpus=1 round=1 i=0 rc=0 marker_ms=100.0 l2_uptime_s=1.0 hwm_kb=1024 rss_kb=1024 own_kb=100 reset_exit_ms=10 span_ms=1200
BENCH-RAW kind=boot vmm=qemu cpus=1 round=1 i=0 rc=0 marker_ms=400.0 l2_uptime_s=1.0 hwm_kb=4096 rss_kb=4096 own_kb=300 reset_exit_ms=90 span_ms=1500
BENCH-RAW kind=native vmm=l1 cpus=- round=1 i=0 rc=0 span_ms=1000
BENCH-RAW kind=boot vmm=qemu cpus=1 round=2 i=0 rc=0 marker_ms=500.0 l2_uptime_s=1.0 hwm_kb=4096 rss_kb=4096 own_kb=300 reset_exit_ms=90 span_ms=1500
BENCH-RAW kind=boot vmm=vmon cpus=1 round=2 i=0 rc=0 marker_ms=300.0 l2_uptime_s=1.0 hwm_kb=1024 rss_kb=1024 own_kb=100 reset_exit_ms=30 span_ms=1100
BENCH-RAW kind=native vmm=l1 cpus=- round=2 i=0 rc=0 span_ms=1000
BENCH-RAW kind=boot vmm=vmon cpus=1 round=3 i=0 rc=0 marker_ms=200.0 l2_uptime_s=1.0 hwm_kb=1024 rss_kb=1024 own_kb=100 reset_exit_ms=20 span_ms=1300
BENCH-RAW kind=boot vmm=qemu cpus=1 round=3 i=0 rc=0 marker_ms=400.0 l2_uptime_s=1.0 hwm_kb=4096 rss_kb=4096 own_kb=300 reset_exit_ms=90 span_ms=1500
BENCH-RAW kind=native vmm=l1 cpus=- round=3 i=0 rc=0 span_ms=1000
BENCH-RAW kind=boot vmm=vmon cpus=2 round=1 i=0 rc=3 marker_ms=150.0 l2_uptime_s=1.0 hwm_kb=1024 rss_kb=1024 own_kb=100 reset_exit_ms=- span_ms=-
BENCH-RAW kind=boot vmm=vmon cpus=2 round=2 i=0 rc=0 marker_ms=250.0 l2_uptime_s=1.0 hwm_kb=1024 rss_kb=1024 own_kb=100 reset_exit_ms=40 span_ms=1000
BENCH-RAW kind=boot vmm=qemu cpus=2 round=1 i=0 rc=timeout marker_ms=- l2_uptime_s=- hwm_kb=- rss_kb=- own_kb=- reset_exit_ms=- span_ms=-
BENCH-RAW kind=boot vmm=qemu cpus=2 round=2 i=0 rc=137 marker_ms=- l2_uptime_s=- hwm_kb=- rss_kb=- own_kb=- reset_exit_ms=- span_ms=-
BENCH-RAW kind=boot vmm=qemu cpus=2 round=3 i=0 rc=3 marker_ms=- l2_uptime_s=- hwm_kb=- rss_kb=- own_kb=- reset_exit_ms=- span_ms=-
BENCH-RAW kind=scale vmm=vmon cpus=1 vms=1 round=1 i=0 rc=0 marker_ms=100 rss_kb=2048
BENCH-RAW kind=scale vmm=qemu cpus=1 vms=1 round=1 i=0 rc=0 marker_ms=200 rss_kb=8192
BENCH-RAW kind=scale vmm=vmon cpus=1 vms=2 round=1 i=0 rc=0 marker_ms=100 rss_kb=2048
BENCH-RAW kind=scale vmm=vmon cpus=1 vms=2 round=1 i=1 rc=3 marker_ms=- rss_kb=-
BENCH-RAW kind=scale vmm=vmon cpus=1 vms=2 round=1 all=1 n=2 ok=1 all_marker_ms=- rss_total_kb=-
BENCH-RAW kind=scale vmm=qemu cpus=1 vms=2 round=1 all=1 n=2 ok=2 all_marker_ms=300 rss_total_kb=16384
"""

passed = failed = 0


def check(name, cond, why=""):
    global passed, failed
    if cond:
        print(f"ok {name}")
        passed += 1
    else:
        print(f"FAIL {name}: {why}")
        failed += 1


meta, raw, exits = report.parse(RAW.splitlines())
rep = report.build(meta, raw, exits)
vb, qb = rep["boot"][("vmon", "1")], rep["boot"][("qemu", "1")]

check("parse: meta, raw and exit lines", meta.get("rounds") == "3" and len(raw) == 20 and len(exits) == 4,
      f"meta={meta} raw={len(raw)} exits={len(exits)}")
check("median of an odd count", vb["marker"].median == 200.0, vb["marker"].median)
check("median of an even count", report.Cell([1.0, 4.0], 0).median == 2.5)
check("cell shows median, min-max and n", vb["marker"].fmt() == "200.0 (100.0-300.0) n=3", vb["marker"].fmt())
check("ratio of medians vmon/QEMU", abs(report.ratio(vb["marker"].median, qb["marker"].median) - 0.5) < 1e-9)
check("MiB scaling", vb["hwm"].fmt(1 / 1024) == "1.0 (1.0-1.0) n=3", vb["hwm"].fmt(1 / 1024))

v2 = rep["boot"][("vmon", "2")]
check("crashed run and missing run are failures", v2["marker"].failed == 2 and v2["marker"].values == [250.0],
      f"failed={v2['marker'].failed} values={v2['marker'].values}")
check("cell with failures says FAIL k/K", v2["marker"].fmt() == "250.0 n=1 FAIL 2/3", v2["marker"].fmt())
q2 = rep["boot"][("qemu", "2")]
check("all runs failed: FAIL 3/3, no median", q2["marker"].fmt() == "FAIL 3/3" and q2["marker"].median is None,
      q2["marker"].fmt())

comp = rep["compute"][("vmon", "1")]
check("compute guest/native per round", comp.values == [1.1, 1.2, 1.3] and comp.median == 1.2, comp.values)

t = {name: (value, ok) for name, value, ok in rep["targets"]}
check("target launch->init holds at 0.5", t["launch->init <= 0.7x QEMU (1 vCPU)"] == (0.5, True))
check("target VmHWM holds at 0.25", t["VmHWM <= 0.5x QEMU (1 vCPU)"] == (0.25, True))
check("target reset->exit holds at 20 ms", t["vmon reset->exit <= 50 ms (1 vCPU)"] == (20.0, True))
check("target without QEMU data is unknown", t["launch->init <= 0.7x QEMU (2 vCPU)"][1] is None)
pio, mmio = t["PIO exit dispatch <= 1.05x raw KVM_RUN loop"], t["MMIO exit dispatch <= 1.05x raw KVM_RUN loop"]
check("exit dispatch 1.05x holds", abs(pio[0] - 1.05) < 1e-9 and pio[1] is True, pio)
check("exit dispatch 1.10x does not hold", abs(mmio[0] - 1.10) < 1e-9 and mmio[1] is False, mmio)
check("compute within QEMU's noise holds", t["compute penalty no worse than QEMU within noise (1 vCPU)"][1] is True)

s2 = rep["scale"][("vmon", 2)]
check("scale: a VM that failed fails the whole start", s2["t"].fmt() == "FAIL 1/1", s2["t"].fmt())
check("scale: one VM uses its own line", rep["scale"][("qemu", 1)]["rss"].median == 8192)
# vmon 2 vCPU: 1 crashed + 1 missing; QEMU 2 vCPU: 3; the 2-VM start of vmon: 1
check("failed runs are counted", rep["failures"] == 6, rep["failures"])

with tempfile.TemporaryDirectory() as d:
    rawf = os.path.join(d, "raw.txt")
    with open(rawf, "w") as f:
        f.write(RAW)
    old = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        rc = report.main(["report.py", rawf, d, "--no-plots", "--date", "2026-01-01"])
    finally:
        sys.stdout.close()
        sys.stdout = old
    md = open(os.path.join(d, "report.md")).read()
    check("report.md: title, targets, FAIL cells",
          rc == 0 and "2026-01-01" in md and "**does NOT hold**" in md and "FAIL 3/3" in md
          and "| launch->init, 1 vCPU (ms) | 200.0 (100.0-300.0) n=3 | 400.0 (400.0-500.0) n=3 | 0.50 |" in md,
          md[:400])

# A failed boot's line has the tag's cpus=2 and then l1bench's cpus=- (L2 never said):
# it stays in the 2-vCPU group as a failure, not a group of its own.
_, r2, _ = report.parse(["BENCH-RAW kind=boot vmm=qemu cpus=2 round=3 i=0 rc=0 marker_ms=- "
                         "l2_uptime_s=- cpus=- hwm_kb=- exit_ms=5014.5"])
check("a failed run keeps the vCPU count it was asked for", r2[0]["cpus"] == "2", r2)

# ---- the stock-kernel part (kind=stock), alone in its run (cases="stock")
STOCK = """\
BENCH-META cases="stock" bench_cases="stock" stock_rounds=3 stock_kernel=6.1.0-57-amd64
BENCH-RAW kind=stock vmm=vmon-pci cpus=1 round=1 i=0 rc=0 marker_ms=500.0 l2_uptime_s=1.0 hwm_kb=1024 kvm_exits_init=100 kvm_io_init=40 kvm_mmio_init=2 kvm_exits=120 kvm_io=50 kvm_mmio=5 note="virtio=1 rng=virtio_rng.0 pci=2 mmio=none why=-"
BENCH-RAW kind=stock vmm=qemu cpus=1 round=1 i=0 rc=0 marker_ms=1000.0 l2_uptime_s=2.0 hwm_kb=2048 kvm_exits_init=200 kvm_io_init=90 kvm_mmio_init=10 kvm_exits=220 kvm_io=95 kvm_mmio=15 note="virtio=1 rng=virtio_rng.0 pci=2 mmio=none why=-"
BENCH-RAW kind=stock vmm=vmon-mmio cpus=1 round=1 i=0 rc=0 marker_ms=450.0 l2_uptime_s=1.0 hwm_kb=1024 kvm_exits_init=90 kvm_io_init=40 kvm_mmio_init=1 kvm_exits=110 kvm_io=45 kvm_mmio=1 note="virtio=0 rng=none pci=1 mmio=loaded why=virtio_mmio:_unknown_parameter_'device'_ignored"
BENCH-RAW kind=stock vmm=vmon-pci cpus=1 round=2 i=0 rc=0 marker_ms=700.0 l2_uptime_s=1.0 hwm_kb=1024 kvm_exits_init=110 kvm_io_init=44 kvm_mmio_init=2 kvm_exits=130 kvm_io=52 kvm_mmio=5 note="virtio=1 rng=virtio_rng.0 pci=2 mmio=none why=-"
BENCH-RAW kind=stock vmm=qemu cpus=1 round=2 i=0 rc=0 marker_ms=1200.0 l2_uptime_s=2.0 hwm_kb=2048 kvm_exits_init=100 kvm_io_init=90 kvm_mmio_init=10 kvm_exits=220 kvm_io=95 kvm_mmio=15 note="virtio=1 rng=virtio_rng.0 pci=2 mmio=none why=-"
BENCH-RAW kind=stock vmm=vmon-mmio cpus=1 round=2 i=0 rc=timeout marker_ms=- l2_uptime_s=- hwm_kb=- kvm_exits_init=- kvm_io_init=- kvm_mmio_init=- kvm_exits=- kvm_io=- kvm_mmio=- note="-"
BENCH-RAW kind=stock vmm=vmon-pci cpus=1 round=3 i=0 rc=0 marker_ms=600.0 l2_uptime_s=1.0 hwm_kb=1024 kvm_exits_init=105 kvm_io_init=42 kvm_mmio_init=2 kvm_exits=125 kvm_io=51 kvm_mmio=5 note="virtio=1 rng=virtio_rng.0 pci=2 mmio=none why=-"
BENCH-RAW kind=stock vmm=qemu cpus=1 round=3 i=0 rc=3 marker_ms=- l2_uptime_s=- hwm_kb=- kvm_exits_init=- kvm_io_init=- kvm_mmio_init=- kvm_exits=- kvm_io=- kvm_mmio=- note="-"
"""
sm, sr, se = report.parse(STOCK.splitlines())
srep = report.build(sm, sr, se)
st = srep["stock"]
check("stock: rows parsed per VMM", st and st["vmon-pci"]["marker"].values == [500.0, 600.0, 700.0], st)
check("stock: a note's words are parsed", report.note_fields(sr[2]).get("virtio") == "0"
      and report.note_fields(sr[2]).get("why", "").startswith("virtio_mmio"), sr[2].get("note"))
check("stock: io+mmio exits summed per run",
      st["vmon-pci"]["user_init"].values == [42.0, 44.0, 46.0], st["vmon-pci"]["user_init"].values)
check("stock: QEMU's crashed run is a failure", st["qemu"]["marker"].fmt() == "1100.0 (1000.0-1200.0) n=2 FAIL 1/3",
      st["qemu"]["marker"].fmt())
check("stock: mmio status says init, no device and why",
      st["vmon-mmio"]["status"] == "init 1/2, virtio device found 0/2 (virtio mmio: unknown parameter 'device' ignored)",
      st["vmon-mmio"]["status"])
ts = {name: (value, ok) for name, value, ok in srep["targets"]}
k600 = "stock kernel launch->init <= 0.6x QEMU microvm,pcie=on (vmon --transport pci)"
kex = "stock kernel KVM exits launch->init (PCI enumeration) <= 1.0x QEMU (vmon --transport pci)"
check("stock: 600/1100 = 0.55 holds the 0.6x target", k600 in ts and abs(ts[k600][0] - 600 / 1100) < 1e-9
      and ts[k600][1] is True, ts.get(k600))
check("stock: exits 105/150 = 0.70 holds", kex in ts and abs(ts[kex][0] - 0.7) < 1e-9 and ts[kex][1] is True,
      ts.get(kex))
check("stock-only run: no suite or exit-cost targets, no suite failures",
      set(ts) == {k600, kex} and not srep["boot"] and not srep["exit"], sorted(ts))
# QEMU's failed run counts; vmon-mmio's timeout (it is expected not to boot usefully) does not
check("stock: failures count vmon-pci and QEMU only", srep["failures"] == 1, srep["failures"])
slow = STOCK.replace("marker_ms=600.0", "marker_ms=900.0")
rs = report.build(*report.parse(slow.splitlines()))
tslow = {name: (value, ok) for name, value, ok in rs["targets"]}
vs = tslow.get(k600, (None, None))
check("stock: 700/1100 = 0.64 does not hold", vs[1] is False and abs((vs[0] or 0) - 700 / 1100) < 1e-9, vs)
rows = report.summary_rows(srep)
check("stock: summary rows for both transports",
      any(r[0] == "stock kernel launch->init, --transport pci (ms)" and r[3] == "0.55" for r in rows)
      and any(r[0] == "stock kernel launch->init, --transport mmio (ms)" for r in rows), rows)
with tempfile.TemporaryDirectory() as d:
    rawf = os.path.join(d, "raw.txt")
    with open(rawf, "w") as f:
        f.write(STOCK)
    old = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        rc = report.main(["report.py", rawf, d, "--no-plots", "--date", "2026-01-02"])
    finally:
        sys.stdout.close()
        sys.stdout = old
    md = open(os.path.join(d, "report.md")).read()
    check("report.md: stock section with the mmio reason and no suite table",
          rc == 0 and "## Stock kernel" in md and "| vmon --transport mmio |" in md
          and "unknown parameter 'device' ignored" in md and "launch->init, 1 vCPU" not in md, md[:600])
# an old raw file (no cases=) still means the suite
om, _, _ = report.parse(['BENCH-META rounds=1 scale="1"'])
check("raw without cases= is the suite, no stock part", report.build(om, [], [])["stock"] == {}
      and report.build(om, [], [])["boot"], report.build(om, [], [])["stock"])

print(f"{passed} passed, {failed} failed, 0 skipped")
sys.exit(1 if failed else 0)
