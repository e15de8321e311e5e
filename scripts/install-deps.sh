#!/usr/bin/env bash
# scripts/install-deps.sh: make sure the Debian packages vmon's build, guest
# images and tests need are installed. Installs missing ones with apt-get when
# run as root; otherwise prints the apt-get command and fails.
set -euo pipefail

PKGS=(
	gcc make libc6-dev          # build vmon (C17, static glibc for the nested test)
	python3                     # small helpers in the tests
	qemu-system-x86             # L0 for the nested end-to-end test (TCG emulates SVM)
	linux-source-6.1            # guest (L2) and nested-host (L1) kernels
	busybox-static cpio         # initramfs for L1 and L2
	bc flex bison libelf-dev libssl-dev xz-utils kmod   # kernel build
	e2fsprogs                   # ext2 image + debugfs for the virtio-blk e2e test
	clang libclang-rt-14-dev    # libFuzzer harnesses (make fuzz; a short run in make test)
	libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev curl  # management API: HTTP server, JSON, client; curl in its tests
	libarchive-dev              # vmon export/import: the VM archive (pax tar with sparse disk members)
	libsodium-dev  # snapshots: BLAKE2b section checksums and the host-key HMAC (crypto_auth)
	gnuplot-nox                 # make bench: the plots
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # make ARCH=arm64 (vmon for arm64, arm64 kernels)
	qemu-system-arm             # L0 for the arm64 nested test (qemu-system-aarch64, TCG)
	libfdt-dev                  # device trees: the arm64 and --arch mips32 boards
	acpica-tools                # iasl: the x86 DSDT (src/arch/x86/dsdt.asl), compiled at build time
	libseccomp-dev              # the sandbox: per-thread-role seccomp filters (src/sandbox/)
	gcc-mipsel-linux-gnu binutils-mipsel-linux-gnu  # --arch mips32: the MIPS guest kernel
	libc6-dev-mipsel-cross      # bench/mips-compliance.sh: the C test suite built for mipsel
	qemu-system-mips            # bench/mips.sh: qemu-system-mipsel, the MIPS speed anchor
)
# Foreign userlands are unpacked from Debian's packages, never installed: arm64 json-c, libfdt
# and busybox (scripts/*-arm64.sh), mipsel busybox (scripts/build-initramfs-mips.sh).
# apt-get download needs each foreign architecture.
for arch in arm64 mipsel; do
	dpkg --print-foreign-architectures | grep -qx "$arch" && continue
	if [ "$(id -u)" = 0 ]; then
		dpkg --add-architecture "$arch"
		need_update=1
	else
		echo "vmon's $arch guests need: sudo dpkg --add-architecture $arch && sudo apt-get update" >&2
	fi
done
[ -z "${need_update:-}" ] || apt-get update -qq

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "vmon needs these Debian packages: ${missing[*]}" >&2
	echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
