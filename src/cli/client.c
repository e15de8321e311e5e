/*
 * client.c: one HTTP request to a VM process's API over its Unix socket,
 * with libcurl (CURLOPT_UNIX_SOCKET_PATH). See client.h.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"

#define CLIENT_TIMEOUT_MS 5000L
#define CLIENT_MAX_REPLY  (1 << 20)

struct client_buf {
	char *data;
	size_t len;
};

static size_t client_collect(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct client_buf *b = user;
	size_t n = size * nmemb;
	char *nd;

	if (b->len + n > CLIENT_MAX_REPLY)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	nd = realloc(b->data, b->len + n + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, ptr, n);
	b->data = nd;
	b->len += n;
	b->data[b->len] = 0;
	return n;
}

static int client_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

int client_request(const char *sock, const char *method, const char *path, const char *body,
		   struct client_reply *reply, char *err, size_t err_len)
{
	struct client_buf b = { NULL, 0 };
	struct curl_slist *hdrs = NULL;
	char url[512];
	CURLcode rc;
	CURL *c;

	reply->status = 0;
	reply->body = NULL;
	c = curl_easy_init();
	if (!c) {
		snprintf(err, err_len, "cannot initialise libcurl");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CLIENT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.data);
		snprintf(err, err_len, "%s %s on %s: %s", method, path, sock, curl_easy_strerror(rc));
		return client_errno(rc);
	}
	reply->body = b.data ? b.data : strdup("");
	if (!reply->body) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

const char *client_fault(const struct client_reply *reply, char *buf, size_t len)
{
	struct json_object *o, *m;

	o = reply->body ? json_tokener_parse(reply->body) : NULL;
	if (o && json_object_object_get_ex(o, "fault_message", &m) &&
	    json_object_is_type(m, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(m));
	else
		snprintf(buf, len, "HTTP %ld%s%s", reply->status,
			 reply->body && *reply->body ? ": " : "", reply->body ? reply->body : "");
	json_object_put(o);
	return buf;
}
