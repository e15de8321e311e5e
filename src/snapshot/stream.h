/*
 * snapshot/stream.h: the byte stream device state is saved to and loaded
 * from. Little-endian fixed-width fields, written in order by a device's
 * save op and read back in the same order by its load op.
 *
 * Owns: a growable output buffer and a bounded input cursor. Both carry a
 * sticky error, so a save or load is a straight run of put/get calls with
 * one check at the end (snap_out_error, snap_in_end): a truncated input
 * makes every later get return 0 and the load fail, never read past the end.
 * Does not own: what the bytes mean (each device's save/load), the file
 * format of a snapshot (the snapshot issue builds it on these sections).
 *
 * Threads: none inside; a stream belongs to the thread using it.
 */
#ifndef VMON_SNAPSHOT_STREAM_H
#define VMON_SNAPSHOT_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct snap_out {
	uint8_t *buf;
	size_t len, cap;
	int err; /* 0, or the first -errno (-ENOMEM) */
};

struct snap_in {
	const uint8_t *buf;
	size_t len, pos;
	int err; /* 0, or -EINVAL once a get ran past the end or a check failed */
};

void snap_out_init(struct snap_out *o);
void snap_out_free(struct snap_out *o);
void snap_put_u8(struct snap_out *o, uint8_t v);
void snap_put_u16(struct snap_out *o, uint16_t v);
void snap_put_u32(struct snap_out *o, uint32_t v);
void snap_put_u64(struct snap_out *o, uint64_t v);
void snap_put_bytes(struct snap_out *o, const void *p, size_t n);
/* A length-prefixed (u16) string; longer than 65535 bytes is an error. */
void snap_put_str(struct snap_out *o, const char *s);
/* 0 or the sticky -errno. */
int snap_out_error(const struct snap_out *o);

/* Read from [p, p+len); the bytes must outlive the stream. */
void snap_in_init(struct snap_in *in, const void *p, size_t len);
uint8_t snap_get_u8(struct snap_in *in);
uint16_t snap_get_u16(struct snap_in *in);
uint32_t snap_get_u32(struct snap_in *in);
uint64_t snap_get_u64(struct snap_in *in);
/* Copy n bytes out; zero-fills dst and sets the error when short. */
void snap_get_bytes(struct snap_in *in, void *dst, size_t n);
/* A string written by snap_put_str into dst (size cap, NUL-terminated); too long: error. */
void snap_get_str(struct snap_in *in, char *dst, size_t cap);
/*
 * A sub-stream of the next n bytes (a device's section); the outer cursor
 * moves past them. Short input: error on both.
 */
void snap_get_sub(struct snap_in *in, size_t n, struct snap_in *sub);
/* Mark the input bad (a load found a value out of range). Returns -EINVAL. */
int snap_in_fail(struct snap_in *in);
/* Bytes not yet read. */
size_t snap_in_left(const struct snap_in *in);
/* 0 when every byte was read and no error occurred; else -EINVAL. */
int snap_in_end(const struct snap_in *in);
/* 0 or the sticky -EINVAL (without requiring the input to be used up). */
int snap_in_error(const struct snap_in *in);

#endif
