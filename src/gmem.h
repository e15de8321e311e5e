/*
 * gmem.h: guest physical memory. The only way vmon code touches guest RAM.
 *
 * Owns: the host mappings that back guest RAM (all MADV_DONTDUMP: guest
 * memory never lands in a core dump) and the table of regions
 * (guest physical address -> host virtual address). Does not own the KVM
 * memory slots (vm.c hands each region to the accelerator).
 *
 * Threads: the region table is written once at VM creation and only read
 * afterwards, so any thread may call the lookups without a lock. The bytes
 * themselves are shared with the guest: callers copy, then validate.
 */
#ifndef VMON_GMEM_H
#define VMON_GMEM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4
#define GMEM_PAGE 4096u /* the granule of KVM's dirty log (KVM_GET_DIRTY_LOG: one bit a page) */

#define GMEM_4G 0x100000000ULL

struct gmem_region {
	uint64_t gpa;  /* first guest physical address */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host mapping of gpa */
};

struct gmem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t ram_size;   /* sum of region sizes */
	int owns_mappings;   /* 1 if gmem_free must munmap */
	/*
	 * Pages devices may write (gmem_mark_dev), one bit per 4 KiB page per
	 * region, for live migration (vm_migrate.c): KVM's dirty log sees only
	 * the vCPUs' writes. NULL until gmem_dev_track; set once, freed by
	 * gmem_free, so a device thread never sees it vanish.
	 */
	uint64_t *_Atomic dev_dirty[GMEM_MAX_REGIONS];
};

/* An empty guest memory whose regions gmem_add_anon maps (and gmem_free unmaps). */
void gmem_init(struct gmem *m);

/*
 * Map size bytes of anonymous memory at gpa as one more region (the arch
 * decides the layout: arch/x86 puts RAM below the PCI hole and above
 * 4 GiB). 0 or -errno: -EINVAL for a zero or unaligned size, a range that
 * wraps or overlaps a region, or no room; -ENOMEM if the host refuses.
 */
int gmem_add_anon(struct gmem *m, uint64_t gpa, uint64_t size);

/*
 * Map size bytes of the file fd at offset off as one more region at gpa,
 * MAP_PRIVATE: pages are read on the guest's first touch and a write copies
 * the page, so the file (a snapshot's memory file) is never changed and
 * restore time does not grow with RAM size. fd may be closed afterwards.
 * Same -EINVAL rules as gmem_add_anon, plus an unaligned offset or a file
 * shorter than off + size.
 */
int gmem_add_file(struct gmem *m, uint64_t gpa, uint64_t size, int fd, uint64_t off);

/*
 * Replace region r's mapping, in place, by a private mapping of fd at off
 * (snapshot restore: the guest's memory file under the address the
 * accelerator already knows). Like every guest RAM mapping here it is kept
 * out of core dumps (MADV_DONTDUMP). 0 or -errno; the caller checked that
 * the file is long enough.
 */
int gmem_map_over(const struct gmem_region *r, int fd, uint64_t off);

/*
 * Describe caller-owned memory as one region at gpa (unit tests, fuzzers).
 * gmem_free will not unmap it.
 */
int gmem_init_flat(struct gmem *m, void *hva, uint64_t gpa, uint64_t size);

void gmem_free(struct gmem *m);

/*
 * Host pointer for [gpa, gpa+len), or NULL if the range overflows, is empty
 * with gpa outside RAM, or is not wholly inside one region.
 */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
/*
 * Devices: [gpa, gpa+len) may be written by the host behind the guest's
 * back (a device-writable buffer, a used ring). Records it while
 * gmem_dev_track is on; else nothing. Any thread; lock-free.
 */
void gmem_mark_dev(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Start recording (allocating the bitmaps once). 0 or -ENOMEM. The VMM thread. */
int gmem_dev_track(struct gmem *m);
/* Region i's recorded pages ORed into bits (KVM's layout) and cleared. */
void gmem_dev_take(const struct gmem *m, unsigned i, uint64_t *bits);

/* Copy to or from guest RAM; 0 or -EFAULT when the range is not RAM. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len);

/* Highest guest physical address + 1 of RAM below 4 GiB (for e820, initrd placement). */
uint64_t gmem_low_end(const struct gmem *m);

#endif
