# tests/fuzz/fuzz.mk: libFuzzer harnesses for vmon's parsers of untrusted input.
#
# Included from the top-level Makefile (which may set BUILD); also usable on
# its own from the repository root: make -f tests/fuzz/fuzz.mk fuzz-build.
#   make fuzz-build   build $(FUZZ_OUT)/fuzz_{boot,virtq,uart,api,blk,vmconfig,snapshot,mips,pci,virtio_pci,
#                   virtio_mmio,net,i8042,rtc,acpi_pm} (clang, ASan+UBSan)
#   make fuzz         run each for FUZZ_SECONDS (default 60) on a copy of
#                     tests/fuzz/corpus/; ends "N passed, N failed[, N skipped]"
# Every variable here starts with FUZZ_ so the including Makefile keeps its own.

# Keep the including Makefile's default goal: nothing here should become it.
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

FUZZ_CC     ?= clang
FUZZ_OUT    ?= $(or $(BUILD),build)/fuzz
FUZZ_CFLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Isrc -Itests/fuzz \
               -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_LDLIBS := -lpthread

# vmon sources each harness links: the parser under test and what it calls.
FUZZ_SRCS_boot  := src/log.c src/gmem.c src/arch/x86/boot.c
FUZZ_SRCS_virtq := src/log.c src/gmem.c src/virtio/virtq.c
FUZZ_SRCS_uart  := src/log.c src/bus.c src/dev.c src/snapshot/stream.c src/devices/uart16550.c
FUZZ_SRCS_api   := src/log.c src/config.c src/api/api.c
FUZZ_SRCS_vmconfig := src/log.c src/config.c src/vmconfig.c
FUZZ_SRCS_snapshot := src/snapshot/stream.c src/snapshot/snapfile.c
FUZZ_SRCS_mips  := src/accel/mips/cpu.c
FUZZ_SRCS_pci   := src/log.c src/bus.c src/dev.c src/machine.c src/snapshot/stream.c src/pci/pci.c src/pci/msix.c
FUZZ_SRCS_blk   := src/log.c src/gmem.c src/loadfile.c src/snapshot/stream.c src/virtio/virtq.c \
                   src/virtio/virtio.c src/virtio/blk.c
FUZZ_SRCS_virtio_pci := src/log.c src/gmem.c src/bus.c src/dev.c src/ioloop.c src/machine.c \
                        src/snapshot/stream.c src/virtio/virtq.c src/virtio/virtio.c src/virtio/core.c \
                        src/virtio/rng.c src/virtio/blk.c src/virtio/pci.c src/pci/pci.c src/pci/msix.c \
                        src/loadfile.c src/sandbox/seccomp.c
FUZZ_SRCS_virtio_mmio := src/log.c src/gmem.c src/bus.c src/dev.c src/ioloop.c src/machine.c \
                         src/snapshot/stream.c src/virtio/virtq.c src/virtio/virtio.c src/virtio/core.c \
                         src/virtio/rng.c src/virtio/blk.c src/virtio/mmio.c src/loadfile.c \
                         src/sandbox/seccomp.c
FUZZ_SRCS_net   := src/log.c src/gmem.c src/ioloop.c src/config.c src/snapshot/stream.c \
                   src/virtio/virtq.c src/virtio/virtio.c src/virtio/net.c src/sandbox/seccomp.c
FUZZ_SRCS_i8042 := src/log.c src/dev.c src/snapshot/stream.c src/devices/i8042.c
FUZZ_SRCS_rtc   := src/log.c src/dev.c src/snapshot/stream.c src/devices/rtc.c
FUZZ_SRCS_acpi_pm := src/log.c src/gmem.c src/bus.c src/dev.c src/ioloop.c src/machine.c \
                     src/snapshot/stream.c src/virtio/virtio.c src/arch/x86/acpi.c \
                     src/sandbox/seccomp.c
# Libraries a harness needs beyond FUZZ_LDLIBS.
FUZZ_LIBS_api   := -ljson-c
FUZZ_LIBS_vmconfig := -ljson-c
FUZZ_LIBS_snapshot := -lsodium
FUZZ_LIBS_virtio_pci := -lseccomp
FUZZ_LIBS_virtio_mmio := -lseccomp
FUZZ_LIBS_acpi_pm := -lseccomp
FUZZ_LIBS_net   := -lseccomp -ljson-c
# acpi.c includes the DSDT iasl compiles (the top-level Makefile's rule, build/gen/dsdt.h).
FUZZ_FLAGS_acpi_pm := -Ibuild/gen
FUZZ_NAMES := boot virtq uart api blk vmconfig snapshot mips pci
FUZZ_NAMES += virtio_pci virtio_mmio net i8042 rtc acpi_pm
FUZZ_BINS  := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_NAMES))
FUZZ_DEPS  := $(sort $(foreach n,$(FUZZ_NAMES),$(FUZZ_SRCS_$(n)))) \
              $(shell find src -name '*.h') tests/fuzz/fuzz.h tests/fuzz/fuzz.mk
FUZZ_DEPS  += tests/unit/fake_machine.c tests/unit/fake_machine.h

# Harness-specific prerequisites beyond FUZZ_DEPS.
$(FUZZ_OUT)/fuzz_acpi_pm: build/gen/dsdt.h
ifeq ($(filter Makefile,$(MAKEFILE_LIST)),)
# On its own (run.sh): the top-level Makefile owns the iasl rule (x86 builds only run it).
build/gen/dsdt.h: src/arch/x86/dsdt.asl
	$(MAKE) --no-print-directory -f Makefile ARCH=x86 build/gen/dsdt.h
endif

.PHONY: fuzz-build fuzz
fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS): $(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_FLAGS_$*) $< $(FUZZ_SRCS_$*) -o $@ $(FUZZ_LDLIBS) $(FUZZ_LIBS_$*)

# run.sh checks for clang and libFuzzer first (SKIP without them), then
# builds through this file and runs; the checked-in corpus is never written.
fuzz:
	@FUZZ_CC='$(FUZZ_CC)' FUZZ_OUT='$(FUZZ_OUT)' MAKE='$(MAKE)' tests/fuzz/run.sh

.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
