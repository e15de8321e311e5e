/*
 * test_jail.c: unit tests for the jailer's pure parts (src/sandbox/jail.c):
 * finding a cgroup in a /proc/PID/cgroup listing (v2's "0::" line, a v1
 * controller in a comma list, never a controller that only starts with the
 * name, hostile paths refused), reading controller lists, and the limits a
 * VM's configuration gives. The namespaces, mounts and the privilege drop
 * need root and a kernel: tests/host/jail.sh. Single-threaded.
 */
#include <errno.h>
#include <string.h>

#include "sandbox/jail.h"
#include "test.h"
#include "vmconfig.h"

/* A hybrid host's listing, as this project's machines have it. */
static const char hybrid[] =
	"9:name=systemd:/\n"
	"8:pids:/\n"
	"3:cpuset:/set\n"
	"4:memory:/process_api/44ab\n"
	"1:cpu,cpuacct:/slice/a\n"
	"0::/user.slice/session-1.scope\n";

TEST(cgroup_v2_line)
{
	char out[64] = "untouched";

	CHECK_EQ(jail_cgroup_find(hybrid, NULL, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/user.slice/session-1.scope"));
	CHECK_EQ(jail_cgroup_find("0::/\n", NULL, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/"));
	/* a v1 line with an empty controller list is not v2's: only hierarchy 0 is */
	strcpy(out, "untouched");
	CHECK_EQ(jail_cgroup_find("5::/x\n", NULL, out, sizeof(out)), -ENOENT);
	CHECK(!strcmp(out, "untouched"));
}

TEST(cgroup_v1_controller)
{
	char out[64];

	CHECK_EQ(jail_cgroup_find(hybrid, "memory", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/process_api/44ab"));
	CHECK_EQ(jail_cgroup_find(hybrid, "pids", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/"));
	/* co-mounted: "cpu" is the first of "cpu,cpuacct" */
	CHECK_EQ(jail_cgroup_find(hybrid, "cpu", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/slice/a"));
	CHECK_EQ(jail_cgroup_find(hybrid, "cpuacct", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/slice/a"));
	/* "cpu" must not match "cpuset", nor "mem" "memory" */
	CHECK_EQ(jail_cgroup_find("3:cpuset:/set\n", "cpu", out, sizeof(out)), -ENOENT);
	CHECK_EQ(jail_cgroup_find(hybrid, "mem", out, sizeof(out)), -ENOENT);
	/* a pure v2 host has no v1 controllers */
	CHECK_EQ(jail_cgroup_find("0::/\n", "memory", out, sizeof(out)), -ENOENT);
}

TEST(cgroup_hostile)
{
	static const char *const bad[] = {
		"4:memory:../../etc\n",          /* not absolute */
		"4:memory:/a/../../etc\n",       /* climbs out */
		"4:memory:/..\n",
		"4:memory:\n",                   /* empty */
	};
	char out[16] = "untouched", big[5000];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jail_cgroup_find(bad[i], "memory", out, sizeof(out)) != -EINVAL)
			fprintf(stderr, "  case \"%s\"\n", bad[i]);
		CHECK_EQ(jail_cgroup_find(bad[i], "memory", out, sizeof(out)), -EINVAL);
	}
	CHECK(!strcmp(out, "untouched"));
	/* a name with dots that is no ".." component is fine */
	CHECK_EQ(jail_cgroup_find("4:memory:/a..b/..c\n", "memory", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "/a..b/..c"));
	/* longer than the caller's buffer; lines without two colons are skipped */
	CHECK_EQ(jail_cgroup_find("4:memory:/a-rather-long-path\n", "memory", out, sizeof(out)),
		 -ENAMETOOLONG);
	CHECK_EQ(jail_cgroup_find("garbage\nmemory\n4:memory\n", "memory", out, sizeof(out)), -ENOENT);
	CHECK_EQ(jail_cgroup_find("", NULL, out, sizeof(out)), -ENOENT);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(jail_cgroup_find(big, NULL, out, sizeof(out)), -E2BIG);
}

TEST(controller_lists)
{
	CHECK(jail_list_has("cpuset cpu io memory hugetlb pids rdma misc\n", "cpu"));
	CHECK(jail_list_has("cpuset cpu io memory hugetlb pids rdma misc\n", "memory"));
	CHECK(jail_list_has("cpuset cpu io memory hugetlb pids rdma misc\n", "misc"));
	CHECK(jail_list_has("memory", "memory"));
	CHECK(!jail_list_has("cpuset io memory", "cpu"));   /* a prefix of another */
	CHECK(!jail_list_has("hugetlb\n", "memory"));
	CHECK(!jail_list_has("", "pids"));
	CHECK(!jail_list_has("xpids pidsx", "pids"));
}

TEST(limits)
{
	struct vm_config c;
	struct jail_limits l;

	vm_config_defaults(&c);
	c.mem_bytes = 4ULL << 20;
	c.ncpus = 1;
	jail_limits_of(&c, &l);
	CHECK(!strcmp(l.mem, "138412032"));    /* 4 MiB + 128 MiB */
	CHECK(!strcmp(l.pids, "17"));
	CHECK(!strcmp(l.cpu_quota, "200000")); /* the vCPU and the I/O thread */
	CHECK(!strcmp(l.cpu_max, "200000 100000"));
	c.mem_bytes = 1ULL << 40;
	c.ncpus = 254;
	jail_limits_of(&c, &l);
	CHECK(!strcmp(l.mem, "1099645845504"));
	CHECK(!strcmp(l.pids, "270"));
	CHECK(!strcmp(l.cpu_max, "25500000 100000"));
}

TEST_MAIN(T(cgroup_v2_line), T(cgroup_v1_controller), T(cgroup_hostile), T(controller_lists),
	  T(limits))
