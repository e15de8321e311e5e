# vmon build. `make` builds build/vmon; `make test` runs unit, host and
# nested end-to-end tests; `make guest` builds the guest kernel + initramfs.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CPPFLAGS := -D_GNU_SOURCE -Isrc
# json-c: vm_config's JSON form (--dump-config); it has a static archive, so vmon.static has it too.
LDLIBS   := -lpthread -ljson-c
# libfdt: the MIPS board's device tree (a static archive too).
LDLIBS   += -lfdt
# The management API server and CLI (src/api/, src/cli/): HTTP server and client.
API_LIBS := -lmicrohttpd -lcurl
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

BUILD    := build
# The core: every .c under src/ but main.c, the API server and the CLI.
# New rooms (accel/, arch/<arch>/, devices/, virtio/, snapshot/) are picked up as files appear.
CORE_SRCS := $(filter-out src/main.c,$(wildcard src/*.c)) \
             $(wildcard src/accel/*.c src/arch/*.c src/arch/x86/*.c src/devices/*.c \
                        src/virtio/*.c src/snapshot/*.c)
# The MIPS32 software vCPU and its board (--arch mips32).
CORE_SRCS += $(wildcard src/accel/mips/*.c src/arch/mips/*.c)
# The management API (the server in `vmon run`) and the management CLI.
API_SRCS  := $(wildcard src/api/*.c src/cli/*.c)
VMON_SRCS := $(CORE_SRCS) $(API_SRCS)
MAIN_SRC := src/main.c
HDRS     := $(shell find src -name '*.h')

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

# vmon with ASan+UBSan, used by the host tests.
$(BUILD)/vmon.san: $(VMON_SRCS) $(MAIN_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) $(VMON_SRCS) $(MAIN_SRC) -o $@ $(LDLIBS) $(API_LIBS)

# ---- unit tests: one binary per tests/unit/test_*.c, linked with vmon's code, ASan+UBSan.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
$(BUILD)/unit/%: tests/unit/%.c $(VMON_SRCS) $(HDRS) tests/unit/test.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -Itests/unit $< $(VMON_SRCS) -o $@ $(LDLIBS) $(API_LIBS)

# ---- host-test guests: freestanding x86-64 ELF images in guests/*/.
GUEST_CFLAGS := -std=c17 -Wall -Wextra -Werror -O2 -ffreestanding -nostdlib -fno-pic -no-pie \
                -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-asynchronous-unwind-tables \
                -static -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments
GUEST_NAMES := $(notdir $(wildcard guests/hosttest/*.c))
GUEST_BINS  := $(patsubst %.c,$(BUILD)/guests/%.elf,$(GUEST_NAMES))
$(BUILD)/guests/%.elf: guests/hosttest/%.c guests/hosttest/rt.S guests/hosttest/rt.h guests/hosttest/guest.ld
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -Iguests/hosttest -T guests/hosttest/guest.ld guests/hosttest/rt.S $< -o $@

deps:
	@scripts/install-deps.sh

# The main job: build vmon and the guest, boot it (nested where the host KVM is PVM).
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/vmon $(BUILD)/vmon.static
	@scripts/demo.sh

# Every level, continuing past failures; ends with "N passed, N failed, N skipped".
# The binaries are independent: build them on every core (each unit test links the whole tree).
test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) $(BUILD)/vmon $(BUILD)/vmon.san $(BUILD)/vmon.static $(BUILD)/two_vms $(UNIT_BINS) $(GUEST_BINS)
	@tests/run-all.sh $(UNIT_BINS)

test-unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

# Two VMs in one process (tests/host/two_vms.c), ASan+UBSan.
$(BUILD)/two_vms: tests/host/two_vms.c $(VMON_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) $< $(VMON_SRCS) -o $@ $(LDLIBS) $(API_LIBS)

test-host: $(BUILD)/vmon $(BUILD)/vmon.san $(BUILD)/two_vms $(GUEST_BINS)
	@tests/host/run.sh

test-e2e: $(BUILD)/vmon.static
	@tests/e2e/nested.sh --vmm $(BUILD)/vmon.static

guest:
	@scripts/build-kernel.sh l2 && scripts/build-initramfs.sh

clean:
	rm -rf $(BUILD)
include tests/fuzz/fuzz.mk
include bench/bench.mk
