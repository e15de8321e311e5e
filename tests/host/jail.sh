#!/usr/bin/env bash
# tests/host/jail.sh: the jailer (`vmon run --jail`, src/sandbox/jail.c) on this host.
# vmon (ASan+UBSan build unless VMON is set) runs the tiny guests of guests/hosttest/ jailed,
# as root: the guest reaches its marker and vmon's status is the guest's; seen from outside, the
# jailed process's root (/proc/PID/root) holds only its kernel, initrd, disk and /dev/kvm, the
# images read-only, the host's /etc not there and not reachable from inside (VMON_JAIL_PROBE);
# it runs as the unprivileged uid/gid with no capabilities, NoNewPrivs and its seccomp filters,
# in PID, mount, IPC, UTS and network namespaces of its own, under a memory limit; the jail's
# mount point and cgroup go when it ends. Images that are symlinks (to /etc/shadow), a jail
# directory that is a symlink and bad options are refused. As nobody (setpriv), the same jail
# is built in a user namespace and, given a KVM node nobody may open, runs the guest in it.
# Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
G=build/guests
T=$(mktemp -d)
chmod 755 "$T" # nobody reads the guest copy in here
# LeakSanitizer cannot run jailed: it reads /proc/<getpid()>/task, and in a PID namespace getpid()
# names another process of the host's /proc (inside the jail there is no /proc at all). Set
# last, so that it wins over what tests/host/run.sh passes down.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0}:detect_leaks=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" 2>/dev/null | head -30; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
san_ok() { ! grep -qE 'Sanitizer|runtime error' "$T/err"; }
have_kvm=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && have_kvm=1
root=0
[ "$(id -u)" = 0 ] && root=1
jail_case() { # NAME: skip unless root with KVM
	if [ $have_kvm = 0 ]; then skip "$1" "/dev/kvm is absent or not accessible"; return 1; fi
	if [ $root = 0 ]; then skip "$1" "needs root (the user-namespace case runs as nobody below)"; return 1; fi
	return 0
}
vm() { timeout 30 "$VMON" run "$@" </dev/null >"$T/out" 2>"$T/err"; rc=$?; }

# ---- usage: the jail's options are checked before anything is made
vm -k $G/hello.elf --jail-uid 1000
if [ "$rc" = 2 ] && grep -q -- '--jail-uid and --jail-gid need --jail' "$T/err"; then ok jail-uid-needs-jail
else bad jail-uid-needs-jail "exit $rc, want 2 and the reason"; fi
vm -k $G/hello.elf --jail --jail-gid staff
if [ "$rc" = 2 ] && grep -q -- "--jail-gid: 'staff' is not a numeric gid" "$T/err"; then ok jail-gid-not-numeric
else bad jail-gid-not-numeric "exit $rc, want 2 and the reason"; fi
vm -k $G/hello.elf --jail --api-sock "$T/a.sock"
if [ "$rc" = 2 ] && grep -q -- '--jail does not go with --api-sock' "$T/err"; then ok jail-api-refused
else bad jail-api-refused "exit $rc, want 2 (the API socket is not jailed yet)"; fi

# ---- a guest runs jailed to its marker; the host's files are out of reach from inside
if jail_case jail-hello; then
	VMON_JAIL_PROBE=/etc/hostname vm --jail -k $G/hello.elf --mem 4M
	if [ "$rc" != 0 ] || ! grep -q '^PASS hello$' "$T/out"; then bad jail-hello "exit $rc, want 0 and PASS hello"
	elif ! grep -q '^vmon: warning: jail: probe /etc/hostname: No such file or directory (errno 2)$' "$T/err"; then
		bad jail-hello "the probe of /etc/hostname from inside did not fail with ENOENT"
	elif ! san_ok; then bad jail-hello "sanitizer report"
	else ok "jail-hello (PASS hello, exit 0; /etc/hostname from inside: ENOENT)"; fi
	# the kernel's own host path is not there either: the jail has it only as /kernel
	VMON_JAIL_PROBE=$PWD/$G/hello.elf vm --jail -k $G/hello.elf --mem 4M
	if [ "$rc" = 0 ] && grep -q "jail: probe $PWD/$G/hello.elf: No such file or directory" "$T/err"; then
		ok "jail-host-path-gone (the kernel's host path from inside: ENOENT)"
	else bad jail-host-path-gone "exit $rc, or the host path was reachable"; fi
	# status passes through the waiting parent: a crash (3), a seccomp kill (SIGSYS, 159)
	vm --jail -k $G/triple.elf --mem 4M
	if [ "$rc" = 3 ]; then ok "jail-crash-status (triple fault: 3)"; else bad jail-crash-status "exit $rc, want 3"; fi
	# stdout a pipe: without /proc the console shares its description, given back at the end
	timeout 30 "$VMON" run --jail -k $G/hello.elf --mem 4M </dev/null 2>"$T/err" | cat >"$T/out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ] && grep -q '^PASS hello$' "$T/out"; then ok "jail-stdout-pipe (PASS hello through a pipe, exit 0)"
	else bad jail-stdout-pipe "exit $rc, want 0"; fi
	# a read-write disk: opened before the uid drop, so nobody needs no rights on the image
	head -c 65536 /dev/zero >"$T/rw.img"
	vm --jail -k $G/hello.elf --disk "$T/rw.img" --mem 4M --stats
	if [ "$rc" = 0 ] && grep -q '^PASS hello$' "$T/out" && grep -qE '^  virtio-blk0( @|:)' "$T/err"; then
		ok "jail-rw-disk (a read-write disk of root's, 0644: attached, PASS hello)"
	else bad jail-rw-disk "exit $rc"; fi
	VMON_SECCOMP_SELFTEST=vcpu vm --jail -k $G/hello.elf --mem 4M
	if [ "$rc" = 159 ] && grep -q 'seccomp: thread vcpu made forbidden syscall socket' "$T/err"; then
		ok "jail-seccomp-kill (the filters still hold: SIGSYS, 159)"
	else bad jail-seccomp-kill "exit $rc, want 159 and the report"; fi
fi

# ---- a running jailed VM seen from outside
# start_vm ARGS...: jailed vmon in the background on a held-open FIFO; $pid the parent, $child
# the jailed process once the guest printed "tick 2".
start_vm() {
	rm -f "$T/fifo"; mkfifo "$T/fifo"
	sleep 30 >"$T/fifo" & pids+=($!)
	rm -f "$T/out" "$T/err"
	"$VMON" run "$@" <"$T/fifo" >"$T/out" 2>"$T/err" & pid=$!; pids+=($pid)
	for _ in $(seq 100); do grep -q '^tick 2$' "$T/out" 2>/dev/null && break; sleep 0.1; done
	child=$(pgrep -P "$pid" | head -1)
	[ -n "$child" ] && grep -q '^tick 2$' "$T/out"
}
stop_vm() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rc=$?; }
field() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$child/status"; }
# The memory limit of $child's cgroup: v2 memory.max, else the v1 memory hierarchy's.
mem_limit() {
	local p
	p=$(sed -n 's/^0:://p' "/proc/$child/cgroup")
	for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -n "$p" ] && [ -f "$m$p/memory.max" ] && { cat "$m$p/memory.max"; return; }
	done
	p=$(sed -n 's/^[0-9]*:\([^:]*,\)\?memory\(,[^:]*\)\?://p' "/proc/$child/cgroup")
	[ -n "$p" ] && [ -f "/sys/fs/cgroup/memory$p/memory.limit_in_bytes" ] &&
		cat "/sys/fs/cgroup/memory$p/memory.limit_in_bytes"
}
if jail_case jail-running; then
	head -c 65536 /dev/zero >"$T/disk.img"
	head -c 4096 /dev/zero >"$T/initrd"
	if ! start_vm --jail -k $G/ticker.elf --initrd "$T/initrd" --disk "$T/disk.img,ro" --mem 4M; then
		bad jail-running "the guest never printed 'tick 2' or no jailed child of $pid"
	else
		listing=$(cd "/proc/$child/root" && find . -mindepth 1 -maxdepth 3 | sort | tr '\n' ' ')
		ro=$(awk '$5 ~ /^\/(kernel|initrd|disk0)$/ { split($6, o, ","); print $5 "=" o[1] }' \
			"/proc/$child/mountinfo" | sort | tr '\n' ' ')
		rootro=$(awk '$5 == "/" { split($6, o, ","); print o[1] }' "/proc/$child/mountinfo")
		uid=$(field Uid); gid=$(field Gid); nnp=$(field NoNewPrivs); cap=$(field CapEff)
		grp=$(field Groups)
		sc=$(for t in /proc/"$child"/task/*; do case $(cat "$t/comm") in kvm-*) continue ;; esac
			awk '/^Seccomp:/ { print $2 }' "$t/status"; done | sort -u | tr '\n' ' ')
		same_ns=""
		for ns in pid mnt ipc uts net; do
			[ "$(readlink /proc/$child/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] && same_ns="$same_ns $ns"
		done
		comms="$(cat /proc/$pid/comm) $(cat /proc/$child/comm)"
		lim=$(mem_limit)
		jdir=$(ls -d /run/vmon-jail/vmon-"$pid" 2>/dev/null)
		hostview=$(ls -A "$jdir" 2>/dev/null | wc -l)
		cgdirs=$(grep -o "/vmon-$pid\$" "/proc/$child/cgroup" | wc -l)
		cgpaths=$(awk -F: -v p="/vmon-$pid" '$3 ~ p"$" { print ($1 == 0 ? "" : "/" $2) $3 }' \
			"/proc/$child/cgroup")
		stop_vm
		if [ "$listing" != "./dev ./dev/kvm ./disk0 ./initrd ./kernel " ]; then
			bad jail-root-contents "the jail's root holds: ${listing:0:200}"
		elif [ -e "/proc/$child/root/etc/passwd" ]; then bad jail-root-contents "etc/passwd is in the jail"
		else ok "jail-root-contents (/proc/PID/root: $listing; no etc/passwd)"; fi
		if [ "$ro" = "/disk0=ro /initrd=ro /kernel=ro " ] && [ "$rootro" = ro ]; then
			ok "jail-read-only (kernel, initrd, the ro disk and the jail's root are read-only mounts)"
		else bad jail-read-only "mount options: $ro; root: $rootro"; fi
		if [ "$uid" = "65534 65534 65534 65534" ] && [ "$gid" = "65534 65534 65534 65534" ] &&
		   [ "$nnp" = 1 ] && [ "$cap" = 0000000000000000 ] && [ -z "$grp" ]; then
			ok "jail-ids (Uid/Gid 65534, no groups, CapEff 0, NoNewPrivs 1)"
		else bad jail-ids "Uid '$uid' Gid '$gid' Groups '$grp' CapEff '$cap' NoNewPrivs '$nnp'"; fi
		if [ "$sc" = "2 " ]; then ok "jail-seccomp (every thread filtered inside the jail)"
		else bad jail-seccomp "Seccomp states: $sc"; fi
		if [ -z "$same_ns" ]; then ok "jail-namespaces (pid, mnt, ipc, uts, net differ from the host's)"
		else bad jail-namespaces "shares with the host:$same_ns"; fi
		# the host-wide VM count (cli/state_limits.c) counts "vmon:<MiB>M" processes: the parent only
		if [ "$comms" = "vmon:4M vmon-jailed" ]; then ok "jail-counted-once (parent vmon:4M, child vmon-jailed)"
		else bad jail-counted-once "parent and child named: $comms"; fi
		if [ -z "$lim" ]; then
			if grep -q 'jail: no writable cgroup with the memory controller' "$T/err"; then
				skip jail-cgroup-memory "no writable memory cgroup here (vmon warned)"
			else bad jail-cgroup-memory "no memory cgroup and no warning"; fi
		elif [ "$lim" = $(( (4 + 128) << 20 )) ]; then
			ok "jail-cgroup-memory (limit $lim = 4M guest + 128M)"
		else bad jail-cgroup-memory "memory limit $lim, want $(( (4 + 128) << 20 ))"; fi
		if [ "$rc" != 4 ]; then bad jail-sigterm "exit $rc after SIGTERM to the parent, want 4"
		elif [ -z "$jdir" ] || [ "$hostview" != 0 ]; then
			bad jail-sigterm "mount point '$jdir' missing, or the host sees $hostview entries in it"
		elif [ -e "$jdir" ]; then bad jail-sigterm "$jdir left behind"
		else
			left=""
			for p in $cgpaths; do
				for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do [ -d "$m$p" ] && left="$left $m$p"; done
			done
			if [ -n "$left" ]; then bad jail-sigterm "cgroups left:$left"
			else ok "jail-sigterm (forwarded: exit 4; mount point, empty from the host, and $cgdirs cgroup(s) removed)"; fi
		fi
	fi
	# --jail-uid/--jail-gid and a jail directory of one's own, which is kept (it was there)
	mkdir -m 700 "$T/jd"
	if ! start_vm --jail="$T/jd" --jail-uid 12345 --jail-gid 23456 -k $G/ticker.elf --mem 4M; then
		bad jail-own-ids "the guest never printed 'tick 2'"
	else
		uid=$(field Uid); gid=$(field Gid)
		stop_vm
		if [ "${uid%% *}" = 12345 ] && [ "${gid%% *}" = 23456 ] && [ -d "$T/jd" ] && [ -z "$(ls -A "$T/jd")" ]; then
			ok "jail-own-ids (--jail=DIR --jail-uid 12345 --jail-gid 23456; DIR kept, empty)"
		else bad jail-own-ids "Uid '$uid' Gid '$gid', DIR: $(ls -A "$T/jd" 2>&1)"; fi
	fi
fi

# ---- hostile paths: images that are symlinks, a jail directory that is one
if jail_case jail-symlinks; then
	ln -s /etc/shadow "$T/kernel-link"
	vm --jail -k "$T/kernel-link" --mem 4M
	if [ "$rc" = 1 ] && grep -q "kernel '$T/kernel-link' is a symbolic link: refused" "$T/err"; then
		ok "jail-kernel-symlink (a kernel linking to /etc/shadow: refused, exit 1)"
	else bad jail-kernel-symlink "exit $rc, want 1 and the refusal"; fi
	ln -s /etc/passwd "$T/disk-link"
	vm --jail -k $G/hello.elf --disk "$T/disk-link" --mem 4M
	if [ "$rc" = 1 ] && grep -q "disk '$T/disk-link' is a symbolic link: refused" "$T/err"; then
		ok "jail-disk-symlink (a disk linking to /etc/passwd: refused, exit 1)"
	else bad jail-disk-symlink "exit $rc, want 1 and the refusal"; fi
	# a link on the way, not at the end: refused too (openat2 RESOLVE_NO_SYMLINKS)
	ln -s /etc "$T/etc-link"
	vm --jail -k $G/hello.elf --disk "$T/etc-link/passwd" --mem 4M
	if [ "$rc" = 1 ] && grep -q "disk '$T/etc-link/passwd': a directory on its path is a symbolic link: refused" "$T/err"; then
		ok "jail-dir-link-on-path (a disk under a link to /etc: refused, exit 1)"
	elif ! printf '%s\n' 5.6 "$(uname -r | cut -d- -f1)" | sort -V -C; then
		skip jail-dir-link-on-path "kernel $(uname -r) has no openat2: only a trailing link is caught"
	else bad jail-dir-link-on-path "exit $rc, want 1 and the refusal"; fi
	vm --jail -k $G/hello.elf --disk "$T" --mem 4M
	if [ "$rc" = 1 ] && grep -q "is a directory: refused" "$T/err"; then ok "jail-disk-directory (refused)"
	else bad jail-disk-directory "exit $rc, want 1"; fi
	ln -s /etc "$T/jail-link"
	vm --jail="$T/jail-link" -k $G/hello.elf --mem 4M
	if [ "$rc" = 1 ] && grep -q "jail: '$T/jail-link' is not a directory owned by" "$T/err"; then
		ok "jail-dir-symlink (--jail=a link to /etc: refused, exit 1)"
	else bad jail-dir-symlink "exit $rc, want 1 and the refusal"; fi
fi

# ---- not root: the same jail in a user namespace (as nobody, through setpriv). /dev/kvm is often
# root's alone: nobody gets a KVM node of its own in a 0700 directory only it (and root) can enter.
asnobody() { setpriv --reuid 65534 --regid 65534 --clear-groups env XDG_RUNTIME_DIR="$T/xdg" "$@"; }
if ! command -v setpriv >/dev/null; then skip jail-userns "setpriv is not installed"
elif [ $root = 0 ]; then skip jail-userns "needs root to become nobody"
elif [ $have_kvm = 0 ]; then skip jail-userns "/dev/kvm is absent"
else
	cp $G/hello.elf $G/ticker.elf "$T/"; chmod 644 "$T/hello.elf" "$T/ticker.elf"
	mkdir -m 700 "$T/xdg"
	kvm=/dev/kvm
	if mknod -m 600 "$T/xdg/kvm" c "$(stat -c '%t' /dev/kvm | xargs -I{} printf '%d' 0x{})" \
		"$(stat -c '%T' /dev/kvm | xargs -I{} printf '%d' 0x{})" 2>/dev/null; then kvm=$T/xdg/kvm; fi
	chown -R 65534:65534 "$T/xdg"
	VMON_JAIL_PROBE=/etc/hostname asnobody timeout 30 "$VMON" run --jail --kvm-device "$kvm" \
		-k "$T/hello.elf" --mem 4M </dev/null >"$T/out" 2>"$T/err"; rc=$?
	if grep -q 'jail: cannot create a user namespace' "$T/err"; then
		skip jail-userns "unprivileged user namespaces are disabled here: $(grep -m1 'user namespace' "$T/err" | cut -c1-80)"
	elif ! grep -q 'jail: probe /etc/hostname: No such file or directory' "$T/err"; then
		bad jail-userns "exit $rc: the jail was not built as nobody"
	elif [ -n "$(ls -A "$T/xdg/vmon-jail" 2>/dev/null)" ]; then bad jail-userns "the mount point was left behind"
	elif [ "$rc" = 0 ] && grep -q '^PASS hello$' "$T/out"; then
		ok "jail-userns (as nobody: user namespace, /etc/hostname ENOENT inside, PASS hello, exit 0)"
	elif [ "$rc" = 1 ] && grep -q 'no permission to open' "$T/err"; then
		ok "jail-userns (as nobody: built in a user namespace, /etc/hostname ENOENT inside; no KVM node nobody may open here, so no guest)"
	else bad jail-userns "exit $rc"; fi
	# a running one seen from outside: its own user namespace besides the others, same shape
	if [ "$kvm" != /dev/kvm ]; then
		rm -f "$T/out" "$T/err"
		# not through asnobody: a backgrounded function is a subshell, $! would be it, not vmon
		setpriv --reuid 65534 --regid 65534 --clear-groups env XDG_RUNTIME_DIR="$T/xdg" \
			"$VMON" run --jail --kvm-device "$kvm" -k "$T/ticker.elf" --mem 4M \
			</dev/null >"$T/out" 2>"$T/err" & pid=$!; pids+=($pid)
		for _ in $(seq 100); do grep -q '^tick 2$' "$T/out" 2>/dev/null && break; sleep 0.1; done
		child=$(pgrep -P "$pid" | head -1)
		if [ -z "$child" ] || ! grep -q '^tick 2$' "$T/out"; then bad jail-userns-running "no jailed guest ticking"
		else
			listing=$(cd "/proc/$child/root" && find . -mindepth 1 -maxdepth 3 | sort | tr '\n' ' ')
			same_ns=""
			for ns in user pid mnt ipc uts net; do
				[ "$(readlink /proc/$child/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] && same_ns="$same_ns $ns"
			done
			uid=$(field Uid); cap=$(field CapEff); prm=$(field CapPrm); nnp=$(field NoNewPrivs)
			sc=$(field Seccomp)
			stop_vm
			if [ "$listing" = "./dev ./dev/kvm ./kernel " ] && [ -z "$same_ns" ] &&
			   [ "$uid" = "65534 65534 65534 65534" ] && [ "$cap" = 0000000000000000 ] &&
			   [ "$prm" = 0000000000000000 ] && [ "$nnp" = 1 ] && [ "$sc" = 2 ] && [ "$rc" = 4 ]; then
				ok "jail-userns-running (root: $listing; user, pid, mnt, ipc, uts, net namespaces its own; uid 65534, no capabilities in its namespace, NoNewPrivs, seccomp; SIGTERM: 4)"
			else bad jail-userns-running "root '${listing:0:200}', shared ns:$same_ns, Uid '$uid', CapEff $cap CapPrm $prm, NoNewPrivs $nnp, Seccomp $sc, exit $rc"; fi
		fi
	else skip jail-userns-running "cannot make a KVM node for nobody here"; fi
fi

echo "jail tests: $pass passed, $fail failed, $skip skipped"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
