/*
 * test_api.c: unit tests for src/api/api.c (api_handle) and src/api/http.c
 * (api_server_start/stop).
 *
 * api_handle runs against a mock backend that records every call and its
 * arguments and can be told to fail with a given errno and message. Covered:
 * every endpoint's success, routing (404, 405 with Allow), 413, 415, the
 * body checks (malformed JSON, not an object, unknown / missing / wrongly
 * typed fields, bad values), backend errors mapped to 400/500 with their
 * message as fault_message, and that every error body is
 * {"fault_message": ...} built by json-c (quotes survive).
 * The server tests listen on a socket in a temp dir and speak raw HTTP to
 * it: status lines, a live socket refused with -EADDRINUSE, a stale one
 * replaced, 413 for an oversize body, the file gone after stop, no fd
 * leaked, two servers at once. Single-threaded apart from the servers'.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/api.h"
#include "test.h"

/* ---- the mock backend */

enum op {
	OP_SET_BOOT, OP_SET_MACHINE, OP_SET_DRIVE, OP_SET_NET, OP_START,
	OP_CAD, OP_PAUSE, OP_RESUME, OP_VM_CONFIG, OP_STATS, OP_SNAP_CREATE, OP_SNAP_LOAD, OP_N,
};

struct mock {
	enum api_state state;
	struct api_machine machine;
	int get_machine_ret;
	int calls[OP_N];
	int fail;              /* negative errno every op returns, 0 = succeed */
	const char *fail_msg;  /* written into err when failing */
	struct api_boot boot;
	struct api_machine set;
	struct api_drive drive;
	struct api_net net;
	struct api_snapshot_create snap_create;
	struct api_snapshot_load snap_load;
};

static int mock_ret(struct mock *m, enum op op, char *err)
{
	m->calls[op]++;
	if (m->fail && m->fail_msg)
		snprintf(err, API_ERR_MAX, "%s", m->fail_msg);
	return m->fail;
}

static enum api_state m_state(void *c) { return ((struct mock *)c)->state; }

static int m_get_machine(void *c, struct api_machine *mc)
{
	struct mock *m = c;

	if (m->get_machine_ret)
		return m->get_machine_ret;
	*mc = m->machine;
	return 0;
}

static int m_set_boot(void *c, const struct api_boot *b, char *err)
{
	((struct mock *)c)->boot = *b;
	return mock_ret(c, OP_SET_BOOT, err);
}

static int m_set_machine(void *c, const struct api_machine *mc, char *err)
{
	((struct mock *)c)->set = *mc;
	return mock_ret(c, OP_SET_MACHINE, err);
}

static int m_set_drive(void *c, const struct api_drive *d, char *err)
{
	((struct mock *)c)->drive = *d;
	return mock_ret(c, OP_SET_DRIVE, err);
}

static int m_set_net(void *c, const struct api_net *n, char *err)
{
	((struct mock *)c)->net = *n;
	return mock_ret(c, OP_SET_NET, err);
}

static int m_start(void *c, char *err) { return mock_ret(c, OP_START, err); }
static int m_cad(void *c, char *err) { return mock_ret(c, OP_CAD, err); }
static int m_pause(void *c, char *err) { return mock_ret(c, OP_PAUSE, err); }
static int m_resume(void *c, char *err) { return mock_ret(c, OP_RESUME, err); }

static int m_vm_config(void *c, struct json_object *o, char *err)
{
	json_object_object_add(o, "mock", json_object_new_string("config"));
	return mock_ret(c, OP_VM_CONFIG, err);
}

static int m_stats(void *c, struct json_object *o, char *err)
{
	json_object_object_add(o, "exits", json_object_new_int(42));
	return mock_ret(c, OP_STATS, err);
}

static int m_snap_create(void *c, const struct api_snapshot_create *sc, char *err)
{
	((struct mock *)c)->snap_create = *sc;
	return mock_ret(c, OP_SNAP_CREATE, err);
}

static int m_snap_load(void *c, const struct api_snapshot_load *sl, char *err)
{
	((struct mock *)c)->snap_load = *sl;
	return mock_ret(c, OP_SNAP_LOAD, err);
}

static const struct api_ops mock_ops = {
	.state = m_state,
	.get_machine = m_get_machine,
	.set_boot = m_set_boot,
	.set_machine = m_set_machine,
	.set_drive = m_set_drive,
	.set_net = m_set_net,
	.start = m_start,
	.ctrl_alt_del = m_cad,
	.pause = m_pause,
	.resume = m_resume,
	.vm_config = m_vm_config,
	.stats = m_stats,
	.snapshot_create = m_snap_create,
	.snapshot_load = m_snap_load,
};

static struct mock mock;
static struct api api = { &mock_ops, &mock, "vm-test", 0 };
static struct api_response resp;
static struct json_object *reply; /* resp.body parsed, or NULL */

static void reset(void)
{
	free(resp.body);
	resp.body = NULL;
	json_object_put(reply);
	reply = NULL;
	memset(&mock, 0, sizeof(mock));
	mock.machine = (struct api_machine){ 1, 128 };
}

static int total_calls(void)
{
	int n = 0;

	for (int i = 0; i < OP_N; i++)
		n += mock.calls[i];
	return n;
}

/* One request with a string body (NULL: none). Returns the status. */
static int req_ct(const char *method, const char *path, const char *ct, const char *body)
{
	free(resp.body);
	resp.body = NULL;
	json_object_put(reply);
	reply = NULL;
	api_handle(&api, method, path, ct, body, body ? strlen(body) : 0, &resp);
	if (resp.body)
		reply = json_tokener_parse(resp.body);
	return resp.status;
}

static int req(const char *method, const char *path, const char *body)
{
	return req_ct(method, path, "application/json", body);
}

static const char *jstr(const char *key)
{
	struct json_object *v;

	if (!reply || !json_object_object_get_ex(reply, key, &v))
		return "";
	return json_object_get_string(v);
}

/* The reply is exactly {"fault_message": "...needle..."}. */
static bool is_fault(const char *needle)
{
	if (!reply || !json_object_is_type(reply, json_type_object) ||
	    json_object_object_length(reply) != 1) {
		fprintf(stderr, "  not a fault body: %s\n", resp.body ? resp.body : "(null)");
		return false;
	}
	if (!strstr(jstr("fault_message"), needle)) {
		fprintf(stderr, "  fault_message '%s' lacks '%s'\n", jstr("fault_message"), needle);
		return false;
	}
	return true;
}

/* A request that must fail with status and a message containing needle, no backend call. */
#define REJECT(t_, status, needle, method, path, body)                       \
	do {                                                                 \
		int calls_ = total_calls();                                  \
		CHECK_EQ(req(method, path, body), status);                   \
		CHECK(is_fault(needle));                                     \
		CHECK_EQ(total_calls(), calls_);                             \
	} while (0)

/* ---- endpoints: success */

TEST(root)
{
	reset();
	CHECK_EQ(req("GET", "/", NULL), 200);
	CHECK(strcmp(jstr("id"), "vm-test") == 0);
	CHECK(strcmp(jstr("state"), "Not started") == 0);
	CHECK(strcmp(jstr("vmm_version"), "0.2.0") == 0);
	CHECK(strcmp(jstr("app_name"), "vmon") == 0);
	mock.state = API_STATE_RUNNING;
	CHECK_EQ(req("GET", "/", NULL), 200);
	CHECK(strcmp(jstr("state"), "Running") == 0);
	mock.state = API_STATE_PAUSED;
	CHECK_EQ(req("GET", "/", NULL), 200);
	CHECK(strcmp(jstr("state"), "Paused") == 0);
	CHECK(resp.allow == NULL);
	reset();
}

TEST(boot_source)
{
	reset();
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\","
		     "\"boot_args\":\"console=ttyS0\",\"initrd_path\":\"/i\"}"), 204);
	CHECK(resp.body == NULL);
	CHECK_EQ(mock.calls[OP_SET_BOOT], 1);
	CHECK(strcmp(mock.boot.kernel, "/k") == 0);
	CHECK(strcmp(mock.boot.initrd, "/i") == 0);
	CHECK(strcmp(mock.boot.args, "console=ttyS0") == 0);
	CHECK_EQ(mock.boot.has_args, 1);

	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/vmlinux\"}"), 204);
	CHECK_EQ(mock.calls[OP_SET_BOOT], 2);
	CHECK(strcmp(mock.boot.kernel, "/vmlinux") == 0);
	CHECK(strcmp(mock.boot.initrd, "") == 0);
	CHECK_EQ(mock.boot.has_args, 0);

	/* Explicit empty boot_args: given, and empty. null counts as absent. */
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\",\"boot_args\":\"\","
		     "\"initrd_path\":null}"), 204);
	CHECK_EQ(mock.boot.has_args, 1);
	CHECK(strcmp(mock.boot.args, "") == 0);
	reset();
}

TEST(boot_source_errors)
{
	static char big[API_PATH_MAX + 64];

	reset();
	REJECT(t_, 400, "missing required field 'kernel_image_path'", "PUT", "/boot-source",
	       "{\"boot_args\":\"x\"}");
	REJECT(t_, 400, "missing required field 'kernel_image_path'", "PUT", "/boot-source",
	       "{\"kernel_image_path\":null}");
	REJECT(t_, 400, "'kernel_image_path' must be a string", "PUT", "/boot-source",
	       "{\"kernel_image_path\":7}");
	REJECT(t_, 400, "'boot_args' must be a string", "PUT", "/boot-source",
	       "{\"kernel_image_path\":\"/k\",\"boot_args\":[\"a\"]}");
	REJECT(t_, 400, "unknown field 'kernel'", "PUT", "/boot-source",
	       "{\"kernel_image_path\":\"/k\",\"kernel\":\"/k\"}");
	REJECT(t_, 400, "must not be empty", "PUT", "/boot-source", "{\"kernel_image_path\":\"\"}");
	REJECT(t_, 400, "'initrd_path' must not be empty", "PUT", "/boot-source",
	       "{\"kernel_image_path\":\"/k\",\"initrd_path\":\"\"}");
	REJECT(t_, 400, "NUL", "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\\u0000x\"}");

	/* API_PATH_MAX - 1 bytes fit; one more does not. */
	strcpy(big, "{\"kernel_image_path\":\"");
	size_t n = strlen(big);
	memset(big + n, 'a', API_PATH_MAX - 1);
	strcpy(big + n + API_PATH_MAX - 1, "\"}");
	CHECK_EQ(req("PUT", "/boot-source", big), 204);
	CHECK_EQ(strlen(mock.boot.kernel), API_PATH_MAX - 1);
	memset(big + n, 'a', API_PATH_MAX);
	strcpy(big + n + API_PATH_MAX, "\"}");
	REJECT(t_, 400, "longer than 4095", "PUT", "/boot-source", big);
	reset();
}

TEST(machine_config_get)
{
	reset();
	mock.machine = (struct api_machine){ 4, 1024 };
	CHECK_EQ(req("GET", "/machine-config", NULL), 200);
	CHECK(reply != NULL);
	CHECK(resp.body && strcmp(resp.body, "{\"vcpu_count\":4,\"mem_size_mib\":1024,"
				  "\"smt\":false,\"track_dirty_pages\":false}") == 0);
	mock.get_machine_ret = -EIO;
	CHECK_EQ(req("GET", "/machine-config", NULL), 500);
	CHECK(is_fault("machine configuration"));
	reset();
}

TEST(machine_config_put)
{
	reset();
	CHECK_EQ(req("PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}"), 204);
	CHECK_EQ(mock.calls[OP_SET_MACHINE], 1);
	CHECK_EQ(mock.set.vcpu_count, 2);
	CHECK_EQ(mock.set.mem_size_mib, 256);
	CHECK_EQ(req("PUT", "/machine-config", "{\"vcpu_count\":254,\"mem_size_mib\":2,"
		     "\"smt\":false,\"track_dirty_pages\":false}"), 204);
	CHECK_EQ(mock.set.vcpu_count, 254);
	CHECK_EQ(mock.set.mem_size_mib, 2);

	REJECT(t_, 400, "vcpu_count must be 1-254", "PUT", "/machine-config",
	       "{\"vcpu_count\":0,\"mem_size_mib\":256}");
	REJECT(t_, 400, "vcpu_count must be 1-254", "PUT", "/machine-config",
	       "{\"vcpu_count\":255,\"mem_size_mib\":256}");
	REJECT(t_, 400, "vcpu_count must be 1-254", "PUT", "/machine-config",
	       "{\"vcpu_count\":-1,\"mem_size_mib\":256}");
	REJECT(t_, 400, "vcpu_count must be 1-254", "PUT", "/machine-config",
	       "{\"vcpu_count\":18446744073709551615,\"mem_size_mib\":256}");
	REJECT(t_, 400, "mem_size_mib must be at least 2", "PUT", "/machine-config",
	       "{\"vcpu_count\":1,\"mem_size_mib\":1}");
	REJECT(t_, 400, "mem_size_mib must be at least 2", "PUT", "/machine-config",
	       "{\"vcpu_count\":1,\"mem_size_mib\":-4096}");
	REJECT(t_, 400, "'vcpu_count' must be an integer", "PUT", "/machine-config",
	       "{\"vcpu_count\":\"2\",\"mem_size_mib\":256}");
	REJECT(t_, 400, "'mem_size_mib' must be an integer", "PUT", "/machine-config",
	       "{\"vcpu_count\":2,\"mem_size_mib\":25.5}");
	REJECT(t_, 400, "'smt' must be a boolean", "PUT", "/machine-config",
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":0}");
	REJECT(t_, 400, "missing required field 'mem_size_mib'", "PUT", "/machine-config",
	       "{\"vcpu_count\":2}");
	REJECT(t_, 400, "smt is not supported", "PUT", "/machine-config",
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":true}");
	REJECT(t_, 400, "track_dirty_pages is not supported", "PUT", "/machine-config",
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"track_dirty_pages\":true}");
	REJECT(t_, 400, "unknown field 'cpu_template'", "PUT", "/machine-config",
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"cpu_template\":\"T2\"}");

	/* Above INT64_MAX json-c keeps an unsigned value: passed on, not wrapped. */
	CHECK_EQ(req("PUT", "/machine-config",
		     "{\"vcpu_count\":1,\"mem_size_mib\":18446744073709551615}"), 204);
	CHECK(mock.set.mem_size_mib == UINT64_MAX);
	reset();
}

TEST(machine_config_patch)
{
	reset();
	mock.machine = (struct api_machine){ 3, 512 };
	CHECK_EQ(req("PATCH", "/machine-config", "{\"vcpu_count\":8}"), 204);
	CHECK_EQ(mock.set.vcpu_count, 8);
	CHECK_EQ(mock.set.mem_size_mib, 512);
	CHECK_EQ(req("PATCH", "/machine-config", "{\"mem_size_mib\":64}"), 204);
	CHECK_EQ(mock.set.vcpu_count, 3);
	CHECK_EQ(mock.set.mem_size_mib, 64);
	CHECK_EQ(req("PATCH", "/machine-config", "{}"), 204);
	CHECK_EQ(mock.set.vcpu_count, 3);
	CHECK_EQ(mock.calls[OP_SET_MACHINE], 3);
	REJECT(t_, 400, "vcpu_count must be 1-254", "PATCH", "/machine-config",
	       "{\"vcpu_count\":0}");
	REJECT(t_, 400, "smt is not supported", "PATCH", "/machine-config", "{\"smt\":true}");
	REJECT(t_, 400, "unknown field 'vcpus'", "PATCH", "/machine-config", "{\"vcpus\":2}");
	mock.get_machine_ret = -EIO;
	CHECK_EQ(req("PATCH", "/machine-config", "{\"vcpu_count\":8}"), 500);
	CHECK_EQ(mock.calls[OP_SET_MACHINE], 3);
	reset();
}

TEST(drives)
{
	reset();
	CHECK_EQ(req("PUT", "/drives/rootfs", "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/d.img\","
		     "\"is_root_device\":true,\"is_read_only\":true,\"cache_type\":\"Writeback\"}"), 204);
	CHECK_EQ(mock.calls[OP_SET_DRIVE], 1);
	CHECK(strcmp(mock.drive.id, "rootfs") == 0);
	CHECK(strcmp(mock.drive.path, "/d.img") == 0);
	CHECK_EQ(mock.drive.is_root, 1);
	CHECK_EQ(mock.drive.read_only, 1);
	CHECK_EQ(mock.drive.writeback, 1);
	CHECK_EQ(req("PUT", "/drives/A-z_9", "{\"drive_id\":\"A-z_9\",\"path_on_host\":\"/e\","
		     "\"is_root_device\":false,\"cache_type\":\"Unsafe\"}"), 204);
	CHECK_EQ(mock.drive.is_root, 0);
	CHECK_EQ(mock.drive.read_only, 0);
	CHECK_EQ(mock.drive.writeback, 0);

	REJECT(t_, 400, "does not match", "PUT", "/drives/a",
	       "{\"drive_id\":\"b\",\"path_on_host\":\"/e\",\"is_root_device\":false}");
	REJECT(t_, 400, "invalid id", "PUT", "/drives/a.b",
	       "{\"drive_id\":\"a.b\",\"path_on_host\":\"/e\",\"is_root_device\":false}");
	REJECT(t_, 400, "'drive_id' must be 1-63", "PUT", "/drives/a",
	       "{\"drive_id\":\"a b\",\"path_on_host\":\"/e\",\"is_root_device\":false}");
	REJECT(t_, 400, "missing required field 'is_root_device'", "PUT", "/drives/a",
	       "{\"drive_id\":\"a\",\"path_on_host\":\"/e\"}");
	REJECT(t_, 400, "'is_read_only' must be a boolean", "PUT", "/drives/a",
	       "{\"drive_id\":\"a\",\"path_on_host\":\"/e\",\"is_root_device\":false,"
	       "\"is_read_only\":\"yes\"}");
	REJECT(t_, 400, "cache_type must be", "PUT", "/drives/a",
	       "{\"drive_id\":\"a\",\"path_on_host\":\"/e\",\"is_root_device\":false,"
	       "\"cache_type\":\"None\"}");
	REJECT(t_, 400, "'path_on_host' must not be empty", "PUT", "/drives/a",
	       "{\"drive_id\":\"a\",\"path_on_host\":\"\",\"is_root_device\":false}");
	REJECT(t_, 400, "unknown field 'partuuid'", "PUT", "/drives/a",
	       "{\"drive_id\":\"a\",\"path_on_host\":\"/e\",\"is_root_device\":false,"
	       "\"partuuid\":\"x\"}");

	/* 63 id characters fit, 64 do not. */
	char id[80], path[96], body[256];
	memset(id, 'x', 64);
	id[63] = '\0';
	snprintf(path, sizeof(path), "/drives/%s", id);
	snprintf(body, sizeof(body), "{\"drive_id\":\"%s\",\"path_on_host\":\"/e\","
		 "\"is_root_device\":false}", id);
	CHECK_EQ(req("PUT", path, body), 204);
	id[63] = 'x';
	id[64] = '\0';
	snprintf(path, sizeof(path), "/drives/%s", id);
	snprintf(body, sizeof(body), "{\"drive_id\":\"%s\",\"path_on_host\":\"/e\","
		 "\"is_root_device\":false}", id);
	REJECT(t_, 400, "invalid id", "PUT", path, body);
	reset();
}

TEST(network_interfaces)
{
	reset();
	CHECK_EQ(req("PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
		     "\"host_dev_name\":\"tap0\",\"guest_mac\":\"52:54:00:Ab:cD:ef\"}"), 204);
	CHECK_EQ(mock.calls[OP_SET_NET], 1);
	CHECK(strcmp(mock.net.id, "eth0") == 0);
	CHECK(strcmp(mock.net.host_dev, "tap0") == 0);
	CHECK_EQ(mock.net.has_mac, 1);
	CHECK_EQ(mock.net.mac[0], 0x52);
	CHECK_EQ(mock.net.mac[3], 0xab);
	CHECK_EQ(mock.net.mac[5], 0xef);
	CHECK_EQ(req("PUT", "/network-interfaces/n1", "{\"iface_id\":\"n1\","
		     "\"host_dev_name\":\"abcdefghijklmno\"}"), 204);
	CHECK_EQ(mock.net.has_mac, 0);
	CHECK_EQ(strlen(mock.net.host_dev), 15);

	REJECT(t_, 400, "'host_dev_name' is longer than 15", "PUT", "/network-interfaces/n1",
	       "{\"iface_id\":\"n1\",\"host_dev_name\":\"abcdefghijklmnop\"}");
	REJECT(t_, 400, "does not match", "PUT", "/network-interfaces/n1",
	       "{\"iface_id\":\"n2\",\"host_dev_name\":\"tap0\"}");
	REJECT(t_, 400, "missing required field 'host_dev_name'", "PUT", "/network-interfaces/n1",
	       "{\"iface_id\":\"n1\"}");
	static const char *const bad_macs[] = {
		"01:00:5e:00:00:01", /* multicast */
		"ff:ff:ff:ff:ff:ff", /* broadcast */
		"00:00:00:00:00:00",
		"52:54:00:12:34",
		"52:54:00:12:34:567",
		"52-54-00-12-34-56",
		"52:54:00:12:34:zz",
		"5254:00:12:34:56:",
		"",
	};
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		char body[160];

		snprintf(body, sizeof(body), "{\"iface_id\":\"n1\",\"host_dev_name\":\"t\","
			 "\"guest_mac\":\"%s\"}", bad_macs[i]);
		REJECT(t_, 400, "guest_mac must be a unicast MAC", "PUT", "/network-interfaces/n1",
		       body);
	}
	reset();
}

TEST(actions)
{
	reset();
	CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	CHECK_EQ(mock.calls[OP_START], 1);
	CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 204);
	CHECK_EQ(mock.calls[OP_CAD], 1);
	CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);
	CHECK(resp.body == NULL);
	CHECK_EQ(total_calls(), 2);
	REJECT(t_, 400, "unknown action_type 'Reboot'", "PUT", "/actions",
	       "{\"action_type\":\"Reboot\"}");
	REJECT(t_, 400, "missing required field 'action_type'", "PUT", "/actions", "{}");
	REJECT(t_, 400, "'action_type' must be a string", "PUT", "/actions",
	       "{\"action_type\":1}");
	reset();
}

TEST(vm_state)
{
	reset();
	CHECK_EQ(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 204);
	CHECK_EQ(mock.calls[OP_PAUSE], 1);
	CHECK_EQ(req("PATCH", "/vm", "{\"state\":\"Resumed\"}"), 204);
	CHECK_EQ(mock.calls[OP_RESUME], 1);
	REJECT(t_, 400, "state must be", "PATCH", "/vm", "{\"state\":\"paused\"}");
	REJECT(t_, 400, "unknown field 'status'", "PATCH", "/vm", "{\"status\":\"Paused\"}");
	reset();
}

TEST(vm_config_and_stats)
{
	reset();
	CHECK_EQ(req("GET", "/vm/config", NULL), 200);
	CHECK_EQ(mock.calls[OP_VM_CONFIG], 1);
	CHECK(strcmp(jstr("mock"), "config") == 0);
	CHECK_EQ(req("GET", "/stats", NULL), 200);
	CHECK_EQ(mock.calls[OP_STATS], 1);
	CHECK(strcmp(jstr("exits"), "42") == 0);
	mock.fail = -EIO;
	mock.fail_msg = "stats are gone";
	CHECK_EQ(req("GET", "/stats", NULL), 500);
	CHECK(is_fault("stats are gone"));
	mock.fail = -EBUSY;
	mock.fail_msg = "busy now";
	CHECK_EQ(req("GET", "/vm/config", NULL), 400);
	CHECK(is_fault("busy now"));
	reset();
}

TEST(snapshot_create)
{
	reset();
	mock.state = API_STATE_PAUSED;
	CHECK_EQ(req("PUT", "/snapshot/create", "{\"snapshot_type\":\"Full\","
		     "\"snapshot_path\":\"/s/state\",\"mem_file_path\":\"/s/mem\"}"), 204);
	CHECK(resp.body == NULL);
	CHECK_EQ(mock.calls[OP_SNAP_CREATE], 1);
	CHECK_EQ(mock.snap_create.diff, 0);
	CHECK(strcmp(mock.snap_create.snapshot_path, "/s/state") == 0);
	CHECK(strcmp(mock.snap_create.mem_file_path, "/s/mem") == 0);
	CHECK_EQ(req("PUT", "/snapshot/create", "{\"snapshot_type\":\"Diff\","
		     "\"snapshot_path\":\"/d/state\",\"mem_file_path\":\"/d/mem\"}"), 204);
	CHECK_EQ(mock.snap_create.diff, 1);
	CHECK(strcmp(mock.snap_create.snapshot_path, "/d/state") == 0);
	/* snapshot_type is optional (Full), as in Firecracker; null counts as absent. */
	CHECK_EQ(req("PUT", "/snapshot/create", "{\"snapshot_type\":null,"
		     "\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}"), 204);
	CHECK_EQ(mock.snap_create.diff, 0);
	CHECK_EQ(mock.calls[OP_SNAP_CREATE], 3);
	/* The backend's refusal reaches the client. */
	mock.fail = -EINVAL;
	mock.fail_msg = "a diff snapshot needs an earlier snapshot";
	CHECK_EQ(req("PUT", "/snapshot/create", "{\"snapshot_type\":\"Diff\","
		     "\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}"), 400);
	CHECK(is_fault("needs an earlier snapshot"));
	mock.fail = -EIO;
	mock.fail_msg = "writing /m: Input/output error";
	CHECK_EQ(req("PUT", "/snapshot/create", "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}"),
		 500);
	CHECK(is_fault("writing /m"));
	reset();
}

TEST(snapshot_create_errors)
{
	reset();
	mock.state = API_STATE_PAUSED;
	REJECT(t_, 400, "snapshot_type must be \"Full\" or \"Diff\", not 'full'", "PUT",
	       "/snapshot/create", "{\"snapshot_type\":\"full\",\"snapshot_path\":\"/f\","
	       "\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "not 'Incremental'", "PUT", "/snapshot/create",
	       "{\"snapshot_type\":\"Incremental\",\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "'snapshot_type' must be a string", "PUT", "/snapshot/create",
	       "{\"snapshot_type\":1,\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "'snapshot_path' must be a string", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":true,\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "'mem_file_path' must be a string", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":[\"/m\"]}");
	REJECT(t_, 400, "missing required field 'snapshot_path'", "PUT", "/snapshot/create",
	       "{\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "missing required field 'mem_file_path'", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"/f\"}");
	REJECT(t_, 400, "missing required field 'snapshot_path'", "PUT", "/snapshot/create", "{}");
	REJECT(t_, 400, "unknown field 'version'", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"version\":\"1.0\"}");
	REJECT(t_, 400, "'snapshot_path' must not be empty", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"\",\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "NUL", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"/f\\u0000x\",\"mem_file_path\":\"/m\"}");
	/* Not paused: refused before the backend, naming the state and the way out. */
	mock.state = API_STATE_RUNNING;
	REJECT(t_, 400, "the VM is Running, it must be Paused first", "PUT", "/snapshot/create",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}");
	mock.state = API_STATE_NOT_STARTED;
	REJECT(t_, 400, "the VM is Not started, it must be Paused", "PUT", "/snapshot/create",
	       "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}");
	REJECT(t_, 405, "not allowed", "GET", "/snapshot/create", NULL);
	CHECK(resp.allow && strcmp(resp.allow, "PUT") == 0);
	REJECT(t_, 404, "unknown path", "PUT", "/snapshot", "{}");
	REJECT(t_, 404, "unknown path", "PUT", "/snapshot/create/", "{}");
	reset();
}

TEST(snapshot_load)
{
	reset();
	CHECK_EQ(req("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s/state\","
		     "\"mem_file_path\":\"/s/mem\",\"resume_vm\":true}"), 204);
	CHECK_EQ(mock.calls[OP_SNAP_LOAD], 1);
	CHECK(strcmp(mock.snap_load.snapshot_path, "/s/state") == 0);
	CHECK(strcmp(mock.snap_load.mem_file_path, "/s/mem") == 0);
	CHECK_EQ(mock.snap_load.resume_vm, 1);
	CHECK_EQ(mock.snap_load.allow_rollback, 0);
	CHECK_EQ(req("PUT", "/snapshot/load", "{\"snapshot_path\":\"/a\",\"mem_file_path\":\"/b\","
		     "\"allow_rollback\":true}"), 204);
	CHECK_EQ(mock.snap_load.resume_vm, 0);
	CHECK_EQ(mock.snap_load.allow_rollback, 1);
	CHECK_EQ(req("PUT", "/snapshot/load", "{\"snapshot_path\":\"/a\",\"mem_file_path\":\"/b\","
		     "\"resume_vm\":false,\"allow_rollback\":false}"), 204);
	CHECK_EQ(mock.snap_load.resume_vm, 0);
	CHECK_EQ(mock.snap_load.allow_rollback, 0);
	CHECK_EQ(mock.calls[OP_SNAP_LOAD], 3);
	/* The rollback refusal (lineage.c's -ESTALE) is the backend's: a 500 with its words. */
	mock.fail = -EPERM;
	mock.fail_msg = "refusing to restore generation 1 of lineage ab: newest is 2";
	CHECK_EQ(req("PUT", "/snapshot/load", "{\"snapshot_path\":\"/a\",\"mem_file_path\":\"/b\"}"),
		 400);
	CHECK(is_fault("refusing to restore generation 1"));
	reset();
}

TEST(snapshot_load_errors)
{
	reset();
	REJECT(t_, 400, "missing required field 'snapshot_path'", "PUT", "/snapshot/load",
	       "{\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "missing required field 'mem_file_path'", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"resume_vm\":true}");
	REJECT(t_, 400, "'resume_vm' must be a boolean", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"resume_vm\":\"yes\"}");
	REJECT(t_, 400, "'resume_vm' must be a boolean", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"resume_vm\":1}");
	REJECT(t_, 400, "'allow_rollback' must be a boolean", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"allow_rollback\":\"true\"}");
	REJECT(t_, 400, "'snapshot_path' must be a string", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":{},\"mem_file_path\":\"/m\"}");
	REJECT(t_, 400, "unknown field 'mem_backend'", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"mem_backend\":{}}");
	REJECT(t_, 400, "unknown field 'snapshot_type'", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"snapshot_type\":\"Full\"}");
	REJECT(t_, 400, "'mem_file_path' must not be empty", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"\"}");
	REJECT(t_, 400, "must be a JSON object", "PUT", "/snapshot/load", "[\"/f\",\"/m\"]");
	/* Only before the start. */
	mock.state = API_STATE_RUNNING;
	REJECT(t_, 400, "the VM is Running; a snapshot loads only into a process whose VM has not started",
	       "PUT", "/snapshot/load", "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\"}");
	mock.state = API_STATE_PAUSED;
	REJECT(t_, 400, "the VM is Paused", "PUT", "/snapshot/load",
	       "{\"snapshot_path\":\"/f\",\"mem_file_path\":\"/m\",\"resume_vm\":true}");
	REJECT(t_, 405, "not allowed", "PATCH", "/snapshot/load", "{}");
	reset();
}

/* ---- routing and transport-level errors */

TEST(not_found)
{
	static const char *const paths[] = {
		"/nope", "", "//", "/boot-source/", "/drives", "/drives/", "/drives/a/b",
		"/network-interfaces", "/network-interfaces/", "/?x=1", "/stats?", "/vm/",
		"/vm/config/x", "/Machine-config", "/actions ",
	};

	reset();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (req("GET", paths[i], NULL) != 404)
			fprintf(stderr, "  path '%s'\n", paths[i]);
		CHECK_EQ(resp.status, 404);
		CHECK(is_fault("unknown path"));
		CHECK(resp.allow == NULL);
	}
	/* Non-printable bytes in an echoed path stay valid JSON. */
	CHECK_EQ(req("GET", "/\"\\\x01\xff", NULL), 404);
	CHECK(is_fault("unknown path"));
	CHECK_EQ(total_calls(), 0);
	reset();
}

TEST(method_not_allowed)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
		{ "PUT", "/", "GET" },
		{ "POST", "/", "GET" },
		{ "HEAD", "/", "GET" },
		{ "GET", "/boot-source", "PUT" },
		{ "DELETE", "/machine-config", "GET, PUT, PATCH" },
		{ "POST", "/machine-config", "GET, PUT, PATCH" },
		{ "GET", "/drives/a", "PUT" },
		{ "PATCH", "/network-interfaces/a", "PUT" },
		{ "GET", "/actions", "PUT" },
		{ "PUT", "/vm", "PATCH" },
		{ "PATCH", "/vm/config", "GET" },
		{ "PUT", "/stats", "GET" },
		{ "get", "/", "GET" },
		{ "GE", "/", "GET" },
		{ "", "/", "GET" },
	};

	reset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(req(cases[i].method, cases[i].path, "{}"), 405);
		CHECK(is_fault("not allowed"));
		CHECK(resp.allow && strcmp(resp.allow, cases[i].allow) == 0);
	}
	CHECK_EQ(total_calls(), 0);
	reset();
}

TEST(oversize)
{
	static char body[API_MAX_BODY + 2];

	reset();
	/* Exactly API_MAX_BODY bytes: a valid object padded with spaces. */
	memset(body, ' ', API_MAX_BODY);
	memcpy(body, "{\"action_type\":\"InstanceStart\"}", 31);
	body[API_MAX_BODY] = '\0';
	CHECK_EQ(req("PUT", "/actions", body), 204);
	CHECK_EQ(mock.calls[OP_START], 1);
	body[API_MAX_BODY] = ' ';
	body[API_MAX_BODY + 1] = '\0';
	REJECT(t_, 413, "larger than 16384", "PUT", "/actions", body);
	reset();
}

TEST(content_type)
{
	static const char *const good[] = {
		NULL, "application/json", "application/json; charset=utf-8",
		"APPLICATION/JSON", " application/json ;charset=UTF-8",
	};
	static const char *const bad[] = {
		"text/plain", "application/jsonx", "application/x-www-form-urlencoded", "",
		"application/json-patch+json", "json",
	};
	const char *body = "{\"action_type\":\"FlushMetrics\"}";

	reset();
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(req_ct("PUT", "/actions", good[i], body), 204);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(req_ct("PUT", "/actions", bad[i], body), 415);
		CHECK(is_fault("application/json"));
	}
	/* A GET without a body does not care. */
	CHECK_EQ(req_ct("GET", "/", "text/plain", NULL), 200);
	reset();
}

TEST(malformed_body)
{
	static const struct {
		const char *body, *needle;
	} cases[] = {
		{ "{", "malformed JSON" },
		{ "{\"action_type\":}", "malformed JSON" },
		{ "{'action_type':'InstanceStart'}", "malformed JSON" },
		{ "{\"action_type\":\"InstanceStart\"} x", "malformed JSON" },
		{ "{\"action_type\":\"InstanceStart\"}{}", "malformed JSON" },
		{ "{\"action_type\":\"InstanceStart\",}", "malformed JSON" },
		{ "{\"action_type\":\"\xff\"}", "malformed JSON" },
		{ "[\"InstanceStart\"]", "must be a JSON object" },
		{ "42", "must be a JSON object" },
		{ "\"InstanceStart\"", "must be a JSON object" },
		{ "null", "must be a JSON object" },
		{ "", "needs a JSON body" },
	};

	reset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (req("PUT", "/actions", cases[i].body) != 400)
			fprintf(stderr, "  body '%s'\n", cases[i].body);
		CHECK_EQ(resp.status, 400);
		CHECK(is_fault(cases[i].needle));
	}
	CHECK_EQ(req("PUT", "/boot-source", NULL), 400);
	CHECK(is_fault("needs a JSON body"));
	CHECK_EQ(total_calls(), 0);
	/* Whitespace around the object is fine. */
	CHECK_EQ(req("PUT", "/actions", " \r\n{\"action_type\":\"InstanceStart\"}\n"), 204);
	reset();
}

/* A key with \u0000 would reach json-c truncated ("vcpu_count\u0000x" as "vcpu_count"). */
TEST(nul_in_key)
{
	static const char *const bad[] = {
		"{\"action_type\\u0000x\":\"InstanceStart\"}",
		"{\"\\u0000\":1,\"action_type\":\"InstanceStart\"}",
		"{\"action_type\":\"InstanceStart\",\"a\\\\\" : 1, \"b\\\\\\u0000\" \n:2}",
	};

	reset();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (req("PUT", "/actions", bad[i]) != 400)
			fprintf(stderr, "  body '%s'\n", bad[i]);
		CHECK_EQ(resp.status, 400);
		CHECK(is_fault("NUL"));
	}
	CHECK_EQ(req("PUT", "/machine-config", "{\"vcpu_count\\u0000\":2,\"mem_size_mib\":64}"), 400);
	CHECK(is_fault("NUL"));
	CHECK_EQ(total_calls(), 0);
	/* An escaped backslash before "u0000" is no NUL. */
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\\\\u0000\"}"), 204);
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\\\\u0000\":\"/k\"}"), 400);
	CHECK(is_fault("unknown field"));
	/* A NUL in a value is get_str's to refuse, as before. */
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\\u0000x\"}"), 400);
	CHECK(is_fault("NUL"));
	reset();
}

/* ---- backend errors */

TEST(backend_errors)
{
	static const int client[] = { EINVAL, EBUSY, ENOSPC, EEXIST, ENOTSUP, ENOENT, EPERM,
				      EACCES };
	static const int server[] = { EIO, ENOMEM, EFAULT, EAGAIN };

	reset();
	mock.fail_msg = "the VM is \"running\" \\ no";
	for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++) {
		mock.fail = -client[i];
		CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
		CHECK(strcmp(jstr("fault_message"), mock.fail_msg) == 0);
	}
	for (size_t i = 0; i < sizeof(server) / sizeof(server[0]); i++) {
		mock.fail = -server[i];
		CHECK_EQ(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 500);
		CHECK(strcmp(jstr("fault_message"), mock.fail_msg) == 0);
	}
	/* Every setter maps the same way. */
	mock.fail = -EBUSY;
	CHECK_EQ(req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}"), 400);
	CHECK_EQ(req("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":2}"), 400);
	CHECK_EQ(req("PATCH", "/machine-config", "{\"vcpu_count\":1}"), 400);
	CHECK_EQ(req("PUT", "/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/e\","
		     "\"is_root_device\":true}"), 400);
	CHECK_EQ(req("PUT", "/network-interfaces/a", "{\"iface_id\":\"a\","
		     "\"host_dev_name\":\"t\"}"), 400);
	CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 400);
	CHECK_EQ(req("PATCH", "/vm", "{\"state\":\"Resumed\"}"), 400);
	CHECK(is_fault("running"));
	/* No message from the backend: strerror stands in. */
	mock.fail_msg = NULL;
	mock.fail = -ENOENT;
	CHECK_EQ(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	CHECK(is_fault(strerror(ENOENT)));
	reset();
}

/* ---- the server on a Unix socket */

struct tmp {
	char dir[64];
	char sock[96];
};

static void tmp_make(struct tmp *t)
{
	strcpy(t->dir, "/tmp/vmon-test-api-XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->sock, sizeof(t->sock), "%s/api.sock", t->dir);
}

static void tmp_remove(struct tmp *t)
{
	unlink(t->sock);
	rmdir(t->dir);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Send raw bytes to the socket, read until EOF; the status code or -1. */
static int raw_http(const char *sock, const char *data, size_t len, char *out, size_t outsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	int fd, code = -1;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	/* The server may answer 413 and stop reading early: ignore EPIPE. */
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	while (got + 1 < outsz && (n = read(fd, out + got, outsz - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	if (sscanf(out, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
out:
	if (fd >= 0)
		close(fd);
	return code;
}

static int http_req(const char *sock, const char *method, const char *path, const char *body,
		    char *out, size_t outsz)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			 "Connection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s", method, path,
			 body ? strlen(body) : 0, body ? body : "");

	return raw_http(sock, buf, (size_t)n, out, outsz);
}

TEST(server_basic)
{
	struct api_server *s = NULL, *s2 = (struct api_server *)1;
	struct tmp tmp;
	struct stat st;
	char out[4096];
	int fds;

	reset();
	tmp_make(&tmp);
	fds = count_fds();
	CHECK_EQ(api_server_start(&s, tmp.sock, &api), 0);
	CHECK(s != NULL);
	CHECK_EQ(stat(tmp.sock, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);

	CHECK_EQ(http_req(tmp.sock, "GET", "/", NULL, out, sizeof(out)), 200);
	CHECK(strstr(out, "Content-Type: application/json") != NULL);
	CHECK(strstr(out, "\"state\":\"Not started\"") != NULL);
	CHECK_EQ(http_req(tmp.sock, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}",
			  out, sizeof(out)), 204);
	CHECK_EQ(mock.calls[OP_START], 1);
	CHECK_EQ(http_req(tmp.sock, "DELETE", "/vm", NULL, out, sizeof(out)), 405);
	CHECK(strstr(out, "Allow: PATCH") != NULL);
	CHECK_EQ(http_req(tmp.sock, "GET", "/nope", NULL, out, sizeof(out)), 404);
	CHECK(strstr(out, "{\"fault_message\":") != NULL);
	CHECK_EQ(http_req(tmp.sock, "GET", "/?a=b", NULL, out, sizeof(out)), 404);
	CHECK_EQ(http_req(tmp.sock, "PUT", "/actions", "{", out, sizeof(out)), 400);
	const char *ct = "PUT /actions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}";
	CHECK_EQ(raw_http(tmp.sock, ct, strlen(ct), out, sizeof(out)), 415);

	/* A live socket is not taken over. */
	CHECK_EQ(api_server_start(&s2, tmp.sock, &api), -EADDRINUSE);
	CHECK(s2 == NULL);
	CHECK_EQ(http_req(tmp.sock, "GET", "/", NULL, out, sizeof(out)), 200);

	api_server_stop(s);
	CHECK(access(tmp.sock, F_OK) < 0 && errno == ENOENT);
	CHECK_EQ(count_fds(), fds);
	api_server_stop(NULL);
	tmp_remove(&tmp);
	reset();
}

TEST(server_oversize)
{
	struct api_server *s = NULL;
	static char data[3 * API_MAX_BODY];
	struct tmp tmp;
	char out[4096];
	size_t len = 2 * API_MAX_BODY, hl;

	reset();
	tmp_make(&tmp);
	CHECK_EQ(api_server_start(&s, tmp.sock, &api), 0);
	/* Announced by Content-Length. */
	hl = (size_t)snprintf(data, sizeof(data), "PUT /actions HTTP/1.1\r\nHost: x\r\n"
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", len);
	memset(data + hl, ' ', len);
	CHECK_EQ(raw_http(tmp.sock, data, hl + len, out, sizeof(out)), 413);
	CHECK(strstr(out, "larger than 16384") != NULL);
	/* Chunked: found out while reading. */
	hl = (size_t)snprintf(data, sizeof(data), "PUT /actions HTTP/1.1\r\nHost: x\r\n"
			      "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		hl += (size_t)snprintf(data + hl, sizeof(data) - hl, "1000\r\n");
		memset(data + hl, ' ', 0x1000);
		hl += 0x1000;
		hl += (size_t)snprintf(data + hl, sizeof(data) - hl, "\r\n");
	}
	hl += (size_t)snprintf(data + hl, sizeof(data) - hl, "0\r\n\r\n");
	CHECK_EQ(raw_http(tmp.sock, data, hl, out, sizeof(out)), 413);
	CHECK_EQ(total_calls(), 0);
	/* And the server still answers. */
	CHECK_EQ(http_req(tmp.sock, "GET", "/", NULL, out, sizeof(out)), 200);
	api_server_stop(s);
	tmp_remove(&tmp);
	reset();
}

TEST(server_stale_and_errors)
{
	struct api_server *s = NULL, *s2 = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tmp tmp;
	char out[4096], other[160], longp[200];
	int fd;

	reset();
	tmp_make(&tmp);
	/* A socket file nobody listens on is replaced. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp.sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CHECK_EQ(api_server_start(&s, tmp.sock, &api), 0);
	CHECK_EQ(http_req(tmp.sock, "GET", "/", NULL, out, sizeof(out)), 200);

	/* Two servers in one process, each with its own backend context. */
	struct mock mock2 = { .state = API_STATE_PAUSED };
	struct api api2 = { &mock_ops, &mock2, "second", 0 };
	snprintf(other, sizeof(other), "%s/two.sock", tmp.dir);
	CHECK_EQ(api_server_start(&s2, other, &api2), 0);
	CHECK_EQ(http_req(other, "GET", "/", NULL, out, sizeof(out)), 200);
	CHECK(strstr(out, "\"id\":\"second\",\"state\":\"Paused\"") != NULL);
	CHECK_EQ(http_req(tmp.sock, "GET", "/", NULL, out, sizeof(out)), 200);
	CHECK(strstr(out, "\"id\":\"vm-test\",\"state\":\"Not started\"") != NULL);
	api_server_stop(s2);
	CHECK(access(other, F_OK) < 0);
	api_server_stop(s);

	/* A regular file is never removed; a path too long for sun_path fails. */
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	s = (struct api_server *)1;
	CHECK_EQ(api_server_start(&s, other, &api), -EEXIST);
	CHECK(s == NULL);
	CHECK_EQ(access(other, F_OK), 0);
	unlink(other);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_EQ(api_server_start(&s, longp, &api), -ENAMETOOLONG);
	snprintf(other, sizeof(other), "%s/no/such/dir.sock", tmp.dir);
	CHECK_EQ(api_server_start(&s, other, &api), -ENOENT);
	tmp_remove(&tmp);
	reset();
}

TEST_MAIN(T(root), T(boot_source), T(boot_source_errors), T(machine_config_get),
	  T(machine_config_put), T(machine_config_patch), T(drives), T(network_interfaces),
	  T(actions), T(vm_state), T(vm_config_and_stats), T(snapshot_create),
	  T(snapshot_create_errors), T(snapshot_load), T(snapshot_load_errors), T(not_found), T(method_not_allowed),
	  T(oversize), T(content_type), T(malformed_body), T(nul_in_key), T(backend_errors), T(server_basic),
	  T(server_oversize), T(server_stale_and_errors))
