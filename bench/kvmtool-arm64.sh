#!/usr/bin/env bash
# bench/kvmtool-arm64.sh - build (or fetch from the cache) kvmtool as a static arm64 binary, the
# anchor of the arm64 benchmark (bench/nested-arm64.sh). The source is cloned from its public
# repository into the cache at run time (VMON_KVMTOOL_GIT overrides the URL, VMON_KVMTOOL_REV
# the revision); nothing of kvmtool is kept in vmon's tree. libfdt comes from the arm64 cross
# deps (scripts/cross-deps-arm64.sh). stdout carries ONLY the path of lkvm-static.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
VMON_LOG_TAG=kvmtool-arm64
# shellcheck source=../scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"

url=${VMON_KVMTOOL_GIT:-https://git.kernel.org/pub/scm/linux/kernel/git/will/kvmtool.git}
rev=${VMON_KVMTOOL_REV:-HEAD}
need_cmd git git
need_cmd aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
xdeps=$("$repo/scripts/cross-deps-arm64.sh")
src=$VMON_CACHE/kvmtool-src
lock_file "$VMON_CACHE/locks/kvmtool-arm64.lock" 9
if [ ! -d "$src/.git" ]; then
	log "cloning kvmtool from $url"
	git clone -q "$url" "$src.tmp" >&2 && mv "$src.tmp" "$src"
fi
commit=$(git -C "$src" rev-parse "$rev")
out=$VMON_CACHE/kvmtool-arm64-${commit:0:12}
if [ -x "$out/lkvm-static" ]; then
	printf '%s\n' "$out/lkvm-static"
	exit 0
fi
fdt=$VMON_CACHE/kvmtool-arm64-libfdt
mkdir -p "$fdt"
cp "$xdeps"/usr/lib/aarch64-linux-gnu/libfdt.a "$xdeps"/usr/include/*fdt*.h "$fdt/"
build=$(mktemp -d "$VMON_CACHE/.kvmtool-build.XXXXXX")
trap 'rm -rf "$build"' EXIT
git -C "$src" archive "$commit" | tar -x -C "$build"
log "building kvmtool ${commit:0:12} (lkvm-static, arm64)"
make -C "$build" -j"${VMON_JOBS:-$(nproc)}" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
	LIBFDT_DIR="$fdt" WERROR=0 lkvm-static >"$build/build.log" 2>&1 ||
	{ tail -n 30 "$build/build.log" >&2; die "kvmtool build failed"; }
mkdir -p "$out"
cp "$build/lkvm-static" "$out/"
printf '%s\n' "$out/lkvm-static"
