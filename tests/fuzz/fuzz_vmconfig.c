/*
 * fuzz_vmconfig.c: libFuzzer harness for vm_config_from_json
 * (src/vmconfig.c), the reader of vm_config's JSON form (--dump-config's
 * output; later snapshots and migration).
 *
 * Owns: nothing but the checks below. Threads: libFuzzer's one.
 *
 * Input: the JSON text, as is (an exact-size copy, so ASan sees any read
 * past its end).
 * Checked: a refusal comes with a one-line message and leaves the output
 * untouched; an accepted config passes vm_config_check(VM_CONFIG_NO_HOST),
 * its strings are terminated within their fields, and it survives
 * to_json -> from_json unchanged, byte for byte, but for an empty transport,
 * which comes back resolved (vm_config_transport). ASan/UBSan catch the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vmconfig.h"

static struct vm_config cfg, before, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[VM_ERR_MAX] = "", err2[VM_ERR_MAX] = "";
	char *json = size ? malloc(size) : NULL, *out;
	int ret;

	FUZZ_SETUP(!size || json);
	if (size)
		memcpy(json, data, size);
	memset(&cfg, 0xa5, sizeof(cfg));
	before = cfg;
	ret = vm_config_from_json(json, size, &cfg, err, sizeof(err));
	free(json);
	if (ret) {
		FUZZ_CHECK(ret < 0);
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		FUZZ_CHECK(!strchr(err, '\n'));
		FUZZ_CHECK(!memcmp(&cfg, &before, sizeof(cfg)));
		return 0;
	}
	FUZZ_CHECK(vm_config_check(&cfg, VM_CONFIG_NO_HOST, err, sizeof(err)) == 0);
	FUZZ_CHECK(cfg.nr_disks <= VM_MAX_DISKS && cfg.nr_nets <= VM_MAX_NETS);
	out = vm_config_to_json(&cfg);
	FUZZ_SETUP(out != NULL);
	memset(&again, 0, sizeof(again));
	ret = vm_config_from_json(out, strlen(out), &again, err2, sizeof(err2));
	FUZZ_CHECK(ret == 0);
	if (!cfg.transport[0])
		FUZZ_CHECK(!vm_config_set_str(cfg.transport, sizeof(cfg.transport),
					      vm_config_transport(&cfg)));
	FUZZ_CHECK(!memcmp(&cfg, &again, sizeof(cfg)));
	free(out);
	return 0;
}
