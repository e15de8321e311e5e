/*
 * accel/kvm_arm64.c: the arm64 half of the KVM accelerator (see kvm.h):
 * the in-kernel GICv3 (KVM_DEV_TYPE_ARM_VGIC_V3: distributor and
 * redistributors; a clear error where the host has only a GICv2), SPI
 * lines, vCPU init (KVM_ARM_PREFERRED_TARGET, PSCI 0.2, secondaries
 * powered off until PSCI CPU_ON) and core registers through ONE_REG. PSCI
 * SYSTEM_OFF/RESET reach kvm.c as KVM_EXIT_SYSTEM_EVENT (a clean end).
 *
 * Threads: VM set-up and vCPU init on the thread building the VM; line
 * changes from any thread (before the vGIC is initialised only the
 * building thread drives lines: their levels are kept and replayed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/kvm.h"
#include "log.h"

#define KVM_ARM64_SPI_BASE 32 /* GICv3 arch. spec: INTIDs 32-1019 are SPIs */

/* ONE_REG id of a core register (Documentation/virt/kvm/api.rst, KVM_SET_ONE_REG, arm64). */
#define KVM_ARM64_CORE_ID(field)                                                    \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                        \
	 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

int kvm_arch_check_caps(struct kvm_accel *k)
{
	static const struct kvm_cap_need need[] = {
		{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
		{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL" },
		{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2" },
	};

	return kvm_need_caps(k, need, sizeof(need) / sizeof(need[0]));
}

/* The vGIC exists from VM creation so devices can be wired; its layout comes with vCPU init. */
int kvm_arch_vm_init(struct kvm_accel *k)
{
	struct kvm_create_device gic = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	struct kvm_create_device v2 = { .type = KVM_DEV_TYPE_ARM_VGIC_V2,
					.flags = KVM_CREATE_DEVICE_TEST };
	int err;

	k->gic_fd = -1;
	if (ioctl(k->vm_fd, KVM_CREATE_DEVICE, &gic) < 0) {
		err = errno;
		if (ioctl(k->vm_fd, KVM_CREATE_DEVICE, &v2) == 0)
			log_err("this host's KVM offers only a GICv2; vmon's arm64 board needs an "
				"in-kernel GICv3 (KVM_DEV_TYPE_ARM_VGIC_V3)");
		else
			log_err("KVM_CREATE_DEVICE (GICv3): %s", strerror(err));
		return -ENODEV;
	}
	k->gic_fd = (int)gic.fd;
	return 0;
}

void kvm_arch_probe(int kvm_fd, struct accel_info *info)
{
	int ipa = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);

	info->backend = ipa > 0 ? "hardware-assisted (arm64 KVM, configurable IPA size)"
				: "hardware-assisted (arm64 KVM)";
	info->signature[0] = '\0';
	info->linux_caveat = NULL;
	info->is_pvm = 0;
}

int kvm_arch_query(struct kvm_accel *k, enum accel_query q, void *buf, size_t len)
{
	(void)k, (void)q, (void)buf, (void)len;
	return -ENOTSUP;
}

static int kvm_arm64_gic_attr(struct kvm_accel *k, uint32_t group, uint64_t attr, void *val,
			      const char *what)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)val };

	if (ioctl(k->gic_fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		int err = errno;

		log_err("vGIC: setting %s: %s", what, strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_arm64_line(struct kvm_accel *k, unsigned spi, int level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (spi + KVM_ARM64_SPI_BASE),
		.level = (uint32_t)level,
	};

	return ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

int kvm_arm64_irq_line(struct kvm_accel *k, unsigned gsi, int level)
{
	if (gsi >= KVM_ARM64_SPIS_MAX)
		return -EINVAL;
	if (!atomic_load(&k->gic_ready)) {
		/* Before CTRL_INIT KVM refuses injection: keep the level, replay it at init. */
		if (level)
			k->gic_levels[gsi / 64] |= 1ULL << (gsi % 64);
		else
			k->gic_levels[gsi / 64] &= ~(1ULL << (gsi % 64));
		return 0;
	}
	return kvm_arm64_line(k, gsi, level);
}

int kvm_arm64_irqfd(struct kvm_accel *k, int fd, unsigned gsi, int assign)
{
	if (gsi >= KVM_ARM64_SPIS_MAX)
		return -EINVAL;
	if (atomic_load(&k->gic_ready))
		return kvm_irqfd_set(k, fd, gsi, assign);
	if (assign) {
		if (k->nr_gic_irqfds >= KVM_ARM64_SPIS_MAX)
			return -ENOSPC;
		k->gic_irqfds[k->nr_gic_irqfds].fd = fd;
		k->gic_irqfds[k->nr_gic_irqfds++].gsi = gsi;
		return 0;
	}
	for (unsigned i = 0; i < k->nr_gic_irqfds; i++) {
		if (k->gic_irqfds[i].fd == fd && k->gic_irqfds[i].gsi == gsi) {
			k->gic_irqfds[i] = k->gic_irqfds[--k->nr_gic_irqfds];
			return 0;
		}
	}
	return -ENOENT;
}

/* Every vCPU exists: place the distributor and redistributors, initialise, replay lines. */
static int kvm_arm64_gic_init(struct kvm_accel *k, const struct accel_arm64_init *in)
{
	uint64_t dist = in->gic_dist, redist = in->gic_redist;
	uint32_t nr = in->gic_nr_irqs;
	int ret;

	if (nr < KVM_ARM64_SPI_BASE || nr % 32 || nr - KVM_ARM64_SPI_BASE > KVM_ARM64_SPIS_MAX)
		return -EINVAL;
	ret = kvm_arm64_gic_attr(k, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
				 "the distributor address");
	if (!ret)
		ret = kvm_arm64_gic_attr(k, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
					 &redist, "the redistributor address");
	if (!ret)
		ret = kvm_arm64_gic_attr(k, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr,
					 "the number of interrupts");
	if (!ret)
		ret = kvm_arm64_gic_attr(k, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
					 NULL, "CTRL_INIT");
	if (ret)
		return ret;
	atomic_store(&k->gic_ready, 1);
	for (unsigned i = 0; !ret && i < k->nr_gic_irqfds; i++)
		ret = kvm_irqfd_set(k, k->gic_irqfds[i].fd, k->gic_irqfds[i].gsi, 1);
	k->nr_gic_irqfds = 0;
	for (unsigned spi = 0; !ret && spi < KVM_ARM64_SPIS_MAX; spi++)
		if (k->gic_levels[spi / 64] & (1ULL << (spi % 64)))
			ret = kvm_arm64_line(k, spi, 1);
	return ret;
}

static int kvm_arm64_vcpu_init(struct kvm_vcpu *v, const struct accel_arm64_init *in)
{
	struct kvm_accel *k = (struct kvm_accel *)v->base.a;
	struct kvm_vcpu_init init;
	int err;

	memset(&init, 0, sizeof(init));
	if (ioctl(k->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		err = errno;
		log_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(err));
		return -err;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (in->power_off)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		err = errno;
		log_err("KVM_ARM_VCPU_INIT on vCPU %u (target %u): %s", v->base.id, init.target,
			strerror(err));
		return -err;
	}
	if (v->base.id + 1 == in->ncpus)
		return kvm_arm64_gic_init(k, in);
	return 0;
}

static int kvm_arm64_one_reg(struct kvm_vcpu *v, int set, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)val };

	if (ioctl(v->fd, set ? KVM_SET_ONE_REG : KVM_GET_ONE_REG, &r) < 0) {
		int err = errno;

		log_err("vCPU %u: %s register 0x%" PRIx64 ": %s", v->base.id,
			set ? "KVM_SET_ONE_REG" : "KVM_GET_ONE_REG", id, strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_arm64_set_core(struct kvm_vcpu *v, const struct accel_arm64_core *c)
{
	static const uint64_t xid[4] = {
		KVM_ARM64_CORE_ID(regs.regs[0]), KVM_ARM64_CORE_ID(regs.regs[1]),
		KVM_ARM64_CORE_ID(regs.regs[2]), KVM_ARM64_CORE_ID(regs.regs[3]),
	};
	uint64_t val;
	int ret = 0;

	for (unsigned i = 0; !ret && i < 4; i++) {
		val = c->x[i];
		ret = kvm_arm64_one_reg(v, 1, xid[i], &val);
	}
	val = c->pstate;
	if (!ret)
		ret = kvm_arm64_one_reg(v, 1, KVM_ARM64_CORE_ID(regs.pstate), &val);
	val = c->pc;
	if (!ret)
		ret = kvm_arm64_one_reg(v, 1, KVM_ARM64_CORE_ID(regs.pc), &val);
	return ret;
}

int kvm_arch_vcpu_get(struct kvm_vcpu *v, enum accel_reg r, void *buf, size_t len)
{
	struct accel_arm64_core *c = buf;

	if ((int)r != ACCEL_ARM64_CORE || len != sizeof(*c))
		return -ENOTSUP;
	memset(c, 0, sizeof(*c));
	return kvm_arm64_one_reg(v, 0, KVM_ARM64_CORE_ID(regs.pc), &c->pc);
}

int kvm_arch_vcpu_set(struct kvm_vcpu *v, enum accel_reg r, const void *buf, size_t len)
{
	switch ((int)r) {
	case ACCEL_ARM64_INIT:
		return len == sizeof(struct accel_arm64_init) ? kvm_arm64_vcpu_init(v, buf)
							       : -EINVAL;
	case ACCEL_ARM64_CORE:
		return len == sizeof(struct accel_arm64_core) ? kvm_arm64_set_core(v, buf)
							       : -EINVAL;
	default:
		return -ENOTSUP;
	}
}

uint64_t kvm_arch_pc(struct kvm_vcpu *v)
{
	struct kvm_one_reg r;
	uint64_t pc = 0;

	r.id = KVM_ARM64_CORE_ID(regs.pc);
	r.addr = (uintptr_t)&pc;
	return ioctl(v->fd, KVM_GET_ONE_REG, &r) < 0 ? 0 : pc;
}

/*
 * Snapshot state of an arm64 vCPU and VM (ONE_REG list, vGIC tables, timer):
 * not written yet, so a snapshot of an arm64 guest is refused, never half taken.
 * TODO(#15): arm64 state records.
 */
int kvm_arch_vcpu_save(struct kvm_vcpu *v, struct snap_out *o)
{
	(void)v;
	(void)o;
	return -ENOTSUP;
}

int kvm_arch_vcpu_load(struct kvm_vcpu *v, struct snap_in *in)
{
	(void)v;
	(void)in;
	return -ENOTSUP;
}

int kvm_arch_vm_save(struct kvm_accel *k, struct snap_out *o)
{
	(void)k;
	(void)o;
	return -ENOTSUP;
}

int kvm_arch_vm_load(struct kvm_accel *k, struct snap_in *in)
{
	(void)k;
	(void)in;
	return -ENOTSUP;
}

/* No ITS on this board (GICv3 without MSI translation): MSI-X has no route. */
int kvm_arch_msi_route(struct kvm_accel *k, unsigned *gsi, uint64_t addr, uint32_t data)
{
	(void)k, (void)gsi, (void)addr, (void)data;
	return -ENOTSUP;
}

int kvm_arch_msi_route_free(struct kvm_accel *k, unsigned gsi)
{
	(void)k, (void)gsi;
	return -ENOTSUP;
}

void kvm_arch_msi_destroy(struct kvm_accel *k)
{
	(void)k;
}
