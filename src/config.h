/*
 * config.h: parsing of command-line values into struct vm_config fields.
 * Pure functions (no I/O), unit-tested in tests/unit/test_config.c.
 */
#ifndef VMON_CONFIG_H
#define VMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * Parse a memory size: a number with an optional binary suffix K, M, G or T
 * (optionally followed by "iB" or "B"); a bare number means MiB, as in QEMU.
 * Returns 0 and *out in bytes, or -EINVAL (junk, negative, empty) or
 * -ERANGE (overflows 64 bits).
 */
int config_parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned int in [min, max]: 0, -EINVAL or -ERANGE. */
int config_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/*
 * Parse a positive duration: a decimal number with an optional unit s, m, h
 * or d (a bare number is seconds). 0 and *secs, -EINVAL (junk, zero, empty)
 * or -ERANGE.
 */
int config_parse_duration(const char *s, uint64_t *secs);

/*
 * Parse a MAC address "xx:xx:xx:xx:xx:xx" (hex, either case) that a NIC
 * may own: unicast and not all zero. 0 and mac[], or -EINVAL (mac untouched).
 */
int config_parse_mac(const char *s, uint8_t mac[6]);

#define CONFIG_SHOWN_MAX 64 /* bytes of a user- or client-supplied name echoed in a message */

/*
 * s made safe for a one-line message: at most CONFIG_SHOWN_MAX bytes (then
 * "..."), anything but printable ASCII shown as '?'. buf holds
 * CONFIG_SHOWN_MAX + 4 bytes; returns buf.
 */
const char *config_shown(const char *s, char buf[CONFIG_SHOWN_MAX + 4]);

/*
 * Exactly one JSON object in s[0..len): json-c in strict mode, valid UTF-8,
 * nothing but whitespace after it. The object (the caller puts it), or NULL
 * with one line in err ("malformed JSON: ...", "WHAT must be a JSON object")
 * and *ret = -EINVAL, or -ENOMEM. The API's bodies and vm_config's JSON form
 * share it, so both refuse the same inputs the same way.
 */
struct json_object *config_json_object(const char *s, size_t len, const char *what, char *err,
				       size_t errlen, int *ret);

#endif
