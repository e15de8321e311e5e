#!/usr/bin/env bash
# scripts/build-initramfs-mips.sh - build (or fetch from the cache) the initramfs the MIPS32 guest
# boots (--arch mips32): Debian's busybox-static:mipsel (fetched with `apt-get download` into the
# cache and unpacked with dpkg-deb -x; nothing is installed) and an /init that prints the marker
# "VMON-MIPS-INIT-OK", reads the first virtio disk when there is one ("VMON-MIPS-DISK <first
# line of /dev/vda>"), sleeps N seconds when the command line has vmon.sleep=N
# ("VMON-MIPS-SLEPT N"), and reboots.
# Output: $VMON_CACHE/initramfs-mips-<hash>.cpio; stdout carries ONLY that path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMON_LOG_TAG=build-initramfs-mips
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

[ $# -eq 0 ] || { echo "usage: $0   (prints the path of the MIPS initramfs)" >&2; exit 2; }
need_cmd sha256sum coreutils
need_cmd flock util-linux
need_cmd dpkg-deb dpkg
need_cmd apt-get apt

lock_file "$VMON_CACHE/locks/busybox-mipsel.lock" 7
bbdir=$(ls -d "$VMON_CACHE"/busybox-mipsel-* 2>/dev/null | head -n 1 || true)
if [ -z "$bbdir" ] || [ ! -x "$bbdir/bin/busybox" ]; then
	dl=$(mktemp -d "$VMON_CACHE/.busybox-mipsel.XXXXXX")
	log "downloading busybox-static:mipsel (dpkg --add-architecture mipsel && apt-get update if this fails)"
	(cd "$dl" && apt-get download busybox-static:mipsel >&2) ||
		die "apt-get download busybox-static:mipsel failed"
	deb=$(ls "$dl"/busybox-static_*_mipsel.deb)
	ver=$(basename "$deb" .deb)
	ver=${ver#busybox-static_}
	dpkg-deb -x "$deb" "$dl/root" || die "dpkg-deb -x $deb failed"
	bbdir=$VMON_CACHE/busybox-mipsel-$ver
	rm -rf "$bbdir"
	mv "$dl/root" "$bbdir"
	rm -rf "$dl"
fi
exec 7>&-
busybox=$bbdir/bin/busybox

gen=$(gen_init_cpio_tool)
hash=$({
	cat "${BASH_SOURCE[0]}" "$here/lib/cache.sh"
	sha256sum <"$busybox"
	sha256sum <"$(kernel_source_dir)/usr/gen_init_cpio.c"
} | sha256sum | cut -c1-16)
out=$VMON_CACHE/initramfs-mips-$hash.cpio
if [ -f "$out" ]; then
	printf '%s\n' "$out"
	exit 0
fi

log "building MIPS initramfs $out"
work=$(mktemp -d "$VMON_CACHE/.initramfs-mips.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
read -r up _ </proc/uptime
echo "VMON-MIPS-INIT-OK uptime=$up"
if [ -b /dev/vda ]; then
	echo "VMON-MIPS-DISK $(head -n 1 /dev/vda)"
fi
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmon.sleep=*) sleep "${arg#vmon.sleep=}"; read -r up _ </proc/uptime; echo "VMON-MIPS-SLEPT ${arg#vmon.sleep=} uptime=$up" ;;
	esac
done
reboot -f
echo "VMON-MIPS-REBOOT-FAILED"
INIT

{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	for d in /proc /sys /tmp /bin /sbin /usr /usr/bin /usr/sbin; do
		echo "dir $d 0755 0 0"
	done
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /init $work/init 0755 0 0"
	for a in sh mount echo head cat reboot poweroff ls grep sleep; do
		echo "slink /bin/$a /bin/busybox 0777 0 0"
	done
} >"$work/list"

"$gen" "$work/list" >"$work/initrd.cpio" || die "gen_init_cpio failed"
mv -f "$work/initrd.cpio" "$out"
log "done: $out ($(du -h "$out" | cut -f1))"
printf '%s\n' "$out"
