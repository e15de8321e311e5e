#!/usr/bin/env bash
# scripts/demo.sh: `make demo`. Builds vmon and the project's guest (Linux 6.1 +
# busybox initramfs, cached under ~/.cache/vmon) and boots it with 2 vCPUs and
# --stats. On hardware KVM vmon runs the guest right here, console on this
# terminal. On a PVM host (or without /dev/kvm) a stock Linux cannot boot, so the
# guest is booted nested: QEMU TCG -> L1 Linux with KVM -> vmon -> the guest,
# with the guest's full console shown (prefixed "[L1] L2|").
set -euo pipefail
cd "$(dirname "$0")/.."

kernel=$(scripts/build-kernel.sh l2)
initrd=$(scripts/build-initramfs.sh)
if [ -c /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then
	echo "demo: hardware KVM here: booting the guest directly (Ctrl-A x quits)" >&2
	# the project's L2 kernel has no PCI: virtio-mmio (vmon's default on x86 is pci)
	exec build/vmon run --transport mmio --kernel "$kernel/bzImage" --initrd "$initrd" --cpus 2 --mem 256M \
		--stats --cmdline "console=ttyS0 reboot=k panic=-1"
fi
why="no /dev/kvm"
[ -e /sys/module/kvm_pvm ] && why="this host's KVM is $(build/vmon info | sed -n 's/^backend: *//p')"
echo "demo: $why: booting the guest nested (QEMU TCG -> L1 Linux + KVM -> vmon -> L2)" >&2
VMON_NESTED_CASES=bzimage-2cpu \
	VMON_NESTED_L2_CMDLINE="console=ttyS0 panic=-1" \
	VMON_NESTED_VMON_ARGS="--stats" \
	exec tests/e2e/nested.sh --vmm build/vmon.static
