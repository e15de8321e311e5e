/*
 * bench/mips_dtb.c: write the device tree of vmon's MIPS board (no virtio
 * devices) to stdout, for the qemu-system-mipsel -M mipssim reference run
 * (bench/mips.sh appends it to the kernel ELF).
 * Usage: mips_dtb RAM_MIB BOOTARGS [INITRD_START INITRD_SIZE] (physical, as QEMU loads it)
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch/mips/board.h"

int main(int argc, char **argv)
{
	static unsigned char buf[64 << 10];
	struct mips_dt_info info = { 0 };
	int n;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: %s RAM_MIB BOOTARGS [INITRD_START INITRD_SIZE]\n", argv[0]);
		return 2;
	}
	info.ram_size = (uint32_t)strtoul(argv[1], NULL, 0) << 20;
	info.bootargs = argv[2];
	if (argc == 5) {
		info.initrd_start = (uint32_t)strtoul(argv[3], NULL, 0);
		info.initrd_end = info.initrd_start + (uint32_t)strtoul(argv[4], NULL, 0);
	}
	n = mips_dt_build(&info, buf, sizeof(buf));
	if (n < 0 || fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
		return 1;
	return 0;
}
