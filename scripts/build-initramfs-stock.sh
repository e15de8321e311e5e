#!/usr/bin/env bash
# scripts/build-initramfs-stock.sh [STOCK_DIR] - build (or fetch from the cache) the initramfs
# for Debian's stock x86-64 kernel (scripts/fetch-stock-kernel.sh; STOCK_DIR is its output,
# fetched when not given). An uncompressed newc cpio holding busybox-static, the kernel modules
# that virtio_pci, virtio_blk, virtio_net, virtio_rng and ext4 need, and an /init that
#   1. mounts /proc, /sys and devtmpfs on /dev and prints `VMON-STOCK-INITRAMFS kernel=<uname -r>`,
#   2. insmods the modules in dependency order and prints
#        VMON-STOCK-MODULES loaded=<n> failed=<names|none>
#      (crc32c-intel fails with ENODEV on a CPU without SSE4.2; crc32c_generic then serves ext4),
#   3. waits (up to 20 s) for root= from the kernel command line (default /dev/vda), mounts it
#      as ext4 (read-write unless the command line says `ro`), moves /dev, /proc and /sys into
#      it and `switch_root`s to its /sbin/init; if any of that fails it prints
#      `VMON-STOCK-ROOT-FAILED <why>` and powers off.
# The module list comes from the package's own modules.dep/softdep (written by depmod in
# fetch-stock-kernel.sh), resolved by `modprobe -d ... --show-depends`, never by hand. A module
# the kernel has built in (modules.builtin) is skipped; in 6.1.0-57 all five are =m (the
# config says CONFIG_VIRTIO_PCI, VIRTIO_BLK, VIRTIO_NET, HW_RANDOM_VIRTIO, EXT4_FS =m) while
# what the boot needs before /init (PCI_MSI, ACPI, SERIAL_8250_CONSOLE, DEVTMPFS, BLK_DEV_INITRD)
# is =y, which this script checks. Compressed modules (.ko.xz/.ko.zst, CONFIG_MODULE_COMPRESS_*)
# are decompressed here, as busybox insmod loads plain .ko files only.
# VMON_STOCK_MODULES overrides the module names (default above).
# Output: $VMON_CACHE/initramfs-stock-<hash>.cpio (hash: this script, the shared lib, the kernel
# directory, busybox, gen_init_cpio.c). stdout carries ONLY that path; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMON_LOG_TAG=build-initramfs-stock
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

[ $# -le 1 ] || { echo "usage: $0 [STOCK_DIR]   (prints the path of the stock initramfs)" >&2; exit 2; }
stock=${1:-}
[ -n "$stock" ] || stock=$("$here/fetch-stock-kernel.sh") || die "fetching the stock kernel failed"
for f in vmlinuz config kver modules/modules.dep; do
	[ -e "$stock/$f" ] || die "$stock/$f missing (not a scripts/fetch-stock-kernel.sh directory?)"
done
modules=${VMON_STOCK_MODULES:-virtio_pci virtio_blk virtio_net virtio_rng ext4}

busybox=${VMON_BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "$busybox not found: install the Debian package 'busybox-static'"
case $(LC_ALL=C file -b "$(readlink -f "$busybox")" 2>/dev/null || echo unknown) in
*dynamically*) die "$busybox is dynamically linked: install the Debian package 'busybox-static'" ;;
esac
need_cmd modprobe kmod
need_cmd sha256sum coreutils

kver=$(cat "$stock/kver")
# What the boot needs before /init can load anything must be built in.
for sym in PCI_MSI ACPI SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD BINFMT_SCRIPT; do
	grep -qx "CONFIG_$sym=y" "$stock/config" || die "$kver: CONFIG_$sym is not =y; the stock boot needs it built in"
done

gen=$(gen_init_cpio_tool)
hash=$({
	cat "${BASH_SOURCE[0]}" "$here/lib/cache.sh"
	printf '%s\n' "$stock" "$modules"
	sha256sum <"$stock/modules/modules.dep"
	sha256sum <"$busybox"
	sha256sum <"$(kernel_source_dir)/usr/gen_init_cpio.c"
} | sha256sum | cut -c1-16)
out=$VMON_CACHE/initramfs-stock-$hash.cpio
if [ -f "$out" ]; then
	printf '%s\n' "$out"
	exit 0
fi

log "building the stock initramfs $out (kernel $kver, modules: $modules)"
work=$(mktemp -d "$VMON_CACHE/.initramfs-stock.XXXXXX")
trap 'rm -rf "$work"' EXIT
# modprobe -d wants BASE/lib/modules/KVER.
mkdir -p "$work/base/lib/modules"
ln -s "$stock/modules" "$work/base/lib/modules/$kver"
prefix=$work/base/lib/modules/$kver/
: >"$work/order"
for m in $modules; do
	deps=$(modprobe -d "$work/base" -S "$kver" --show-depends "$m" 2>&1) ||
		die "modprobe --show-depends $m: $deps"
	while read -r verb path _; do
		case $verb in
		builtin) log "$m: $path is built in (=y)" ;;
		insmod)
			rel=${path#"$prefix"}
			grep -qxF "$rel" "$work/order" || printf '%s\n' "$rel" >>"$work/order"
			;;
		*) die "unexpected modprobe output for $m: $verb $path" ;;
		esac
	done <<<"$deps"
done
log "modules in load order: $(sed 's|.*/||' "$work/order" | tr '\n' ' ')"

# The modules, decompressed, under /lib/modules/KVER/<same relative path, .ko>.
mkdir -p "$work/ko"
: >"$work/load"
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	for d in /proc /sys /tmp /bin /sbin /usr /usr/bin /usr/sbin /etc /newroot /lib /lib/modules "/lib/modules/$kver"; do
		echo "dir $d 0755 0 0"
	done
	declare -A made=()
	while read -r rel; do
		plain=${rel%.xz}
		plain=${plain%.zst}
		src=$stock/modules/$rel
		case $rel in
		*.ko) ;;
		*.ko.xz) need_cmd xz xz-utils; xz -dc "$src" >"$work/ko/${plain##*/}"; src=$work/ko/${plain##*/} ;;
		*.ko.zst) need_cmd zstd zstd; zstd -qdc "$src" >"$work/ko/${plain##*/}"; src=$work/ko/${plain##*/} ;;
		*) die "unknown module file type: $rel" ;;
		esac
		d=/lib/modules/$kver
		for part in $(dirname "$plain" | tr '/' ' '); do
			d=$d/$part
			[ -n "${made[$d]+x}" ] || { made[$d]=1; echo "dir $d 0755 0 0"; }
		done
		echo "file /lib/modules/$kver/$plain $src 0644 0 0"
		printf '%s\n' "/lib/modules/$kver/$plain" >>"$work/load"
	done <"$work/order"
	echo "file /etc/vmon-modules $work/load 0644 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /init $work/init 0755 0 0"
	"$busybox" --list-full | while read -r applet; do
		[ "$applet" = bin/busybox ] || echo "slink /$applet /bin/busybox 0777 0 0"
	done
} >"$work/list"

cat >"$work/init" <<'INIT'
#!/bin/sh
# Stock-kernel initramfs /init (generated by scripts/build-initramfs-stock.sh): load the
# virtio and ext4 modules, mount root= and switch_root into its /sbin/init.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "VMON-STOCK-INITRAMFS kernel=$(uname -r)"
fail() {
	echo "VMON-STOCK-ROOT-FAILED $*"
	poweroff -f
	exit 1
}
loaded=0 failed=
while read -r ko; do
	if insmod "$ko" 2>/tmp/insmod.err; then
		loaded=$((loaded + 1))
	else
		n=${ko##*/}
		failed="$failed${failed:+,}${n%.ko}"
		echo "insmod ${n}: $(cat /tmp/insmod.err)"
	fi
done </etc/vmon-modules
echo "VMON-STOCK-MODULES loaded=$loaded failed=${failed:-none}"
root=/dev/vda mode=rw
for arg in $(cat /proc/cmdline); do
	case $arg in
	root=*) root=${arg#root=} ;;
	ro) mode=ro ;;
	rw) mode=rw ;;
	esac
done
i=0
while [ ! -b "$root" ]; do
	i=$((i + 1))
	[ $i -le 200 ] || fail "no block device $root after 20 s"
	sleep 0.1
done
mount -t ext4 -o "$mode" "$root" /newroot || fail "mount -t ext4 -o $mode $root"
[ -x /newroot/sbin/init ] || fail "$root has no executable /sbin/init"
for d in dev proc sys; do
	mkdir -p "/newroot/$d"
	mount --move "/$d" "/newroot/$d" || fail "mount --move /$d"
done
exec switch_root /newroot /sbin/init
INIT

"$gen" "$work/list" >"$work/initrd.cpio" || die "gen_init_cpio failed"
mv -f "$work/initrd.cpio" "$out"
log "done: $out ($(du -h "$out" | cut -f1), $(wc -l <"$work/load") modules)"
printf '%s\n' "$out"
