# tests/host/own-pidns.sh: sourced (from the repository root) by host tests with limit
# cases. Limits count every VM process on the host (src/cli/state_limits.c), so as root
# `own_pidns SCRIPT ARGS...` runs the script again in a PID namespace with its own /proc:
# VMs the host runs besides it do not change what those cases see, and the script's VMs
# die with it. Without namespaces it says so and the script goes on in the host's view.
own_pidns() {
	local script=$1; shift
	[ "$(id -u)" = 0 ] && [ -z "${VMON_OWN_PIDNS:-}" ] || return 0
	if VMON_OWN_PIDNS=1 unshare --pid --fork --mount-proc true 2>/dev/null; then
		VMON_OWN_PIDNS=1 exec unshare --pid --fork --mount-proc "$PWD/$script" "$@"
	fi
	echo "note: no PID namespace here (unshare failed): other VMs on the host count against the limit cases"
}
