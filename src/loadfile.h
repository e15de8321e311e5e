/*
 * loadfile.h: opening and reading image files (kernel, initrd, firmware,
 * disk images) with the checks and messages every loader wants, so that a
 * path swapped for a FIFO or a device between configuration and start can
 * neither hang the opener nor be read as an image.
 * Threads: any; no state.
 */
#ifndef VMON_LOADFILE_H
#define VMON_LOADFILE_H

#include <stddef.h>
#include <stdint.h>

/* What loadfile_open accepts besides regular files. */
#define LOADFILE_REG 0 /* regular files only */
#define LOADFILE_BLK 1 /* regular files and block devices (disk images) */

/*
 * Open path (what: "kernel", "--disk", ...) with flags (O_RDONLY, O_RDWR,
 * O_DIRECT...; O_CREAT is refused) plus O_CLOEXEC | O_NOCTTY. The open
 * itself is O_NONBLOCK, so a FIFO cannot block it; fstat then refuses
 * anything but a regular file (or, with LOADFILE_BLK, a block device):
 * FIFOs, sockets, character devices and directories are -EINVAL with a
 * message naming the kind. O_NONBLOCK is cleared again before returning.
 * Returns the fd, or -errno, logged once with the path.
 */
int loadfile_open(const char *what, const char *path, int flags, int accept);

/*
 * Read regular file path (what: "kernel", "initrd") into a malloc'd *buf of
 * *len bytes. Refuses FIFOs, devices, directories (loadfile_open) and files
 * over max bytes (-EFBIG, saying to raise --mem). 0 or -errno, logged once
 * with the path.
 */
int loadfile_read(const char *what, const char *path, uint64_t max, uint8_t **buf, size_t *len);

#endif
