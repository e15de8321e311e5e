/*
 * config.h: parsing of command-line values into struct vm_config fields.
 * Pure functions (no I/O), unit-tested in tests/unit/test_config.c.
 */
#ifndef VMON_CONFIG_H
#define VMON_CONFIG_H

#include <stdint.h>

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

#endif
