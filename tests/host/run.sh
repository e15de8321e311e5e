#!/usr/bin/env bash
# tests/host/run.sh: host tests. vmon (ASan+UBSan build) runs the tiny guests in
# guests/hosttest/ on this machine's /dev/kvm and the checks below assert on what
# the guests print, on vmon's exit status and on its --stats counters. Error
# cases (bad input, no KVM) need no KVM. Ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."

VMON=${VMON:-build/vmon.san}
G=build/guests
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
have_kvm=0
[ -r /dev/kvm ] && [ -w /dev/kvm ] && have_kvm=1

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1: $2"; fail=$((fail + 1)); sed 's/^/     | /' "$T/out" "$T/err" | head -40; }
skip() { echo "SKIP $1: $2"; skip=$((skip + 1)); }

# vm NAME [vmon run args...]: run with stdin from $T/in (empty unless set), 30 s cap.
vm() {
	local name=$1; shift
	timeout 30 "$VMON" run "$@" <"${IN:-/dev/null}" >"$T/out" 2>"$T/err"
	rc=$?
}
want() { # NAME RC PATTERN-IN-STDOUT [PATTERN-IN-STDERR]
	local name=$1 wrc=$2 pout=$3 perr=${4:-}
	if [ "$rc" != "$wrc" ]; then bad "$name" "exit status $rc, want $wrc"; return 1; fi
	if [ -n "$pout" ] && ! grep -qE -- "$pout" "$T/out"; then bad "$name" "stdout lacks /$pout/"; return 1; fi
	if [ -n "$perr" ] && ! grep -qE -- "$perr" "$T/err"; then bad "$name" "stderr lacks /$perr/"; return 1; fi
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then bad "$name" "sanitizer report"; return 1; fi
	return 0
}
# stat DEVICE: the access count (exits) --stats printed for a device row; cstat DEVICE: its
# coalesced writes (the rows whose last column says "coalesced").
stat() { awk -v d="$1" '$1 ~ /^(pio|mmio)$/ && $2 == d && $NF != "coalesced" { print $(NF-1) }' "$T/err" | head -1; }
cstat() { awk -v d="$1" '$1 ~ /^(pio|mmio)$/ && $2 == d && $NF == "coalesced" { print $(NF-1) }' "$T/err" | head -1; }
# The host KVM has coalesced port I/O (KVM_CHECK_EXTENSION = _IO(0xAE, 0x03), KVM_CAP_COALESCED_PIO = 162).
coalesced_pio=$(python3 -c 'import fcntl, os; f = os.open("/dev/kvm", os.O_RDWR); print(1 if fcntl.ioctl(f, 0xAE03, 162) > 0 else 0)' 2>/dev/null || echo 0)

kvm_case() { # skip when there is no KVM
	if [ $have_kvm = 0 ]; then skip "$1" "/dev/kvm is absent or not accessible"; return 1; fi
	return 0
}

# ---- guests that must pass
if kvm_case hello; then
	vm hello -k $G/hello.elf --mem 4M
	want hello 0 '^PASS hello$' && ok hello
fi

if kvm_case dispatch; then
	vm dispatch -k $G/dispatch.elf --mem 4M --stats
	if want dispatch 0 '^PASS dispatch$' 'exit statistics'; then
		post=$(stat post); wild=$(awk '$1=="mmio" && $2=="(unclaimed)" {print $3}' "$T/err")
		if [ "$post" = 1000 ] && [ "$wild" = 100 ]; then ok "dispatch (post=$post, unclaimed mmio=$wild)"
		else bad dispatch "stats: post=$post (want 1000), unclaimed mmio=$wild (want 100)"; fi
	fi
fi

# The PCI host bridge and virtio-pci as a guest driver sees them (guests/hosttest/pci.c):
# enumeration by CF8 and ECAM, BAR sizing, the virtio capabilities, one rng request whose
# notify reaches the device (through the ioeventfd when KVM has it).
if kvm_case pci; then
	vm pci -k $G/pci.elf --mem 4M --transport pci --stats
	if want pci 0 '^PASS pci$' 'exit statistics'; then
		req=$(awk '$1=="virtio-rng0:" {for (i=2;i<=NF;i++) if ($i=="requests") print $(i+1)}' "$T/err" | tr -d ,)
		if [ "$req" = 1 ] && grep -q '^bar4 0xc0000000 size 0x4000$' "$T/out"; then ok "pci (rng requests=$req)"
		else bad pci "rng requests=$req (want 1), or BAR 4 not at 0xc0000000 size 16 KiB"; fi
	fi
fi
# No --transport on x86 is pci (a stock kernel's devices are on PCI): the same guest finds its rng.
if kvm_case pci-default; then
	vm pci-default -k $G/pci.elf --mem 4M
	want pci-default 0 '^PASS pci$' && ok "pci-default (no --transport: virtio-pci)"
fi
# Coalesced port writes (accel.h's coalesce_pio): KVM buffers the CF8 latch and CMOS index
# writes, vmon dispatches them before the next exit (guests/hosttest/cf8.c checks every answer
# against its address, so a write dispatched late or out of order fails the guest). --stats
# counts them apart: pci-cf8's exits must be exactly the guest's data-port accesses (one exit
# per config access, not two) and its coalesced writes exactly the guest's CF8 writes.
if kvm_case cf8-coalesced; then
	vm cf8 -k $G/cf8.elf --mem 4M --transport pci --stats
	if want cf8-coalesced 0 '^PASS cf8$' 'exit statistics'; then
		read -r w d c < <(sed -nE 's/^cf8 writes ([0-9]+) data ([0-9]+) cmos index ([0-9]+)$/\1 \2 \3/p' "$T/out")
		ex=$(stat pci-cf8); co=$(cstat pci-cf8); rco=$(cstat rtc)
		if [ "$coalesced_pio" = 1 ]; then
			if [ "$ex" = "$d" ] && [ "$co" = "$w" ] && [ "$rco" = "$c" ]; then
				ok "cf8-coalesced ($w CF8 writes without an exit, $d config data accesses = $ex exits: 1 exit per config access; $c CMOS index writes coalesced)"
			else bad cf8-coalesced "pci-cf8 exits $ex (want $d), coalesced $co (want $w), rtc coalesced $rco (want $c)"; fi
		elif [ "$ex" = $((w + d)) ] && [ -z "$co" ]; then
			ok "cf8-coalesced (no KVM_CAP_COALESCED_PIO here: $ex exits, as many as the guest's accesses)"
		else bad cf8-coalesced "no coalesced PIO: pci-cf8 exits $ex (want $((w + d))), coalesced '$co' (want none)"; fi
	fi
fi
# With --transport mmio the bus has only the host bridge: the guest finds no rng.
if kvm_case pci-absent; then
	vm pci-absent -k $G/pci.elf --mem 4M --transport mmio
	want pci-absent 0 '^FAIL pci: no virtio-rng function$' && ok pci-absent
fi

for mib in 64 3584; do
	if kvm_case "memmap-${mib}M"; then
		vm memmap -k $G/memmap.elf --mem ${mib}M --cmdline "expect_mib=$mib"
		if want "memmap-${mib}M" 0 '^PASS memmap$'; then
			if [ $mib -gt 3072 ] && ! grep -q '^e820: 0x100000000-0x11fffffff ram' "$T/out"; then
				bad "memmap-${mib}M" "no RAM above 4 GiB in the e820 map"
			else ok "memmap-${mib}M"; fi
		fi
	fi
done

if kvm_case hlt; then
	vm hlt -k $G/hlt.elf --mem 4M --stats
	if want hlt 0 '^PASS hlt$'; then
		if grep -q ' hlt [0-9]' "$T/err"; then bad hlt "HLT reached user space; the in-kernel LAPIC should handle it"
		else ok "hlt (woken by the LAPIC timer, no HLT exits)"; fi
	fi
fi

for n in 1 2 4 64; do
	if kvm_case "smp-$n"; then
		vm smp -k $G/smp.elf --mem 4M --cpus $n
		want "smp-$n" 0 "^PASS smp cpus=$n\$" && ok "smp-$n"
	fi
done

if kvm_case console-input; then
	printf 'hello world\n' >"$T/in"
	IN=$T/in vm echo -k $G/echo.elf --mem 4M
	want console-input 0 '^PASS echo hello world$' && ok console-input
fi

# Two VMs in one process at once: no state outside struct vm (tests/host/two_vms.c).
if kvm_case two-vms; then
	if timeout 60 build/two_vms $G/hello.elf $G/smp.elf >"$T/out" 2>"$T/err"; then rc=0; else rc=$?; fi
	want two-vms 0 '^4 passed, 0 failed$' && ok "two-vms (hello and smp concurrently in one process, each device list saved, loaded and saved again identically)"
fi

# The accelerator's snapshot state: save, load into another VM, hostile streams (tests/host/kvm_state.c).
if kvm_case kvm-state; then
	if timeout 60 build/kvm_state >"$T/out" 2>"$T/err"; then rc=0; else rc=$?; fi
	want kvm-state 0 '^15 passed, 0 failed$' && ok "kvm-state (vCPU and VM state saved, loaded into a second VM equal; hostile streams refused; dirty log on/off)"
fi

# ---- guests and hosts that must stop with a given status
if kvm_case triple-fault; then
	vm triple -k $G/triple.elf --mem 4M
	want triple-fault 3 '^triple: faulting now' 'triple fault' && ok "triple-fault (exit 3)"
fi

if kvm_case ctrl-a-x; then
	printf 'ab\001x' >"$T/in"
	IN=$T/in vm echo -k $G/echo.elf --mem 4M
	want ctrl-a-x 4 '' 'Ctrl-A x' && ok "ctrl-a-x (exit 4)"
fi

if kvm_case sigterm; then
	mkfifo "$T/fifo"
	sleep 10 >"$T/fifo" &
	holder=$!
	timeout 30 "$VMON" run -k $G/echo.elf --mem 4M <"$T/fifo" >"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 50); do grep -q 'echo: ready' "$T/out" && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid; rc=$?
	kill $holder 2>/dev/null; wait $holder 2>/dev/null
	want sigterm 4 'echo: ready' 'signal' && ok "sigterm (exit 4)"
fi

# ---- a detached VM process (--state-dir; the API itself: tests/host/api.sh): state.json, TTL
api() { # METHOD PATH [JSON]: prints the HTTP status; the body lands in $T/body
	curl -s --max-time 10 --unix-socket "$T/api.sock" -o "$T/body" -w '%{http_code}' -X "$1" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} "http://localhost$2"
}
ticks() { grep -c '^tick ' "$T/out"; }
if ! command -v curl >/dev/null; then
	skip api-pause "curl is not installed"
elif kvm_case api-pause; then
	mkdir -p "$T/sd"
	timeout 60 "$VMON" run --state-dir "$T/sd" --api-sock "$T/api.sock" --name pz -k $G/ticker.elf --mem 4M \
		>"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do grep -q '^tick 2$' "$T/sd/serial.log" 2>/dev/null && break; sleep 0.05; done
	cp "$T/sd/serial.log" "$T/out"
	st=$(api PATCH /vm '{"state":"Paused"}'); sleep 0.5; cp "$T/sd/serial.log" "$T/out"; a=$(ticks)
	state_paused=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$T/sd/state.json")
	sleep 1; cp "$T/sd/serial.log" "$T/out"; b=$(ticks)
	st2=$(api PATCH /vm '{"state":"Resumed"}'); sleep 1; cp "$T/sd/serial.log" "$T/out"; c=$(ticks)
	kill -TERM $pid; wait $pid; rc=$?
	final=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["state"], d["exit_status"])' "$T/sd/state.json")
	if [ "$st" != 204 ] || [ "$st2" != 204 ]; then bad api-pause "PATCH /vm answered $st / $st2"
	elif [ "$a" != "$b" ] || [ "$c" -le "$b" ]; then bad api-pause "ticks paused $a -> $b (want equal), resumed -> $c (want more)"
	elif [ "$state_paused" != Paused ]; then bad api-pause "state.json says '$state_paused' while paused"
	else ok "api-pause (ticks stood at $a for 1 s while paused, reached $c after resume)"; fi
	if [ "$rc" = 4 ] && [ "$final" = "Stopped 4" ] && [ ! -e "$T/api.sock" ] && [ ! -e "$T/sd/console.sock" ]; then
		ok "api-stopped (SIGTERM: exit 4, state.json Stopped 4, sockets removed)"
	else bad api-stopped "exit $rc, state.json '$final', sockets left: $(ls "$T"/api.sock "$T"/sd/*.sock 2>/dev/null)"; fi
fi
if kvm_case api-ttl; then
	mkdir -p "$T/ttl"
	start=$(date +%s%N)
	timeout 30 "$VMON" run --state-dir "$T/ttl" --ttl 1s -k $G/ticker.elf --mem 4M >"$T/out" 2>"$T/err"; rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	if [ "$rc" = 4 ] && [ ! -e "$T/ttl" ] && grep -q 'time to live is up' "$T/err" && [ $ms -lt 10000 ]; then
		ok "api-ttl (--ttl 1s: stopped after $ms ms, state directory removed)"
	else bad api-ttl "exit $rc after $ms ms, dir left: $(ls -d "$T/ttl" 2>/dev/null)"; fi
fi

# ---- the CLI tells the truth: every option in main.c's table is in `vmon run --help`
"$VMON" run --help >"$T/help" 2>&1; rc=$?
missing=$(sed -n '/static const struct option opts/,/NULL, 0, NULL, 0/p' src/main.c |
	sed -n 's/.*{ "\([a-z0-9-]*\)".*/\1/p' | while read -r o; do grep -q -- "--$o" "$T/help" || echo "$o"; done)
if [ "$rc" != 0 ]; then bad run-help "exit status $rc"
elif [ -n "$missing" ]; then bad run-help "options missing from --help: $missing"
else ok run-help; fi
"$VMON" --help >"$T/out" 2>"$T/err"; rc=$?
want main-help 0 'Exit status: 0 guest' && ok main-help

# ---- host detection
if kvm_case info; then
	"$VMON" info >"$T/out" 2>"$T/err"; rc=$?
	if [ -e /sys/module/kvm_pvm ]; then kind='^backend: +PVM'
	elif [ -e /sys/module/kvm_intel ]; then kind='^backend: +hardware-assisted \(Intel VMX'
	elif [ -e /sys/module/kvm_amd ]; then kind='^backend: +hardware-assisted \(AMD SVM'
	else kind='^backend: +unknown'; fi
	want info 0 "$kind" && ok "info ($(sed -n 's/^backend: *//p' "$T/out" | cut -c1-40))"
fi

# ---- bad input: one clear line on stderr, non-zero status, no crash
one_line() { # NAME RC PATTERN
	if [ "$rc" != "$2" ]; then bad "$1" "exit status $rc, want $2"; return; fi
	if ! grep -qE -- "$3" "$T/err"; then bad "$1" "stderr lacks /$3/"; return; fi
	if grep -qE 'Sanitizer|runtime error' "$T/err"; then bad "$1" "sanitizer report"; return; fi
	lines=$(grep -vc '^Try ' "$T/err")
	if [ "$lines" != 1 ]; then bad "$1" "$lines lines of diagnostics, want 1"; return; fi
	ok "$1"
}
head -c 4096 /dev/urandom >"$T/junk"
vm bad-kernel -k "$T/junk";                       one_line bad-kernel-junk 1 'neither a bzImage'
vm bad-kernel -k "$T/missing";                    one_line bad-kernel-missing 1 'cannot open kernel'
vm bad-kernel -k "$T";                            one_line bad-kernel-directory 1 'not a regular file'
vm mem0 -k $G/hello.elf --mem 0;                  one_line mem-0 1 'too small'
vm memhuge -k $G/hello.elf --mem 100T;            one_line mem-absurd 1 "more than this host's RAM"
vm memjunk -k $G/hello.elf --mem lots;            one_line mem-junk 2 'not a size'
vm cpus0 -k $G/hello.elf --cpus 0;                one_line cpus-0 1 'out of range'
vm cpus999 -k $G/hello.elf --cpus 999;            one_line cpus-999 1 'out of range'
vm nokvm -k $G/hello.elf --kvm-device "$T/nokvm"; one_line no-kvm 1 'does not exist: KVM is not available'
vm nokernel --mem 4M;                             one_line no-kernel 2 'kernel given'
vm badopt -k $G/hello.elf --frobnicate;           one_line unknown-option 2 'unknown option'
# --net option strings are refused while parsing (no TAP, no KVM needed).
vm net -k $G/hello.elf --net mac=52:54:00:12:34:56; one_line net-no-tap 2 "--net 'mac=52:54:00:12:34:56': want tap=NAME"
vm net -k $G/hello.elf --net tap=;                one_line net-empty-tap 2 "--net 'tap=': want tap=NAME"
vm net -k $G/hello.elf --net tap=t0,mac=52:54:00:12:34; one_line net-short-mac 2 'want tap=NAME\[,mac='
vm net -k $G/hello.elf --net tap=t0,mac=01:00:5e:00:00:01; one_line net-multicast-mac 2 'want tap=NAME\[,mac='
vm net -k $G/hello.elf --net tap=t0,mac=52:54:00:12:34:zz; one_line net-bad-mac 2 'want tap=NAME\[,mac='
vm net -k $G/hello.elf --net tap=t0,promisc;      one_line net-bad-option 2 'want tap=NAME\[,mac='
vm net -k $G/hello.elf --net tap=a-very-long-tap-name; one_line net-long-name 2 'want tap=NAME'
vm net -k $G/hello.elf --net tap=t0 --net tap=t1 --net tap=t2; one_line net-too-many 2 'too many --net \(at most 2\)'
vm net -k $G/hello.elf --mem 0 --net none;        one_line net-none 1 'too small'
vm api-usage -k $G/hello.elf --ttl 5;             one_line ttl-needs-api 2 '--name and --ttl need --api-sock'
vm api-usage --api-sock "$T/x.sock" --ttl 0;      one_line ttl-zero 2 "--ttl: '0' is not a duration"
# --dump-config: the validated configuration as JSON, no VM created (no KVM needed).
touch "$T/d0.img" "$T/d1.img"
vm dump -k $G/hello.elf --mem 64M --cpus 3 --disk "$T/d0.img,ro" --disk "$T/d1.img,cache=none" \
	--net tap=vmt0,mac=52:54:00:aa:bb:cc,offload=off --kvm-device "$T/nokvm" --dump-config
if want dump-config 0 '"vcpu_count": 3'; then
	if python3 - "$T/out" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); t = sys.argv[2]
assert c["machine-config"] == {"vcpu_count": 3, "mem_size_mib": 64}, c["machine-config"]
d = c["drives"]
assert [x["path_on_host"] for x in d] == [t + "/d0.img", t + "/d1.img"], d
assert d[0]["is_read_only"] is True and d[1]["cache"] == "none", d
n = c["network-interfaces"]
assert len(n) == 1 and n[0]["host_dev_name"] == "vmt0" and n[0]["guest_mac"] == "52:54:00:aa:bb:cc", n
assert c["vmon"]["kvm_device"] == t + "/nokvm"
PY
	then ok "dump-config (JSON of every option; no KVM opened)"; else bad dump-config "JSON does not match the options"; fi
fi
vm dump -k $G/hello.elf --cpus 999 --dump-config; one_line dump-config-invalid 1 'out of range'
# A bzImage header claiming more setup sectors than the file has.
python3 - "$T/trunc" <<'PY'
import struct, sys
b = bytearray(0x400)
b[0x1f1] = 60                                  # setup_sects
struct.pack_into('<H', b, 0x1fe, 0xaa55)
b[0x202:0x206] = b'HdrS'
struct.pack_into('<H', b, 0x206, 0x020f)       # protocol 2.15
b[0x211] = 1                                   # LOADED_HIGH
struct.pack_into('<H', b, 0x236, 1)            # XLF_KERNEL_64
open(sys.argv[1], 'wb').write(b)
PY
# --disk refusals happen before boot (no KVM run needed, but KVM is opened first).
if kvm_case disk-errors; then
	head -c 1000 /dev/zero >"$T/odd.img"
	vm disk -k $G/hello.elf --mem 4M --disk "$T/none.img";  one_line disk-missing 1 "--disk '.*none.img': No such file"
	vm disk -k $G/hello.elf --mem 4M --disk "$T";           one_line disk-directory 1 'Is a directory|not a regular file'
	vm disk -k $G/hello.elf --mem 4M --disk "$T/odd.img";   one_line disk-odd-size 1 'not a non-zero multiple of 512'
	vm disk -k $G/hello.elf --mem 4M --disk "$T/odd.img,fast"; one_line disk-bad-option 2 'want PATH\[,ro\]'
	head -c 65536 /dev/zero >"$T/ok.img"
	vm disk -k $G/hello.elf --mem 4M --disk "$T/ok.img,ro" --stats --transport mmio
	want disk-attached 0 '^PASS hello$' 'virtio-blk0 @0xd0001000: .*irq 6' && ok disk-attached
	vm disk -k $G/hello.elf --mem 4M --disk "$T/ok.img,ro" --stats # the default: a PCI function
	want disk-attached-pci 0 '^PASS hello$' '^  virtio-blk0: .* msix [0-9]+' && ok disk-attached-pci
fi
if kvm_case bzimage-truncated; then
	vm trunc -k "$T/trunc" --mem 16M;         one_line bzimage-truncated 1 'truncated'
fi
if kvm_case kernel-too-big; then
	vm big -k $G/memmap.elf --mem 2M;           one_line kernel-too-big 1 'outside guest RAM'
	head -c $((3 << 20)) /dev/zero >"$T/initrd"
	vm bigrd -k $G/hello.elf --mem 4M --initrd "$T/initrd"; one_line initrd-too-big 1 'initrd .* does not fit'
fi

# ---- what another local user must not be able to do (issue #12): its own script, counted here.
if [ -x tests/host/hostile-user.sh ]; then
	hu=$(VMON="$VMON" tests/host/hostile-user.sh 2>&1)
	echo "$hu" | grep -E '^(ok|FAIL|SKIP|     )'
	read -r hp hf hs < <(echo "$hu" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' | tail -n 1)
	if [ -n "${hp:-}" ]; then pass=$((pass + hp)); fail=$((fail + hf)); skip=$((skip + hs))
	else echo "FAIL hostile-user: no summary line"; fail=$((fail + 1)); fi
fi
# ---- what a guest or a second vmon must not reach through host files (tests/host/hostile.sh)
while read -r line; do
	case $line in
	*" passed, "*" failed, "*" skipped") set -- $line; pass=$((pass + $1)); fail=$((fail + $3)); skip=$((skip + $5)) ;;
	*) echo "$line" ;;
	esac
done < <(VMON="$VMON" tests/host/hostile.sh)
# ---- a hostile guest cannot stall vmon, deadlock its console or fill the disk (#12):
# tests/host/hostile-guest.sh, its cases counted here.
SAN=$VMON VMON=${FAST:-build/vmon} tests/host/hostile-guest.sh >"$T/hostile" 2>&1
grep -E '^(ok  |FAIL|SKIP|     \|)' "$T/hostile"
read -r hp hf hs < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$T/hostile" | tail -1)
if [ -z "${hp:-}" ]; then bad hostile-guest "no result line from tests/host/hostile-guest.sh"
else pass=$((pass + hp)); fail=$((fail + hf)); skip=$((skip + hs)); fi
# ---- a guest flooding virtio-blk cannot stall vmon (#12): tests/host/hostile-io.sh
# (FLOOD_SECS, default 20), its cases counted here.
VMON=${FAST:-build/vmon} tests/host/hostile-io.sh >"$T/hostile-io" 2>&1
grep -E '^(ok  |FAIL|SKIP|     \|)' "$T/hostile-io"
read -r hp hf hs < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$T/hostile-io" | tail -1)
if [ -z "${hp:-}" ]; then bad hostile-io "no result line from tests/host/hostile-io.sh"
else pass=$((pass + hp)); fail=$((fail + hf)); skip=$((skip + hs)); fi
# ---- the sandbox's seccomp filters (tests/host/seccomp.sh, with this $VMON): its counts folded in
sc_out=$(VMON=$VMON tests/host/seccomp.sh 2>&1)
grep -E '^(ok|FAIL|SKIP) |^     \|' <<<"$sc_out"
read -r sc_p sc_f sc_s <<<"$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' <<<"$sc_out" | tail -1)"
pass=$((pass + ${sc_p:-0})); fail=$((fail + ${sc_f:-1})); skip=$((skip + ${sc_s:-0}))

# ---- the jailer (tests/host/jail.sh, with this $VMON): its counts folded in
jl_out=$(VMON=$VMON tests/host/jail.sh 2>&1)
grep -E '^(ok|FAIL|SKIP) |^     \|' <<<"$jl_out"
read -r jl_p jl_f jl_s <<<"$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' <<<"$jl_out" | tail -1)"
pass=$((pass + ${jl_p:-0})); fail=$((fail + ${jl_f:-1})); skip=$((skip + ${jl_s:-0}))

echo "host tests: $pass passed, $fail failed, $skip skipped"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
