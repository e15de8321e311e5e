/*
 * config.c: value parsers for the CLI (see config.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int config_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 20; /* bare numbers are MiB */
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
		if (*end && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0)
			return -EINVAL;
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int config_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *secs)
{
	static const struct {
		char unit;
		uint64_t mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		size_t i;

		if (end[1])
			return -EINVAL;
		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *end; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mult = units[i].mult;
	}
	if (v == 0)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*secs = v * mult;
	return 0;
}

static int config_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	int any = 0;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = config_hex(s[3 * i]), lo = config_hex(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		any |= m[i];
	}
	if (!any || (m[0] & 1)) /* bit 0 of the first octet: multicast */
		return -EINVAL;
	memcpy(mac, m, sizeof(m));
	return 0;
}

const char *config_shown(const char *s, char buf[CONFIG_SHOWN_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] && i < CONFIG_SHOWN_MAX; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

struct json_object *config_json_object(const char *s, size_t len, const char *what, char *err,
				       size_t errlen, int *ret)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error je;
	struct json_object *o;
	size_t end;

	*ret = -EINVAL;
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		*ret = -ENOMEM;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!o && je == json_tokener_continue && end == len) {
		/* A bare number or literal needs a delimiter to end. */
		o = json_tokener_parse_ex(tok, " ", 1);
		je = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);
	while (end < len && (s[end] == ' ' || s[end] == '\t' || s[end] == '\r' || s[end] == '\n'))
		end++;
	if (je != json_tokener_success || end != len) {
		json_object_put(o);
		snprintf(err, errlen, "malformed JSON: %s",
			 je != json_tokener_success ? json_tokener_error_desc(je)
						    : "data after the JSON value");
		return NULL;
	}
	/* A JSON null parses as o == NULL. */
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "%s must be a JSON object", what);
		return NULL;
	}
	*ret = 0;
	return o;
}
