/*
 * snapshot/snapfile.h: the snapshot state file, its writer and its parser.
 *
 * A state file is self-describing and versioned. All fields little-endian:
 *
 *   0   magic "VMONSNAP"                       8 bytes
 *   8   u32 format version (SNAPFILE_VERSION)
 *   12  u32 header length H (from offset 0, header checksum included)
 *   16  u16 arch (SNAP_ARCH_*), u16 kind (SNAP_KIND_FULL / SNAP_KIND_DIFF)
 *       u32 vCPU count
 *       u8[16] lineage id (random, fixed for a VM's life, kept by clones)
 *       u64 generation, u64 parent generation (a diff applies on top of it)
 *       u16-prefixed VM id (at most SNAPFILE_ID_MAX - 1 bytes)
 *       u32 memory region count, each: u64 gpa, u64 size, u64 offset in the memory file
 *       u32 section count, each: u32 tag, u32 zero, u64 offset, u64 length,
 *                                 u8[16] BLAKE2b-128 of the section's bytes
 *   H-16 u8[16] BLAKE2b-128 of bytes [0, H-16)
 *   H   the sections' bytes, back to back in table order
 *   end-32 u8[32] HMAC-SHA512-256 (libsodium crypto_auth) of every byte before it,
 *       under the host key: a file from another host or edited here fails it.
 *
 * The parser treats the file as hostile: every length is bounded before use,
 * sections must tile [H, end-32) exactly, and each failure comes back as a
 * distinct -errno with one line of text saying what was wrong.
 *
 * Owns: the format. Does not own: what a section holds (devices, vCPUs, the
 * accelerator write their own through snapshot/stream.h), the memory file,
 * the lineage and the host key (snapshot/lineage.h).
 *
 * Threads: none inside; callers run it on the VMM or CLI thread.
 */
#ifndef VMON_SNAPSHOT_SNAPFILE_H
#define VMON_SNAPSHOT_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/stream.h"

#define SNAPFILE_MAGIC "VMONSNAP"
#define SNAPFILE_VERSION 1u
#define SNAPFILE_ID_MAX 64
#define SNAPFILE_MAX_REGIONS 16
#define SNAPFILE_MAX_SECTIONS 300 /* devices + up to 256 vCPUs + machine state */
#define SNAPFILE_SUM_LEN 16	  /* BLAKE2b-128 */
#define SNAPFILE_MAC_LEN 32	  /* crypto_auth_BYTES (HMAC-SHA512-256) */
#define SNAPFILE_KEY_LEN 32	  /* crypto_auth_KEYBYTES */
#define SNAPFILE_LINEAGE_LEN 16
/* A state file holds device and vCPU state only (memory is its own file). */
#define SNAPFILE_MAX_SIZE (64u << 20)

enum snap_arch { SNAP_ARCH_X86_64 = 1, SNAP_ARCH_MIPS32 = 2, SNAP_ARCH_ARM64 = 3 };
enum snap_kind { SNAP_KIND_FULL = 0, SNAP_KIND_DIFF = 1 };

/* Section tags. A vCPU's section is SNAP_SEC_VCPU + its index. */
enum snap_sec {
	SNAP_SEC_CONFIG = 1,   /* the VM's configuration, as vmconfig's JSON */
	SNAP_SEC_DEVICES = 2,  /* vm_save_devices' output */
	SNAP_SEC_MACHINE = 3,  /* in-kernel irqchip, PIT, clock (accelerator) */
	SNAP_SEC_DIRTY = 4,    /* diff: bitmap of the pages the memory file holds */
	SNAP_SEC_VCPU = 0x100, /* ... SNAP_SEC_VCPU + 255 */
};

struct snapfile_region {
	uint64_t gpa, size, file_off;
};

struct snapfile_section {
	uint32_t tag;
	const uint8_t *data; /* into the parsed buffer, or the writer's caller's */
	uint64_t len;
};

struct snapfile {
	uint32_t version;
	uint16_t arch, kind;
	uint32_t nr_vcpus;
	uint8_t lineage[SNAPFILE_LINEAGE_LEN];
	uint64_t generation, parent_generation;
	char vm_id[SNAPFILE_ID_MAX];
	uint32_t nr_regions;
	struct snapfile_region regions[SNAPFILE_MAX_REGIONS];
	uint32_t nr_sections;
	struct snapfile_section sections[SNAPFILE_MAX_SECTIONS];
	int mac_checked; /* parse: 1 when the HMAC was verified */
};

/*
 * Serialise f (its sections' data as given) into o, authenticated with key
 * (SNAPFILE_KEY_LEN bytes). 0, or -EINVAL for a header out of the format's
 * bounds (too many regions/sections, duplicate tag, id too long), -ENOMEM.
 */
int snapfile_write(const struct snapfile *f, const uint8_t *key, struct snap_out *o);

/*
 * Parse and check buf[0, len). key NULL skips the HMAC (inspection only:
 * mac_checked stays 0); a restore always passes the host key. On success f's
 * sections point into buf. Errors, each with a line of text in err:
 *   -EINVAL   truncated, bad magic, a length or count out of bounds,
 *             sections not tiling the file, an unknown arch or kind
 *   -EPROTONOSUPPORT  a format version this vmon does not read
 *   -EBADMSG  a header or section checksum mismatch (damaged file)
 *   -EPERM    the HMAC does not verify (tampered, or another host's key)
 */
int snapfile_parse(const void *buf, size_t len, const uint8_t *key, struct snapfile *f,
		   char *err, size_t errlen);

/* The section with this tag, or NULL. */
const struct snapfile_section *snapfile_find(const struct snapfile *f, uint32_t tag);

/* Append a section to f (data must outlive the write). -ENOSPC when full. */
int snapfile_add(struct snapfile *f, uint32_t tag, const void *data, uint64_t len);

/*
 * Whole-file I/O. write_path writes to PATH.tmp, fsyncs and renames, so a
 * crash leaves the old file or the new one. read_path reads at most
 * SNAPFILE_MAX_SIZE bytes into a malloc'd buffer (*buf, *len; -EFBIG beyond).
 */
int snapfile_write_path(const char *path, const void *buf, size_t len);
int snapfile_read_path(const char *path, uint8_t **buf, size_t *len);

/* Format fmt into err (when err and errlen) and return code: the one error writer of the
 * snapshot files' readers and of the lineage store. */
__attribute__((format(printf, 4, 5)))
int snapfile_err(int code, char *err, size_t errlen, const char *fmt, ...);

#endif
