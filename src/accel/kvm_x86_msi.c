/*
 * accel/kvm_x86_msi.c: MSI routes for irqfd on x86 KVM (accel.h's
 * msi_route / msi_route_free). A PCI function's MSI-X vector becomes a GSI
 * past the IOAPIC's pins whose route is the vector's message; an eventfd
 * bound to that GSI with KVM_IRQFD then delivers the message without a
 * user-space exit (Documentation/virt/kvm/api.rst, KVM_SET_GSI_ROUTING).
 *
 * Owns: the table of MSI routes of one VM and the whole routing table KVM
 * holds: KVM_SET_GSI_ROUTING replaces every entry, so each update also
 * restates the default irqchip routes KVM_CREATE_IRQCHIP set up (GSI 0-15
 * to the master/slave PIC and the IOAPIC, 16-23 to the IOAPIC only, as
 * arch/x86/kvm/irq_comm.c's default_routing does).
 *
 * Threads: any (a vCPU thread writing an MSI-X table entry, the VMM thread
 * restoring one); the table has its own mutex, a leaf held across the ioctl.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm.h"
#include "log.h"

#define KVM_X86_IOAPIC_PINS 24
#define KVM_X86_PIC_PINS    16
#define KVM_MSI_ROUTES_MAX  256 /* vectors of all PCI functions of a VM */
#define KVM_MSI_GSI_FIRST   KVM_X86_IOAPIC_PINS

struct kvm_msi_route {
	int used;
	uint64_t addr;
	uint32_t data;
};

struct kvm_msi_routes {
	pthread_mutex_t lock;
	struct kvm_msi_route r[KVM_MSI_ROUTES_MAX];
};

static struct kvm_msi_routes *kvm_routes(struct kvm_accel *k)
{
	struct kvm_msi_routes *t;

	if (k->msi_routes)
		return k->msi_routes;
	t = calloc(1, sizeof(*t));
	if (!t || pthread_mutex_init(&t->lock, NULL)) {
		free(t);
		return NULL;
	}
	k->msi_routes = t;
	return t;
}

/* Restate the whole table to KVM. Lock held. */
static int kvm_routes_commit(struct kvm_accel *k, struct kvm_msi_routes *t)
{
	unsigned max = KVM_X86_IOAPIC_PINS + KVM_X86_PIC_PINS + KVM_MSI_ROUTES_MAX, n = 0;
	struct kvm_irq_routing *rt = calloc(1, sizeof(*rt) + max * sizeof(rt->entries[0]));
	int ret = 0;

	if (!rt)
		return -ENOMEM;
	for (unsigned pin = 0; pin < KVM_X86_IOAPIC_PINS; pin++) {
		if (pin < KVM_X86_PIC_PINS) {
			rt->entries[n].gsi = pin;
			rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			rt->entries[n].u.irqchip.irqchip = pin < 8 ? KVM_IRQCHIP_PIC_MASTER
								   : KVM_IRQCHIP_PIC_SLAVE;
			rt->entries[n].u.irqchip.pin = pin % 8;
			n++;
		}
		rt->entries[n].gsi = pin;
		rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		rt->entries[n].u.irqchip.pin = pin;
		n++;
	}
	for (unsigned i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		if (!t->r[i].used)
			continue;
		rt->entries[n].gsi = KVM_MSI_GSI_FIRST + i;
		rt->entries[n].type = KVM_IRQ_ROUTING_MSI;
		rt->entries[n].u.msi.address_lo = (uint32_t)t->r[i].addr;
		rt->entries[n].u.msi.address_hi = (uint32_t)(t->r[i].addr >> 32);
		rt->entries[n].u.msi.data = t->r[i].data;
		n++;
	}
	rt->nr = n;
	if (ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0) {
		ret = -errno;
		log_err("KVM_SET_GSI_ROUTING with %u entries: %s", n, strerror(-ret));
	}
	free(rt);
	return ret;
}

int kvm_arch_msi_route(struct kvm_accel *k, unsigned *gsi, uint64_t addr, uint32_t data)
{
	struct kvm_msi_routes *t = kvm_routes(k);
	unsigned i;
	int ret;

	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	if (*gsi == ACCEL_MSI_ROUTE_NEW) {
		for (i = 0; i < KVM_MSI_ROUTES_MAX && t->r[i].used; i++)
			;
		if (i == KVM_MSI_ROUTES_MAX) {
			pthread_mutex_unlock(&t->lock);
			log_err("no MSI route left (%u in use)", KVM_MSI_ROUTES_MAX);
			return -ENOSPC;
		}
	} else {
		i = *gsi - KVM_MSI_GSI_FIRST;
		if (*gsi < KVM_MSI_GSI_FIRST || i >= KVM_MSI_ROUTES_MAX || !t->r[i].used) {
			pthread_mutex_unlock(&t->lock);
			return -ENOENT;
		}
		if (t->r[i].addr == addr && t->r[i].data == data) {
			pthread_mutex_unlock(&t->lock);
			return 0; /* unchanged: spare KVM the table swap */
		}
	}
	struct kvm_msi_route old = t->r[i];

	t->r[i] = (struct kvm_msi_route){ .used = 1, .addr = addr, .data = data };
	ret = kvm_routes_commit(k, t);
	if (ret)
		t->r[i] = old;
	else
		*gsi = KVM_MSI_GSI_FIRST + i;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int kvm_arch_msi_route_free(struct kvm_accel *k, unsigned gsi)
{
	struct kvm_msi_routes *t = k->msi_routes;
	unsigned i = gsi - KVM_MSI_GSI_FIRST;
	int ret;

	if (!t || gsi < KVM_MSI_GSI_FIRST || i >= KVM_MSI_ROUTES_MAX)
		return -ENOENT;
	pthread_mutex_lock(&t->lock);
	if (!t->r[i].used) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	t->r[i].used = 0;
	ret = kvm_routes_commit(k, t);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void kvm_arch_msi_destroy(struct kvm_accel *k)
{
	struct kvm_msi_routes *t = k->msi_routes;

	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
	k->msi_routes = NULL;
}
