# bench/bench.mk: `make bench` (included by the Makefile).
# Nested I/O benchmark: vmon beside QEMU microvm in one L1 boot (BENCH_ROUNDS, default 3).
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/vmon.static
	@bench/nested-io.sh --vmm $(BUILD)/vmon.static
