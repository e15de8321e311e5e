/*
 * loadfile.h: reading a whole image file (kernel, initrd, firmware) into
 * memory, with the checks and messages every arch's loader wants.
 * Threads: any; no state.
 */
#ifndef VMON_LOADFILE_H
#define VMON_LOADFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read regular file path (what: "kernel", "initrd") into a malloc'd *buf of
 * *len bytes. Refuses directories and files over max bytes (-EFBIG, saying
 * to raise --mem). 0 or -errno, logged once with the path.
 */
int loadfile_read(const char *what, const char *path, uint64_t max, uint8_t **buf, size_t *len);

#endif
