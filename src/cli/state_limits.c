/*
 * state_limits.c: host-wide limits on live VMs (the limits file and the
 * decision `vmon create` takes under the state root's lock), and the
 * size/duration formatting the CLI prints. Pure except state_limits_load.
 *
 * Limits file: lines "key = value", '#' starts a comment, blank lines are
 * fine. Keys: max_vms, max_vms_per_user (counts), max_mem, max_mem_per_user
 * (sizes as --mem takes them: 8G, 512M, a bare number is MiB).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/state.h"
#include "config.h"

#define LIMITS_DEFAULT_PATH "/etc/vmon/limits.conf"

void state_fmt_duration(int64_t secs, char *buf, size_t len)
{
	long long s = secs < 0 ? 0 : (long long)secs;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void state_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		unsigned shift = (unsigned)(40 - 10 * i);

		if (bytes && bytes % (1ULL << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "B", bytes);
}

int64_t state_ttl_left(int64_t created, uint64_t ttl, int64_t now)
{
	int64_t left = created + (int64_t)ttl - now;

	return left < 0 ? 0 : left;
}

void state_limits_none(struct state_limits *l)
{
	l->max_vms = l->max_mem = l->max_vms_per_user = l->max_mem_per_user = STATE_NO_LIMIT;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* One "key = value" line, already stripped of its comment. */
static int limits_line(char *line, const char *path, unsigned lineno, struct state_limits *l,
		       char *err)
{
	char *eq = strchr(line, '='), *key, *val;
	unsigned n;

	if (!eq) {
		snprintf(err, STATE_ERR_MAX, "%s:%u: want 'key = value'", path, lineno);
		return -EINVAL;
	}
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	/* key[7] is NUL for max_vms/max_mem and '_' for their _per_user forms. */
	if (!strcmp(key, "max_vms") || !strcmp(key, "max_vms_per_user")) {
		if (config_parse_uint(val, 0, 1000000, &n)) {
			snprintf(err, STATE_ERR_MAX, "%s:%u: %s: '%s' is not a number of VMs", path,
				 lineno, key, val);
			return -EINVAL;
		}
		*(key[7] ? &l->max_vms_per_user : &l->max_vms) = n;
	} else if (!strcmp(key, "max_mem") || !strcmp(key, "max_mem_per_user")) {
		uint64_t bytes;

		if (config_parse_size(val, &bytes)) {
			snprintf(err, STATE_ERR_MAX, "%s:%u: %s: '%s' is not a size like 8G", path,
				 lineno, key, val);
			return -EINVAL;
		}
		*(key[7] ? &l->max_mem_per_user : &l->max_mem) = bytes;
	} else {
		snprintf(err, STATE_ERR_MAX,
			 "%s:%u: unknown key '%s' (max_vms, max_mem, max_vms_per_user, max_mem_per_user)",
			 path, lineno, key);
		return -EINVAL;
	}
	return 0;
}

int state_limits_parse(const char *text, const char *path, struct state_limits *l, char *err)
{
	struct state_limits tmp;
	unsigned lineno = 0;
	char *copy = strdup(text), *line, *hash, *p;
	int ret = 0;

	if (!copy) {
		snprintf(err, STATE_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	state_limits_none(&tmp);
	/* strtok_r would skip empty lines and miscount: split by hand. */
	for (line = copy; line && !ret; line = p) {
		p = strchr(line, '\n');
		if (p)
			*p++ = 0;
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		line = trim(line);
		if (*line)
			ret = limits_line(line, path, lineno, &tmp, err);
	}
	free(copy);
	if (!ret)
		*l = tmp;
	return ret;
}

int state_limits_load(struct state_limits *l, char *err)
{
	const char *env = getenv("VMON_LIMITS");
	const char *path = env && *env ? env : LIMITS_DEFAULT_PATH;
	char *text;
	size_t len;
	FILE *f;
	int ret;

	state_limits_none(l);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, STATE_ERR_MAX, "cannot read limits file %s: %s", path, strerror(-ret));
		return ret;
	}
	text = calloc(1, 65537);
	if (!text) {
		fclose(f);
		snprintf(err, STATE_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	len = fread(text, 1, 65536, f);
	fclose(f);
	text[len] = 0;
	ret = state_limits_parse(text, path, l, err);
	free(text);
	return ret;
}

int state_limits_check(const struct state_limits *l, const struct state_usage *u, uint64_t mem,
		       char *err)
{
	char lim[32], used[32], req[32];

	if (l->max_vms != STATE_NO_LIMIT && u->vms + 1 > l->max_vms) {
		snprintf(err, STATE_ERR_MAX, "limit max_vms = %" PRIu64 " reached (%" PRIu64 " VMs live)",
			 l->max_vms, u->vms);
		return -EDQUOT;
	}
	if (l->max_vms_per_user != STATE_NO_LIMIT && u->user_vms + 1 > l->max_vms_per_user) {
		snprintf(err, STATE_ERR_MAX,
			 "limit max_vms_per_user = %" PRIu64 " reached (%" PRIu64 " VMs of this user live)",
			 l->max_vms_per_user, u->user_vms);
		return -EDQUOT;
	}
	if (l->max_mem != STATE_NO_LIMIT && (mem > l->max_mem || u->mem > l->max_mem - mem)) {
		state_fmt_size(l->max_mem, lim, sizeof(lim));
		state_fmt_size(u->mem, used, sizeof(used));
		state_fmt_size(mem, req, sizeof(req));
		snprintf(err, STATE_ERR_MAX, "limit max_mem = %s exceeded (%s live + %s requested)",
			 lim, u->mem ? used : "0", req);
		return -EDQUOT;
	}
	if (l->max_mem_per_user != STATE_NO_LIMIT &&
	    (mem > l->max_mem_per_user || u->user_mem > l->max_mem_per_user - mem)) {
		state_fmt_size(l->max_mem_per_user, lim, sizeof(lim));
		state_fmt_size(u->user_mem, used, sizeof(used));
		state_fmt_size(mem, req, sizeof(req));
		snprintf(err, STATE_ERR_MAX,
			 "limit max_mem_per_user = %s exceeded (%s live for this user + %s requested)",
			 lim, u->user_mem ? used : "0", req);
		return -EDQUOT;
	}
	return 0;
}
