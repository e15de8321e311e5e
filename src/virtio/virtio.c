/*
 * virtio.c: helpers shared by virtio devices (see virtio.h).
 */
#include "virtio.h"

#include <errno.h>
#include <string.h>

int virtio_config_none_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
	return 0;
}

int virtio_config_readonly_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)len;
	return 0; /* virtio 1.2 §4.2.2.2: writes to read-only fields are ignored */
}

void virtio_reset_none(void *dev)
{
	(void)dev;
}

int virtio_config_copy(const void *cfg, size_t cfg_len, uint64_t off, void *data, unsigned len)
{
	memset(data, 0, len);
	if (off >= cfg_len)
		return 0; /* beyond the structure: reads as zero */
	if (len > cfg_len - off)
		len = (unsigned)(cfg_len - off);
	memcpy(data, (const uint8_t *)cfg + off, len);
	return 0;
}
