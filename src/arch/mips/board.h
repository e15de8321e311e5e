/*
 * arch/mips/board.h: the MIPS32 board vmon builds for --arch mips32 (see
 * board.c): RAM at physical 0, an ns16550a at 0x1fd003f8 on CPU line 4,
 * virtio-mmio windows from 0x1e000000 on lines 2, 3, 5, 6, a device tree
 * handed to the kernel by the UHI convention.
 */
#ifndef VMON_ARCH_MIPS_BOARD_H
#define VMON_ARCH_MIPS_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"

#define MIPS_UART_BASE 0x1fd003f8u
#define MIPS_UART_IRQ  4
#define MIPS_MMIO_BASE 0x1e000000u
#define MIPS_MMIO_END  0x1f000000u
#define MIPS_MAX_DEVS  4
#define MIPS_MAX_RAM   (256u << 20)

extern const struct arch_ops mips_board_arch;

struct mips_dev {
	uint32_t base, size;
	unsigned irq;
};

/* What goes into the device tree. */
struct mips_dt_info {
	uint32_t ram_size;
	const char *bootargs;
	uint32_t initrd_start, initrd_end; /* physical; both 0: none */
	const struct mips_dev *devs;
	unsigned nr_devs;
};

/* Build the device tree into buf (cap bytes). Its size, or -errno. */
int mips_dt_build(const struct mips_dt_info *info, void *buf, size_t cap);

/*
 * Load an ELF32 little-endian MIPS image of len bytes into ram (ram_size
 * bytes at physical 0). 0 with *entry (virtual) and *end (highest physical
 * byte + 1), or -EINVAL with a line in err.
 */
int mips_elf_load(const uint8_t *img, size_t len, uint8_t *ram, uint32_t ram_size,
		  uint32_t *entry, uint32_t *end, char *err, size_t errlen);

#endif
