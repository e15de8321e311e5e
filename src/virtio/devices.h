/*
 * devices.h: the virtio devices a VM gets from its configuration, each
 * behind its own virtio-mmio transport on the machine's device list.
 *
 * Owns: the table of virtio device kinds (devices.c: rng, blk, net; adding
 * a kind is its own file, one row there and its tests) and putting each
 * instance on the machine. Does not own the devices' behaviour (blk.c,
 * net.c, rng.c), the transport (mmio.c), nor where windows and lines go or
 * how the guest hears of them (the machine's ops, arch policy).
 * Threads: the thread building the VM, before vCPUs and the I/O loop run.
 */
#ifndef VMON_VIRTIO_DEVICES_H
#define VMON_VIRTIO_DEVICES_H

#include "../machine.h"
#include "../vmconfig.h"

/*
 * For each kind in table order (rng, blk, net) and each instance c asks for
 * (rng: 1, blk: c->nr_disks, net: c->nr_nets): take a line
 * (m->ops->irq_alloc) and a VIRTIO_MMIO_WINDOW (m->ops->mmio_alloc), build
 * the device, its transport (edge on the line, a doorbell per queue watched
 * in m->io), map the window on m->mmio, announce it ("virtio-mmio", base,
 * window, line) and add it to m->devs, named "virtio-rng0",
 * "virtio-blk0".."virtio-blk5", "virtio-net0", "virtio-net1".
 * 0, or -errno logged once: then every instance made so far is on m->devs
 * (devlist_destroy frees it) and the failed one is freed and unmapped.
 */
int virtio_devices_create(const struct machine *m, const struct vm_config *c);

#endif
