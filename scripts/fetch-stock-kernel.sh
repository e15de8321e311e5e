#!/usr/bin/env bash
# scripts/fetch-stock-kernel.sh - fetch (or find in the cache) Debian's own x86-64 kernel, the
# newest linux-image-6.1.0-N-amd64 that apt knows, for the nested test's stock-kernel case.
# `apt-get download` (no root, nothing installed) fetches the .deb, `dpkg-deb -x` unpacks it and
# `depmod -b` writes the modules.dep/alias/softdep files the package leaves to its postinst.
# Output: $VMON_CACHE/stock-amd64-<package>-<version>/ holding
#   vmlinuz   the bzImage (Debian's is signed for EFI; the signature is only an appended blob)
#   config    the kernel's .config (say which drivers are =y and which =m)
#   kver      the module directory's name (uname -r), one line
#   modules/  lib/modules/<kver>/ of the package, with modules.dep and friends
# stdout carries ONLY that directory path; progress goes to stderr. A cached result is
# returned after two quick apt-cache look-ups (about 2 s each); when apt knows no such package
# (offline, no bookworm source) the newest cached one is used. Concurrent runs are serialized
# by a lock; the result is published by renaming a finished temporary directory.
# VMON_STOCK_PACKAGE=linux-image-6.1.0-N-amd64 pins the package instead of the newest one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMON_LOG_TAG=fetch-stock-kernel
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

[ $# -eq 0 ] || { echo "usage: $0   (prints the directory with vmlinuz, config, kver, modules/)" >&2; exit 2; }

need_cmd apt-cache apt
need_cmd apt-get apt
need_cmd dpkg-deb dpkg
need_cmd depmod kmod
need_cmd flock util-linux

pkg=${VMON_STOCK_PACKAGE:-}
if [ -z "$pkg" ]; then
	pkg=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1 || true)
fi
ver=
[ -z "$pkg" ] || ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	cached=$(find "$VMON_CACHE" -maxdepth 2 -path "$VMON_CACHE/stock-amd64-${pkg:-linux-image-6.1.0-*-amd64}-*/vmlinuz" 2>/dev/null |
		sort -V | tail -n 1)
	[ -n "$cached" ] || die "apt knows no ${pkg:-linux-image-6.1.0-*-amd64} package (apt-get update? a bookworm source?) and none is cached"
	log "apt has no ${pkg:-linux-image-6.1.0-*-amd64}: using the cached $(dirname "$cached")"
	dirname "$cached"
	exit 0
fi
out=$VMON_CACHE/stock-amd64-$pkg-$ver
if [ -f "$out/vmlinuz" ]; then
	printf '%s\n' "$out"
	exit 0
fi

lock_file "$VMON_CACHE/locks/stock-amd64.lock" 7
if [ -f "$out/vmlinuz" ]; then # fetched by another run while we waited
	printf '%s\n' "$out"
	exit 0
fi
work=$(mktemp -d "$VMON_CACHE/.stock-amd64.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading $pkg $ver"
(cd "$work" && apt-get download "$pkg=$ver" >&2 2>"$work/apt.err") ||
	{ cat "$work/apt.err" >&2; die "apt-get download $pkg=$ver failed"; }
deb=$(echo "$work"/*.deb)
[ -f "$deb" ] || die "apt-get download left no .deb in $work"
log "unpacking $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
rm -f "$deb"

mkdir -p "$work/out"
kver=$(basename "$(echo "$work"/root/lib/modules/*/)")
[ -d "$work/root/lib/modules/$kver/kernel" ] || die "$pkg has no lib/modules/<version>/kernel"
[ -f "$work/root/boot/vmlinuz-$kver" ] || die "$pkg has no boot/vmlinuz-$kver"
mv "$work/root/boot/vmlinuz-$kver" "$work/out/vmlinuz"
mv "$work/root/boot/config-$kver" "$work/out/config"
mv "$work/root/lib/modules/$kver" "$work/out/modules"
printf '%s\n' "$kver" >"$work/out/kver"
# depmod wants BASE/lib/modules/KVER: point a throwaway tree at the modules directory.
mkdir -p "$work/depmod/lib/modules"
ln -s "$work/out/modules" "$work/depmod/lib/modules/$kver"
depmod -b "$work/depmod" "$kver" || die "depmod -b for $kver failed"
[ -s "$work/out/modules/modules.dep" ] || die "depmod wrote no modules.dep"
chmod 755 "$work/out"
mv -T "$work/out" "$out" 2>/dev/null || true # lost a race: the other result is as good
log "done: $out (kernel $kver)"
printf '%s\n' "$out"
