/*
 * test_config.c: unit tests for src/config.c, the CLI value parsers.
 *
 * Covers config_parse_size (suffixes K/M/G/T with optional "iB"/"B", bare
 * numbers as MiB, junk, signs, empty strings, 64-bit overflow both in the
 * digits and in the shift) and config_parse_uint (bounds, junk, overflow).
 * Every rejected input must also leave *out untouched. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>

#include "config.h"
#include "test.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define UNTOUCHED 0x5a5a5a5a5a5a5a5aULL

TEST(parse_size_valid)
{
	static const struct {
		const char *in;
		uint64_t want;
	} cases[] = {
		{ "256M", 256 * MiB },
		{ "256m", 256 * MiB },
		{ "1G", GiB },
		{ "1g", GiB },
		{ "512k", 512 * KiB },
		{ "512K", 512 * KiB },
		{ "2T", 2 * TiB },
		{ "64", 64 * MiB },     /* a bare number is MiB, as in QEMU */
		{ "0", 0 },
		{ "1GiB", GiB },
		{ "1gib", GiB },
		{ "1GB", GiB },
		{ "1Gb", GiB },
		{ "3MiB", 3 * MiB },
		{ "4KB", 4 * KiB },
		{ "007M", 7 * MiB },    /* decimal, not octal */
		{ "3584M", 3584 * MiB },
		/* Largest values that still fit in 64 bits for each shift. */
		{ "16777215T", 16777215 * TiB },
		{ "17179869183G", 17179869183ULL * GiB },
		{ "17592186044415", 17592186044415ULL * MiB },
		{ "18014398509481983K", 18014398509481983ULL * KiB },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t out = UNTOUCHED;
		int ret = config_parse_size(cases[i].in, &out);

		if (ret != 0 || out != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].in);
		CHECK_EQ(ret, 0);
		CHECK_EQ(out, cases[i].want);
	}
}

TEST(parse_size_rejected)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
		{ "", -EINVAL },
		{ "M", -EINVAL },
		{ "G1", -EINVAL },
		{ "-1", -EINVAL },
		{ "+1", -EINVAL },
		{ " 1", -EINVAL },
		{ "1 ", -EINVAL },
		{ "1X", -EINVAL },
		{ "1Gx", -EINVAL },
		{ "1GiBx", -EINVAL },
		{ "1Gi", -EINVAL },
		{ "1GiBB", -EINVAL },
		{ "1MM", -EINVAL },
		{ "1B", -EINVAL },        /* bytes are not a suffix of their own */
		{ "1.5G", -EINVAL },
		{ "0x10", -EINVAL },
		{ "1e3", -EINVAL },
		{ "1,5", -EINVAL },
		{ "1\nG", -EINVAL },
		/* The shift overflows: one past each largest value above. */
		{ "16777216T", -ERANGE },
		{ "17179869184G", -ERANGE },
		{ "17592186044416", -ERANGE },
		{ "18014398509481984K", -ERANGE },
		{ "18446744073709551615G", -ERANGE },
		{ "18446744073709551615", -ERANGE },
		/* The digits alone overflow strtoull. */
		{ "18446744073709551616K", -ERANGE },
		{ "99999999999999999999999999999999", -ERANGE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t out = UNTOUCHED;
		int ret = config_parse_size(cases[i].in, &out);

		if (ret != cases[i].want || out != UNTOUCHED)
			fprintf(stderr, "  case \"%s\"\n", cases[i].in);
		CHECK_EQ(ret, cases[i].want);
		CHECK_EQ(out, UNTOUCHED);
	}
	{
		uint64_t out = UNTOUCHED;

		CHECK_EQ(config_parse_size(NULL, &out), -EINVAL);
		CHECK_EQ(out, UNTOUCHED);
	}
}

TEST(parse_uint)
{
	static const struct {
		const char *in;
		unsigned min, max;
		int want;
		unsigned out; /* when want == 0 */
	} cases[] = {
		{ "1", 1, 254, 0, 1 },
		{ "254", 1, 254, 0, 254 },
		{ "0", 0, 10, 0, 0 },
		{ "010", 0, 10, 0, 10 },          /* decimal, not octal */
		{ "4294967295", 0, 4294967295u, 0, 4294967295u },
		{ "0", 1, 254, -ERANGE, 0 },      /* below min */
		{ "255", 1, 254, -ERANGE, 0 },    /* above max */
		{ "4294967296", 0, 4294967295u, -ERANGE, 0 },  /* past unsigned */
		{ "18446744073709551616", 0, 4294967295u, -ERANGE, 0 }, /* past strtoul */
		{ "99999999999999999999999", 0, 10, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "1x", 0, 10, -EINVAL, 0 },
		{ "0x1", 0, 10, -EINVAL, 0 },
		{ "2M", 0, 10, -EINVAL, 0 },
		{ "x", 0, 10, -EINVAL, 0 },
		{ "99999999999999999999999x", 0, 10, -EINVAL, 0 }, /* junk wins */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned out = 0xa5a5a5a5u;
		int ret = config_parse_uint(cases[i].in, cases[i].min, cases[i].max, &out);
		unsigned want_out = cases[i].want ? 0xa5a5a5a5u : cases[i].out;

		if (ret != cases[i].want || out != want_out)
			fprintf(stderr, "  case \"%s\" [%u, %u]\n", cases[i].in, cases[i].min,
				cases[i].max);
		CHECK_EQ(ret, cases[i].want);
		CHECK_EQ(out, want_out);
	}
	{
		unsigned out = 7;

		CHECK_EQ(config_parse_uint(NULL, 0, 10, &out), -EINVAL);
		CHECK_EQ(out, 7);
	}
}

TEST(parse_duration)
{
	static const struct {
		const char *in;
		int want;
		uint64_t secs;
	} cases[] = {
		{ "90", 0, 90 },
		{ "90s", 0, 90 },
		{ "10m", 0, 600 },
		{ "2h", 0, 7200 },
		{ "1d", 0, 86400 },
		{ "0", -EINVAL, 0 },
		{ "0s", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "-5", -EINVAL, 0 },
		{ "5x", -EINVAL, 0 },
		{ "5ms", -EINVAL, 0 },
		{ "5 m", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "999999999999999999d", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t out = 12345;
		int ret = config_parse_duration(cases[i].in, &out);

		if (ret != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].in);
		CHECK_EQ(ret, cases[i].want);
		CHECK_EQ(out, cases[i].want ? 12345 : cases[i].secs);
	}
	CHECK_EQ(config_parse_duration(NULL, NULL), -EINVAL);
}

TEST(parse_mac)
{
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:5", "52:54:00:12:34:567", "52-54-00-12-34-56",
		"52:54:00:12:34:zz", "01:00:5e:00:00:01" /* multicast */, "00:00:00:00:00:00",
		"ff:ff:ff:ff:ff:ff", "52:54:00:12:34:56 ",
	};
	uint8_t mac[6] = { 9, 9, 9, 9, 9, 9 };

	CHECK_EQ(config_parse_mac("52:54:00:aB:Cd:ef", mac), 0);
	CHECK(mac[0] == 0x52 && mac[1] == 0x54 && mac[2] == 0 && mac[3] == 0xab && mac[4] == 0xcd &&
	      mac[5] == 0xef);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[6] = { 7, 7, 7, 7, 7, 7 };

		if (config_parse_mac(bad[i], m) != -EINVAL || m[0] != 7)
			fprintf(stderr, "  case \"%s\"\n", bad[i]);
		CHECK_EQ(config_parse_mac(bad[i], m), -EINVAL);
		CHECK_EQ(m[0], 7); /* untouched on error */
	}
	CHECK_EQ(config_parse_mac(NULL, mac), -EINVAL);
}

TEST_MAIN(T(parse_size_valid), T(parse_size_rejected), T(parse_uint), T(parse_duration), T(parse_mac))
