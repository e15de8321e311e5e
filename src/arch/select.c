/*
 * arch/select.c: the arch a VM asks for by name (vm_config.arch, --arch).
 * "" and "native" are the host's own (arch/native.c); "mips32" is the
 * MIPS board driven by the software vCPU, on any host.
 *
 * Threads: any; no state.
 */
#include <string.h>

#include "arch/arch.h"
#include "arch/mips/board.h"

const struct arch_ops *arch_by_name(const char *name)
{
	const struct arch_ops *native = arch_native();

	if (!name || !name[0] || !strcmp(name, "native"))
		return native;
	if (!strcmp(name, native->name))
		return native;
	if (!strcmp(name, mips_board_arch.name))
		return &mips_board_arch;
	return NULL;
}
