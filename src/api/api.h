/*
 * api.h: vmon's management API, the commonly used subset of Firecracker's
 * HTTP API plus vmon's own GET /stats.
 *
 * Two layers:
 *  - api_handle(): pure request handling. Method, path and body in; status
 *    and JSON body out. It parses and validates JSON (json-c), rejects
 *    unknown fields and bad values, and calls the backend's ops. No sockets,
 *    no threads: unit tests and the fuzzer drive it directly.
 *  - api_server_*(): the HTTP/1.1 server (libmicrohttpd) on a Unix socket.
 *    It collects the body (at most API_MAX_BODY bytes, else 413) and calls
 *    api_handle() from its own thread.
 *
 * The backend (struct api_ops) is implemented by the VM process
 * (src/api/vmm.c) and by mocks in the tests. Ops are called from the
 * server's thread at any time. The VM process's ops only post a struct
 * vm_action (action.h) to the VMM thread and wait for its reply, so they
 * may block while the VMM thread is busy (creating the VM, pausing it).
 *
 * Endpoints (Firecracker names and JSON fields):
 *   GET   /                       {"id","state","vmm_version","app_name"}
 *   PUT   /boot-source            {"kernel_image_path","boot_args"?,"initrd_path"?}
 *   GET   /machine-config         {"vcpu_count","mem_size_mib","smt":false,"track_dirty_pages":false}
 *   PUT   /machine-config         {"vcpu_count","mem_size_mib","smt"?,"track_dirty_pages"?}
 *   PATCH /machine-config         same fields, each optional
 *   PUT   /drives/{id}            {"drive_id","path_on_host","is_root_device","is_read_only"?,
 *                                  "cache_type"?: "Unsafe"|"Writeback"}
 *   PUT   /network-interfaces/{id} {"iface_id","host_dev_name","guest_mac"?}
 *   PUT   /actions                {"action_type": "InstanceStart"|"SendCtrlAltDel"|"FlushMetrics"}
 *   PATCH /vm                     {"state": "Paused"|"Resumed"}
 *   GET   /vm/config              the whole configuration (Firecracker's name)
 *   GET   /stats                  vmon's counters (backend-defined JSON object)
 *   PUT   /snapshot/create        {"snapshot_type"?: "Full"|"Diff" (default Full),
 *                                  "snapshot_path", "mem_file_path"}; the VM must be
 *                                  Paused (else 400, the backend never called)
 *   PUT   /snapshot/load          {"snapshot_path", "mem_file_path", "resume_vm"?: bool,
 *                                  "allow_rollback"?: bool (vmon's own: restore a
 *                                  generation older than its lineage's newest, audited)};
 *                                  only before the VM started (else 400)
 * Success: 204 with no body, or 200 with a JSON body for GETs.
 * Errors: a JSON body {"fault_message": "..."} and
 *   400 malformed JSON, wrong JSON types, unknown fields, bad values, or a
 *       request the VM's state does not allow (as Firecracker does);
 *   404 unknown path; 405 known path, wrong method (with an Allow header);
 *   413 body over API_MAX_BODY; 415 a body whose Content-Type is set and
 *   is not application/json; 500 the backend failed for another reason.
 */
#ifndef VMON_API_H
#define VMON_API_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define API_MAX_BODY   (16 * 1024)
#define API_ID_MAX     64      /* drive_id, iface_id: [A-Za-z0-9_-]{1,63} */
#define API_PATH_MAX   4096
#define API_IFNAME_MAX 16      /* IFNAMSIZ */
#define API_ERR_MAX    256

enum api_state {
	API_STATE_NOT_STARTED, /* "Not started": configurable */
	API_STATE_RUNNING,     /* "Running" */
	API_STATE_PAUSED,      /* "Paused" */
};

struct api_machine {
	unsigned vcpu_count;   /* 1-254 */
	uint64_t mem_size_mib; /* >= 2 */
};

struct api_boot {
	char kernel[API_PATH_MAX];
	char initrd[API_PATH_MAX]; /* "" when none */
	char args[4096];           /* "" when not given: the backend's default applies */
	int has_args;
};

struct api_drive {
	char id[API_ID_MAX];
	char path[API_PATH_MAX];
	int is_root;           /* backend appends root=/dev/vdX */
	int read_only;
	int writeback;         /* cache_type "Writeback": 1; "Unsafe" (default): 0.
				  vmon honours FLUSH either way */
};

struct api_net {
	char id[API_ID_MAX];
	char host_dev[API_IFNAME_MAX];
	uint8_t mac[6];
	int has_mac;
};

struct api_snapshot_create {
	int diff;                          /* snapshot_type "Diff" */
	char snapshot_path[API_PATH_MAX];  /* the state file */
	char mem_file_path[API_PATH_MAX];  /* the memory file */
};

/* PUT /migrate (vmon's extension): move the running VM to a target process. */
struct api_migrate {
	char to[API_PATH_MAX];             /* "unix:PATH" */
};

struct api_snapshot_load {
	char snapshot_path[API_PATH_MAX];
	char mem_file_path[API_PATH_MAX];
	int resume_vm;                     /* run it at once; else it stays Paused */
	int allow_rollback;                /* vmon's extension (snapshot/lineage.h) */
};

/*
 * The backend. Every op returns 0 or a negative errno and, on error, writes
 * a one-line reason into err (API_ERR_MAX bytes) that becomes the
 * fault_message. Mapping: -EINVAL, -EBUSY, -ENOSPC, -EEXIST, -ENOTSUP,
 * -ENOENT, -EPERM, -EACCES -> 400; anything else -> 500.
 */
struct api_ops {
	enum api_state (*state)(void *ctx);
	int (*get_machine)(void *ctx, struct api_machine *m);
	int (*set_boot)(void *ctx, const struct api_boot *b, char *err);
	int (*set_machine)(void *ctx, const struct api_machine *m, char *err);
	int (*set_drive)(void *ctx, const struct api_drive *d, char *err);
	int (*set_net)(void *ctx, const struct api_net *n, char *err);
	int (*start)(void *ctx, char *err);
	int (*ctrl_alt_del)(void *ctx, char *err);
	int (*pause)(void *ctx, char *err);
	int (*resume)(void *ctx, char *err);
	/* Fill obj (an empty json object) with the whole configuration / the counters. */
	int (*vm_config)(void *ctx, struct json_object *obj, char *err);
	int (*stats)(void *ctx, struct json_object *obj, char *err);
	int (*snapshot_create)(void *ctx, const struct api_snapshot_create *s, char *err);
	int (*snapshot_load)(void *ctx, const struct api_snapshot_load *s, char *err);
	/* 0 once the target took the VM (reply filled: downtime_ms, bytes, ...); the VM then stops. */
	int (*migrate)(void *ctx, const struct api_migrate *m, struct json_object *reply, char *err);
};

struct api {
	const struct api_ops *ops;
	void *ctx;
	const char *id;        /* instance id reported by GET / */
	int seccomp;           /* the server's thread runs under the API filter (sandbox/seccomp.h) */
};

struct api_response {
	int status;            /* HTTP status */
	char *body;            /* malloc'ed JSON text, or NULL for no body */
	const char *allow;     /* for 405: the methods the path accepts, else NULL */
};

/*
 * Handle one request. method: "GET", "PUT", "PATCH", ...; path: the URL
 * path (no query string handling: a '?' makes it unknown); body/len may be
 * NULL/0; content_type may be NULL. Always fills resp (status and body);
 * the caller frees resp->body. Never crashes on any input.
 */
void api_handle(const struct api *a, const char *method, const char *path,
		const char *content_type, const char *body, size_t len,
		struct api_response *resp);

struct api_server; /* opaque */

/*
 * Listen on a new Unix socket at sock_path (mode 0600; a stale socket file
 * nobody listens on is replaced; a live one is -EADDRINUSE) and serve
 * requests on a thread of the server's own. 0 or -errno, logged.
 */
int api_server_start(struct api_server **out, const char *sock_path, const struct api *a);
/* Stop serving, close and unlink the socket. NULL is fine. */
void api_server_stop(struct api_server *s);

#endif
