/*
 * vmconfig.c: struct vm_config's defaults, its validation and its JSON
 * form (vmconfig.h).
 *
 * Owns: every limit a configuration must meet (RAM, vCPUs, device counts,
 * string fields, NIC names and MACs), with the messages users see, and the
 * JSON schema both ways (json-c). Does not own parsing CLI values (config.c,
 * vblk_parse_opts, vnet_parse_opts) nor anything a VM does with its config.
 * Nothing here logs: every message goes into the caller's err buffer.
 * Built into every vmon, the static one too (libjson-c has an archive).
 *
 * Threads: pure functions of their arguments (plus sysconf for host RAM).
 */
#include "vmconfig.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"


void vm_config_defaults(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_bytes = VM_DEFAULT_MEM;
	c->ncpus = 1;
	strcpy(c->cmdline, VM_DEFAULT_CMDLINE);
	strcpy(c->kvm_path, "/dev/kvm");
	c->seccomp = 1;
}

int vm_config_set_str(char *field, size_t cap, const char *s)
{
	size_t n;

	if (!s || cap == 0)
		return -EINVAL;
	n = strlen(s);
	if (n >= cap)
		return -ENAMETOOLONG;
	/* Zero the tail too, so that configs compare (and dump) byte for byte. */
	memmove(field, s, n);
	memset(field + n, 0, cap - n);
	return 0;
}

__attribute__((format(printf, 3, 4)))
static int vmc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint64_t vmc_host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

/* 1 when the char array holds a NUL, i.e. is a C string. */
static bool vmc_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* The string fields end inside their arrays (a config copied in raw could hold anything). */
static int vmc_check_strings(const struct vm_config *c, char *err, size_t errlen)
{
	static const struct {
		const char *what;
		size_t off, cap;
	} f[] = {
		{ "--kernel", offsetof(struct vm_config, kernel), sizeof(c->kernel) },
		{ "--initrd", offsetof(struct vm_config, initrd), sizeof(c->initrd) },
		{ "--cmdline", offsetof(struct vm_config, cmdline), sizeof(c->cmdline) },
		{ "--kvm-device", offsetof(struct vm_config, kvm_path), sizeof(c->kvm_path) },
		{ "--arch", offsetof(struct vm_config, arch), sizeof(c->arch) },
		{ "--transport", offsetof(struct vm_config, transport), sizeof(c->transport) },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!vmc_terminated((const char *)c + f[i].off, f[i].cap))
			return vmc_fail(err, errlen, "%s: longer than %zu bytes", f[i].what,
					f[i].cap - 1);
	for (unsigned i = 0; i < c->nr_disks; i++)
		if (!vmc_terminated(c->disks[i].path, sizeof(c->disks[i].path)))
			return vmc_fail(err, errlen, "--disk %u: the path is longer than %zu bytes",
					i + 1, sizeof(c->disks[i].path) - 1);
	for (unsigned i = 0; i < c->nr_nets; i++)
		if (!vmc_terminated(c->nets[i].tap, sizeof(c->nets[i].tap)))
			return vmc_fail(err, errlen, "--net %u: the tap name is longer than %zu bytes",
					i + 1, sizeof(c->nets[i].tap) - 1);
	return 0;
}

static int vmc_check_devices(const struct vm_config *c, char *err, size_t errlen)
{
	if (c->nr_disks > VM_MAX_DISKS)
		return vmc_fail(err, errlen, "too many --disk (at most %d)", VM_MAX_DISKS);
	if (c->nr_nets > VM_MAX_NETS)
		return vmc_fail(err, errlen, "too many --net (at most %d)", VM_MAX_NETS);
	if (c->nr_disks + c->nr_nets > VM_MAX_VIRTIO_EXTRA)
		return vmc_fail(err, errlen,
				"%u --disk and %u --net: at most %d devices together (free IRQs)",
				c->nr_disks, c->nr_nets, VM_MAX_VIRTIO_EXTRA);
	return 0;
}

/* What Linux takes as an interface name (dev_valid_name in net/core/dev.c). */
static bool vmc_ifname_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

static int vmc_check_nets(const struct vm_config *c, char *err, size_t errlen)
{
	static const uint8_t zero[VNET_MAC_LEN];
	char buf[CONFIG_SHOWN_MAX + 4];

	for (unsigned i = 0; i < c->nr_disks; i++)
		if (!c->disks[i].path[0])
			return vmc_fail(err, errlen, "--disk %u: no image path", i + 1);
	for (unsigned i = 0; i < c->nr_nets; i++) {
		const struct vnet_opts *n = &c->nets[i];

		if (!n->tap[0])
			return vmc_fail(err, errlen, "--net %u: no tap=NAME", i + 1);
		if (!vmc_ifname_ok(n->tap))
			return vmc_fail(err, errlen, "--net tap=%s: not an interface name",
					config_shown(n->tap, buf));
		/* Bit 0 of the first octet is the group bit (IEEE 802-2014 §8.2). */
		if (n->has_mac && ((n->mac[0] & 1) || !memcmp(n->mac, zero, sizeof(zero))))
			return vmc_fail(err, errlen,
					"--net tap=%s: the MAC must be unicast and not all zero",
					config_shown(n->tap, buf));
	}
	return 0;
}

/* --arch: the machines vmon can build (arch/select.c maps the names). */
static int vmc_check_arch(const struct vm_config *c, char *err, size_t errlen)
{
	char buf[CONFIG_SHOWN_MAX + 4];

	if (!c->arch[0] || !strcmp(c->arch, "native") || !strcmp(c->arch, "x86_64"))
		return 0;
	if (!strcmp(c->arch, "mips32")) {
		if (c->ncpus != 1)
			return vmc_fail(err, errlen, "--arch mips32 runs one vCPU (--cpus %u)",
					c->ncpus);
		if (c->mem_bytes > (256ULL << 20))
			return vmc_fail(err, errlen,
					"--arch mips32: --mem %" PRIu64 " MiB is more than 256 MiB "
					"(the kernel's unmapped segment)", c->mem_bytes >> 20);
		if (c->nr_disks + c->nr_nets > 4)
			return vmc_fail(err, errlen,
					"--arch mips32: at most 4 --disk and --net together "
					"(CPU interrupt lines)");
		return 0;
	}
	return vmc_fail(err, errlen, "--arch %s: unknown (native, x86_64 or mips32)",
			config_shown(c->arch, buf));
}

/* The arch c names is x86: "x86_64", or the host's own ("" / "native") on an x86 host. */
static bool vmc_arch_x86(const struct vm_config *c)
{
	if (!strcmp(c->arch, "x86_64"))
		return true;
#if defined(__x86_64__)
	return !c->arch[0] || !strcmp(c->arch, "native");
#else
	return false;
#endif
}

/*
 * The default is what the 2026-12-03 stock benchmark shows a distribution
 * kernel finds: on x86 it probes PCI and ignores virtio-mmio command-line
 * windows (Debian's has CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES unset), so pci;
 * arm64 (no PCI yet) and the mips32 board (none) have only mmio.
 */
const char *vm_config_transport(const struct vm_config *c)
{
	if (c->transport[0])
		return c->transport;
	return vmc_arch_x86(c) ? "pci" : "mmio";
}

/* --transport: virtio-mmio everywhere; virtio-pci where the machine has a PCI host (x86). */
static int vmc_check_transport(const struct vm_config *c, char *err, size_t errlen)
{
	char buf[CONFIG_SHOWN_MAX + 4];

	/* An empty one resolves to a transport the arch has (vm_config_transport). */
	if (!c->transport[0] || !strcmp(c->transport, "mmio"))
		return 0;
	if (strcmp(c->transport, "pci"))
		return vmc_fail(err, errlen, "--transport %s: unknown (mmio or pci)",
				config_shown(c->transport, buf));
	if (!strcmp(c->arch, "mips32"))
		return vmc_fail(err, errlen, "--transport pci: the mips32 board has no PCI (use mmio)");
#if defined(__aarch64__)
	if (!c->arch[0] || !strcmp(c->arch, "native"))
		return vmc_fail(err, errlen, "--transport pci: not on arm64 yet (use mmio)");
#endif
	return 0;
}

int vm_config_check(const struct vm_config *c, unsigned flags, char *err, size_t errlen)
{
	uint64_t host;
	int ret;

	/* Counts first: the string checks below index the device arrays by them. */
	ret = vmc_check_devices(c, err, errlen);
	if (!ret)
		ret = vmc_check_strings(c, err, errlen);
	if (ret)
		return ret;
	if (!(flags & VM_CONFIG_NO_KERNEL) && !c->kernel[0])
		return vmc_fail(err, errlen, "no kernel given (--kernel PATH)");
	if (!c->kvm_path[0])
		return vmc_fail(err, errlen, "no KVM device given (--kvm-device PATH)");
	if (c->mem_bytes < VM_MIN_MEM)
		return vmc_fail(err, errlen,
				"--mem %" PRIu64 " KiB is too small: a guest needs at least %llu MiB",
				c->mem_bytes >> 10, VM_MIN_MEM >> 20);
	/* Guest RAM is mapped in whole 4 KiB pages (x86 page size). */
	if (c->mem_bytes & 0xfff)
		return vmc_fail(err, errlen, "--mem must be a multiple of 4 KiB");
	host = flags & VM_CONFIG_NO_HOST ? 0 : vmc_host_ram();
	if (host && c->mem_bytes > host)
		return vmc_fail(err, errlen,
				"--mem %" PRIu64 " MiB is more than this host's RAM (%" PRIu64 " MiB)",
				c->mem_bytes >> 20, host >> 20);
	if (c->ncpus < 1 || c->ncpus > VM_MAX_CPUS)
		return vmc_fail(err, errlen, "--cpus %u is out of range: 1 to %d", c->ncpus,
				VM_MAX_CPUS);
	ret = vmc_check_arch(c, err, errlen);
	if (!ret)
		ret = vmc_check_transport(c, err, errlen);
	if (ret)
		return ret;
	return vmc_check_nets(c, err, errlen);
}

int vm_config_validate(const struct vm_config *c, char *err, size_t errlen)
{
	return vm_config_check(c, 0, err, errlen);
}

/* ---- to JSON ------------------------------------------------------------- */

/* Add v as o[k]; on any failure (v NULL included) set *bad and drop v. */
static void vmc_add(struct json_object *o, const char *k, struct json_object *v, bool *bad)
{
	if (!o || !v || json_object_object_add(o, k, v)) {
		json_object_put(v);
		*bad = true;
	}
}

static void vmc_push(struct json_object *a, struct json_object *v, bool *bad)
{
	if (!a || !v || json_object_array_add(a, v)) {
		json_object_put(v);
		*bad = true;
	}
}

static struct json_object *vmc_drive_jobj(const struct vblk_opts *d, bool *bad)
{
	struct json_object *o = json_object_new_object();

	vmc_add(o, "path_on_host", json_object_new_string(d->path), bad);
	vmc_add(o, "is_read_only", json_object_new_boolean(d->read_only != 0), bad);
	vmc_add(o, "cache", json_object_new_string(d->direct ? "none" : "writeback"), bad);
	return o;
}

static struct json_object *vmc_net_jobj(const struct vnet_opts *n, bool *bad)
{
	struct json_object *o = json_object_new_object();

	vmc_add(o, "host_dev_name", json_object_new_string(n->tap), bad);
	if (n->has_mac) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		vmc_add(o, "guest_mac", json_object_new_string(mac), bad);
	}
	vmc_add(o, "offload", json_object_new_boolean(!n->no_offload), bad);
	return o;
}

struct json_object *vm_config_to_jobj(const struct vm_config *c)
{
	struct json_object *o = json_object_new_object(), *boot = json_object_new_object();
	struct json_object *mc = json_object_new_object(), *drives = json_object_new_array();
	struct json_object *nets = json_object_new_array(), *own = json_object_new_object();
	bool bad = false;

	if (c->kernel[0])
		vmc_add(boot, "kernel_image_path", json_object_new_string(c->kernel), &bad);
	if (c->initrd[0])
		vmc_add(boot, "initrd_path", json_object_new_string(c->initrd), &bad);
	vmc_add(boot, "boot_args", json_object_new_string(c->cmdline), &bad);
	vmc_add(mc, "vcpu_count", json_object_new_int64(c->ncpus), &bad);
	/* Firecracker's unit is MiB; a size that is not whole MiB keeps its KiB. */
	if (c->mem_bytes & ((1ULL << 20) - 1))
		vmc_add(mc, "mem_size_kib", json_object_new_uint64(c->mem_bytes >> 10), &bad);
	else
		vmc_add(mc, "mem_size_mib", json_object_new_uint64(c->mem_bytes >> 20), &bad);
	for (unsigned i = 0; i < c->nr_disks && i < VM_MAX_DISKS; i++)
		vmc_push(drives, vmc_drive_jobj(&c->disks[i], &bad), &bad);
	for (unsigned i = 0; i < c->nr_nets && i < VM_MAX_NETS; i++)
		vmc_push(nets, vmc_net_jobj(&c->nets[i], &bad), &bad);
	vmc_add(own, "stats", json_object_new_boolean(c->stats != 0), &bad);
	vmc_add(own, "elf64_entry", json_object_new_boolean(c->elf64_entry != 0), &bad);
	vmc_add(own, "kvm_device", json_object_new_string(c->kvm_path), &bad);
	vmc_add(own, "seccomp", json_object_new_boolean(c->seccomp != 0), &bad);
	if (c->arch[0])
		vmc_add(own, "arch", json_object_new_string(c->arch), &bad);
	/* Resolved: a dump says which transport the VM gets, not that none was asked for. */
	vmc_add(own, "transport", json_object_new_string(vm_config_transport(c)), &bad);

	vmc_add(o, "boot-source", boot, &bad);
	vmc_add(o, "machine-config", mc, &bad);
	vmc_add(o, "drives", drives, &bad);
	vmc_add(o, "network-interfaces", nets, &bad);
	vmc_add(o, "vmon", own, &bad);
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *vm_config_to_json(const struct vm_config *c)
{
	struct json_object *o = vm_config_to_jobj(c);
	const char *s;
	char *out = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		out = strdup(s);
	json_object_put(o);
	return out;
}

/* ---- from JSON ----------------------------------------------------------- */

struct vmc_field {
	const char *name;
	enum json_type type;
};

/* Where a member sits, for messages: "drives[2]", "machine-config". */
struct vmc_ctx {
	char *err;
	size_t errlen;
	char where[48];
};

static const char *vmc_type_name(enum json_type t)
{
	switch (t) {
	case json_type_string: return "a string";
	case json_type_int: return "an integer";
	case json_type_boolean: return "a boolean";
	case json_type_array: return "an array";
	case json_type_object: return "an object";
	default: return "something else";
	}
}

/* Every member of o is in f[] with f's type (null is a wrong type, not absence). */
static int vmc_members(struct vmc_ctx *x, struct json_object *o, const struct vmc_field *f,
		       size_t n)
{
	char buf[CONFIG_SHOWN_MAX + 4];

	json_object_object_foreach(o, key, val) {
		size_t i;

		for (i = 0; i < n && strcmp(key, f[i].name); i++)
			;
		if (i == n)
			return vmc_fail(x->err, x->errlen, "unknown field '%s' in %s",
					config_shown(key, buf), x->where);
		if (json_object_get_type(val) != f[i].type)
			return vmc_fail(x->err, x->errlen, "'%s.%s' must be %s", x->where, key,
					vmc_type_name(f[i].type));
	}
	return 0;
}

/* o[name] (already type-checked), or NULL when absent. */
static struct json_object *vmc_get(struct json_object *o, const char *name)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

/* Copy string member name into dst (cap bytes). Absent: dst untouched. */
static int vmc_str(struct vmc_ctx *x, struct json_object *o, const char *name, char *dst,
		   size_t cap)
{
	struct json_object *v = vmc_get(o, name);
	const char *s;
	size_t n;

	if (!v)
		return 0;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= cap)
		return vmc_fail(x->err, x->errlen, "'%s.%s' is longer than %zu bytes", x->where,
				name, cap - 1);
	if (strlen(s) != n)
		return vmc_fail(x->err, x->errlen, "'%s.%s' contains a NUL character", x->where,
				name);
	/* The whole field: no bytes of a default left behind the new string. */
	memset(dst, 0, cap);
	memcpy(dst, s, n);
	return 0;
}

static void vmc_bool(struct json_object *o, const char *name, int *dst)
{
	struct json_object *v = vmc_get(o, name);

	if (v)
		*dst = json_object_get_boolean(v) ? 1 : 0;
}

/*
 * An integer member in [0, max]. json-c keeps values above INT64_MAX as
 * uint64 (get_int64 saturates), so both ends are checked on the int64 and
 * anything at or above INT64_MAX is refused (every max here is far below).
 */
static int vmc_uint(struct vmc_ctx *x, struct json_object *o, const char *name, uint64_t max,
		    uint64_t *dst, bool *present)
{
	struct json_object *v = vmc_get(o, name);
	int64_t n;

	*present = v != NULL;
	if (!v)
		return 0;
	n = json_object_get_int64(v);
	if (n < 0 || n == INT64_MAX || (uint64_t)n > max)
		return vmc_fail(x->err, x->errlen, "'%s.%s' is out of range: 0 to %" PRIu64,
				x->where, name, max);
	*dst = (uint64_t)n;
	return 0;
}

static int vmc_boot(struct vmc_ctx *x, struct json_object *o, struct vm_config *c)
{
	static const struct vmc_field f[] = {
		{ "kernel_image_path", json_type_string },
		{ "initrd_path", json_type_string },
		{ "boot_args", json_type_string },
	};
	int ret;

	snprintf(x->where, sizeof(x->where), "boot-source");
	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (!ret)
		ret = vmc_str(x, o, "kernel_image_path", c->kernel, sizeof(c->kernel));
	if (!ret)
		ret = vmc_str(x, o, "initrd_path", c->initrd, sizeof(c->initrd));
	if (!ret)
		ret = vmc_str(x, o, "boot_args", c->cmdline, sizeof(c->cmdline));
	return ret;
}

static int vmc_machine(struct vmc_ctx *x, struct json_object *o, struct vm_config *c)
{
	static const struct vmc_field f[] = {
		{ "vcpu_count", json_type_int },
		{ "mem_size_mib", json_type_int },
		{ "mem_size_kib", json_type_int },
	};
	uint64_t n = 0;
	bool mib, kib;
	int ret;

	snprintf(x->where, sizeof(x->where), "machine-config");
	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (ret)
		return ret;
	/* Representable in the field; the range proper is vm_config_check's. */
	ret = vmc_uint(x, o, "vcpu_count", UINT_MAX, &n, &mib);
	if (ret)
		return ret;
	if (mib)
		c->ncpus = (unsigned)n;
	if (vmc_get(o, "mem_size_mib") && vmc_get(o, "mem_size_kib"))
		return vmc_fail(x->err, x->errlen,
				"'machine-config': give mem_size_mib or mem_size_kib, not both");
	ret = vmc_uint(x, o, "mem_size_mib", UINT64_MAX >> 20, &n, &mib);
	if (ret)
		return ret;
	if (mib)
		c->mem_bytes = n << 20;
	ret = vmc_uint(x, o, "mem_size_kib", UINT64_MAX >> 10, &n, &kib);
	if (ret)
		return ret;
	if (kib)
		c->mem_bytes = n << 10;
	return 0;
}

static int vmc_drive(struct vmc_ctx *x, struct json_object *o, struct vblk_opts *d)
{
	static const struct vmc_field f[] = {
		{ "path_on_host", json_type_string },
		{ "is_read_only", json_type_boolean },
		{ "cache", json_type_string },
	};
	struct json_object *cache;
	int ret;

	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (!ret)
		ret = vmc_str(x, o, "path_on_host", d->path, sizeof(d->path));
	if (ret)
		return ret;
	vmc_bool(o, "is_read_only", &d->read_only);
	cache = vmc_get(o, "cache");
	if (cache) {
		const char *s = json_object_get_string(cache);

		if (!strcmp(s, "none"))
			d->direct = 1;
		else if (!strcmp(s, "writeback"))
			d->direct = 0;
		else
			return vmc_fail(x->err, x->errlen,
					"'%s.cache' must be \"none\" or \"writeback\"", x->where);
	}
	return 0;
}

static int vmc_net(struct vmc_ctx *x, struct json_object *o, struct vnet_opts *n)
{
	static const struct vmc_field f[] = {
		{ "host_dev_name", json_type_string },
		{ "guest_mac", json_type_string },
		{ "offload", json_type_boolean },
	};
	struct json_object *mac;
	int offload = 1, ret;

	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (!ret)
		ret = vmc_str(x, o, "host_dev_name", n->tap, sizeof(n->tap));
	if (ret)
		return ret;
	mac = vmc_get(o, "guest_mac");
	if (mac) {
		/* config_parse_mac reads 17 characters; nothing may follow them. */
		if (json_object_get_string_len(mac) != 17 ||
		    config_parse_mac(json_object_get_string(mac), n->mac))
			return vmc_fail(x->err, x->errlen,
					"'%s.guest_mac' must be a unicast MAC address xx:xx:xx:xx:xx:xx",
					x->where);
		n->has_mac = 1;
	}
	vmc_bool(o, "offload", &offload);
	n->no_offload = !offload;
	return 0;
}

/* An array member of at most max objects; each one is handed to one(). */
static int vmc_list(struct vmc_ctx *x, struct json_object *a, const char *name, unsigned max,
		    unsigned *nr, void *base, size_t elem,
		    int (*one)(struct vmc_ctx *, struct json_object *, void *))
{
	size_t n = json_object_array_length(a);

	if (n > max)
		return vmc_fail(x->err, x->errlen, "'%s': %zu entries, at most %u", name, n, max);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		int ret;

		snprintf(x->where, sizeof(x->where), "%s[%zu]", name, i);
		if (json_object_get_type(e) != json_type_object)
			return vmc_fail(x->err, x->errlen, "'%s' must be an object", x->where);
		ret = one(x, e, (char *)base + i * elem);
		if (ret)
			return ret;
	}
	*nr = (unsigned)n;
	return 0;
}

static int vmc_drive_cb(struct vmc_ctx *x, struct json_object *o, void *d)
{
	return vmc_drive(x, o, d);
}

static int vmc_net_cb(struct vmc_ctx *x, struct json_object *o, void *n)
{
	return vmc_net(x, o, n);
}

static int vmc_own(struct vmc_ctx *x, struct json_object *o, struct vm_config *c)
{
	static const struct vmc_field f[] = {
		{ "stats", json_type_boolean },
		{ "elf64_entry", json_type_boolean },
		{ "kvm_device", json_type_string },
		{ "arch", json_type_string },
		{ "transport", json_type_string },
		{ "seccomp", json_type_boolean },
	};
	int ret;

	snprintf(x->where, sizeof(x->where), "vmon");
	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (ret)
		return ret;
	vmc_bool(o, "stats", &c->stats);
	vmc_bool(o, "elf64_entry", &c->elf64_entry);
	vmc_bool(o, "seccomp", &c->seccomp);
	ret = vmc_str(x, o, "arch", c->arch, sizeof(c->arch));
	if (!ret)
		ret = vmc_str(x, o, "transport", c->transport, sizeof(c->transport));
	if (ret)
		return ret;
	return vmc_str(x, o, "kvm_device", c->kvm_path, sizeof(c->kvm_path));
}

static int vmc_root(struct vmc_ctx *x, struct json_object *o, struct vm_config *c)
{
	static const struct vmc_field f[] = {
		{ "boot-source", json_type_object },
		{ "machine-config", json_type_object },
		{ "drives", json_type_array },
		{ "network-interfaces", json_type_array },
		{ "vmon", json_type_object },
	};
	struct json_object *v;
	int ret;

	snprintf(x->where, sizeof(x->where), "the configuration");
	ret = vmc_members(x, o, f, sizeof(f) / sizeof(f[0]));
	if (!ret && (v = vmc_get(o, "boot-source")))
		ret = vmc_boot(x, v, c);
	if (!ret && (v = vmc_get(o, "machine-config")))
		ret = vmc_machine(x, v, c);
	if (!ret && (v = vmc_get(o, "drives")))
		ret = vmc_list(x, v, "drives", VM_MAX_DISKS, &c->nr_disks, c->disks,
			       sizeof(c->disks[0]), vmc_drive_cb);
	if (!ret && (v = vmc_get(o, "network-interfaces")))
		ret = vmc_list(x, v, "network-interfaces", VM_MAX_NETS, &c->nr_nets, c->nets,
			       sizeof(c->nets[0]), vmc_net_cb);
	if (!ret && (v = vmc_get(o, "vmon")))
		ret = vmc_own(x, v, c);
	return ret;
}

/*
 * Strict UTF-8 (RFC 3629 §3-4): no overlong forms, no surrogates, nothing
 * above U+10FFFF. json-c's own check lets overlong forms through.
 */
static bool vmc_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		unsigned n, lo = 0x80, hi = 0xbf;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			n = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			n = 2;
			if (b == 0xe0)
				lo = 0xa0; /* overlong below U+0800 */
			else if (b == 0xed)
				hi = 0x9f; /* U+D800-DFFF: surrogates */
		} else if (b >= 0xf0 && b <= 0xf4) {
			n = 3;
			if (b == 0xf0)
				lo = 0x90; /* overlong below U+10000 */
			else if (b == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false; /* continuation byte, 0xc0/0xc1 (overlong) or 0xf5+ */
		}
		if (len - i <= n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (unsigned k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

int vm_config_from_json(const char *json, size_t len, struct vm_config *c, char *err,
			size_t errlen)
{
	struct vmc_ctx x = { .err = err, .errlen = errlen };
	struct vm_config *tmp;
	struct json_object *o;
	int ret;

	if (!json || len == 0)
		return vmc_fail(err, errlen, "malformed JSON: no data");
	if (len > VM_CONFIG_JSON_MAX)
		return vmc_fail(err, errlen, "the configuration is larger than %u bytes",
				VM_CONFIG_JSON_MAX);
	if (!vmc_utf8_valid((const unsigned char *)json, len))
		return vmc_fail(err, errlen, "malformed JSON: not valid UTF-8");
	o = config_json_object(json, len, "the configuration", err, errlen, &ret);
	if (!o)
		return ret;
	/* Parse into a copy so that *c is untouched on failure (it is ~40 KiB: not on the stack). */
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		json_object_put(o);
		vmc_fail(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm_config_defaults(tmp);
	ret = vmc_root(&x, o, tmp);
	json_object_put(o);
	if (!ret)
		ret = vm_config_check(tmp, VM_CONFIG_NO_HOST, err, errlen);
	if (!ret)
		*c = *tmp;
	free(tmp);
	return ret;
}
