#!/usr/bin/env bash
# tests/lint/seams.sh: the platform's seams hold (the rules in README "How it
# is built"). Each rule is one case; a case fails by naming the offending lines.
#   kvm-ioctls-in-accel   no file outside src/accel/ issues a KVM ioctl
#   arch-includes         no file outside src/arch/ includes an arch's own headers
#   vcpu-not-vm           vcpu.c/vcpu.h never include vm.h (the vCPU sees struct vcpu_host)
#   devices-not-vm        devices and virtio never include vm.h (they see struct machine)
#   no-mutable-globals    no object but log.o has writable file-scope data (nm: d/D/b/B)
#   complete-ops          every static const struct dev_ops sets all eight fields
# Ends with "N passed, N failed" like every other level.
set -uo pipefail
cd "$(dirname "$0")/../.."
P=0 F=0
ok()  { echo "PASS $1"; P=$((P + 1)); }
bad() { echo "FAIL $1: $2"; F=$((F + 1)); }

# A KVM ioctl is a call to ioctl( with a KVM_ request: both on one line, or
# ioctl( in a file that names KVM_ requests at all (multi-line calls). src/sandbox/ names the
# KVM requests its seccomp filters allow and issues none.
hits=$(grep -rn --include='*.c' --include='*.h' 'ioctl(.*KVM_' src | grep -v '^src/accel/\|^src/sandbox/')
files=$(grep -rl --include='*.c' 'ioctl(' src | grep -v '^src/accel/\|^src/sandbox/' |
	xargs -r grep -l 'KVM_[A-Z_]*[^A-Z_]' | xargs -r grep -ln 'KVM_\(RUN\|CREATE\|SET\|GET\|IRQ\|IOEVENTFD\|CHECK\|SIGNAL\)')
if [ -z "$hits$files" ]; then ok kvm-ioctls-in-accel
else bad kvm-ioctls-in-accel "$(echo $hits $files)"; fi

hits=$(grep -rnE --include='*.c' --include='*.h' '#include *"(\.\./)*(arch/)?(x86|arm64|mips32)/' src | grep -v '^src/arch/')
if [ -z "$hits" ]; then ok arch-includes; else bad arch-includes "$hits"; fi

hits=$(grep -nE '#include *"(\.\./)*vm\.h"' src/vcpu.c src/vcpu.h)
if [ -z "$hits" ]; then ok vcpu-not-vm; else bad vcpu-not-vm "$hits"; fi

hits=$(grep -rnE '#include *"(\.\./)*vm\.h"' src/devices src/virtio src/arch src/accel src/machine.c src/dev.c 2>/dev/null)
if [ -z "$hits" ]; then ok devices-not-vm; else bad devices-not-vm "$hits"; fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
globals=""
for f in $(find src -name '*.c' ! -name log.c | sort); do
	o="$tmp/$(echo "$f" | tr / _).o"
	cc=${CC:-cc} nm=nm
	# accel/kvm_arm64.c needs arm64's <linux/kvm.h>: check it with the cross compiler.
	case $f in src/accel/kvm_arm64.c) cc=aarch64-linux-gnu-gcc nm=aarch64-linux-gnu-nm ;; esac
	# -Ibuild/gen: acpi.c includes the DSDT iasl compiled (the build makes it first).
	if ! $cc -std=c17 -D_GNU_SOURCE -Isrc -Ibuild/gen -O0 -fno-pic -fno-pie -c "$f" -o "$o" 2>"$tmp/err"; then
		globals="$globals $f(does not compile: $(head -1 "$tmp/err"))"; continue
	fi
	# _Thread_local objects are one per thread (seccomp.c's role for its SIGSYS handler): allowed.
	tls=" $(readelf -Ws "$o" | awk '$4 == "TLS" {print $8}' | tr '\n' ' ') "
	g=$($nm "$o" | awk '$2 ~ /^[bBdD]$/ {print $3}' | while read -r n; do
		case $tls in *" $n "*) ;; *) printf '%s ' "$n" ;; esac; done)
	[ -n "$g" ] && globals="$globals $f:[$g]"
done
if [ -z "$globals" ]; then ok no-mutable-globals; else bad no-mutable-globals "$globals"; fi

# Tables of struct dev_ops: each initializer names all eight members.
incomplete=""
while IFS= read -r f; do
	python3 - "$f" <<'PY' || incomplete="$incomplete $f"
import re, sys
src = open(sys.argv[1]).read()
need = ["kind", "read", "write", "reset", "save", "load", "stats", "destroy"]
ok = True
for m in re.finditer(r'const struct dev_ops (\w+) = \{(.*?)\n\};', src, re.S):
    have = set(re.findall(r'\.(\w+)\s*=', m.group(2)))
    missing = [n for n in need if n not in have]
    if missing:
        print(f"  {sys.argv[1]}: {m.group(1)} lacks {', '.join(missing)}")
        ok = False
sys.exit(0 if ok else 1)
PY
done < <(grep -rl 'const struct dev_ops [a-z_0-9]* = {' src)
if [ -z "$incomplete" ]; then ok complete-ops; else bad complete-ops "$incomplete"; fi

echo "$P passed, $F failed"
[ "$F" = 0 ]
