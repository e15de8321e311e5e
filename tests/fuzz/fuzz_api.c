/*
 * fuzz_api.c: libFuzzer harness for api_handle (src/api/api.c), the
 * management API's request handling, against a mock backend.
 *
 * Owns: a mock backend whose ops succeed or fail (with an errno and a
 * message chosen by the input) and whose GET ops fill their object.
 * Does not own the HTTP server (http.c); api_handle is what sees the
 * client's bytes after it.
 * Threads: libFuzzer's one.
 *
 * Input: "METHOD\nPATH\nCONTENT-TYPE\nBODY". The first byte of the body
 * part, when the input has fewer than three '\n', is whatever is left; an
 * empty CONTENT-TYPE line means no Content-Type. The last byte of the input
 * picks the mock's behaviour (success, a 400 errno, a 500 errno).
 *
 * Checked: the status is one api.h documents (200, 204, 400, 404, 405,
 * 413, 415, 500); 204 has no body and every other status has one that
 * json-c parses as an object (errors: exactly {"fault_message": string});
 * 405 and only 405 sets allow; the backend's strings arrive NUL-terminated
 * within their buffers. ASan/UBSan catch the rest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/api.h"
#include "fuzz.h"

struct mock {
	int ret;
};

static int mock_ret(void *c, char *err)
{
	struct mock *m = c;

	if (m->ret)
		snprintf(err, API_ERR_MAX, "mock \"failure\" \\ %d", m->ret);
	return m->ret;
}

static enum api_state m_state(void *c)
{
	return (enum api_state)((unsigned)((struct mock *)c)->ret % 3);
}

static int m_get_machine(void *c, struct api_machine *m)
{
	m->vcpu_count = 2;
	m->mem_size_mib = 256;
	return ((struct mock *)c)->ret == -EIO ? -EIO : 0;
}

static void check_str(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

static int m_set_boot(void *c, const struct api_boot *b, char *err)
{
	check_str(b->kernel, sizeof(b->kernel));
	check_str(b->initrd, sizeof(b->initrd));
	check_str(b->args, sizeof(b->args));
	FUZZ_CHECK(b->kernel[0] != '\0');
	return mock_ret(c, err);
}

static int m_set_machine(void *c, const struct api_machine *m, char *err)
{
	FUZZ_CHECK(m->vcpu_count >= 1 && m->vcpu_count <= 254);
	FUZZ_CHECK(m->mem_size_mib >= 2);
	return mock_ret(c, err);
}

static int m_set_drive(void *c, const struct api_drive *d, char *err)
{
	check_str(d->id, sizeof(d->id));
	check_str(d->path, sizeof(d->path));
	FUZZ_CHECK(d->id[0] != '\0' && d->path[0] != '\0');
	return mock_ret(c, err);
}

static int m_set_net(void *c, const struct api_net *n, char *err)
{
	check_str(n->id, sizeof(n->id));
	check_str(n->host_dev, sizeof(n->host_dev));
	FUZZ_CHECK(!n->has_mac || !(n->mac[0] & 1));
	return mock_ret(c, err);
}

static int m_op(void *c, char *err) { return mock_ret(c, err); }

static int m_obj(void *c, struct json_object *o, char *err)
{
	json_object_object_add(o, "n", json_object_new_int(1));
	return mock_ret(c, err);
}

static int m_snap_create(void *c, const struct api_snapshot_create *sc, char *err)
{
	check_str(sc->snapshot_path, sizeof(sc->snapshot_path));
	check_str(sc->mem_file_path, sizeof(sc->mem_file_path));
	FUZZ_CHECK(sc->snapshot_path[0] && sc->mem_file_path[0]);
	FUZZ_CHECK(sc->diff == 0 || sc->diff == 1);
	/* api.c lets a create through only while the VM is Paused. */
	FUZZ_CHECK(m_state(c) == API_STATE_PAUSED);
	return mock_ret(c, err);
}

static int m_snap_load(void *c, const struct api_snapshot_load *sl, char *err)
{
	check_str(sl->snapshot_path, sizeof(sl->snapshot_path));
	check_str(sl->mem_file_path, sizeof(sl->mem_file_path));
	FUZZ_CHECK(sl->snapshot_path[0] && sl->mem_file_path[0]);
	/* ... and a load only before the start. */
	FUZZ_CHECK(m_state(c) == API_STATE_NOT_STARTED);
	return mock_ret(c, err);
}

static const struct api_ops ops = {
	.state = m_state, .get_machine = m_get_machine, .set_boot = m_set_boot,
	.set_machine = m_set_machine, .set_drive = m_set_drive, .set_net = m_set_net,
	.start = m_op, .ctrl_alt_del = m_op, .pause = m_op, .resume = m_op,
	.vm_config = m_obj, .stats = m_obj, .snapshot_create = m_snap_create,
	.snapshot_load = m_snap_load,
};

/* The next '\n'-terminated part as a fresh C string; the rest stays in p, n. */
static char *take_line(const uint8_t **p, size_t *n)
{
	const uint8_t *nl = memchr(*p, '\n', *n);
	size_t len = nl ? (size_t)(nl - *p) : 0;
	char *s;

	if (!nl)
		return NULL;
	s = malloc(len + 1);
	FUZZ_SETUP(s != NULL);
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += len + 1;
	*n -= len + 1;
	return s;
}

static bool status_ok(int st)
{
	static const int valid[] = { 200, 204, 400, 404, 405, 413, 415, 500 };

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (st == valid[i])
			return true;
	return false;
}

static void check_response(const struct api_response *r)
{
	struct json_object *o, *msg;

	FUZZ_CHECK(status_ok(r->status));
	FUZZ_CHECK((r->allow != NULL) == (r->status == 405));
	if (r->status == 204) {
		FUZZ_CHECK(r->body == NULL);
		return;
	}
	FUZZ_CHECK(r->body != NULL);
	o = json_tokener_parse(r->body);
	FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
	if (r->status >= 400) {
		FUZZ_CHECK(json_object_object_length(o) == 1);
		FUZZ_CHECK(json_object_object_get_ex(o, "fault_message", &msg));
		FUZZ_CHECK(json_object_is_type(msg, json_type_string));
	}
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int rets[] = { 0, 0, 0, -EINVAL, -EBUSY, -ENOENT, -EIO, -ENOMEM };
	struct mock m = { 0 };
	struct api a = { &ops, &m, "fuzz", 0 };
	struct api_response r;
	const uint8_t *p = data;
	size_t n = size;
	char *method, *path, *ct;
	char *body;

	if (size)
		m.ret = rets[data[size - 1] % (sizeof(rets) / sizeof(rets[0]))];
	method = take_line(&p, &n);
	path = take_line(&p, &n);
	ct = take_line(&p, &n);
	/* An exact-size copy so ASan sees any read past the body's end. */
	body = n ? malloc(n) : NULL;
	FUZZ_SETUP(!n || body);
	if (n)
		memcpy(body, p, n);
	api_handle(&a, method ? method : "GET", path ? path : "/",
		   ct && ct[0] ? ct : NULL, body, n, &r);
	check_response(&r);
	free(r.body);
	free(body);
	free(method);
	free(path);
	free(ct);
	return 0;
}
