/*
 * arch/native.c: which arch_ops this build of vmon drives (arch/arch.h).
 * The one place that picks an arch by the compiler's target.
 */
#include "arch/arch.h"

#if defined(__x86_64__)
#include "arch/x86/pc.h"

const struct arch_ops *arch_native(void)
{
	return &x86_pc_arch;
}
#elif defined(__aarch64__)
#include "arch/arm64/virt.h"

const struct arch_ops *arch_native(void)
{
	return &arm64_virt_arch;
}
#else
#error "vmon supports x86-64 and arm64 hosts"
#endif
