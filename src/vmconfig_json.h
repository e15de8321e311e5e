/*
 * vmconfig_json.h: the rest of vmconfig.c's interface beside vmconfig.h:
 * validation with flags (for a configuration still being built) and the
 * JSON form. TODO(#platform): fold into vmconfig.h at integration.
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
 *   "vmon":               {"stats": bool, "elf64_entry": bool, "kvm_device": str}
 * Names follow Firecracker's where it has the field; "vmon" holds vmon's own.
 * vm_config_to_json writes every member (initrd_path only when set,
 * guest_mac only when given), so from_json(to_json(c)) == c field for
 * field for every valid c.
 *
 * Threads: pure functions of their arguments.
 */
#ifndef VMON_VMCONFIG_JSON_H
#define VMON_VMCONFIG_JSON_H

#include <stddef.h>

#include "vmconfig.h"

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
