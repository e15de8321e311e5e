/*
 * devices.c: the table of virtio device kinds and virtio_devices_create
 * (see devices.h).
 *
 * Owns: one static const row per kind: how many instances a vm_config
 * asks for, their names, the device ops and a constructor; and the order
 * a machine receives them in (rows in order, instances in order), which is
 * what puts virtio-rng0 at the first window and line, virtio-blk0 at the
 * second, and so on, as before. Does not own any device state: each
 * instance belongs to its transport, which belongs to the device list.
 * Threads: the VM-building thread only.
 */
#include "devices.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "../log.h"
#include "../util.h"
#include "blk.h"
#include "mmio.h"
#include "net.h"
#include "pci.h"
#include "rng.h"

/* What a constructor is handed: the machine, the config, and the core its device will sit on. */
struct virtio_devices_env {
	const struct machine *m;
	const struct vm_config *cfg;
	struct virtio_core *core; /* inert until virtio_mmio_init; a kick target for the device */
};

struct virtio_devices_kind {
	const struct virtio_dev_ops *ops;
	/* Instance names; static, since the bus keeps the pointer. Their count is the maximum. */
	const char *const *names;
	unsigned max;
	/* How many instances cfg asks for. */
	unsigned (*count)(const struct vm_config *cfg);
	/* Build instance i. 0 or -errno, logged. */
	int (*create)(const struct virtio_devices_env *env, unsigned i, void **dev);
};

static const char *const virtio_devices_rng_names[] = { "virtio-rng0" };
static const char *const virtio_devices_blk_names[VM_MAX_DISKS] = {
	"virtio-blk0", "virtio-blk1", "virtio-blk2", "virtio-blk3", "virtio-blk4", "virtio-blk5",
};
static const char *const virtio_devices_net_names[VM_MAX_NETS] = { "virtio-net0", "virtio-net1" };

static unsigned virtio_devices_one(const struct vm_config *cfg)
{
	(void)cfg;
	return 1; /* every VM has an entropy source */
}

static unsigned virtio_devices_nr_disks(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

static unsigned virtio_devices_nr_nets(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static int virtio_devices_rng(const struct virtio_devices_env *env, unsigned i, void **dev)
{
	struct vrng *r;
	int ret;

	(void)env, (void)i;
	ret = vrng_create(&r);
	if (!ret)
		*dev = r;
	return ret;
}

static int virtio_devices_blk(const struct virtio_devices_env *env, unsigned i, void **dev)
{
	struct vblk *b;
	int ret = vblk_create(env->m->mem, &env->cfg->disks[i], &b);

	if (!ret)
		*dev = b;
	return ret;
}

/* I/O thread: the TAP has frames; deliver them under the core's lock. */
static void virtio_devices_rx_kick(void *ctx)
{
	virtio_core_process(ctx, VNET_RXQ);
}

static int virtio_devices_net(const struct virtio_devices_env *env, unsigned i, void **dev)
{
	struct vnet_env nenv = { .m = env->m->mem, .loop = env->m->io,
				 .rx_kick = virtio_devices_rx_kick, .rx_kick_ctx = env->core };
	struct vnet *n;
	int ret = vnet_create(&nenv, &env->cfg->nets[i], &n);

	if (!ret)
		*dev = n;
	return ret;
}

static const struct virtio_devices_kind virtio_devices_table[] = {
	{ &vrng_ops, virtio_devices_rng_names, ARRAY_SIZE(virtio_devices_rng_names),
	  virtio_devices_one, virtio_devices_rng },
	{ &vblk_ops, virtio_devices_blk_names, ARRAY_SIZE(virtio_devices_blk_names),
	  virtio_devices_nr_disks, virtio_devices_blk },
	{ &vnet_ops, virtio_devices_net_names, ARRAY_SIZE(virtio_devices_net_names),
	  virtio_devices_nr_nets, virtio_devices_net },
};

/*
 * One instance as a virtio-pci function on the machine's PCI host: no line
 * or window to allocate (the host assigns its BAR and INTx; MSI-X is the
 * guest's choice) and nothing to announce (the guest enumerates the bus).
 */
static int virtio_devices_add_pci(const struct machine *m, const struct vm_config *cfg,
				  const struct virtio_devices_kind *k, unsigned i)
{
	const char *name = k->names[i];
	struct virtio_devices_env env = { .m = m, .cfg = cfg };
	struct virtio_pci *t = virtio_pci_alloc();
	void *dev;
	int ret;

	if (!t) {
		log_err("%s: out of memory for its transport", name);
		return -ENOMEM;
	}
	env.core = &t->core;
	ret = k->create(&env, i, &dev); /* logged by the device */
	if (ret) {
		virtio_pci_destroy(t);
		return ret;
	}
	/* t owns dev from here; init logs its own failures. */
	ret = virtio_pci_init(t, m, name, k->ops, dev);
	if (ret) {
		virtio_pci_destroy(t);
		return ret;
	}
	return virtio_pci_add(t, m, m->pci); /* the list owns t, also on failure */
}

/* One instance, start to finish; on failure nothing of it is left behind. */
static int virtio_devices_add(const struct machine *m, const struct vm_config *cfg,
			      const struct virtio_devices_kind *k, unsigned i)
{
	const char *name = k->names[i];
	struct virtio_devices_env env = { .m = m, .cfg = cfg };
	struct virtio_mmio *t;
	uint64_t base;
	unsigned gsi;
	void *dev;
	int ret;

	ret = m->ops->irq_alloc(m->ctx, &gsi);
	if (ret) {
		log_err("%s: no interrupt line left for it: %s", name, strerror(-ret));
		return ret;
	}
	ret = m->ops->mmio_alloc(m->ctx, VIRTIO_MMIO_WINDOW, &base);
	if (ret) {
		log_err("%s: no MMIO window left for it: %s", name, strerror(-ret));
		return ret;
	}
	t = virtio_mmio_alloc();
	if (!t) {
		log_err("%s: out of memory for its transport", name);
		return -ENOMEM;
	}
	env.core = &t->core;
	ret = k->create(&env, i, &dev); /* logged by the device */
	if (ret) {
		virtio_mmio_destroy(t);
		return ret;
	}
	/* t owns dev from here. init and machine_map log their own failures. */
	ret = virtio_mmio_init(t, m, name, base, gsi, k->ops, dev);
	if (!ret)
		ret = machine_map(m->mmio, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_dev_ops, t, name);
	if (ret) {
		virtio_mmio_destroy(t);
		return ret;
	}
	ret = m->ops->announce(m->ctx, "virtio-mmio", base, VIRTIO_MMIO_WINDOW, gsi);
	if (ret) {
		log_err("%s: cannot announce it at 0x%" PRIx64 " irq %u: %s", name, base, gsi,
			ret == -E2BIG ? "the kernel command line is full" : strerror(-ret));
		bus_unmap(m->mmio, base);
		virtio_mmio_destroy(t);
		return ret;
	}
	ret = machine_add_dev(m, &virtio_mmio_dev_ops, t, name); /* destroys t on failure, logged */
	if (ret)
		bus_unmap(m->mmio, base);
	return ret;
}

int virtio_devices_create(const struct machine *m, const struct vm_config *c)
{
	int pci = !strcmp(vm_config_transport(c), "pci");

	if (pci && !m->pci) {
		log_err("--transport pci: this machine has no PCI host bridge");
		return -ENOTSUP;
	}
	for (unsigned r = 0; r < ARRAY_SIZE(virtio_devices_table); r++) {
		const struct virtio_devices_kind *k = &virtio_devices_table[r];
		unsigned n = k->count(c);

		if (n > k->max) {
			log_err("%u %s devices asked for, at most %u", n, k->ops->name, k->max);
			return -EINVAL;
		}
		for (unsigned i = 0; i < n; i++) {
			int ret = pci ? virtio_devices_add_pci(m, c, k, i)
				      : virtio_devices_add(m, c, k, i);

			if (ret)
				return ret;
		}
	}
	return 0;
}
