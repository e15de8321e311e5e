#!/usr/bin/env bash
# scripts/build-kernel-arm64.sh NAME - build (or fetch from the cache) a tinyconfig-based arm64
# Linux kernel for vmon's arm64 tests, cross-built with Debian's gcc-aarch64-linux-gnu. NAME:
#   l2  the guest vmon boots:           tinyconfig + guests/linux/arm64-l2.config
#   l1  the nested-test host (KVM=y):   tinyconfig + arm64-l2.config + arm64-l1.config
# Source: Debian's linux-source-6.1 (shared with scripts/build-kernel.sh), out-of-tree builds in
# $VMON_CACHE/obj/kernel-arm64-NAME. Every fragment line is checked against the final .config.
# Output: $VMON_CACHE/kernel-arm64-NAME-<hash>/{Image,config,build.log}; <hash> covers the
# fragments, the source version and these scripts. stdout carries ONLY that directory path.
# Builds of one NAME are serialized by a lock; results are published by renaming.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
VMON_LOG_TAG=build-kernel-arm64
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

usage() { echo "usage: $0 l1|l2" >&2; exit 2; }
[ $# -eq 1 ] || usage
name=$1
case $name in
l2) fragments=("$repo/guests/linux/arm64-l2.config") ;;
l1) fragments=("$repo/guests/linux/arm64-l2.config" "$repo/guests/linux/arm64-l1.config") ;;
*) usage ;;
esac
for f in "${fragments[@]}"; do [ -r "$f" ] || die "missing config fragment $f"; done
need_cmd sha256sum coreutils
need_cmd flock util-linux

src_version=$(kernel_source_version)
hash=$({
	cat "${fragments[@]}"
	printf '%s\n' "$src_version"
	cat "${BASH_SOURCE[0]}" "$here/lib/cache.sh"
} | sha256sum | cut -c1-16)
out=$VMON_CACHE/kernel-arm64-$name-$hash
if [ -f "$out/Image" ]; then
	printf '%s\n' "$out"
	exit 0
fi

cross=aarch64-linux-gnu-
need_cmd make make
need_cmd "${cross}gcc" gcc-aarch64-linux-gnu
need_cmd gcc gcc
need_cmd bc bc
need_cmd flex flex
need_cmd bison bison
need_cmd perl perl

lock_file "$VMON_CACHE/locks/kernel-arm64-$name.lock" 9
if [ -f "$out/Image" ]; then
	printf '%s\n' "$out"
	exit 0
fi

src=$(kernel_source_dir)
obj=$VMON_CACHE/obj/kernel-arm64-$name
mkdir -p "$obj"
buildlog=$obj/build.log
: >"$buildlog"
kmake() { make -C "$src" O="$obj" ARCH=arm64 CROSS_COMPILE="$cross" "$@" >>"$buildlog" 2>&1; }

log "building arm64 kernel '$name' (hash $hash) from $src_version; log: $buildlog"
kmake tinyconfig || { tail -n 30 "$buildlog" >&2; die "make tinyconfig failed"; }
cat "${fragments[@]}" >>"$obj/.config"
kmake olddefconfig || { tail -n 30 "$buildlog" >&2; die "make olddefconfig failed"; }

declare -A want=()
order=()
while IFS= read -r line; do
	sym='' val=''
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
		sym=${BASH_REMATCH[1]} val=n
	fi
	[ -n "$sym" ] || continue
	[ -n "${want[$sym]+x}" ] || order+=("$sym")
	want[$sym]=$val
done < <(cat "${fragments[@]}")
bad=()
for sym in "${order[@]}"; do
	got=$(sed -n "s/^$sym=//p" "$obj/.config" | tail -n 1)
	[ -n "$got" ] || got=n
	[ "$got" = "${want[$sym]}" ] || bad+=("$sym: wanted ${want[$sym]}, got $got")
done
if [ ${#bad[@]} -gt 0 ]; then
	printf '[build-kernel-arm64] option did not stick: %s\n' "${bad[@]}" >&2
	die "${#bad[@]} requested option(s) did not stick after olddefconfig (see $obj/.config)"
fi
log "config ok: all ${#order[@]} requested options are set"

jobs=${VMON_JOBS:-$(nproc)}
log "make -j$jobs Image; this takes a few minutes"
if ! kmake -j"$jobs" Image; then
	tail -n 40 "$buildlog" >&2
	die "kernel build failed (full log: $buildlog)"
fi

tmp=$(mktemp -d "$VMON_CACHE/.kernel-arm64-$name-$hash.XXXXXX")
cp "$obj/arch/arm64/boot/Image" "$tmp/"
cp "$obj/.config" "$tmp/config"
cp "$buildlog" "$tmp/build.log"
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
log "done: $out ($(du -h "$out/Image" | cut -f1) Image)"
printf '%s\n' "$out"
