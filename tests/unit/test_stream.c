/*
 * test_stream.c: unit tests for src/snapshot/stream.c, the byte stream
 * device state is saved to and loaded from. Covers the little-endian
 * layout, round trips of every width and of strings, sticky errors (a get
 * past the end returns 0 and fails the stream, never reads beyond it),
 * sub-streams, strings too long for their destination, snap_in_end's
 * leftover check, and growth of the output buffer. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "snapshot/stream.h"
#include "test.h"

TEST(layout_little_endian)
{
	static const uint8_t want[] = { 0x11, 0x22, 0x11, 0x44, 0x33, 0x22, 0x11,
					0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	struct snap_out o;

	snap_out_init(&o);
	snap_put_u8(&o, 0x11);
	snap_put_u16(&o, 0x1122);
	snap_put_u32(&o, 0x11223344);
	snap_put_u64(&o, 0x1122334455667788ULL);
	CHECK_EQ(snap_out_error(&o), 0);
	CHECK_EQ(o.len, sizeof(want));
	CHECK(o.len == sizeof(want) && !memcmp(o.buf, want, sizeof(want)));
	snap_out_free(&o);
}

TEST(round_trip)
{
	struct snap_out o;
	struct snap_in in;
	char s[16];
	uint8_t b[3];

	snap_out_init(&o);
	snap_put_u64(&o, UINT64_MAX);
	snap_put_str(&o, "serial0");
	snap_put_str(&o, "");
	snap_put_bytes(&o, "abc", 3);
	snap_put_u16(&o, 0xbeef);
	snap_in_init(&in, o.buf, o.len);
	CHECK(snap_get_u64(&in) == UINT64_MAX);
	snap_get_str(&in, s, sizeof(s));
	CHECK(!strcmp(s, "serial0"));
	snap_get_str(&in, s, sizeof(s));
	CHECK(!strcmp(s, ""));
	snap_get_bytes(&in, b, 3);
	CHECK(!memcmp(b, "abc", 3));
	CHECK_EQ(snap_get_u16(&in), 0xbeef);
	CHECK_EQ(snap_in_left(&in), 0);
	CHECK_EQ(snap_in_end(&in), 0);
	snap_out_free(&o);
}

/* Every truncation of a valid stream fails, and the gets past the end read zeros. */
TEST(truncation_sticky)
{
	uint8_t buf[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

	for (size_t len = 0; len < sizeof(buf); len++) {
		uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
		struct snap_in in;
		uint32_t a;
		uint64_t b;

		memcpy(copy, buf, len);
		snap_in_init(&in, copy, len);
		a = snap_get_u32(&in);
		b = snap_get_u64(&in);
		CHECK_EQ(snap_in_error(&in), -EINVAL);
		CHECK_EQ(snap_in_end(&in), -EINVAL);
		CHECK(len >= 4 || a == 0);
		CHECK_EQ(b, 0);
		CHECK_EQ(snap_get_u8(&in), 0); /* still failed */
		free(copy);
	}
}

TEST(leftover_and_fail)
{
	uint8_t buf[4] = { 0 };
	struct snap_in in;

	snap_in_init(&in, buf, sizeof(buf));
	snap_get_u16(&in);
	CHECK_EQ(snap_in_error(&in), 0);
	CHECK_EQ(snap_in_end(&in), -EINVAL); /* two bytes never read */
	snap_get_u16(&in);
	CHECK_EQ(snap_in_end(&in), 0);
	CHECK_EQ(snap_in_fail(&in), -EINVAL);
	CHECK_EQ(snap_in_end(&in), -EINVAL);
	snap_in_init(&in, NULL, 100); /* no buffer: nothing to read */
	CHECK_EQ(snap_in_left(&in), 0);
	snap_get_u8(&in);
	CHECK_EQ(snap_in_error(&in), -EINVAL);
}

TEST(strings_bounded)
{
	struct snap_out o;
	struct snap_in in;
	char small[4], *big = malloc(70000);

	snap_out_init(&o);
	snap_put_str(&o, "toolong");
	snap_in_init(&in, o.buf, o.len);
	snap_get_str(&in, small, sizeof(small));
	CHECK_EQ(snap_in_error(&in), -EINVAL);
	CHECK_EQ(small[0], '\0');
	snap_out_free(&o);

	/* A length prefix promising more than the stream has. */
	{
		uint8_t lie[] = { 0xff, 0x00, 'a', 'b' };
		char d[300];

		snap_in_init(&in, lie, sizeof(lie));
		snap_get_str(&in, d, sizeof(d));
		CHECK_EQ(snap_in_error(&in), -EINVAL);
		CHECK_EQ(d[0], '\0');
	}
	/* Over 65535 bytes cannot be written. */
	memset(big, 'x', 69999);
	big[69999] = '\0';
	snap_out_init(&o);
	snap_put_str(&o, big);
	CHECK_EQ(snap_out_error(&o), -E2BIG);
	snap_put_u8(&o, 1); /* sticky: nothing more is written */
	CHECK_EQ(o.len, 0);
	snap_out_free(&o);
	free(big);
}

TEST(sub_streams)
{
	uint8_t buf[] = { 1, 2, 3, 4, 5 };
	struct snap_in in, sub;

	snap_in_init(&in, buf, sizeof(buf));
	snap_get_sub(&in, 3, &sub);
	CHECK_EQ(snap_in_left(&in), 2);
	CHECK_EQ(snap_get_u16(&sub), 0x0201);
	CHECK_EQ(snap_get_u16(&sub), 0); /* runs past its own end, not into the outer bytes */
	CHECK_EQ(snap_in_error(&sub), -EINVAL);
	CHECK_EQ(snap_in_error(&in), 0);
	CHECK_EQ(snap_get_u16(&in), 0x0504);
	snap_get_sub(&in, 1, &sub); /* nothing left */
	CHECK_EQ(snap_in_error(&in), -EINVAL);
	CHECK_EQ(snap_in_error(&sub), -EINVAL);
}

TEST(grows)
{
	struct snap_out o;

	snap_out_init(&o);
	for (unsigned i = 0; i < 100000; i++)
		snap_put_u32(&o, i);
	CHECK_EQ(snap_out_error(&o), 0);
	CHECK_EQ(o.len, 400000);
	CHECK(o.len == 400000 && o.buf[4 * 99999] == (uint8_t)99999);
	snap_out_free(&o);
	CHECK(o.buf == NULL);
}

TEST_MAIN(T(layout_little_endian), T(round_trip), T(truncation_sticky), T(leftover_and_fail),
	  T(strings_bounded), T(sub_streams), T(grows))
