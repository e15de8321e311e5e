# vmon build. `make` builds build/vmon; `make test` runs unit, host and
# nested end-to-end tests; `make guest` builds the guest kernel + initramfs.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CPPFLAGS := -D_GNU_SOURCE -Isrc
# json-c: vm_config's JSON form (--dump-config); it has a static archive, so vmon.static has it too.
LDLIBS   := -lpthread -ljson-c
# libsodium: snapshot checksums (BLAKE2b) and the host-key HMAC (crypto_auth); static archive too.
LDLIBS   += -lsodium
# libfdt: the MIPS and arm64 boards' device trees (a static archive too).
LDLIBS   += -lfdt
# libseccomp: the per-thread-role syscall filters (src/sandbox/seccomp.c); a static archive too.
LDLIBS   += -lseccomp
# The management API server and CLI (src/api/, src/cli/): HTTP server and client.
API_LIBS := -lmicrohttpd -lcurl
# libarchive: `vmon export`/`vmon import`'s one-file VM archive (a pax tar, sparse members).
API_LIBS += -larchive
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

BUILD    := build
# ARCH=arm64: cross-build vmon for arm64 hosts with Debian's gcc-aarch64-linux-gnu into
# build/arm64/ (the arm64 board src/arch/arm64/ and accel/kvm_arm64.c instead of the x86 files).
# Its json-c and libfdt come from Debian's arm64 packages, unpacked into the cache by
# scripts/cross-deps-arm64.sh. The API's libraries (libmicrohttpd, libcurl) are not fetched for
# arm64, so both arm64 binaries are built as vmon.static is: without src/api/ and src/cli/.
ARCH     ?= x86_64
ARM64_ARCH_SRCS := $(wildcard src/arch/arm64/*.c)
ifeq ($(ARCH),arm64)
CC       := aarch64-linux-gnu-gcc
BUILD    := build/arm64
XDEPS    := $(shell scripts/cross-deps-arm64.sh)
CPPFLAGS += -I$(XDEPS)/usr/include -DVMON_NO_API
LDLIBS   := -L$(XDEPS)/usr/lib/aarch64-linux-gnu -lpthread -ljson-c -lfdt -lsodium
LDLIBS   += -lseccomp
API_LIBS :=
ARCH_SRCS := $(ARM64_ARCH_SRCS) src/accel/kvm_arm64.c
else
ARCH_SRCS := $(wildcard src/arch/x86/*.c) $(wildcard src/accel/kvm_x86*.c)
endif
# The core: every .c under src/ but main.c, the API server and the CLI.
# New rooms (accel/, arch/<arch>/, devices/, virtio/, snapshot/, pci/, sandbox/) are picked up as files appear.
CORE_SRCS := $(filter-out src/main.c,$(wildcard src/*.c)) \
             $(filter-out src/accel/kvm_x86%.c src/accel/kvm_arm64.c,$(wildcard src/accel/*.c)) \
             $(wildcard src/arch/*.c src/devices/*.c src/virtio/*.c src/snapshot/*.c src/pci/*.c src/sandbox/*.c) \
             $(ARCH_SRCS)
# The MIPS32 software vCPU and its board (--arch mips32), portable C: on every host.
CORE_SRCS += $(wildcard src/accel/mips/*.c src/arch/mips/*.c)
# The management API (the server in `vmon run`) and the management CLI.
ifeq ($(ARCH),arm64)
API_SRCS  :=
else
API_SRCS  := $(wildcard src/api/*.c src/cli/*.c)
endif
VMON_SRCS := $(CORE_SRCS) $(API_SRCS)
MAIN_SRC := src/main.c
HDRS     := $(shell find src -name '*.h')
# x86 ACPI: dsdt.asl compiled by ACPICA's iasl (Debian acpica-tools) into a C array that
# src/arch/x86/acpi.c includes. It is generated into build/gen/ (never committed) and made a
# header dependency so every binary that links acpi.c (vmon, vmon.static, unit tests...) has it.
ifneq ($(ARCH),arm64)
GEN      := build/gen
HDRS     += $(GEN)/dsdt.h
CPPFLAGS += -I$(GEN)
endif

.PHONY: all static deps demo bench test test-unit test-host test-e2e guest clean fuzz fuzz-build
all: $(BUILD)/vmon

$(BUILD)/vmon: $(VMON_SRCS) $(MAIN_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(VMON_SRCS) $(MAIN_SRC) -o $@ $(LDLIBS) $(API_LIBS)

# Static build for the nested test (copied into the L1 initramfs): `run` and
# `info` only (and --dump-config). The API's libraries have no static form in Debian (libmicrohttpd
# pulls in GnuTLS and p11-kit), so this build leaves src/api/ out.
static: $(BUILD)/vmon.static
$(BUILD)/vmon.static: $(CORE_SRCS) $(MAIN_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -DVMON_NO_API -static $(CORE_SRCS) $(MAIN_SRC) -o $@ $(LDLIBS)

# The sanitizer build's objects, compiled once and linked into vmon.san, every unit test and
# the host-test programs (each used to recompile the whole tree: 40 binaries x 60 files).
# Any header change rebuilds them all: coarse, but never stale.
SAN_OBJS       := $(patsubst %.c,$(BUILD)/san/%.o,$(VMON_SRCS))
ARM64_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(ARM64_ARCH_SRCS))
$(SAN_OBJS) $(ARM64_SAN_OBJS) $(BUILD)/san/src/main.o: $(BUILD)/san/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -c $< -o $@

# vmon with ASan+UBSan, used by the host tests.
$(BUILD)/vmon.san: $(SAN_OBJS) $(BUILD)/san/src/main.o
	@mkdir -p $(@D)
	$(CC) $(SAN) $^ -o $@ $(LDLIBS) $(API_LIBS)

# ---- unit tests: one binary per tests/unit/test_*.c, linked with vmon's code, ASan+UBSan.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
$(BUILD)/unit/%: tests/unit/%.c $(SAN_OBJS) $(HDRS) tests/unit/test.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -Itests/unit $< $(SAN_OBJS) -o $@ $(LDLIBS) $(API_LIBS)

# The arm64 board's pure parts (device tree, Image header, GIC layout) tested on this host:
# test_arm64_* link src/arch/arm64/ beside the native tree, with libfdt.
$(BUILD)/unit/test_arm64_%: tests/unit/test_arm64_%.c $(SAN_OBJS) $(ARM64_SAN_OBJS) $(HDRS) tests/unit/test.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -Itests/unit $< $(SAN_OBJS) $(ARM64_SAN_OBJS) -o $@ $(LDLIBS) $(API_LIBS) -lfdt

# ---- host-test guests: freestanding x86-64 ELF images in guests/*/.
GUEST_CFLAGS := -std=c17 -Wall -Wextra -Werror -O2 -ffreestanding -nostdlib -fno-pic -no-pie \
                -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-asynchronous-unwind-tables \
                -static -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments
GUEST_NAMES := $(notdir $(wildcard guests/hosttest/*.c))
GUEST_BINS  := $(patsubst %.c,$(BUILD)/guests/%.elf,$(GUEST_NAMES))
$(BUILD)/guests/%.elf: guests/hosttest/%.c guests/hosttest/rt.S guests/hosttest/rt.h guests/hosttest/guest.ld
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -Iguests/hosttest -T guests/hosttest/guest.ld guests/hosttest/rt.S $< -o $@

# iasl -tc writes dsdt.aml and dsdt.hex (unsigned char dsdt_aml_code[]); made static const here.
build/gen/dsdt.h: src/arch/x86/dsdt.asl
	@mkdir -p $(@D)
	iasl -vs -p $(@D)/dsdt -tc $< >$(@D)/dsdt.log 2>&1 || { cat $(@D)/dsdt.log; exit 1; }
	sed 's/^unsigned char dsdt_aml_code\[\]/static const unsigned char acpi_dsdt_aml[]/' \
		$(@D)/dsdt.hex >$@.tmp
	grep -q 'static const unsigned char acpi_dsdt_aml' $@.tmp && mv $@.tmp $@

deps:
	@scripts/install-deps.sh

# The main job: build vmon and the guest, boot it (nested where the host KVM is PVM).
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/vmon $(BUILD)/vmon.static
	@scripts/demo.sh

# Every level, continuing past failures; ends with "N passed, N failed, N skipped".
# The binaries are independent: build them on every core (each unit test links the whole tree).
test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) $(BUILD)/vmon $(BUILD)/vmon.san $(BUILD)/vmon.static $(BUILD)/two_vms $(BUILD)/kvm_state $(BUILD)/snap_vm $(UNIT_BINS) $(GUEST_BINS)
	@tests/run-all.sh $(UNIT_BINS)

test-unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

# Two VMs in one process (tests/host/two_vms.c), ASan+UBSan.
$(BUILD)/two_vms: tests/host/two_vms.c $(SAN_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) $< $(SAN_OBJS) -o $@ $(LDLIBS) $(API_LIBS)

# The accelerator's snapshot state ops on /dev/kvm (tests/host/kvm_state.c), ASan+UBSan.
$(BUILD)/kvm_state: tests/host/kvm_state.c $(SAN_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) $< $(SAN_OBJS) -o $@ $(LDLIBS) $(API_LIBS)

# Snapshot and restore of a guest in two processes (tests/host/snap_vm.c, for snapshot.sh).
$(BUILD)/snap_vm: tests/host/snap_vm.c $(SAN_OBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) $< $(SAN_OBJS) -o $@ $(LDLIBS) $(API_LIBS)

test-host: $(BUILD)/vmon $(BUILD)/vmon.san $(BUILD)/two_vms $(BUILD)/kvm_state $(BUILD)/snap_vm $(GUEST_BINS)
	@tests/host/run.sh

test-e2e: $(BUILD)/vmon.static
	@tests/e2e/nested.sh --vmm $(BUILD)/vmon.static

guest:
	@scripts/build-kernel.sh l2 && scripts/build-initramfs.sh

clean:
	rm -rf $(BUILD)
include tests/fuzz/fuzz.mk
include bench/bench.mk
