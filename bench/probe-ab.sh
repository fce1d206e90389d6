#!/usr/bin/env bash
# Interleaved A/B of kdrop-probe builds in the kernel (issue 21): for each round, each variant in turn is
# started alone (`--interval 1000`), a flood runs on core 1 in a fresh network namespace with
# kernel.bpf_stats_enabled=1 (off again after, if this run turned it on), and the run_time_ns / run_cnt delta of the programs the
# loader holds is printed with what was sent and what the loader counted for the netns. Root; needs
# bpftool, iproute2, python3, taskset. Run `npm run bench` first (it builds dist/bench/dropgen).
#
#   bench/probe-ab.sh ROUNDS SECONDS LABEL=PROBE[:ARGS] ...
#   e.g. bench/probe-ab.sh 5 2 'floor=build/probe/kdrop-probe:--floor --no-samples' new=build/probe/kdrop-probe old=/tmp/old/kdrop-probe
# GEN='path/to/generator ARGS' replaces dropgen (called as GEN SECONDS, printing {"sent":N}); the
# measurements of docs/performance.md used bench/altgen.c this way for keys that alternate.
set -euo pipefail
rounds=$1 secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN:-$root/dist/bench/dropgen --seconds}
ns=kdropab-$$
stats=/proc/sys/kernel/bpf_stats_enabled
prev=$(cat $stats)
out=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  # Only if this run turned it on: another run's 1 restored after its 0 would leave it on for good.
  if [ "$prev" = 0 ]; then echo 0 > $stats; fi
  ip netns del $ns 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add $ns
ip netns exec $ns ip link set lo up
inode=$(ip netns exec $ns stat -L -c %i /proc/self/ns/net)
# run_time_ns and run_cnt summed over the given program ids
prog_stats() {
  for id in "$@"; do bpftool prog show id "$id" -j; echo; done |
    python3 -c 'import sys, json; r = [json.loads(l) for l in sys.stdin if l.strip()]; print(sum(x.get("run_time_ns", 0) for x in r), sum(x.get("run_cnt", 0) for x in r))'
}
declare -A all
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*} rest=${spec#*=}
    bin=${rest%%:*} args=
    [[ $rest == *:* ]] && args=${rest#*:}
    # shellcheck disable=SC2086
    "$bin" --interval 1000 $args < /dev/null > "$out/lines" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do grep -q '^READY' "$out/lines" && break; sleep 0.05; done
    if ! grep -q '^READY' "$out/lines"; then
      echo "probe-ab: $label ($bin $args) did not attach: $(tail -3 "$out/lines")" >&2
      exit 1
    fi
    mapfile -t ids < <(grep -h '^prog_id:' /proc/$pid/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
    echo 1 > $stats
    read -r ns0 c0 < <(prog_stats "${ids[@]}")
    # shellcheck disable=SC2086
    sent=$(ip netns exec $ns taskset -c 1 $gen "$secs" | python3 -c 'import sys, json; print(json.loads(sys.stdin.read())["sent"])')
    read -r ns1 c1 < <(prog_stats "${ids[@]}")
    if [ "$prev" = 0 ]; then echo 0 > $stats; fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    counted=$(awk -v n="$inode" '$1 == "D" && $6 == n { s += $7 } END { print s + 0 }' "$out/lines")
    v=$(python3 -c "print(round(($ns1 - $ns0) / max(1, $c1 - $c0), 1))")
    all[$label]="${all[$label]:-} $v"
    echo "r$r $label ns/event=$v runs=$((c1 - c0)) sent=$sent counted=$counted load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
for spec in "$@"; do
  label=${spec%%=*}
  echo "$label (sorted): $(echo ${all[$label]} | tr ' ' '\n' | sort -n | tr '\n' ' ')"
done
