/*
 * http.c: api_server_start/stop, the management API's HTTP/1.1 transport
 * (libmicrohttpd) on a Unix socket (see api.h).
 *
 * Owns: the listening socket (created, checked for a live or stale
 * predecessor, mode 0600, unlinked at stop if it is still ours), the
 * libmicrohttpd daemon and its one internal polling thread, per-request
 * body buffers (bounded by API_MAX_BODY: past it the body is dropped and
 * the answer is 413) and turning api_response into HTTP responses.
 * Does not own request semantics: api_handle() (api.c) does those.
 * Threads: api_handle() and the backend's ops run on the daemon's thread;
 * start and stop run on the caller's. No global state.
 */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "log.h"
#include "sandbox/seccomp.h"

#define HTTP_CONN_LIMIT   16
#define HTTP_CONN_TIMEOUT 10 /* seconds of idle before a connection is dropped */
#define HTTP_BACKLOG      16

struct api_server {
	struct MHD_Daemon *daemon;
	struct api api;
	char *path;
	dev_t dev;             /* the socket file we bound, to unlink only ours */
	ino_t ino;
};

/* One request in progress: libmicrohttpd's per-connection con_cls. */
struct http_req {
	char *buf;
	size_t len;
	bool too_big;
};

/* ---- the socket */

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/*
 * Something is at path. A socket someone answers on is -EADDRINUSE; a
 * socket nobody answers on is stale and removed; anything else is left
 * alone (-EEXIST).
 */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("api socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	ret = ret == 0 ? -EADDRINUSE : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	if (ret == -EADDRINUSE) {
		log_err("api socket %s: another process is listening on it", path);
		return ret;
	}
	if (ret < 0) {
		log_err("api socket %s: cannot probe it: %s", path, strerror(-ret));
		return ret;
	}
	log_info("api socket %s: removing a stale socket", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* A listening socket at path, mode 0600 before anyone can connect. */
static int listen_unix(struct api_server *s, const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret;

	ret = fill_addr(&sa, path);
	if (ret < 0) {
		log_err("api socket '%s': empty or longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return ret;
	}
	ret = clear_stale(path, &sa);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		log_err("api socket: %s", strerror(errno));
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		log_err("api socket %s: bind: %s", path, strerror(errno));
		goto fail_close;
	}
	/* Nobody can connect before listen(), so there is no window. */
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
		ret = -errno;
		log_err("api socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail_close;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return fd;
fail_close:
	close(fd);
	return ret;
}

/* Remove the socket file if it is still the one we bound. */
static void unlink_ours(const struct api_server *s)
{
	struct stat st;

	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

/* ---- requests */

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct api_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body)
		resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
						       MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL; /* the response owns it now */
	if ((r->status != 204 &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				     "application/json") == MHD_NO) ||
	    (r->allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
						 r->allow) == MHD_NO)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_too_big(struct MHD_Connection *conn)
{
	struct api_response r = { .status = 413 };
	struct json_object *o = json_object_new_object();
	char msg[64];

	snprintf(msg, sizeof(msg), "the body is larger than %d bytes", API_MAX_BODY);
	if (o && json_object_object_add(o, "fault_message", json_object_new_string(msg)) == 0) {
		const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		r.body = txt ? strdup(txt) : NULL;
	}
	json_object_put(o);
	return send_reply(conn, &r);
}

/* The Content-Length the client announced is over the limit. */
static bool announced_too_big(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno == ERANGE || n > API_MAX_BODY;
}

static void take_upload(struct http_req *q, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (q->too_big)
		return;
	if (n > API_MAX_BODY - q->len) {
		q->too_big = true;
		free(q->buf);
		q->buf = NULL;
		q->len = 0;
		return;
	}
	if (!q->buf) {
		q->buf = malloc(API_MAX_BODY + 1);
		if (!q->buf) {
			q->too_big = true; /* answered 413: better than nothing */
			return;
		}
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
}

/* Count GET arguments: any means the URL had a query string. */
static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	(void)key;
	(void)value;
	++*(int *)cls;
	return MHD_YES;
}

static enum MHD_Result handle(struct api_server *s, struct MHD_Connection *conn,
			      const char *url, const char *method, struct http_req *q)
{
	struct api_response r;
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	char *path = NULL;
	int nargs = 0;

	/* libmicrohttpd strips the query string; api_handle must see it. */
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &nargs);
	if (nargs > 0 && asprintf(&path, "%s?", url) < 0)
		return MHD_NO;
	api_handle(&s->api, method, path ? path : url, ct, q->buf, q->len, &r);
	free(path);
	log_debug("api: %s %s -> %d", method, url, r.status);
	return send_reply(conn, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_req *q = *con_cls;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		*con_cls = q;
		if (announced_too_big(conn)) {
			q->too_big = true;
			return send_too_big(conn);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		take_upload(q, upload_data, upload_data_size);
		return MHD_YES;
	}
	if (q->too_big)
		return send_too_big(conn);
	return handle(cls, conn, url, method, q);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *q = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (q) {
		free(q->buf);
		free(q);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("api: libmicrohttpd: %s", msg);
}

/* ---- start and stop */

/* seccomp_role_spawn's fn: the daemon's thread is created here, so it inherits the API filter. */
struct http_start {
	struct api_server *s;
	unsigned flags;
	int fd;
};

static int http_start_daemon(void *arg)
{
	struct http_start *h = arg;
	struct api_server *s = h->s;

	s->daemon = MHD_start_daemon(h->flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				     MHD_OPTION_END);
	return 0;
}

int api_server_start(struct api_server **out, const char *sock_path, const struct api *a)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct api_server *s;
	int fd;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(sock_path))) {
		free(s);
		return -ENOMEM;
	}
	s->api = *a;
	fd = listen_unix(s, sock_path);
	if (fd < 0) {
		free(s->path);
		free(s);
		return fd;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	seccomp_role_spawn(SECCOMP_ROLE_API, a->seccomp, http_start_daemon,
			   &(struct http_start){ .s = s, .flags = flags, .fd = fd });
	if (!s->daemon) {
		log_err("api socket %s: cannot start the HTTP server", sock_path);
		close(fd);
		unlink_ours(s);
		free(s->path);
		free(s);
		return -EIO;
	}
	log_info("api: listening on %s", sock_path);
	*out = s;
	return 0;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon); /* joins its thread, closes the listening socket */
	unlink_ours(s);
	free(s->path);
	free(s);
}
