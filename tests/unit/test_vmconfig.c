/*
 * test_vmconfig.c: unit tests for src/vmconfig.c: the defaults,
 * vm_config_set_str, every refusal of vm_config_validate with the message a
 * user sees, the check flags, the JSON round trip (every field, the
 * largest device sets the limits allow) and hostile JSON: every truncation
 * of a valid document, wrong types, null, unknown members at every level,
 * strings that do not fit, too many devices, negative and huge numbers,
 * bad enums and MACs, NUL and invalid UTF-8, trailing data, deep nesting.
 * Each refusal must come with a message and leave the output untouched.
 * Single-threaded; links vmconfig.c and config.c only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmconfig.h"

#define MiB (1ULL << 20)

/* A valid config; c is ~40 KiB, so tests keep them static or on the heap. */
static void base(struct vm_config *c)
{
	vm_config_defaults(c);
	strcpy(c->kernel, "/boot/vmlinux");
	c->mem_bytes = 64 * MiB;
}

static int has(const char *err, const char *needle)
{
	if (strstr(err, needle))
		return 1;
	fprintf(stderr, "  message '%s' lacks '%s'\n", err, needle);
	return 0;
}

TEST(defaults)
{
	static struct vm_config c;

	memset(&c, 0x5a, sizeof(c));
	vm_config_defaults(&c);
	CHECK_EQ(c.mem_bytes, 256 * MiB);
	CHECK_EQ(c.mem_bytes, VM_DEFAULT_MEM);
	CHECK_EQ(c.ncpus, 1);
	CHECK(!strcmp(c.cmdline, VM_DEFAULT_CMDLINE));
	CHECK(!strcmp(c.cmdline, "console=ttyS0 reboot=k panic=1"));
	CHECK(!strcmp(c.kvm_path, "/dev/kvm"));
	CHECK(c.kernel[0] == '\0' && c.initrd[0] == '\0');
	CHECK_EQ(c.nr_disks, 0);
	CHECK_EQ(c.nr_nets, 0);
	CHECK_EQ(c.stats, 0);
	CHECK_EQ(c.elf64_entry, 0);
}

TEST(set_str)
{
	char f[8] = "keep";
	char exact[8];

	CHECK_EQ(vm_config_set_str(f, sizeof(f), "abc"), 0);
	CHECK(!strcmp(f, "abc"));
	CHECK_EQ(vm_config_set_str(exact, sizeof(exact), "1234567"), 0);
	CHECK(!strcmp(exact, "1234567"));
	CHECK_EQ(vm_config_set_str(f, sizeof(f), "12345678"), -ENAMETOOLONG);
	CHECK(!strcmp(f, "abc")); /* untouched */
	CHECK_EQ(vm_config_set_str(f, sizeof(f), ""), 0);
	CHECK(f[0] == '\0');
	CHECK_EQ(vm_config_set_str(f, sizeof(f), NULL), -EINVAL);
}

TEST(validate_ok)
{
	static struct vm_config c;
	char err[VM_ERR_MAX] = "untouched";

	base(&c);
	CHECK_EQ(vm_config_validate(&c, err, sizeof(err)), 0);
	c.ncpus = VM_MAX_CPUS;
	c.mem_bytes = VM_MIN_MEM;
	CHECK_EQ(vm_config_validate(&c, err, sizeof(err)), 0);
	c.nr_disks = 4;
	c.nr_nets = 2;
	for (unsigned i = 0; i < 4; i++)
		snprintf(c.disks[i].path, sizeof(c.disks[i].path), "/d%u", i);
	strcpy(c.nets[0].tap, "t0");
	strcpy(c.nets[1].tap, "t1");
	c.nets[1].has_mac = 1;
	memcpy(c.nets[1].mac, "\x52\x54\x00\x01\x02\x03", 6);
	CHECK_EQ(vm_config_validate(&c, err, sizeof(err)), 0);
	CHECK(!strcmp(err, "untouched"));
	/* A NULL buffer is fine too. */
	c.ncpus = 0;
	CHECK_EQ(vm_config_validate(&c, NULL, 0), -EINVAL);
}

/* Each case breaks one thing in a valid config. */
static void brk_kernel(struct vm_config *c) { c->kernel[0] = '\0'; }
static void brk_kvm(struct vm_config *c) { c->kvm_path[0] = '\0'; }
static void brk_mem0(struct vm_config *c) { c->mem_bytes = 0; }
static void brk_mem1m(struct vm_config *c) { c->mem_bytes = MiB; }
static void brk_mem_odd(struct vm_config *c) { c->mem_bytes = 4 * MiB + 512; }
static void brk_mem_host(struct vm_config *c) { c->mem_bytes = 1ULL << 62; }
static void brk_cpus0(struct vm_config *c) { c->ncpus = 0; }
static void brk_cpus255(struct vm_config *c) { c->ncpus = 255; }
static void brk_cpus_huge(struct vm_config *c) { c->ncpus = 4000000000u; }
static void brk_disks7(struct vm_config *c)
{
	c->nr_disks = VM_MAX_DISKS + 1; /* only the count is looked at */
}
static void brk_nets3(struct vm_config *c) { c->nr_nets = VM_MAX_NETS + 1; }
static void brk_together(struct vm_config *c)
{
	c->nr_disks = 5;
	c->nr_nets = 2;
	for (unsigned i = 0; i < 5; i++)
		strcpy(c->disks[i].path, "/d");
	strcpy(c->nets[0].tap, "t0");
	strcpy(c->nets[1].tap, "t1");
}
static void brk_disk_path(struct vm_config *c) { c->nr_disks = 1; }
static void brk_tap_empty(struct vm_config *c) { c->nr_nets = 1; }
static void brk_tap_slash(struct vm_config *c)
{
	c->nr_nets = 1;
	strcpy(c->nets[0].tap, "a/b");
}
static void brk_tap_space(struct vm_config *c)
{
	c->nr_nets = 1;
	strcpy(c->nets[0].tap, "a\nb"); /* and the message stays one line */
}
static void brk_mac_multicast(struct vm_config *c)
{
	c->nr_nets = 1;
	strcpy(c->nets[0].tap, "t0");
	c->nets[0].has_mac = 1;
	memcpy(c->nets[0].mac, "\x01\x00\x5e\x00\x00\x01", 6);
}
static void brk_mac_zero(struct vm_config *c)
{
	c->nr_nets = 1;
	strcpy(c->nets[0].tap, "t0");
	c->nets[0].has_mac = 1;
}
static void brk_kernel_unterminated(struct vm_config *c) { memset(c->kernel, 'k', sizeof(c->kernel)); }
static void brk_cmdline_unterminated(struct vm_config *c) { memset(c->cmdline, 'c', sizeof(c->cmdline)); }
static void brk_disk_unterminated(struct vm_config *c)
{
	c->nr_disks = 1;
	memset(c->disks[0].path, 'p', sizeof(c->disks[0].path));
}
static void brk_tap_unterminated(struct vm_config *c)
{
	c->nr_nets = 1;
	memset(c->nets[0].tap, 't', sizeof(c->nets[0].tap));
}

TEST(validate_refusals)
{
	static const struct {
		void (*brk)(struct vm_config *);
		const char *msg;
	} cases[] = {
		{ brk_kernel, "no kernel given (--kernel PATH)" },
		{ brk_kvm, "no KVM device given" },
		{ brk_mem0, "--mem 0 KiB is too small: a guest needs at least 2 MiB" },
		{ brk_mem1m, "--mem 1024 KiB is too small" },
		{ brk_mem_odd, "--mem must be a multiple of 4 KiB" },
		{ brk_mem_host, "MiB is more than this host's RAM (" },
		{ brk_cpus0, "--cpus 0 is out of range: 1 to 254" },
		{ brk_cpus255, "--cpus 255 is out of range: 1 to 254" },
		{ brk_cpus_huge, "--cpus 4000000000 is out of range" },
		{ brk_disks7, "too many --disk (at most 6)" },
		{ brk_nets3, "too many --net (at most 2)" },
		{ brk_together, "5 --disk and 2 --net: at most 6 devices together (free IRQs)" },
		{ brk_disk_path, "--disk 1: no image path" },
		{ brk_tap_empty, "--net 1: no tap=NAME" },
		{ brk_tap_slash, "--net tap=a/b: not an interface name" },
		{ brk_tap_space, "--net tap=a?b: not an interface name" },
		{ brk_mac_multicast, "--net tap=t0: the MAC must be unicast" },
		{ brk_mac_zero, "the MAC must be unicast and not all zero" },
		{ brk_kernel_unterminated, "--kernel: longer than 4095 bytes" },
		{ brk_cmdline_unterminated, "--cmdline: longer than 4095 bytes" },
		{ brk_disk_unterminated, "--disk 1: the path is longer than 4095 bytes" },
		{ brk_tap_unterminated, "--net 1: the tap name is longer than 15 bytes" },
	};
	static struct vm_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[VM_ERR_MAX] = "";

		base(&c);
		cases[i].brk(&c);
		CHECK_EQ(vm_config_validate(&c, err, sizeof(err)), -EINVAL);
		CHECK(has(err, cases[i].msg));
		CHECK(strchr(err, '\n') == NULL);
	}
}

TEST(check_flags)
{
	static struct vm_config c;
	char err[VM_ERR_MAX], tiny[8];

	base(&c);
	c.kernel[0] = '\0';
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_KERNEL, err, sizeof(err)), 0);
	c.ncpus = 0;
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_KERNEL, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "--cpus 0"));
	base(&c);
	c.mem_bytes = 1ULL << 62;
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_HOST, err, sizeof(err)), 0);
	CHECK_EQ(vm_config_check(&c, 0, err, sizeof(err)), -EINVAL);
	/* A short buffer gets a truncated, terminated message. */
	CHECK_EQ(vm_config_check(&c, 0, tiny, sizeof(tiny)), -EINVAL);
	CHECK_EQ(strlen(tiny), sizeof(tiny) - 1);
}

/* ---- JSON */

static void same(struct test_ctx *t_, const struct vm_config *a, const struct vm_config *b)
{
	CHECK(!strcmp(a->kernel, b->kernel));
	CHECK(!strcmp(a->initrd, b->initrd));
	CHECK(!strcmp(a->cmdline, b->cmdline));
	CHECK_EQ(a->mem_bytes, b->mem_bytes);
	CHECK_EQ(a->ncpus, b->ncpus);
	CHECK_EQ(a->stats, b->stats);
	CHECK_EQ(a->elf64_entry, b->elf64_entry);
	CHECK(!strcmp(a->kvm_path, b->kvm_path));
	CHECK_EQ(a->nr_disks, b->nr_disks);
	for (unsigned i = 0; i < a->nr_disks && i < VM_MAX_DISKS; i++) {
		CHECK(!strcmp(a->disks[i].path, b->disks[i].path));
		CHECK_EQ(a->disks[i].read_only, b->disks[i].read_only);
		CHECK_EQ(a->disks[i].direct, b->disks[i].direct);
	}
	CHECK_EQ(a->nr_nets, b->nr_nets);
	for (unsigned i = 0; i < a->nr_nets && i < VM_MAX_NETS; i++) {
		CHECK(!strcmp(a->nets[i].tap, b->nets[i].tap));
		CHECK_EQ(a->nets[i].has_mac, b->nets[i].has_mac);
		CHECK(!memcmp(a->nets[i].mac, b->nets[i].mac, VNET_MAC_LEN));
		CHECK_EQ(a->nets[i].no_offload, b->nets[i].no_offload);
	}
	CHECK(!strcmp(a->transport, b->transport));
	/* Built from zeroed structs the same way: the bytes agree too. */
	CHECK(!memcmp(a, b, sizeof(*a)));
}

/* A config using every field, with nd disks and nn NICs. */
static void full(struct vm_config *c, unsigned nd, unsigned nn)
{
	base(c);
	strcpy(c->kernel, "/srv/images/bzImage \"quoted\" \\ back/slash");
	strcpy(c->initrd, "/srv/images/initrd.cpio");
	strcpy(c->cmdline, "console=ttyS0 root=/dev/vda rw \t tab é");
	c->mem_bytes = 4100 * 1024; /* not whole MiB: mem_size_kib */
	c->ncpus = 254;
	c->stats = 1;
	c->elf64_entry = 1;
	strcpy(c->kvm_path, "/dev/kvm-test");
	c->nr_disks = nd;
	for (unsigned i = 0; i < nd; i++) {
		snprintf(c->disks[i].path, sizeof(c->disks[i].path), "/var/disk%u.img", i);
		c->disks[i].read_only = i & 1;
		c->disks[i].direct = (i >> 1) & 1;
	}
	c->nr_nets = nn;
	for (unsigned i = 0; i < nn; i++) {
		snprintf(c->nets[i].tap, sizeof(c->nets[i].tap), "vmontap%c", '0' + (char)i);
		c->nets[i].has_mac = i == 0;
		if (i == 0)
			memcpy(c->nets[i].mac, "\x52\x54\x00\xab\xcd\xef", 6);
		c->nets[i].no_offload = i == 1;
	}
}

/* from_json(to_json(c)) is c, its empty transport resolved; and to_json of that is the same text. */
static void round_trip(struct test_ctx *t_, const struct vm_config *c)
{
	static struct vm_config back, want;
	char err[VM_ERR_MAX] = "";
	char *s = vm_config_to_json(c), *again;

	CHECK(s != NULL);
	if (!s)
		return;
	memset(&back, 0x77, sizeof(back));
	CHECK_EQ(vm_config_from_json(s, strlen(s), &back, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "  from_json: %s\n  in: %s\n", err, s);
	want = *c;
	if (!want.transport[0])
		strcpy(want.transport, vm_config_transport(c));
	same(t_, &want, &back);
	again = vm_config_to_json(&back);
	CHECK(again && !strcmp(again, s));
	free(again);
	free(s);
}

TEST(json_round_trip)
{
	static struct vm_config c;
	char err[VM_ERR_MAX];
	char *s;

	vm_config_defaults(&c);
	strcpy(c.kernel, "/k");
	round_trip(t_, &c);
	full(&c, VM_MAX_DISKS, 0);   /* every disk the limits allow */
	round_trip(t_, &c);
	full(&c, VM_MAX_VIRTIO_EXTRA - VM_MAX_NETS, VM_MAX_NETS); /* 4 disks, 2 NICs */
	round_trip(t_, &c);
	c.mem_bytes = 3 * (1ULL << 30); /* whole MiB: mem_size_mib */
	memset(c.initrd, 0, sizeof(c.initrd)); /* whole arrays: same() compares bytes too */
	memset(c.cmdline, 0, sizeof(c.cmdline));
	round_trip(t_, &c);
	s = vm_config_to_json(&c);
	CHECK(s && strstr(s, "\"mem_size_mib\": 3072"));
	CHECK(s && !strstr(s, "initrd_path"));
	CHECK(s && strstr(s, "\"guest_mac\": \"52:54:00:ab:cd:ef\""));
	CHECK(s && strstr(s, "\"cache\": \"none\""));
	CHECK(s && strstr(s, "\"offload\": false"));
	free(s);

	/*
	 * 6 disks and 2 NICs is within each array but over the shared interrupt
	 * lines: written out fine, refused on the way back in, with the reason.
	 */
	full(&c, VM_MAX_DISKS, VM_MAX_NETS);
	s = vm_config_to_json(&c);
	CHECK(s != NULL);
	if (s) {
		static struct vm_config back;

		CHECK_EQ(vm_config_from_json(s, strlen(s), &back, err, sizeof(err)), -EINVAL);
		CHECK(has(err, "6 --disk and 2 --net: at most 6 devices together"));
		free(s);
	}
}

TEST(json_partial_and_defaults)
{
	static struct vm_config c, d;
	static const char j[] = "{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
				"\"machine-config\":{\"mem_size_mib\":8}}";
	char err[VM_ERR_MAX] = "";

	CHECK_EQ(vm_config_from_json(j, strlen(j), &c, err, sizeof(err)), 0);
	vm_config_defaults(&d);
	strcpy(d.kernel, "/k");
	d.mem_bytes = 8 * MiB;
	same(t_, &c, &d);
	/* Whitespace around the object is fine. */
	static const char ws[] = " \n{\"boot-source\":{\"kernel_image_path\":\"/k\"}}\n\t";

	CHECK_EQ(vm_config_from_json(ws, strlen(ws), &c, err, sizeof(err)), 0);
	/* Host RAM is not checked here (vm_create does): a config may come from a bigger host. */
	static const char big[] = "{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
				  "\"machine-config\":{\"mem_size_mib\":4194304000}}";
	CHECK_EQ(vm_config_from_json(big, strlen(big), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.mem_bytes, 4194304000ULL << 20);
	CHECK_EQ(vm_config_validate(&c, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "more than this host's RAM"));
}

/* A document with one string member of n bytes of 'a'; the caller frees it. */
static char *long_str(const char *fmt, size_t n)
{
	char *pad = malloc(n + 1), *out;
	size_t len;

	if (!pad)
		return NULL;
	memset(pad, 'a', n);
	pad[n] = '\0';
	len = strlen(fmt) + n + 1;
	out = malloc(len);
	if (out)
		snprintf(out, len, fmt, pad);
	free(pad);
	return out;
}

/* Refused with a message containing want, and *c left alone. */
static void refused(struct test_ctx *t_, const char *json, size_t len, const char *want)
{
	static struct vm_config c, before;
	char err[VM_ERR_MAX] = "";

	memset(&c, 0x3c, sizeof(c));
	before = c;
	CHECK(vm_config_from_json(json, len, &c, err, sizeof(err)) < 0);
	CHECK(err[0] != '\0');
	CHECK(strchr(err, '\n') == NULL);
	if (want && !strstr(err, want)) {
		fprintf(stderr, "  for %.120s\n", json ? json : "(null)");
		CHECK(has(err, want));
	}
	CHECK(!memcmp(&c, &before, sizeof(c)));
}

#define K "\"boot-source\":{\"kernel_image_path\":\"/k\"}"

TEST(json_hostile)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{", "malformed JSON" },
		{ "{\"boot-source\":", "malformed JSON" },
		{ "[]", "must be a JSON object" },
		{ "null", "must be a JSON object" },
		{ "17", "must be a JSON object" },
		{ "\"x\"", "must be a JSON object" },
		{ "{} x", "malformed JSON" },
		{ "{}{}", "malformed JSON" },
		{ "{} ", "no kernel given" },
		{ "{}", "no kernel given" },
		{ "{'a':1}", "unknown field 'a'" },          /* json-c takes single quotes */
		{ "{\"a\":1,}", "malformed JSON" },           /* strict: no trailing comma */
		/* wrong types, null included */
		{ "{\"boot-source\":null}", "'the configuration.boot-source' must be an object" },
		{ "{\"boot-source\":{\"kernel_image_path\":1}}", "must be a string" },
		{ "{\"boot-source\":{\"kernel_image_path\":null}}", "must be a string" },
		{ "{" K ",\"machine-config\":{\"vcpu_count\":\"2\"}}", "must be an integer" },
		{ "{" K ",\"machine-config\":{\"vcpu_count\":2.0}}", "must be an integer" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":true}}", "must be an integer" },
		{ "{" K ",\"drives\":{}}", "must be an array" },
		{ "{" K ",\"drives\":[1]}", "'drives[0]' must be an object" },
		{ "{" K ",\"drives\":[{\"path_on_host\":\"/d\",\"is_read_only\":\"yes\"}]}", "must be a boolean" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"offload\":1}]}", "must be a boolean" },
		{ "{" K ",\"vmon\":{\"kvm_device\":null}}", "'vmon.kvm_device' must be a string" },
		{ "{" K ",\"vmon\":[]}", "must be an object" },
		/* unknown members at every level */
		{ "{" K ",\"logger\":{}}", "unknown field 'logger' in the configuration" },
		{ "{\"boot-source\":{\"kernel_image_path\":\"/k\",\"x\":1}}", "unknown field 'x' in boot-source" },
		{ "{" K ",\"machine-config\":{\"smt\":false}}", "unknown field 'smt' in machine-config" },
		{ "{" K ",\"drives\":[{\"path_on_host\":\"/d\"},{\"drive_id\":\"a\"}]}", "unknown field 'drive_id' in drives[1]" },
		{ "{" K ",\"network-interfaces\":[{\"iface_id\":\"a\"}]}", "unknown field 'iface_id' in network-interfaces[0]" },
		{ "{" K ",\"vmon\":{\"x\":true}}", "unknown field 'x' in vmon" },
		{ "{" K ",\"\\u0001\\u0002\":1}", "unknown field '?" "?' in" },
		/* numbers */
		{ "{" K ",\"machine-config\":{\"vcpu_count\":-1}}", "'machine-config.vcpu_count' is out of range" },
		{ "{" K ",\"machine-config\":{\"vcpu_count\":4294967296}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"vcpu_count\":0}}", "--cpus 0 is out of range: 1 to 254" },
		{ "{" K ",\"machine-config\":{\"vcpu_count\":255}}", "--cpus 255 is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":-5}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":17592186044416}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":9223372036854775807}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":18446744073709551615}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":99999999999999999999999}}", NULL },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":1e30}}", "must be an integer" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":1}}", "--mem 1024 KiB is too small" },
		{ "{" K ",\"machine-config\":{\"mem_size_kib\":4097}}", "multiple of 4 KiB" },
		{ "{" K ",\"machine-config\":{\"mem_size_kib\":18014398509481984}}", "is out of range" },
		{ "{" K ",\"machine-config\":{\"mem_size_mib\":8,\"mem_size_kib\":8192}}", "not both" },
		/* devices */
		{ "{" K ",\"drives\":[{},{},{},{},{},{},{}]}", "'drives': 7 entries, at most 6" },
		{ "{" K ",\"network-interfaces\":[{},{},{}]}", "'network-interfaces': 3 entries, at most 2" },
		{ "{" K ",\"drives\":[{}]}", "--disk 1: no image path" },
		{ "{" K ",\"drives\":[{\"path_on_host\":\"/d\",\"cache\":\"unsafe\"}]}", "'drives[0].cache' must be \"none\" or \"writeback\"" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"\"}]}", "no tap=NAME" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"a/b\"}]}", "not an interface name" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"a:b\"}]}", "not an interface name" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"..\"}]}", "not an interface name" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t/\n\"}]}", "--net tap=t/?: not an" }, /* raw newline: json-c takes it */
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"guest_mac\":\"01:00:5e:00:00:01\"}]}", "guest_mac' must be a unicast MAC" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"guest_mac\":\"52:54:00:12:34\"}]}", "unicast MAC" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"guest_mac\":\"52:54:00:12:34:56:\"}]}", "unicast MAC" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"guest_mac\":\"00:00:00:00:00:00\"}]}", "unicast MAC" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"t\",\"guest_mac\":\"52:54:00:12:34:zz\"}]}", "unicast MAC" },
		/* strings */
		{ "{\"boot-source\":{\"kernel_image_path\":\"/k\\u0000x\"}}", "contains a NUL character" },
		{ "{\"boot-source\":{\"kernel_image_path\":\"\"}}", "no kernel given" },
		{ "{" K ",\"network-interfaces\":[{\"host_dev_name\":\"0123456789abcdef\"}]}", "'network-interfaces[0].host_dev_name' is longer than 15 bytes" },
		{ "{" K ",\"vmon\":{\"kvm_device\":\"\"}}", "no KVM device given" },
		{ "{\"boot-source\":{\"kernel_image_path\":\"\xff\xfe\"}}", "malformed JSON" },
		{ "{\"boot-source\":{\"kernel_image_path\":\"\xc0\xaf\"}}", "not valid UTF-8" }, /* overlong */
		{ "{\"boot-source\":{\"kernel_image_path\":\"\xed\xa0\x80\"}}", "not valid UTF-8" }, /* surrogate */
		{ "{\"boot-source\":{\"kernel_image_path\":\"\xf4\x90\x80\x80\"}}", "not valid UTF-8" }, /* > U+10FFFF */
		{ "{\"boot-source\":{\"kernel_image_path\":\"\xe2\x82\"}}", "not valid UTF-8" }, /* cut short */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(t_, cases[i].json, strlen(cases[i].json), cases[i].want ? cases[i].want : "");
	refused(t_, NULL, 0, "no data");
	refused(t_, "", 0, "no data");
	/* A length that stops inside the text: only those bytes count. */
	refused(t_, "{\"boot-source\":{\"kernel_image_path\":\"/k\"}}", 20, "malformed JSON");
}

TEST(json_hostile_sizes)
{
	char *s;
	size_t n;

	s = long_str("{\"boot-source\":{\"kernel_image_path\":\"%s\"}}", VM_PATH_MAX);
	CHECK(s != NULL);
	if (s)
		refused(t_, s, strlen(s), "'boot-source.kernel_image_path' is longer than 4095 bytes");
	free(s);
	s = long_str("{\"boot-source\":{\"kernel_image_path\":\"%s\"}}", VM_PATH_MAX - 1);
	if (s) { /* exactly fits */
		static struct vm_config c;
		char err[VM_ERR_MAX];

		CHECK_EQ(vm_config_from_json(s, strlen(s), &c, err, sizeof(err)), 0);
		CHECK_EQ(strlen(c.kernel), VM_PATH_MAX - 1);
	}
	free(s);
	s = long_str("{" K ",\"boot-source\":{\"boot_args\":\"%s\"}}", VM_CMDLINE_MAX);
	if (s)
		refused(t_, s, strlen(s), NULL);
	free(s);
	s = long_str("{" K ",\"drives\":[{\"path_on_host\":\"%s\"}]}", VM_PATH_MAX + 10);
	if (s)
		refused(t_, s, strlen(s), "'drives[0].path_on_host' is longer than 4095 bytes");
	free(s);
	/* Over the size cap: refused before parsing. */
	n = VM_CONFIG_JSON_MAX + 1;
	s = malloc(n);
	if (s) {
		memset(s, ' ', n);
		s[0] = '{';
		s[n - 1] = '}';
		refused(t_, s, n, "larger than");
	}
	free(s);
	/* Nesting deeper than json-c's limit. */
	n = 2000;
	s = malloc(2 * n + 32);
	if (s) {
		size_t k = (size_t)sprintf(s, "{\"drives\":");

		for (size_t i = 0; i < n; i++)
			s[k++] = '[';
		for (size_t i = 0; i < n; i++)
			s[k++] = ']';
		s[k++] = '}';
		refused(t_, s, k, "malformed JSON");
	}
	free(s);
}

/* The transport of c with arch and transport set as given (defaults otherwise). */
static const char *transport_of(const char *arch, const char *transport)
{
	static struct vm_config c;

	vm_config_defaults(&c);
	strcpy(c.kernel, "/k");
	strcpy(c.arch, arch);
	strcpy(c.transport, transport);
	return vm_config_transport(&c);
}

/*
 * No --transport: pci on x86 (what a stock kernel probes), mmio on arm64 and
 * mips32; a given one is kept; the dump names the resolved one.
 */
TEST(transport_default)
{
	static struct vm_config c, back;
	char err[VM_ERR_MAX] = "", want[32];
	char *s;
#if defined(__x86_64__)
	const char *native = "pci";
#else
	const char *native = "mmio";
#endif

	CHECK(!strcmp(transport_of("", ""), native));
	CHECK(!strcmp(transport_of("native", ""), native));
	CHECK(!strcmp(transport_of("x86_64", ""), "pci"));
	CHECK(!strcmp(transport_of("mips32", ""), "mmio"));
	CHECK(!strcmp(transport_of("", "mmio"), "mmio"));
	CHECK(!strcmp(transport_of("x86_64", "mmio"), "mmio"));
	CHECK(!strcmp(transport_of("x86_64", "pci"), "pci"));
	CHECK(!strcmp(transport_of("mips32", "mmio"), "mmio"));

	/* The empty one is valid everywhere: it resolves to one the arch has. */
	vm_config_defaults(&c);
	strcpy(c.kernel, "/k");
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_HOST, err, sizeof(err)), 0);
	strcpy(c.arch, "mips32");
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_HOST, err, sizeof(err)), 0);
	/* Asked for explicitly, pci on the mips32 board is still refused. */
	strcpy(c.transport, "pci");
	CHECK_EQ(vm_config_check(&c, VM_CONFIG_NO_HOST, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "mips32 board has no PCI"));

	/* The dump says what the VM gets, and reading it back keeps it. */
	vm_config_defaults(&c);
	strcpy(c.kernel, "/k");
	s = vm_config_to_json(&c);
	snprintf(want, sizeof(want), "\"transport\": \"%s\"", native);
	CHECK(s && strstr(s, want));
	CHECK(s && vm_config_from_json(s, strlen(s), &back, err, sizeof(err)) == 0);
	CHECK(!strcmp(back.transport, native));
	free(s);
	strcpy(c.arch, "mips32");
	s = vm_config_to_json(&c);
	CHECK(s && strstr(s, "\"transport\": \"mmio\""));
	free(s);
	strcpy(c.arch, "");
	strcpy(c.transport, "mmio");
	s = vm_config_to_json(&c);
	CHECK(s && strstr(s, "\"transport\": \"mmio\""));
	free(s);
}

/* Every strict prefix of a valid document is refused, whatever it ends in. */
TEST(json_truncated)
{
	static struct vm_config c;
	char *s;
	size_t n;

	full(&c, 4, 2);
	s = vm_config_to_json(&c);
	CHECK(s != NULL);
	if (!s)
		return;
	n = strlen(s);
	for (size_t len = 1; len < n; len++)
		refused(t_, s, len, NULL);
	free(s);
}

TEST_MAIN(T(defaults), T(set_str), T(validate_ok), T(validate_refusals), T(check_flags),
	  T(json_round_trip), T(json_partial_and_defaults), T(json_hostile),
	  T(json_hostile_sizes), T(json_truncated), T(transport_default))
