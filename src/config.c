/*
 * config.c: value parsers for the CLI (see config.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
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
