#!/usr/bin/env bash
# scripts/cross-deps-arm64.sh - the arm64 libraries vmon links against when cross-built
# (`make ARCH=arm64`): json-c (vm_config's JSON form), libfdt (the device tree) and libsodium (snapshot checksums and MAC), headers and
# static archives from Debian's arm64 packages, fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into the cache (nothing is installed; the host needs `dpkg --add-architecture
# arm64 && apt-get update` once, which scripts/install-deps.sh does).
# Output: $VMON_CACHE/cross-arm64-<hash> holding usr/include and usr/lib/aarch64-linux-gnu;
# stdout carries ONLY that path. Cached; concurrent runs serialize on a lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMON_LOG_TAG=cross-deps-arm64
# shellcheck source-path=SCRIPTDIR source=lib/cache.sh
source "$here/lib/cache.sh"

pkgs=(libjson-c-dev:arm64 libjson-c5:arm64 libfdt-dev:arm64 libfdt1:arm64 libsodium-dev:arm64 libsodium23:arm64)
pkgs+=(libseccomp-dev:arm64 libseccomp2:arm64)
need_cmd apt-get apt
need_cmd dpkg-deb dpkg
need_cmd flock util-linux
hash=$({
	cat "${BASH_SOURCE[0]}"
	for p in "${pkgs[@]}"; do apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p'; done
} | sha256sum | cut -c1-16)
out=$VMON_CACHE/cross-arm64-$hash
if [ -f "$out/.done" ]; then
	printf '%s\n' "$out"
	exit 0
fi
lock_file "$VMON_CACHE/locks/cross-arm64.lock" 9
if [ -f "$out/.done" ]; then
	printf '%s\n' "$out"
	exit 0
fi
work=$(mktemp -d "$VMON_CACHE/.cross-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading ${pkgs[*]}"
(cd "$work" && apt-get download "${pkgs[@]}" >&2) ||
	die "apt-get download failed: run 'dpkg --add-architecture arm64 && apt-get update' first"
mkdir "$work/root"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
touch "$work/root/.done"
mv -T "$work/root" "$out" 2>/dev/null || true
printf '%s\n' "$out"
