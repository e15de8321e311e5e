/*
 * fuzz_snapshot.c: libFuzzer harness over the snapshot state-file parser
 * (src/snapshot/snapfile.c), whose input is a file a user hands to
 * `vmon restore` and so is untrusted.
 *
 * Input layout: one mode byte, then the file.
 *   mode bit 0: verify the HMAC under FUZZ_SNAP_KEY (else parse without a key)
 *   mode bit 1: repair the header checksum first when the header length is
 *               in range, so mutations reach the header fields and section
 *               table rather than stopping at the checksum
 * The file is parsed from an exact-size heap copy, so ASan catches a read
 * past its end. Invariants on success: the sections tile [H, len-32) in
 * order and lie inside the buffer, counts are within the format's bounds,
 * the VM id is NUL-terminated, a verified MAC is flagged, and writing the
 * parsed header back under the same key reproduces the input byte for byte.
 * On failure the error text is non-empty.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "snapshot/snapfile.h"

/* The key make-seeds.py signs its seeds with: bytes 0..31. */
static void fuzz_snap_key(uint8_t key[SNAPFILE_KEY_LEN])
{
	for (unsigned i = 0; i < SNAPFILE_KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

static void fuzz_snap_fix_header(uint8_t *buf, size_t len)
{
	uint32_t hlen;

	if (len < 16)
		return;
	hlen = buf[12] | buf[13] << 8 | buf[14] << 16 | (uint32_t)buf[15] << 24;
	if (hlen < 16 + SNAPFILE_SUM_LEN || hlen > len)
		return;
	crypto_generichash(buf + hlen - SNAPFILE_SUM_LEN, SNAPFILE_SUM_LEN, buf,
			   hlen - SNAPFILE_SUM_LEN, NULL, 0);
}

static void fuzz_snap_check(const uint8_t *buf, size_t len, const uint8_t *key,
			    const struct snapfile *f)
{
	uint64_t hlen = buf[12] | buf[13] << 8 | buf[14] << 16 | (uint32_t)buf[15] << 24;
	uint64_t pos = hlen;
	struct snap_out o;

	FUZZ_CHECK(f->nr_regions <= SNAPFILE_MAX_REGIONS);
	FUZZ_CHECK(f->nr_sections <= SNAPFILE_MAX_SECTIONS);
	FUZZ_CHECK(memchr(f->vm_id, 0, sizeof(f->vm_id)) != NULL);
	FUZZ_CHECK_EQ(f->mac_checked, key != NULL);
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		const struct snapfile_section *s = &f->sections[i];

		FUZZ_CHECK(s->data == buf + pos);
		FUZZ_CHECK(s->len <= len - SNAPFILE_MAC_LEN - pos);
		pos += s->len;
	}
	FUZZ_CHECK_EQ(pos, len - SNAPFILE_MAC_LEN);
	if (!key)
		return;
	/* A file that authenticated is exactly what the writer makes of its header. */
	snap_out_init(&o);
	FUZZ_CHECK_EQ(snapfile_write(f, key, &o), 0);
	FUZZ_CHECK_EQ(o.len, len);
	FUZZ_CHECK(!memcmp(o.buf, buf, len));
	snap_out_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[SNAPFILE_KEY_LEN];
	struct snapfile *f;
	char err[256];
	uint8_t *buf;
	size_t len;
	uint8_t mode;
	int ret;

	if (!size)
		return 0;
	mode = data[0];
	len = size - 1;
	buf = malloc(len ? len : 1);
	f = malloc(sizeof(*f));
	FUZZ_SETUP(buf && f);
	memcpy(buf, data + 1, len);
	if (mode & 2)
		fuzz_snap_fix_header(buf, len);
	fuzz_snap_key(key);
	err[0] = 0;
	ret = snapfile_parse(buf, len, (mode & 1) ? key : NULL, f, err, sizeof(err));
	if (ret == 0)
		fuzz_snap_check(buf, len, (mode & 1) ? key : NULL, f);
	else {
		FUZZ_CHECK(ret == -EINVAL || ret == -EPROTONOSUPPORT || ret == -EBADMSG ||
			   ret == -EPERM);
		FUZZ_CHECK(err[0] != 0);
	}
	free(buf);
	free(f);
	return 0;
}
