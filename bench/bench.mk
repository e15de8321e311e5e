# bench/bench.mk: `make bench` (included by the Makefile).
# bench/run.sh: the exit-cost benchmark on this host's KVM (build/bench/exitcost), then the
# nested suite (boot, footprint, compute, scale: vmon beside QEMU microvm in one L1 boot), then
# bench/report.py: bench/results/<date>/report.md, plots, the summary table.
# `make bench-io`: the nested I/O benchmark (bench/nested-io.sh, BENCH_ROUNDS, default 3).
BENCH_CFLAGS := $(WARN) -O2 -g $(CPPFLAGS)

$(BUILD)/bench/exitcost: bench/exitcost.c $(CORE_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DVMON_NO_API $< $(CORE_SRCS) -o $@ $(LDLIBS)

# static: it runs inside the nested L1, beside the VMM it times
$(BUILD)/bench/l1bench: bench/l1bench.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -static $< -o $@

.PHONY: bench-build bench-io
bench-build: $(BUILD)/vmon.static $(BUILD)/bench/exitcost $(BUILD)/bench/l1bench $(BUILD)/guests/exitcost.elf

bench: deps
	@$(MAKE) --no-print-directory bench-build
	@bench/run.sh

bench-io: deps
	@$(MAKE) --no-print-directory $(BUILD)/vmon.static
	@bench/nested-io.sh --vmm $(BUILD)/vmon.static

# `make bench-arm64`: vmon beside kvmtool (static, built from its public source into the cache)
# on arm64 KVM, in one arm64 L1 under qemu-system-aarch64 (bench/nested-arm64.sh, BENCH_ROUNDS).
.PHONY: bench-arm64
bench-arm64: deps
	@bench/nested-arm64.sh --out bench/results/$$(date -u +%F)-arm64
