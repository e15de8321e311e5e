/*
 * arch/mips/dt.c: the flattened device tree of the MIPS board (libfdt's
 * sequential writer) and the ELF loader for the kernel.
 *
 * Threads: the thread building the VM.
 */
#include <elf.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arch/mips/board.h"
#include "accel/mips/cpu.h"

#define PH_INTC 1
#define PH_CLK  2

static int dt_reg(void *fdt, uint32_t base, uint32_t size)
{
	fdt32_t reg[2] = { cpu_to_fdt32(base), cpu_to_fdt32(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int dt_cpus(void *fdt)
{
	int r = 0;

	r |= fdt_begin_node(fdt, "cpus");
	r |= fdt_property_u32(fdt, "#address-cells", 1);
	r |= fdt_property_u32(fdt, "#size-cells", 0);
	r |= fdt_begin_node(fdt, "cpu@0");
	r |= fdt_property_string(fdt, "device_type", "cpu");
	r |= fdt_property_string(fdt, "compatible", "mti,mips24KEc");
	r |= fdt_property_u32(fdt, "reg", 0);
	r |= fdt_property_u32(fdt, "clocks", PH_CLK);
	r |= fdt_end_node(fdt);
	r |= fdt_end_node(fdt);
	r |= fdt_begin_node(fdt, "cpuclk");
	r |= fdt_property_string(fdt, "compatible", "fixed-clock");
	r |= fdt_property_u32(fdt, "#clock-cells", 0);
	r |= fdt_property_u32(fdt, "clock-frequency", MIPS_CPU_HZ);
	r |= fdt_property_u32(fdt, "phandle", PH_CLK);
	r |= fdt_end_node(fdt);
	r |= fdt_begin_node(fdt, "interrupt-controller");
	r |= fdt_property_string(fdt, "compatible", "mti,cpu-interrupt-controller");
	r |= fdt_property(fdt, "interrupt-controller", NULL, 0);
	r |= fdt_property_u32(fdt, "#address-cells", 0);
	r |= fdt_property_u32(fdt, "#interrupt-cells", 1);
	r |= fdt_property_u32(fdt, "phandle", PH_INTC);
	r |= fdt_end_node(fdt);
	return r;
}

static int dt_devices(void *fdt, const struct mips_dt_info *info)
{
	char name[32];
	int r = 0;

	snprintf(name, sizeof(name), "serial@%x", MIPS_UART_BASE);
	r |= fdt_begin_node(fdt, name);
	r |= fdt_property_string(fdt, "compatible", "ns16550a");
	r |= dt_reg(fdt, MIPS_UART_BASE, 8);
	r |= fdt_property_u32(fdt, "reg-shift", 0);
	r |= fdt_property_u32(fdt, "reg-io-width", 1);
	r |= fdt_property_u32(fdt, "clock-frequency", 1843200);
	r |= fdt_property_u32(fdt, "interrupt-parent", PH_INTC);
	r |= fdt_property_u32(fdt, "interrupts", MIPS_UART_IRQ);
	r |= fdt_property(fdt, "no-loopback-test", NULL, 0);
	r |= fdt_end_node(fdt);
	for (unsigned i = 0; i < info->nr_devs; i++) {
		snprintf(name, sizeof(name), "virtio@%x", info->devs[i].base);
		r |= fdt_begin_node(fdt, name);
		r |= fdt_property_string(fdt, "compatible", "virtio,mmio");
		r |= dt_reg(fdt, info->devs[i].base, info->devs[i].size);
		r |= fdt_property_u32(fdt, "interrupt-parent", PH_INTC);
		r |= fdt_property_u32(fdt, "interrupts", info->devs[i].irq);
		r |= fdt_end_node(fdt);
	}
	return r;
}

int mips_dt_build(const struct mips_dt_info *info, void *fdt, size_t cap)
{
	char name[32];
	int r;

	if (fdt_create(fdt, (int)cap) || fdt_finish_reservemap(fdt))
		return -ENOSPC;
	r = fdt_begin_node(fdt, "");
	r |= fdt_property_u32(fdt, "#address-cells", 1);
	r |= fdt_property_u32(fdt, "#size-cells", 1);
	r |= fdt_property_string(fdt, "compatible", "vmon,mips32");
	r |= fdt_property_string(fdt, "model", "vmon MIPS32 board");
	r |= fdt_begin_node(fdt, "chosen");
	r |= fdt_property_string(fdt, "bootargs", info->bootargs);
	snprintf(name, sizeof(name), "/serial@%x", MIPS_UART_BASE);
	r |= fdt_property_string(fdt, "stdout-path", name);
	if (info->initrd_end > info->initrd_start) {
		r |= fdt_property_u32(fdt, "linux,initrd-start", info->initrd_start);
		r |= fdt_property_u32(fdt, "linux,initrd-end", info->initrd_end);
	}
	r |= fdt_end_node(fdt);
	r |= fdt_begin_node(fdt, "memory@0");
	r |= fdt_property_string(fdt, "device_type", "memory");
	r |= dt_reg(fdt, 0, info->ram_size);
	r |= fdt_end_node(fdt);
	r |= dt_cpus(fdt);
	r |= dt_devices(fdt, info);
	r |= fdt_end_node(fdt);
	if (r || fdt_finish(fdt))
		return -ENOSPC;
	return (int)fdt_totalsize(fdt);
}

/* kseg0/kseg1 addresses map to physical by dropping the top 3 bits. */
static uint32_t elf_phys(const Elf32_Phdr *ph)
{
	return (ph->p_vaddr >= 0x80000000u && ph->p_vaddr < 0xc0000000u) ?
		       ph->p_vaddr & 0x1fffffffu : ph->p_paddr;
}

int mips_elf_load(const uint8_t *img, size_t len, uint8_t *ram, uint32_t ram_size,
		  uint32_t *entry, uint32_t *end, char *err, size_t errlen)
{
	Elf32_Ehdr eh;
	uint32_t hi = 0;

	if (len < sizeof(eh)) {
		snprintf(err, errlen, "too short for an ELF header");
		return -EINVAL;
	}
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_MIPS) {
		snprintf(err, errlen, "not a 32-bit little-endian MIPS ELF (a vmlinux)");
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || !eh.e_phnum ||
	    eh.e_phoff > len || (size_t)eh.e_phnum * sizeof(Elf32_Phdr) > len - eh.e_phoff) {
		snprintf(err, errlen, "bad program header table");
		return -EINVAL;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;
		uint32_t pa;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		pa = elf_phys(&ph);
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset ||
		    pa > ram_size || ph.p_memsz > ram_size - pa) {
			snprintf(err, errlen, "segment %u (0x%x bytes at physical 0x%x) does not fit "
				 "the file or %u MiB of RAM", i, ph.p_memsz, pa, ram_size >> 20);
			return -EINVAL;
		}
		memcpy(ram + pa, img + ph.p_offset, ph.p_filesz);
		memset(ram + pa + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (pa + ph.p_memsz > hi)
			hi = pa + ph.p_memsz;
	}
	if (!hi) {
		snprintf(err, errlen, "no loadable segment");
		return -EINVAL;
	}
	*entry = eh.e_entry;
	*end = hi;
	return 0;
}
