#!/usr/bin/env bash
# Boots a kernel in QEMU (TCG) with a small initramfs (busybox-static, the static kdrop-probe and the static
# bench/dropgen) and checks the probe there by speaking its line protocol directly: UDP over IPv4 and IPv6
# and TCP SYNs to closed ports, each from a fresh netns, must be counted exactly (counted == sent per netns,
# netns read with readlink), and sampled within the token bucket with the right ports. The manual proof of
# the probe on kernels other than this machine's (e.g. Debian bullseye's 5.10, where the loader must pick the
# pre-5.12 object); the full VM matrix with Node and kdrop itself is another suite.
#
#   scripts/probe-vm.sh --kernel VMLINUZ [--config CONFIG] [--busybox BUSYBOX] [--qemu QEMU | --qemu-root DIR]
#                       [--probe-args '...'] [--count N] [--timeout S]
#
# --kernel: a vmlinuz with BTF inside and bpffs/tracefs built in (Debian's cloud kernels). --config is put at
# /boot/config-RELEASE (libbpf reads CONFIG_HZ there). --qemu-root: a QEMU unpacked from Debian .debs
# (qemu-system-x86, -common, -data, seabios, ipxe-qemu and the libraries ldd says are missing, each
# `dpkg-deb -x`ed into DIR): its binary, libraries, modules (tcg) and firmware are taken from there.
# --probe-args: more loader flags (e.g. --no-atomics). Prints the guest's RESULT lines and exits 0 only
# when the guest says PASS; a guest that crashes or hangs ends at --timeout with the tail of its console.
# /dev/kvm is not used (a nested software hypervisor here cannot boot these kernels): TCG, 2 vCPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

kernel='' config='' busybox="$(command -v busybox || true)" qemu="$(command -v qemu-system-x86_64 || true)"
probe_args='' count=20000 timeout_s=300
bios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --busybox) busybox="$2"; shift 2 ;;
    --qemu) qemu="$2"; shift 2 ;;
    --qemu-root)
      qemu="$2/usr/bin/qemu-system-x86_64"; bios+=(-L "$2/usr/share/qemu" -L "$2/usr/share/seabios")
      export LD_LIBRARY_PATH="$2/usr/lib/x86_64-linux-gnu:$2/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      export QEMU_MODULE_DIR="$2/usr/lib/x86_64-linux-gnu/qemu"
      shift 2 ;;
    --probe-args) probe_args="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    *) echo "probe-vm: unknown argument $1" >&2; exit 2 ;;
  esac
done
for f in "$kernel" "$busybox" "$qemu"; do
  [ -n "$f" ] && [ -e "$f" ] || { echo "probe-vm: expected --kernel FILE, busybox and qemu-system-x86_64; found kernel='$kernel' busybox='$busybox' qemu='$qemu'" >&2; exit 2; }
done

probe="$(bash scripts/build-probe.sh)"
work="$(mktemp -d /tmp/kdrop-probe-vm.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,boot,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$probe" "$root/bin/kdrop-probe"
gcc -O2 -Wall -static -o "$root/bin/dropgen" bench/dropgen.c
if [ -n "$config" ]; then
  release="$(strings "$kernel" | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+[^ ]*' || true)"
  cp "$config" "$root/boot/config-${release:-unknown}"
fi
cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
COUNT=$count
PROBE_ARGS="$probe_args"
EOF
cat >> "$root/init" <<'EOF'
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing; mount -t bpf bpf /sys/fs/bpf
echo "RESULT kernel $(uname -r) cpus $(nproc)"
fail() { echo "RESULT FAIL $*"; sed 's/^/RESULT out: /' /tmp/out | tail -40; poweroff -f; }
mkfifo /tmp/ctl
# The loader exits when its parent is PID 1: start it from a child shell that waits for it.
sh -c "kdrop-probe --sample-rate 1 --sample-burst 3 $PROBE_ARGS < /tmp/ctl > /tmp/out 2>&1; echo EXIT \$? >> /tmp/out" &
exec 3> /tmp/ctl
for i in $(seq 100); do grep -q '^READY' /tmp/out && break; grep -q '^EXIT' /tmp/out && fail "loader exited"; sleep 0.1; done
grep '^READY' /tmp/out | sed 's/^/RESULT /' || fail "no READY"
# Each case in its own netns, kept alive by a sleeper so that no two cases share an inode.
run() { # name, expected drop function (regex), command
  name=$1; fn=$2; shift 2
  unshare -n sh -c 'sleep 100000 & echo $! > /tmp/pid.'"$name"'; ip link set lo up; readlink /proc/self/ns/net | tr -dc 0-9 > /tmp/ns.'"$name"'; echo >> /tmp/ns.'"$name"'; '"$*" > /tmp/sent.$name
  echo "$fn" > /tmp/fn.$name
  echo "RESULT case $name netns $(cat /tmp/ns.$name) sent $(cat /tmp/sent.$name)"
}
t0=$(date +%s)
run udp4 'udp' "dropgen --count $COUNT --port 9 --family 4 | sed -n 's/.*\"sent\":\([0-9]*\).*/\1/p'"
run udp6 'udp' "dropgen --count $COUNT --port 53 --family 6 | sed -n 's/.*\"sent\":\([0-9]*\).*/\1/p'"
run tcp '^tcp_v4_rcv$' "n=0; for i in 1 2 3 4 5; do nc 127.0.0.1 7 </dev/null 2>/dev/null; n=\$((n+1)); done; echo \$n"
echo dump >&3
for i in $(seq 300); do [ "$(grep -c '^END' /tmp/out)" -ge 1 ] && break; sleep 0.1; done
# A second flood of the first key after 1.5 s: the bucket refills (1/s); counted in the next epoch.
sleep 1.5
nsenter --net=/proc/$(cat /tmp/pid.udp4)/ns/net sh -c "dropgen --count $COUNT --port 9 --family 4 | sed -n 's/.*\"sent\":\([0-9]*\).*/\1/p'" > /tmp/sent2
[ -n "$(cat /tmp/sent2)" ] || fail "second flood sent nothing"
echo "$(( $(cat /tmp/sent.udp4) + $(cat /tmp/sent2) ))" > /tmp/sent.udp4
echo "RESULT case udp4 again sent $(cat /tmp/sent2)"
elapsed=$(( $(date +%s) - t0 + 1 ))
echo stop >&3
for i in $(seq 300); do grep -q '^BYE' /tmp/out && break; sleep 0.1; done
grep -q '^BYE' /tmp/out || fail "no BYE"
grep '^END' /tmp/out | tail -1 | sed 's/^/RESULT /'
grep '^W' /tmp/out | sed 's/^/RESULT /'
# Symbolize every D and S location with this kernel's kallsyms (the nearest text symbol at or below it;
# fixed-width hex compared as strings).
awk '$1 == "D" || $1 == "S" { print (length($3) < 16 ? substr("0000000000000000", 1, 16 - length($3)) : "") $3 }' /tmp/out | sort -u > /tmp/locs
awk 'NR == FNR { loc[$1] = 1; next } $2 ~ /^[tT]$/ { for (l in loc) if (("x" $1) <= ("x" l) && ("x" $1) > ("x" best[l])) { best[l] = $1; name[l] = $3 } }
     END { for (l in loc) print l, name[l] }' /tmp/locs /proc/kallsyms > /tmp/syms
ok=1
for name in udp4 udp6 tcp; do
  ns=$(cat /tmp/ns.$name); sent=$(cat /tmp/sent.$name); fn=$(cat /tmp/fn.$name)
  # key lines: location function protocol count
  awk -v ns="$ns" 'NR == FNR { sym[$1] = $2; next } $1 == "D" && $6 == ns { l = substr("0000000000000000", 1, 16 - length($3)) $3; print l, sym[l], $4, $5, $7 }' /tmp/syms /tmp/out > /tmp/keys.$name
  counted=$(awk -v fn="$fn" '$2 ~ fn { c += $5 } END { print c + 0 }' /tmp/keys.$name)
  others=$(awk -v fn="$fn" '$2 !~ fn { printf "%s(reason %s)=%s ", $2, $3, $5 }' /tmp/keys.$name)
  samples=$(awk -v ns="$ns" '$1 == "S" && $6 == ns { n++ } END { print n + 0 }' /tmp/out)
  supp=$(awk -v ns="$ns" '$1 == "S" && $6 == ns { s += $19 } END { print s + 0 }' /tmp/out)
  flows=$(awk -v ns="$ns" '$1 == "S" && $6 == ns { print $7 "/" $8 ":" $9 ">" $10 ":" $11 }' /tmp/out | sort | uniq -c | awk '{ printf "%sx%s ", $2, $1 }')
  fns=$(awk '$2 ~ /./ { print $2 }' /tmp/keys.$name | sort -u | tr '\n' ' ')
  echo "RESULT $name netns=$ns sent=$sent counted=$counted at $fns samples=$samples suppressed=$supp flows=$flows other drops in this netns: ${others:-none}"
  [ "$sent" -gt 0 ] && [ "$counted" = "$sent" ] || { echo "RESULT FAIL $name: counted $counted != sent $sent"; ok=0; }
  # Per key: at least one sample, at most the burst (3) + 1/s over the run + 1.
  for key in $(awk -v ns="$ns" '$1 == "D" && $6 == ns { print $3 "/" $4 "/" $5 }' /tmp/out | sort -u); do
    n=$(awk -v ns="$ns" -v k="$key" '$1 == "S" && $6 == ns && ($3 "/" $4 "/" $5) == k { n++ } END { print n + 0 }' /tmp/out)
    [ "$n" -ge 1 ] && [ "$n" -le $((3 + elapsed + 1)) ] || { echo "RESULT FAIL $name: key $key has $n samples, expected 1..$((3 + elapsed + 1))"; ok=0; }
  done
done
flow() { awk -v ns="$(cat /tmp/ns.$1)" -v p="$2" '$1 == "S" && $6 == ns && $7 == p { print $7 ":" $8 ":" $11 }' /tmp/out | sort -u; }
[ "$(flow udp4 17)" = "17:127.0.0.1:9" ] && [ "$(flow udp6 17)" = "17:::1:53" ] && [ "$(flow tcp 6)" = "6:127.0.0.1:7" ] ||
  { echo "RESULT FAIL sample flows: $(flow udp4 17) $(flow udp6 17) $(flow tcp 6)"; ok=0; }
[ "$(awk -v ns="$(cat /tmp/ns.udp4)" '$1 == "S" && $6 == ns && $7 == 17 { n++ } END { print n + 0 }' /tmp/out)" -ge 4 ] ||
  { echo "RESULT FAIL udp4: the bucket did not refill for the second flood"; ok=0; }
# A loader SIGKILLed during a flood: the program stays attached on its pinned link, and a new loader on
# the same pin directory (resumed=1) hands over every drop.
mkfifo /tmp/ctl2 /tmp/ctl3
sh -c "kdrop-probe --pin-dir /sys/fs/bpf/kdrop/vm $PROBE_ARGS < /tmp/ctl2 > /tmp/out2 2>&1; echo EXIT \$? >> /tmp/out2" &
exec 4> /tmp/ctl2
for i in $(seq 100); do grep -q '^READY' /tmp/out2 && break; sleep 0.1; done
grep '^READY' /tmp/out2 | sed 's/^/RESULT kill: first /'
unshare -n sh -c 'sleep 100000 & ip link set lo up; readlink /proc/self/ns/net | tr -dc 0-9 > /tmp/ns.kill; echo >> /tmp/ns.kill; dropgen --count '"$((COUNT * 5))"' --port 9 --family 4 > /tmp/sent.kill' &
flood=$!
sleep 0.5
loader=$(pidof kdrop-probe)
kill -0 $flood 2>/dev/null && during=yes || during=no
kill -9 $loader
sh -c "kdrop-probe --pin-dir /sys/fs/bpf/kdrop/vm $PROBE_ARGS < /tmp/ctl3 > /tmp/out3 2>&1; echo EXIT \$? >> /tmp/out3" &
exec 5> /tmp/ctl3
for i in $(seq 100); do grep -q '^READY' /tmp/out3 && break; sleep 0.1; done
grep '^READY' /tmp/out3 | sed 's/^/RESULT kill: second /'
wait $flood
echo stop >&5
for i in $(seq 300); do grep -q '^BYE' /tmp/out3 && break; sleep 0.1; done
ns=$(cat /tmp/ns.kill); sent=$(sed -n 's/.*"sent":\([0-9]*\).*/\1/p' /tmp/sent.kill)
counted=$(cat /tmp/out2 /tmp/out3 | awk -v ns="$ns" '$1 == "D" && $6 == ns { c += $7 } END { print c + 0 }')
echo "RESULT kill: loader $loader SIGKILLed during the flood: $during; netns=$ns sent=$sent counted=$counted pins left: $(ls /sys/fs/bpf/kdrop 2>/dev/null | tr '\n' ' ')"
[ "$during" = yes ] && grep -q '^READY .*resumed=1' /tmp/out3 && grep -q '^BYE' /tmp/out3 && [ -n "$sent" ] && [ "$counted" = "$sent" ] ||
  { echo "RESULT FAIL kill: counted $counted != sent $sent, or no resume"; ok=0; }
[ $ok = 1 ] && echo "RESULT PASS" || echo "RESULT FAIL"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

log="$work/console.log"
set +e
timeout "$timeout_s" "$qemu" "${bios[@]}" -accel tcg,thread=multi -cpu max -smp 2 -m 1G -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" -append "console=ttyS0 panic=-1 quiet" </dev/null >"$log" 2>&1
rc=$?
set -e
{ grep -a 'RESULT ' "$log" || true; } | sed 's/.*RESULT //' | tr -d '\r'
if grep -q '^RESULT PASS' "$log"; then exit 0; fi
if [ $rc = 124 ]; then echo "probe-vm: the VM ($kernel) did not finish within ${timeout_s}s; console tail:" >&2
else echo "probe-vm: the VM ($kernel) did not pass (qemu exit $rc); console tail:" >&2; fi
tail -40 "$log" | tr -d '\r' >&2
exit 1
