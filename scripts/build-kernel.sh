#!/usr/bin/env bash
# scripts/build-kernel.sh NAME - build (or fetch from the cache) a tinyconfig-based x86-64 Linux
# kernel for vmon's tests. NAME is one of:
#   l2  the guest vmon boots:          tinyconfig + guests/linux/l2.config
#   l1  the nested-test host (KVM=y):  tinyconfig + guests/linux/l2.config + guests/linux/l1.config
#   l2pci  a guest with ACPI and PCI:  tinyconfig + guests/linux/l2.config + guests/linux/l2-pci.config # l2pci: not hashed
# Source: Debian's linux-source-6.1 tarball, extracted once into the cache and shared by all
# builds, which are out of tree (O=$VMON_CACHE/obj/kernel-NAME, kept for fast incremental rebuilds).
# After `olddefconfig` every line of the fragment(s) is checked against the final .config; if an
# option did not stick (unmet dependency) the script lists them and fails.
# Output: $VMON_CACHE/kernel-NAME-<hash>/{bzImage,vmlinux,config,build.log}, where <hash> covers
# the fragments, the linux-source package version and these scripts. stdout carries ONLY that
# directory path; progress goes to stderr. A cached result is returned immediately.
# VMON_CACHE defaults to $HOME/.cache/vmon; VMON_JOBS overrides the make -j count (nproc).
# Concurrent runs are safe: builds of one NAME are serialized by a lock and results are published
# by renaming a finished temporary directory. Nothing is installed: missing tools are named.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
VMON_LOG_TAG=build-kernel
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

usage() { echo "usage: $0 l1|l2" >&2; exit 2; }
usage() { echo "usage: $0 l1|l2|l2pci" >&2; exit 2; } # l2pci: not hashed
[ $# -eq 1 ] || usage
name=$1
case $name in
l2) fragments=("$repo/guests/linux/l2.config") ;;
l1) fragments=("$repo/guests/linux/l2.config" "$repo/guests/linux/l1.config") ;;
l2pci) fragments=("$repo/guests/linux/l2.config" "$repo/guests/linux/l2-pci.config") ;; # l2pci: not hashed
*) usage ;;
esac
for f in "${fragments[@]}"; do [ -r "$f" ] || die "missing config fragment $f"; done

need_cmd sha256sum coreutils
need_cmd flock util-linux

src_version=$(kernel_source_version)
# The hash covers this script, but not the lines tagged "l2pci: not hashed" (the l2pci NAME, # l2pci: not hashed
# added later): l1's and l2's cache keys stay what they were. l2pci's own key still changes # l2pci: not hashed
# with its fragments. cat is this script minus those lines while the hash is taken. # l2pci: not hashed
cat() { if [ "$1" = "${BASH_SOURCE[0]}" ]; then sed '/ # l2pci: not hashed$/d' "$1"; shift; fi; command cat "$@"; } # l2pci: not hashed
hash=$({
	cat "${fragments[@]}"
	printf '%s\n' "$src_version"
	cat "${BASH_SOURCE[0]}" "$here/lib/cache.sh"
} | sha256sum | cut -c1-16)
unset -f cat # l2pci: not hashed
out=$VMON_CACHE/kernel-$name-$hash

if [ -f "$out/bzImage" ]; then
	printf '%s\n' "$out"
	exit 0
fi

# Tools the kernel build needs (checked only when we really build).
need_cmd make make
need_cmd gcc gcc
need_cmd ld binutils
need_cmd bc bc
need_cmd flex flex
need_cmd bison bison
need_cmd perl perl
need_cmd xz xz-utils
[ -r /usr/include/libelf.h ] || die "libelf.h not found: install the Debian package 'libelf-dev'"

lock_file "$VMON_CACHE/locks/kernel-$name.lock" 9
if [ -f "$out/bzImage" ]; then # someone else built it while we waited
	printf '%s\n' "$out"
	exit 0
fi

src=$(kernel_source_dir)
obj=$VMON_CACHE/obj/kernel-$name
mkdir -p "$obj"
buildlog=$obj/build.log
: >"$buildlog"
kmake() { make -C "$src" O="$obj" ARCH=x86_64 "$@" >>"$buildlog" 2>&1; }

log "building kernel '$name' (hash $hash) from $src_version; log: $buildlog"
log "configuring: tinyconfig + ${fragments[*]##*/}"
kmake tinyconfig || { tail -n 30 "$buildlog" >&2; die "make tinyconfig failed"; }
cat "${fragments[@]}" >>"$obj/.config"
kmake olddefconfig || { tail -n 30 "$buildlog" >&2; die "make olddefconfig failed"; }

# Check that every requested option stuck. Wanted values: y, m, a number/string, or n.
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
	printf '[build-kernel] option did not stick: %s\n' "${bad[@]}" >&2
	die "${#bad[@]} requested option(s) did not stick after olddefconfig (see $obj/.config)"
fi
log "config ok: all ${#order[@]} requested options are set"

jobs=${VMON_JOBS:-$(nproc)}
log "make -j$jobs bzImage (vmlinux included); this takes a few minutes"
kmake -j"$jobs" bzImage &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' INT TERM
last=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
	sleep 2
	if [ $((SECONDS - last)) -ge 30 ]; then
		last=$SECONDS
		log "still building... last: $(tail -n 1 "$buildlog" | cut -c1-100)"
	fi
done
if ! wait "$pid"; then
	tail -n 40 "$buildlog" >&2
	die "kernel build failed (full log: $buildlog)"
fi
trap - INT TERM

tmp=$(mktemp -d "$VMON_CACHE/.kernel-$name-$hash.XXXXXX")
cp "$obj/arch/x86/boot/bzImage" "$obj/vmlinux" "$tmp/"
cp "$obj/.config" "$tmp/config"
cp "$buildlog" "$tmp/build.log"
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp" # lost a race: the other result is as good
log "done: $out ($(du -h "$out/bzImage" | cut -f1) bzImage)"
printf '%s\n' "$out"
