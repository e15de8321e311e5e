/*
 * vmconfig.h: what a VM is, as the user asked for it: kernel, RAM, vCPUs,
 * disks, NICs. The CLI (main.c) and the API (api/vmm.c) fill one struct
 * vm_config; vm_config_validate checks it in one place (every limit lives
 * here); vm_create copies it and never changes it afterwards (frozen at
 * boot). It holds values only, no fds and no pointers into live objects,
 * so it can be copied, written out as JSON (vmon run --dump-config) and
 * read back (migration, snapshots).
 *
 * Owns: the layout, the defaults, validation and the JSON form.
 * Threads: a config belongs to whoever fills it; a running VM's is read-only.
 */
#ifndef VMON_VMCONFIG_H
#define VMON_VMCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/blk.h"
#include "virtio/net.h"

#define VM_MIN_MEM     (2ULL << 20) /* room for boot structures and a tiny guest */
#define VM_MAX_CPUS    254          /* MP table: 8-bit APIC IDs, the IOAPIC takes one */
#define VM_MAX_DISKS   6
#define VM_MAX_NETS    2
/* Disks and NICs share the interrupt lines left after the rng (arch/x86/pc.c). */
#define VM_MAX_VIRTIO_EXTRA 6
#define VM_CMDLINE_MAX 4096
#define VM_PATH_MAX    4096
#define VM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1"
#define VM_DEFAULT_MEM (256ULL << 20)

struct vm_config {
	char kernel[VM_PATH_MAX];   /* "" until given */
	char initrd[VM_PATH_MAX];   /* "": none */
	char cmdline[VM_CMDLINE_MAX];
	uint64_t mem_bytes;
	unsigned ncpus;
	int stats;                  /* print exit statistics at exit */
	int elf64_entry;            /* ignore a PVH note, use the ELF 64-bit entry */
	char kvm_path[VM_PATH_MAX]; /* "/dev/kvm" unless overridden */
	struct vblk_opts disks[VM_MAX_DISKS];
	unsigned nr_disks;
	struct vnet_opts nets[VM_MAX_NETS];
	unsigned nr_nets;
};

#define VM_ERR_MAX 256

/* Fill defaults (kvm_path, cmdline, 256 MiB, 1 vCPU, no devices). */
void vm_config_defaults(struct vm_config *c);

/*
 * Check everything that can be checked before anything is created: the
 * limits above, RAM against the host's, device counts. 0, or -EINVAL with
 * one line naming the problem in err (the caller logs it or returns it to
 * an API client).
 */
int vm_config_validate(const struct vm_config *c, char *err, size_t errlen);

/*
 * Copy s into a config string field of size cap. -ENAMETOOLONG (nothing
 * copied) when it does not fit.
 */
int vm_config_set_str(char *field, size_t cap, const char *s);

#endif
