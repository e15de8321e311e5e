# shellcheck shell=bash
# scripts/lib/cache.sh - helpers shared by the guest-image build scripts
# (build-kernel.sh, build-initramfs.sh, tests/e2e/nested.sh). Source it; it defines:
#   VMON_CACHE            cache root (default $HOME/.cache/vmon), created on demand
#   log MSG...            progress message to stderr, prefixed with the elapsed time
#   die MSG...            message to stderr, exit 1
#   need_cmd CMD PKG      fail (naming the Debian package) if CMD is missing
#   kernel_source_version version string of the linux-source-6.1 package
#   kernel_source_dir     extracts the kernel tarball once (locked) and prints its path
#   gen_init_cpio_tool    builds the kernel's usr/gen_init_cpio once and prints its path
#   lock_file PATH FD     take an exclusive flock on PATH using file descriptor FD
# Nothing here installs packages; it only says which one is missing.

VMON_CACHE=${VMON_CACHE:-$HOME/.cache/vmon}
VMON_KSRC_TARBALL=${VMON_KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
VMON_KSRC_PACKAGE=linux-source-6.1
_vmon_t0=${_vmon_t0:-$SECONDS}

log() { printf '[%s +%ds] %s\n' "${VMON_LOG_TAG:-vmon}" "$((SECONDS - _vmon_t0))" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${VMON_LOG_TAG:-vmon}" "$*" >&2; exit 1; }

need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2' (apt-get install $2)"
}

lock_file() { # PATH FD: blocks until the lock is ours; it is held until FD is closed/exit
	local path=$1 fd=$2
	mkdir -p "$(dirname "$path")"
	eval "exec $fd>\"\$path\""
	if ! flock -n "$fd"; then
		log "waiting for lock $path (another build is running)"
		flock "$fd"
	fi
}

kernel_source_version() {
	[ -r "$VMON_KSRC_TARBALL" ] ||
		die "$VMON_KSRC_TARBALL missing: install the Debian package '$VMON_KSRC_PACKAGE'"
	local v
	v=$(dpkg-query -W -f='${Version}' "$VMON_KSRC_PACKAGE" 2>/dev/null || true)
	if [ -z "$v" ]; then # not installed through dpkg: fall back to the tarball content
		v=sha256-$(sha256sum "$VMON_KSRC_TARBALL" | cut -d' ' -f1)
	fi
	printf '%s\n' "$v"
}

kernel_source_dir() {
	need_cmd tar tar
	need_cmd xz xz-utils
	need_cmd flock util-linux
	local ver dir tmp
	ver=$(kernel_source_version)
	dir=$VMON_CACHE/src/$VMON_KSRC_PACKAGE-$ver
	if [ ! -f "$dir/Makefile" ]; then
		lock_file "$VMON_CACHE/locks/src.lock" 8
		if [ ! -f "$dir/Makefile" ]; then
			log "extracting $VMON_KSRC_TARBALL into $dir"
			mkdir -p "$VMON_CACHE/src"
			tmp=$(mktemp -d "$VMON_CACHE/src/.extract.XXXXXX")
			tar -xJf "$VMON_KSRC_TARBALL" -C "$tmp" ||
				{ rm -rf "$tmp"; die "extracting $VMON_KSRC_TARBALL failed"; }
			# the tarball holds a single top-level directory (linux-source-6.1/)
			mv "$tmp"/*/ "$dir" || { rm -rf "$tmp"; die "unexpected tarball layout"; }
			rm -rf "$tmp"
			log "extracted"
		fi
		exec 8>&-
	fi
	printf '%s\n' "$dir"
}

gen_init_cpio_tool() {
	need_cmd cc gcc
	local src hash tool tmp
	src=$(kernel_source_dir)/usr/gen_init_cpio.c
	hash=$(sha256sum "$src" | cut -c1-16)
	tool=$VMON_CACHE/tools/gen_init_cpio-$hash
	if [ ! -x "$tool" ]; then
		mkdir -p "$VMON_CACHE/tools"
		tmp=$(mktemp "$tool.XXXXXX")
		cc -O2 -o "$tmp" "$src" || { rm -f "$tmp"; die "compiling $src failed"; }
		mv -f "$tmp" "$tool"
	fi
	printf '%s\n' "$tool"
}
