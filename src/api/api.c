/*
 * api.c: api_handle(), vmon's management API without the transport (see
 * api.h for the endpoints and the contract).
 *
 * Owns: routing a method and path to an endpoint, the Content-Type and
 * body-size checks, parsing the body with json-c (strict, valid UTF-8, one
 * JSON object, nothing after it), checking every field against a per-endpoint
 * table (unknown, missing, wrongly typed fields), checking values, filling
 * the api_* structs for the backend, mapping backend errors to 400/500 and
 * building every response body with json-c.
 * Does not own any state: every call is independent, so any thread may call
 * it; the backend's ops do their own locking.
 */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "config.h"
#include "version.h"
#include "vmconfig.h"

#define API_APP_NAME "vmon"

/* ---- responses */

static char *json_dup(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? strdup(s) : NULL;
}

static void reply_obj(struct api_response *r, int status, struct json_object *o)
{
	r->status = status;
	r->body = o ? json_dup(o) : NULL;
	if (o && !r->body)
		r->status = 500;
}

static void reply_none(struct api_response *r)
{
	r->status = 204;
	r->body = NULL;
}

__attribute__((format(printf, 3, 4)))
static void fault(struct api_response *r, int status, const char *fmt, ...)
{
	char msg[API_ERR_MAX + 128];
	struct json_object *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->body = NULL;
	o = json_object_new_object();
	if (!o)
		return;
	if (json_object_object_add(o, "fault_message", json_object_new_string(msg)) == 0)
		r->body = json_dup(o);
	json_object_put(o);
}

static bool errno_is_client(int e)
{
	switch (e) {
	case EINVAL: case EBUSY: case ENOSPC: case EEXIST:
	case ENOTSUP: case ENOENT: case EPERM: case EACCES:
		return true;
	default:
		return false;
	}
}

/* Map a backend op's result: 0 -> 204, else 400/500 with its reason. */
static void backend_result(struct api_response *r, int ret, char *err)
{
	int e = ret < 0 ? -ret : EIO;

	if (ret == 0) {
		reply_none(r);
		return;
	}
	err[API_ERR_MAX - 1] = '\0';
	fault(r, errno_is_client(e) ? 400 : 500, "%s", err[0] ? err : strerror(e));
}

#define CALL_OP(r, a, op, ...)                                               \
	do {                                                                 \
		char err_[API_ERR_MAX] = "";                                 \
		int ret_ = (a)->ops->op ? (a)->ops->op((a)->ctx, __VA_ARGS__, err_) \
					: -ENOTSUP;                          \
		if (!(a)->ops->op)                                           \
			snprintf(err_, sizeof(err_), "%s is not supported", #op); \
		backend_result(r, ret_, err_);                               \
	} while (0)

/* ---- body parsing and field tables */

enum ftype { F_STR, F_INT, F_BOOL };

struct field {
	const char *name;
	enum ftype type;
	bool required;
};

static const char *ftype_name(enum ftype t)
{
	return t == F_STR ? "a string" : t == F_INT ? "an integer" : "a boolean";
}

static bool ftype_ok(struct json_object *v, enum ftype t)
{
	switch (t) {
	case F_STR:
		return json_object_is_type(v, json_type_string);
	case F_INT:
		return json_object_is_type(v, json_type_int);
	case F_BOOL:
		return json_object_is_type(v, json_type_boolean);
	}
	return false;
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * 1 when some object key in text (valid JSON: json-c parsed it) holds the
 * escape \u0000. json-c keeps keys as C strings, so "vcpu_count\u0000x"
 * would arrive as "vcpu_count": a key is refused rather than truncated
 * (string values keep their length; get_str checks those).
 */
static bool has_nul_key(const char *text, size_t len)
{
	bool in_str = false, nul = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!in_str) {
			if (c == '"') {
				in_str = true;
				nul = false;
			}
			continue;
		}
		if (c == '\\') {
			/* RFC 8259 §7: \uXXXX, hex digits in either case; "0000" has no case. */
			if (i + 5 < len && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4))
				nul = true;
			i++; /* the escaped character (a 'u' leaves only hex digits behind) */
			continue;
		}
		if (c != '"')
			continue;
		in_str = false;
		if (!nul)
			continue;
		for (i++; i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
				      text[i] == '\n'); i++)
			;
		if (i < len && text[i] == ':')
			return true;
		i--; /* the loop's i++ must see this character again */
	}
	return false;
}

/* Parse the body as exactly one JSON object (config.c's strict parser). NULL after a 400/500. */
static struct json_object *parse_object(const char *body, size_t len, struct api_response *r)
{
	char err[API_ERR_MAX];
	struct json_object *o;
	int ret;

	if (!body || len == 0) {
		fault(r, 400, "the request needs a JSON body");
		return NULL;
	}
	o = config_json_object(body, len, "the body", err, sizeof(err), &ret);
	if (!o) {
		fault(r, ret == -ENOMEM ? 500 : 400, "%s", err);
		return NULL;
	}
	if (has_nul_key(body, len)) {
		json_object_put(o);
		fault(r, 400, "a field name holds a NUL character (\\u0000)");
		return NULL;
	}
	return o;
}

/*
 * Every member of o must be in fields[] with the right type (null counts as
 * absent), and every required field present. False after a 400.
 */
static bool check_fields(struct json_object *o, const struct field *fields, size_t n,
			 struct api_response *r)
{
	char buf[CONFIG_SHOWN_MAX + 4];

	json_object_object_foreach(o, key, val) {
		size_t i;

		for (i = 0; i < n && strcmp(key, fields[i].name) != 0; i++)
			;
		if (i == n) {
			fault(r, 400, "unknown field '%s'", config_shown(key, buf));
			return false;
		}
		if (val && !ftype_ok(val, fields[i].type)) {
			fault(r, 400, "field '%s' must be %s", key, ftype_name(fields[i].type));
			return false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && !json_object_object_get(o, fields[i].name)) {
			fault(r, 400, "missing required field '%s'", fields[i].name);
			return false;
		}
	}
	return true;
}

/* A present, non-null member, or NULL. */
static struct json_object *member(struct json_object *o, const char *name)
{
	return json_object_object_get(o, name);
}

/*
 * Copy string field name into dst (size bytes): 1..size-1 bytes, no NUL
 * inside. Absent: dst untouched, returns 0. Bad: 400, returns -1.
 */
static int get_str(struct json_object *o, const char *name, char *dst, size_t size,
		   struct api_response *r)
{
	struct json_object *v = member(o, name);
	const char *s;
	size_t n;

	if (!v)
		return 0;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0) {
		fault(r, 400, "'%s' must not be empty", name);
		return -1;
	}
	if (n >= size) {
		fault(r, 400, "'%s' is longer than %zu bytes", name, size - 1);
		return -1;
	}
	if (strlen(s) != n) {
		fault(r, 400, "'%s' contains a NUL character", name);
		return -1;
	}
	memcpy(dst, s, n + 1);
	return 1;
}

static bool get_bool(struct json_object *o, const char *name, bool dflt)
{
	struct json_object *v = member(o, name);

	return v ? json_object_get_boolean(v) : dflt;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= API_ID_MAX)
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * The object's id field (drive_id / iface_id) must be a valid id equal to
 * the one in the path. Copies it into dst (API_ID_MAX bytes).
 */
static bool get_id(struct json_object *o, const char *name, const char *path_id,
		   char *dst, struct api_response *r)
{
	const char *s = json_object_get_string(member(o, name));
	char buf[CONFIG_SHOWN_MAX + 4];

	if (!valid_id(s) || strlen(s) != (size_t)json_object_get_string_len(member(o, name))) {
		fault(r, 400, "'%s' must be 1-%d characters of [A-Za-z0-9_-]", name,
		      API_ID_MAX - 1);
		return false;
	}
	if (strcmp(s, path_id) != 0) {
		fault(r, 400, "'%s' '%s' does not match the id in the path '%s'", name, s,
		      config_shown(path_id, buf));
		return false;
	}
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

/* ---- endpoints */

static const char *state_name(enum api_state s)
{
	switch (s) {
	case API_STATE_NOT_STARTED:
		return "Not started";
	case API_STATE_RUNNING:
		return "Running";
	case API_STATE_PAUSED:
		return "Paused";
	}
	return "Unknown";
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void get_root(const struct api *a, struct api_response *r)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		fault(r, 500, "out of memory");
		return;
	}
	add_str(o, "id", a->id ? a->id : "anonymous-instance");
	add_str(o, "state", state_name(a->ops->state ? a->ops->state(a->ctx)
				       : API_STATE_NOT_STARTED));
	add_str(o, "vmm_version", VMON_VERSION);
	add_str(o, "app_name", API_APP_NAME);
	reply_obj(r, 200, o);
	json_object_put(o);
}

static void put_boot(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = {
		{ "kernel_image_path", F_STR, true },
		{ "boot_args", F_STR, false },
		{ "initrd_path", F_STR, false },
	};
	struct api_boot *b;
	struct json_object *args;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return;
	b = calloc(1, sizeof(*b));
	if (!b) {
		fault(r, 500, "out of memory");
		return;
	}
	if (get_str(o, "kernel_image_path", b->kernel, sizeof(b->kernel), r) < 0 ||
	    get_str(o, "initrd_path", b->initrd, sizeof(b->initrd), r) < 0)
		goto out;
	args = member(o, "boot_args");
	if (args && json_object_get_string_len(args) > 0) {
		if (get_str(o, "boot_args", b->args, sizeof(b->args), r) < 0)
			goto out;
	}
	b->has_args = args != NULL;
	CALL_OP(r, a, set_boot, b);
out:
	free(b);
}

static void get_machine_cfg(const struct api *a, struct api_response *r)
{
	struct api_machine m = { 0 };
	struct json_object *o;
	int ret = a->ops->get_machine ? a->ops->get_machine(a->ctx, &m) : -ENOTSUP;

	if (ret < 0) {
		fault(r, 500, "cannot read the machine configuration: %s", strerror(-ret));
		return;
	}
	o = json_object_new_object();
	if (!o) {
		fault(r, 500, "out of memory");
		return;
	}
	json_object_object_add(o, "vcpu_count", json_object_new_int64(m.vcpu_count));
	json_object_object_add(o, "mem_size_mib", json_object_new_uint64(m.mem_size_mib));
	json_object_object_add(o, "smt", json_object_new_boolean(0));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(0));
	reply_obj(r, 200, o);
	json_object_put(o);
}

/* Overlay o's machine-config fields onto m. False after a 400. */
static bool machine_fields(struct json_object *o, bool put, struct api_machine *m,
			   struct api_response *r)
{
	const struct field f[] = {
		{ "vcpu_count", F_INT, put },
		{ "mem_size_mib", F_INT, put },
		{ "smt", F_BOOL, false },
		{ "track_dirty_pages", F_BOOL, false },
	};
	struct json_object *v;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return false;
	if (get_bool(o, "smt", false)) {
		fault(r, 400, "smt is not supported");
		return false;
	}
	if (get_bool(o, "track_dirty_pages", false)) {
		fault(r, 400, "track_dirty_pages is not supported");
		return false;
	}
	v = member(o, "vcpu_count");
	if (v) {
		int64_t n = json_object_get_int64(v);

		/* The limits are vmconfig.h's; the VMM validates the whole config again. */
		if (n < 1 || n > VM_MAX_CPUS) {
			fault(r, 400, "vcpu_count must be 1-%d", VM_MAX_CPUS);
			return false;
		}
		m->vcpu_count = (unsigned)n;
	}
	v = member(o, "mem_size_mib");
	if (v) {
		int64_t n = json_object_get_int64(v);

		/* Above INT64_MAX json-c keeps a uint64; get_int64 saturates. */
		if (n < (int64_t)(VM_MIN_MEM >> 20)) {
			fault(r, 400, "mem_size_mib must be at least %llu", VM_MIN_MEM >> 20);
			return false;
		}
		m->mem_size_mib = n == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)n;
	}
	return true;
}

static void set_machine_cfg(const struct api *a, struct json_object *o, bool put,
			    struct api_response *r)
{
	struct api_machine m = { 0 };

	if (!put) {
		int ret = a->ops->get_machine ? a->ops->get_machine(a->ctx, &m) : -ENOTSUP;

		if (ret < 0) {
			fault(r, 500, "cannot read the machine configuration: %s",
			      strerror(-ret));
			return;
		}
	}
	if (!machine_fields(o, put, &m, r))
		return;
	CALL_OP(r, a, set_machine, &m);
}

static void put_drive(const struct api *a, const char *id, struct json_object *o,
		      struct api_response *r)
{
	static const struct field f[] = {
		{ "drive_id", F_STR, true },
		{ "path_on_host", F_STR, true },
		{ "is_root_device", F_BOOL, true },
		{ "is_read_only", F_BOOL, false },
		{ "cache_type", F_STR, false },
	};
	struct api_drive *d;
	struct json_object *ct;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return;
	d = calloc(1, sizeof(*d));
	if (!d) {
		fault(r, 500, "out of memory");
		return;
	}
	if (!get_id(o, "drive_id", id, d->id, r) ||
	    get_str(o, "path_on_host", d->path, sizeof(d->path), r) < 0)
		goto out;
	ct = member(o, "cache_type");
	if (ct && strcmp(json_object_get_string(ct), "Writeback") == 0) {
		d->writeback = 1;
	} else if (ct && strcmp(json_object_get_string(ct), "Unsafe") != 0) {
		fault(r, 400, "cache_type must be \"Unsafe\" or \"Writeback\"");
		goto out;
	}
	d->is_root = get_bool(o, "is_root_device", false);
	d->read_only = get_bool(o, "is_read_only", false);
	CALL_OP(r, a, set_drive, d);
out:
	free(d);
}

static void put_net(const struct api *a, const char *id, struct json_object *o,
		    struct api_response *r)
{
	static const struct field f[] = {
		{ "iface_id", F_STR, true },
		{ "host_dev_name", F_STR, true },
		{ "guest_mac", F_STR, false },
	};
	struct api_net n = { 0 };
	struct json_object *mac;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r) ||
	    !get_id(o, "iface_id", id, n.id, r) ||
	    get_str(o, "host_dev_name", n.host_dev, sizeof(n.host_dev), r) < 0)
		return;
	mac = member(o, "guest_mac");
	if (mac) {
		if (config_parse_mac(json_object_get_string(mac), n.mac) ||
		    json_object_get_string_len(mac) != 17) {
			fault(r, 400, "guest_mac must be a unicast MAC address xx:xx:xx:xx:xx:xx");
			return;
		}
		n.has_mac = 1;
	}
	CALL_OP(r, a, set_net, &n);
}

static void no_arg_op(const struct api *a, int (*op)(void *, char *), const char *what,
		      struct api_response *r)
{
	char err[API_ERR_MAX] = "";
	int ret = -ENOTSUP;

	if (op)
		ret = op(a->ctx, err);
	else
		snprintf(err, sizeof(err), "%s is not supported", what);
	backend_result(r, ret, err);
}

static void put_action(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = { { "action_type", F_STR, true } };
	const char *t;
	char buf[CONFIG_SHOWN_MAX + 4];

	if (!check_fields(o, f, 1, r))
		return;
	t = json_object_get_string(member(o, "action_type"));
	if (strcmp(t, "InstanceStart") == 0)
		no_arg_op(a, a->ops->start, "InstanceStart", r);
	else if (strcmp(t, "SendCtrlAltDel") == 0)
		no_arg_op(a, a->ops->ctrl_alt_del, "SendCtrlAltDel", r);
	else if (strcmp(t, "FlushMetrics") == 0)
		reply_none(r);
	else
		fault(r, 400, "unknown action_type '%s'", config_shown(t, buf));
}

static void patch_vm(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = { { "state", F_STR, true } };
	const char *s;
	char buf[CONFIG_SHOWN_MAX + 4];

	if (!check_fields(o, f, 1, r))
		return;
	s = json_object_get_string(member(o, "state"));
	if (strcmp(s, "Paused") == 0)
		no_arg_op(a, a->ops->pause, "Paused", r);
	else if (strcmp(s, "Resumed") == 0)
		no_arg_op(a, a->ops->resume, "Resumed", r);
	else
		fault(r, 400, "state must be \"Paused\" or \"Resumed\", not '%s'", config_shown(s, buf));
}

static void get_json(const struct api *a,
		     int (*op)(void *, struct json_object *, char *), const char *what,
		     struct api_response *r)
{
	char err[API_ERR_MAX] = "";
	struct json_object *o = json_object_new_object();
	int ret = -ENOTSUP;

	if (!o) {
		fault(r, 500, "out of memory");
		return;
	}
	if (op)
		ret = op(a->ctx, o, err);
	else
		snprintf(err, sizeof(err), "%s is not supported", what);
	if (ret == 0)
		reply_obj(r, 200, o);
	else
		backend_result(r, ret, err);
	json_object_put(o);
}

static enum api_state current_state(const struct api *a)
{
	return a->ops->state ? a->ops->state(a->ctx) : API_STATE_NOT_STARTED;
}

static void put_snapshot_create(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = {
		{ "snapshot_type", F_STR, false },
		{ "snapshot_path", F_STR, true },
		{ "mem_file_path", F_STR, true },
	};
	struct api_snapshot_create *c;
	struct json_object *t;
	enum api_state st;
	char buf[CONFIG_SHOWN_MAX + 4];

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return;
	t = member(o, "snapshot_type");
	if (t && strcmp(json_object_get_string(t), "Full") && strcmp(json_object_get_string(t), "Diff")) {
		fault(r, 400, "snapshot_type must be \"Full\" or \"Diff\", not '%s'",
		      config_shown(json_object_get_string(t), buf));
		return;
	}
	/* Firecracker's rule; the VMM checks again on its thread (the state may move meanwhile). */
	st = current_state(a);
	if (st != API_STATE_PAUSED) {
		fault(r, 400, "cannot create a snapshot: the VM is %s, it must be Paused first "
		      "(PATCH /vm {\"state\": \"Paused\"})", state_name(st));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fault(r, 500, "out of memory");
		return;
	}
	c->diff = t && !strcmp(json_object_get_string(t), "Diff");
	if (get_str(o, "snapshot_path", c->snapshot_path, sizeof(c->snapshot_path), r) >= 0 &&
	    get_str(o, "mem_file_path", c->mem_file_path, sizeof(c->mem_file_path), r) >= 0)
		CALL_OP(r, a, snapshot_create, c);
	free(c);
}

static void put_snapshot_load(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = {
		{ "snapshot_path", F_STR, true },
		{ "mem_file_path", F_STR, true },
		{ "resume_vm", F_BOOL, false },
		{ "allow_rollback", F_BOOL, false },
	};
	struct api_snapshot_load *l;
	enum api_state st;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return;
	st = current_state(a);
	if (st != API_STATE_NOT_STARTED) {
		fault(r, 400, "cannot load a snapshot: the VM is %s; a snapshot loads only into a "
		      "process whose VM has not started", state_name(st));
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		fault(r, 500, "out of memory");
		return;
	}
	l->resume_vm = get_bool(o, "resume_vm", false);
	l->allow_rollback = get_bool(o, "allow_rollback", false);
	if (get_str(o, "snapshot_path", l->snapshot_path, sizeof(l->snapshot_path), r) >= 0 &&
	    get_str(o, "mem_file_path", l->mem_file_path, sizeof(l->mem_file_path), r) >= 0)
		CALL_OP(r, a, snapshot_load, l);
	free(l);
}

static void put_migrate(const struct api *a, struct json_object *o, struct api_response *r)
{
	static const struct field f[] = {
		{ "to", F_STR, true },
	};
	char err[API_ERR_MAX] = "";
	struct api_migrate *m;
	struct json_object *reply;
	enum api_state st;
	int ret;

	if (!check_fields(o, f, sizeof(f) / sizeof(f[0]), r))
		return;
	st = current_state(a);
	if (st == API_STATE_NOT_STARTED) {
		fault(r, 400, "cannot migrate: the VM has not started");
		return;
	}
	m = calloc(1, sizeof(*m));
	reply = json_object_new_object();
	if (!m || !reply) {
		free(m);
		json_object_put(reply);
		fault(r, 500, "out of memory");
		return;
	}
	if (get_str(o, "to", m->to, sizeof(m->to), r) >= 0) {
		ret = a->ops->migrate ? a->ops->migrate(a->ctx, m, reply, err) : -ENOTSUP;
		if (!a->ops->migrate)
			snprintf(err, sizeof(err), "migrate is not supported");
		if (ret == 0)
			reply_obj(r, 200, reply);
		else
			backend_result(r, ret, err);
	}
	json_object_put(reply);
	free(m);
}

/* ---- routing */

enum route {
	R_NONE, R_ROOT, R_BOOT, R_MACHINE, R_DRIVE, R_NET, R_ACTIONS, R_VM,
	R_VM_CONFIG, R_STATS, R_SNAP_CREATE, R_SNAP_LOAD, R_MIGRATE,
};

struct route_def {
	const char *path;
	enum route route;
	const char *allow;
};

static const struct route_def routes[] = {
	{ "/", R_ROOT, "GET" },
	{ "/boot-source", R_BOOT, "PUT" },
	{ "/machine-config", R_MACHINE, "GET, PUT, PATCH" },
	{ "/drives/", R_DRIVE, "PUT" },
	{ "/network-interfaces/", R_NET, "PUT" },
	{ "/actions", R_ACTIONS, "PUT" },
	{ "/vm", R_VM, "PATCH" },
	{ "/vm/config", R_VM_CONFIG, "GET" },
	{ "/stats", R_STATS, "GET" },
	{ "/snapshot/create", R_SNAP_CREATE, "PUT" },
	{ "/snapshot/load", R_SNAP_LOAD, "PUT" },
	{ "/migrate", R_MIGRATE, "PUT" },
};

/* Find the route; for /drives/{id} and /network-interfaces/{id}, *id. */
static const struct route_def *find_route(const char *path, const char **id)
{
	*id = NULL;
	if (strchr(path, '?'))
		return NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route_def *d = &routes[i];
		size_t n = strlen(d->path);

		if (d->route != R_DRIVE && d->route != R_NET) {
			if (strcmp(path, d->path) == 0)
				return d;
			continue;
		}
		if (strncmp(path, d->path, n) == 0 && path[n] && !strchr(path + n, '/')) {
			*id = path + n;
			return d;
		}
	}
	return NULL;
}

static bool method_allowed(const char *method, const char *allow)
{
	size_t n = strlen(method);

	for (const char *p = allow; *p; p += strspn(p, ", ")) {
		if (strncmp(p, method, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

static void dispatch_body(const struct api *a, const struct route_def *d, const char *method,
			  const char *id, struct json_object *o, struct api_response *r)
{
	switch (d->route) {
	case R_BOOT:
		put_boot(a, o, r);
		break;
	case R_MACHINE:
		set_machine_cfg(a, o, strcmp(method, "PUT") == 0, r);
		break;
	case R_DRIVE:
		put_drive(a, id, o, r);
		break;
	case R_NET:
		put_net(a, id, o, r);
		break;
	case R_ACTIONS:
		put_action(a, o, r);
		break;
	case R_VM:
		patch_vm(a, o, r);
		break;
	case R_SNAP_CREATE:
		put_snapshot_create(a, o, r);
		break;
	case R_SNAP_LOAD:
		put_snapshot_load(a, o, r);
		break;
	case R_MIGRATE:
		put_migrate(a, o, r);
		break;
	default:
		fault(r, 500, "internal routing error");
		break;
	}
}

static void dispatch(const struct api *a, const struct route_def *d, const char *method,
		     const char *id, const char *body, size_t len, struct api_response *r)
{
	struct json_object *o;
	char buf[CONFIG_SHOWN_MAX + 4];

	if (strcmp(method, "GET") == 0) {
		if (d->route == R_ROOT)
			get_root(a, r);
		else if (d->route == R_MACHINE)
			get_machine_cfg(a, r);
		else if (d->route == R_VM_CONFIG)
			get_json(a, a->ops->vm_config, "GET /vm/config", r);
		else
			get_json(a, a->ops->stats, "GET /stats", r);
		return;
	}
	if (id && !valid_id(id)) {
		fault(r, 400, "invalid id '%s' in the path: want 1-%d characters of [A-Za-z0-9_-]",
		      config_shown(id, buf), API_ID_MAX - 1);
		return;
	}
	o = parse_object(body, len, r);
	if (!o)
		return;
	dispatch_body(a, d, method, id, o, r);
	json_object_put(o);
}

void api_handle(const struct api *a, const char *method, const char *path,
		const char *content_type, const char *body, size_t len,
		struct api_response *resp)
{
	const struct route_def *d;
	const char *id;
	char buf[CONFIG_SHOWN_MAX + 4];

	resp->status = 500;
	resp->body = NULL;
	resp->allow = NULL;
	if (!method || !path) {
		fault(resp, 400, "no method or path");
		return;
	}
	if (len > API_MAX_BODY) {
		fault(resp, 413, "the body is larger than %d bytes", API_MAX_BODY);
		return;
	}
	d = find_route(path, &id);
	if (!d) {
		fault(resp, 404, "unknown path '%s'", config_shown(path, buf));
		return;
	}
	if (!method_allowed(method, d->allow)) {
		fault(resp, 405, "method %s is not allowed on %s (allowed: %s)",
		      config_shown(method, buf), d->path, d->allow);
		resp->allow = d->allow;
		return;
	}
	if (len > 0 && content_type && !is_json_type(content_type)) {
		fault(resp, 415, "Content-Type must be application/json");
		return;
	}
	dispatch(a, d, method, id, body, len, resp);
}
