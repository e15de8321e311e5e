/*
 * arch/arm64/layout.c: the GICv3 layout for N vCPUs and vCPU affinities
 * (see layout.h). No state; any thread.
 */
#include "arch/arm64/layout.h"

#include <errno.h>

int arm64_gic_layout(unsigned ncpus, struct arm64_gic_layout *out)
{
	if (ncpus == 0 || ncpus > ARM64_MAX_CPUS)
		return -EINVAL;
	out->dist_base = ARM64_GIC_DIST_BASE;
	out->dist_size = ARM64_GIC_DIST_SIZE;
	out->redist_base = ARM64_GIC_REDIST_BASE;
	out->redist_size = (uint64_t)ncpus * ARM64_GIC_REDIST_STRIDE;
	out->ncpus = ncpus;
	return 0;
}

/* arch/arm64/kvm/sys_regs.c reset_mpidr: 16 vCPUs per Aff0 cluster. */
uint64_t arm64_mpidr(unsigned id)
{
	return (uint64_t)(id & 0xf) | ((uint64_t)((id >> 4) & 0xff) << 8) |
	       ((uint64_t)((id >> 12) & 0xff) << 16);
}
