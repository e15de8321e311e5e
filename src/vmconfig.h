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
 *
 * JSON schema (one object; every member optional, defaults as
 * vm_config_defaults; unknown members, wrong types and null refused):
 *   "boot-source":        {"kernel_image_path": str, "initrd_path": str,
 *                          "boot_args": str}
 *   "machine-config":     {"vcpu_count": int, "mem_size_mib": int | "mem_size_kib": int}
 *                          (exactly one of the two sizes when either is given;
 *                          mem_size_kib only for sizes that are not whole MiB)
 *   "drives":             [{"path_on_host": str, "is_read_only": bool,
 *                           "cache": "writeback" | "none"}]   at most VM_MAX_DISKS
 *   "network-interfaces": [{"host_dev_name": str, "guest_mac": "xx:xx:xx:xx:xx:xx",
 *                           "offload": bool}]                  at most VM_MAX_NETS
 *   "vmon":               {"stats": bool, "elf64_entry": bool, "kvm_device": str,
 *                          "arch": "native" | "x86_64" | "mips32",
 *                          "transport": "mmio" | "pci",
 *                          "seccomp": bool}
 * Names follow Firecracker's where it has the field; "vmon" holds vmon's own.
 * vm_config_to_json writes every member (initrd_path only when set,
 * guest_mac only when given, arch only when set) and "transport" always,
 * resolved (vm_config_transport: "pci" when none was given on x86), so
 * from_json(to_json(c)) == c field for field for every valid c, except
 * that an empty transport comes back as the one it resolved to (which
 * resolves the same, so to_json of the result is the same text).
 *
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
	char arch[16];              /* "" or "native": the host's; "x86_64", "mips32" */
	char transport[8];          /* "" (the arch's default, vm_config_transport), "mmio", "pci" */
	int seccomp;                /* per-thread seccomp filters (sandbox/seccomp.h); default 1 */
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
 * The virtio transport c's VM gets: c->transport when given, otherwise the
 * arch's default: "pci" on x86 (a stock distribution kernel finds its
 * devices on PCI, not in virtio-mmio command-line windows), "mmio" on arm64
 * and mips32 (no PCI). Never NULL; a static string or c's own field.
 */
const char *vm_config_transport(const struct vm_config *c);

/*
 * Copy s into a config string field of size cap. -ENAMETOOLONG (nothing
 * copied) when it does not fit.
 */
int vm_config_set_str(char *field, size_t cap, const char *s);

struct json_object;

/* vm_config_check flags. */
#define VM_CONFIG_NO_KERNEL 1u /* a configuration still being built: no kernel yet is fine */
#define VM_CONFIG_NO_HOST   2u /* skip the checks against this host (its RAM) */

/*
 * vm_config_validate with some checks left out (flags above); 0 with
 * flags 0 is exactly vm_config_validate. 0, or -EINVAL with one line in err.
 */
int vm_config_check(const struct vm_config *c, unsigned flags, char *err, size_t errlen);

/* Longest JSON text vm_config_from_json reads. */
#define VM_CONFIG_JSON_MAX (1u << 20)

/*
 * The configuration as JSON text (indented, no trailing newline), malloc'ed:
 * the caller frees it. NULL when out of memory.
 */
char *vm_config_to_json(const struct vm_config *c);
/* The same as a json-c object (the caller puts it), or NULL when out of memory. */
struct json_object *vm_config_to_jobj(const struct vm_config *c);

/*
 * Read a configuration from len bytes of JSON (exactly one object, nothing
 * after it, valid UTF-8). Strict: unknown members, wrong types, strings that
 * do not fit their field, numbers out of range and too many devices are
 * refused, and the result must pass vm_config_check(VM_CONFIG_NO_HOST): the
 * host's RAM is checked when the VM is created, so that a configuration can
 * be read on one host and run on another. 0 and *c filled, or -EINVAL
 * (-ENOMEM) with one line in err and *c untouched. Never crashes on any input.
 */
int vm_config_from_json(const char *json, size_t len, struct vm_config *c, char *err,
			size_t errlen);

#endif
