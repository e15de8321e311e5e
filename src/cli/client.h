/*
 * client.h: the CLI's HTTP client for a VM process's API (src/api/api.h),
 * libcurl over the Unix socket DIR/api.sock. One request per call, no
 * shared handles, no global state beyond libcurl's own lazy init.
 */
#ifndef VMON_CLI_CLIENT_H
#define VMON_CLI_CLIENT_H

#include <stddef.h>

struct client_reply {
	long status;  /* HTTP status, 0 when there was no answer */
	char *body;   /* malloc'ed, NUL-terminated, "" when empty; free it */
};

/*
 * METHOD http://localhost/PATH over sock; body (JSON) may be NULL. 0 and a
 * reply (any HTTP status), or -ECONNREFUSED/-ETIMEDOUT/-EIO with a one-line
 * reason in err (err_len bytes).
 */
int client_request(const char *sock, const char *method, const char *path, const char *body,
		   struct client_reply *reply, char *err, size_t err_len);

/* The fault_message of an error reply, else its body; never NULL. */
const char *client_fault(const struct client_reply *reply, char *buf, size_t len);

#endif
