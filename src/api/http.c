/*
 * http.c: api_server_start/stop, the management API's HTTP/1.1 transport
 * (libmicrohttpd) on a Unix socket (see api.h).
 *
 * Owns: the listening socket (created, checked for a live or stale
 * predecessor, mode 0600, unlinked at stop if it is still ours), the
 * libmicrohttpd daemon, per-request body buffers (bounded by API_MAX_BODY:
 * past it the body is dropped and the answer is 413), turning api_response
 * into HTTP responses, and the defences against slow clients: a thread per
 * connection (an op waiting on the VMM thread, or a client that never
 * finishes, holds up only its own connection), up to HTTP_CONN_LIMIT of
 * them, an idle timeout, and a reaper that cuts a connection whose request
 * (headers and body) has not fully arrived HTTP_RECV_LIMIT_S seconds after
 * it began (a client trickling a byte a second is never idle).
 * Does not own request semantics: api_handle() (api.c) does those.
 * Threads: api_handle() and the backend's ops run on the daemon's
 * per-connection threads, concurrently (api_handle has no state; the ops
 * post to a locked queue); the reaper has its own thread; start and stop
 * run on the caller's. struct http_conn records are shared by all of
 * these under api_server.lock. No global state.
 */
#include "api/api.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "log.h"
#include "sandbox/seccomp.h"

#define HTTP_CONN_LIMIT   64  /* connections (and so threads) at once */
#define HTTP_CONN_TIMEOUT 10  /* seconds of idle before a connection is dropped */
#define HTTP_RECV_LIMIT_S 5   /* seconds for a whole request (headers and body) to arrive */
#define HTTP_REAP_MS      200 /* how often the reaper looks */
#define HTTP_BACKLOG      64
#define HTTP_STACK_SIZE   (1024 * 1024) /* per connection thread: api_handle needs ~20 KiB, ASan more */

/* One open connection (libmicrohttpd's socket_context), on api_server.conns. */
struct http_conn {
	struct http_conn *next, *prev;
	int fd;
	uint64_t since_ns;     /* when the request now arriving began (the connection, or the last reply) */
	bool busy;             /* a complete request is being answered: no deadline */
	bool cut;              /* the reaper shut it down */
};

struct api_server {
	struct MHD_Daemon *daemon;
	struct api api;
	char *path;
	dev_t dev;             /* the socket file we bound, to unlink only ours */
	ino_t ino;

	pthread_mutex_t lock;  /* conns and every http_conn on it, stopping */
	pthread_cond_t wake;   /* the reaper's sleep; signalled at stop */
	struct http_conn *conns;
	bool stopping;
	pthread_t reaper;
	bool reaper_started;
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
	mode_t old;
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
	/*
	 * Born 0600 (the umask), not chmod()ed after: chmod follows a symlink
	 * swapped in for the socket. bind() itself never follows one (EADDRINUSE).
	 */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (ret) {
		log_err("api socket %s: bind: %s", path, strerror(-ret));
		goto fail_close;
	}
	/* Nobody can connect before listen(). */
	if (lstat(path, &st) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
		ret = -errno;
		log_err("api socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail_close;
	}
	if (!S_ISSOCK(st.st_mode)) { /* swapped between bind and lstat: not ours to remove */
		ret = -EEXIST;
		log_err("api socket %s: replaced by something else after bind", path);
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

	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

/* ---- connections and the reaper */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* libmicrohttpd calls this when a connection opens and once more, before close(fd), when it ends. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct api_server *s = cls;
	struct http_conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof(*c));
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!c)
			return; /* untracked: only the idle timeout applies to it */
		c->fd = ci ? ci->connect_fd : -1;
		c->since_ns = now_ns();
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->lock);
		*socket_context = c;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED || !c)
		return;
	/* Off the list before libmicrohttpd closes the fd: the reaper never shuts a reused fd. */
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->lock);
	free(c);
	*socket_context = NULL;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* A request fully arrived (busy) or was answered (the next one's clock starts). */
static void conn_mark(struct api_server *s, struct MHD_Connection *conn, bool busy)
{
	struct http_conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&s->lock);
	c->busy = busy;
	if (!busy)
		c->since_ns = now_ns();
	pthread_mutex_unlock(&s->lock);
}

/*
 * Shut down every connection whose request is still arriving after
 * HTTP_RECV_LIMIT_S: its thread then reads EOF and libmicrohttpd closes it.
 */
static void *reaper_main(void *arg)
{
	struct api_server *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		uint64_t now = now_ns(), limit = HTTP_RECV_LIMIT_S * 1000000000ULL;

		for (struct http_conn *c = s->conns; c; c = c->next) {
			if (c->busy || c->cut || c->fd < 0 || now - c->since_ns < limit)
				continue;
			c->cut = true;
			shutdown(c->fd, SHUT_RDWR);
			log_debug("api: dropped a client that took over %d s to send its request",
				  HTTP_RECV_LIMIT_S);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += HTTP_REAP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
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
	conn_mark(cls, conn, true);
	if (q->too_big)
		return send_too_big(conn);
	return handle(cls, conn, url, method, q);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *q = *con_cls;

	(void)toe;
	conn_mark(cls, conn, false);
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

static void server_free(struct api_server *s)
{
	if (s->reaper_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->reaper, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

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
	int ret;

	/* Created here, so the reaper runs under the API filter too. */
	ret = pthread_create(&s->reaper, NULL, reaper_main, s);
	if (ret) {
		log_err("api: cannot start the reaper thread: %s", strerror(ret));
		return 0; /* s->daemon stays NULL: api_server_start fails */
	}
	s->reaper_started = true;
	s->daemon = MHD_start_daemon(h->flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
				     MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK_SIZE,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				     MHD_OPTION_END);
	return 0;
}

int api_server_start(struct api_server **out, const char *sock_path, const struct api *a)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	struct api_server *s;
	int fd;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(sock_path))) {
		free(s);
		return -ENOMEM;
	}
	s->api = *a;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	fd = listen_unix(s, sock_path);
	if (fd < 0) {
		server_free(s);
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
		server_free(s);
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
	/* Shuts every connection down and joins its thread, closes the listening socket. */
	MHD_stop_daemon(s->daemon);
	unlink_ours(s);
	server_free(s);
}
