/*
 * snapshot/snapmem.h: a snapshot's memory file, and restoring guest RAM
 * from it.
 *
 * Layout: guest RAM region i lies at file offset regions[i].file_off (the
 * regions back to back, page-aligned), as the state file's header records.
 * All-zero pages are left as holes, so the file is sparse. A diff memory
 * file has the same layout but holds only the pages its SNAP_SEC_DIRTY
 * section marks: one bit per 4 KiB page, region after region, each region's
 * bits padded to a whole u64 and stored little-endian.
 *
 * Restore maps a full memory file MAP_PRIVATE (gmem_add_file: pages read on
 * first touch, the file never written), then copies each diff's marked
 * pages over it, oldest diff first.
 *
 * Owns: the memory file format. Does not own: dirty logging (the
 * accelerator), the state file (snapfile.h). Threads: the VMM thread, with
 * the vCPUs paused (nothing may write guest RAM while it is copied).
 */
#ifndef VMON_SNAPSHOT_SNAPMEM_H
#define VMON_SNAPSHOT_SNAPMEM_H

#include <stdint.h>

#include "gmem.h"
#include "snapshot/snapfile.h"
#include "snapshot/stream.h"

#define SNAPMEM_PAGE 4096u

/* Bytes of a region's dirty bitmap: whole u64 words, one bit per page. */
uint64_t snapmem_bitmap_bytes(uint64_t region_size);

/*
 * Write every region of m to fd (truncated to the full size first) and
 * fill f->nr_regions / f->regions. 0 or -errno.
 */
int snapmem_write_full(const struct gmem *m, int fd, struct snapfile *f);

/*
 * Write only the pages marked in dirty[i] (region i's bitmap, host-endian
 * u64 words as KVM_GET_DIRTY_LOG returns them) and append the bitmaps in
 * the file's little-endian form to bits (the SNAP_SEC_DIRTY section).
 * f->regions as for a full file. 0 or -errno.
 */
int snapmem_write_diff(const struct gmem *m, const uint64_t *const dirty[], int fd,
		       struct snapfile *f, struct snap_out *bits);

/*
 * Map a full memory file as m's RAM (m from gmem_init), region by region as
 * f describes them. 0 or -errno (-EINVAL: a layout gmem refuses or a file
 * shorter than the layout).
 */
int snapmem_map_full(struct gmem *m, int fd, const struct snapfile *f);

/*
 * Copy the pages a diff marks from its memory file fd into m. f is the
 * diff's parsed state file: its regions must match m's and its
 * SNAP_SEC_DIRTY section must be exactly the bitmaps' size, else -EINVAL.
 * Returns the number of pages copied, or -errno.
 */
int64_t snapmem_apply_diff(const struct gmem *m, int fd, const struct snapfile *f);

#endif
