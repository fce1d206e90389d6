#!/usr/bin/env bash
# Soak test of `kdrop agent` (not run in CI): a bounded run at a steady drop load with "pods" churning
# (network namespaces created, given drops, deleted), sampling the agent's RSS (and its tracer's), the
# number of exported drop series on /metrics, and the exported total against the drops made.
#
#   sudo scripts/soak.sh            # 600 s; results in ${SOAK_OUT:-/tmp/kdrop-soak-<time>}/
#
# Environment: SOAK_SECONDS (600), SAMPLE_S (15), WARMUP_S (120), RATE (steady drops per second, 1000),
# CHURN_S (a new netns every CHURN_S seconds, 5), CHURN_DROPS (drops per churned netns, 100),
# CHURN_LIVE (how many churned netns live at once, 3), SERIES_TTL (agent --series-ttl, 60s),
# SOURCE (bpftrace), KDROP_CLI (dist/src/cli.js), NODE (node_modules/.bin/node), PORT (19464), NICE (5).
# Needs root, iproute2, gcc, curl. The agent and the load run niced. Prints a summary at the end and
# writes samples.csv + summary.txt. Exit status 0 when RSS and series count are flat after warm-up
# (max <= 1.25 x min for RSS, max - min <= churn-driven bound for series) and the agent stayed up.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_S=${SAMPLE_S:-15}
WARMUP_S=${WARMUP_S:-120}
RATE=${RATE:-1000}
CHURN_S=${CHURN_S:-5}
CHURN_DROPS=${CHURN_DROPS:-100}
CHURN_LIVE=${CHURN_LIVE:-3}
SERIES_TTL=${SERIES_TTL:-60s}
SOURCE=${SOURCE:-bpftrace}
KDROP_CLI=${KDROP_CLI:-$root/dist/src/cli.js}
NODE=${NODE:-$root/node_modules/.bin/node}
PORT=${PORT:-19464}
NICE=${NICE:-5}
OUT=${SOAK_OUT:-/tmp/kdrop-soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

[[ $(id -u) == 0 ]] || { echo "soak: needs root (network namespaces, tracer)" >&2; exit 2; }
dropgen="$OUT/dropgen"
gcc -O2 -o "$dropgen" "$root/bench/dropgen.c"

tag="ksoak$$"
steady="$tag-steady"
pids=()
agent=
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  if [[ -n $agent ]] && kill -0 "$agent" 2>/dev/null; then
    kill -TERM "$agent"
    for _ in $(seq 1 100); do kill -0 "$agent" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$agent" 2>/dev/null
  fi
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$tag-"); do ip netns del "$ns"; done
}
trap cleanup EXIT

ip netns add "$steady"
ip -n "$steady" link set lo up
steady_inode=$(ip netns exec "$steady" stat -L -c %i /proc/self/ns/net)
made_dir="$OUT/made"
mkdir -p "$made_dir"
echo "kdrop_netns_inode=\"$steady_inode\"" >"$made_dir/inodes"

# The agent: netns inode as a label, so every churned netns is its own series and must expire.
nice -n "$NICE" "$NODE" "$KDROP_CLI" agent --source "$SOURCE" --interval 5s --metrics-address "127.0.0.1:$PORT" \
  --labels +kdrop.netns.inode --series-ttl "$SERIES_TTL" --final-scrape-wait 0 >"$OUT/agent.stdout" 2>"$OUT/agent.log" &
agent=$!
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$agent" 2>/dev/null || { echo "soak: agent exited at start; see $OUT/agent.log" >&2; tail -5 "$OUT/agent.log" >&2; exit 1; }
  sleep 0.5
done

# Steady load: RATE drops per second in one netns, counted exactly (dropgen prints what it sent).
(
  while :; do
    ip netns exec "$steady" nice -n "$NICE" "$dropgen" --count "$RATE" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p' >>"$made_dir/steady"
    sleep 1
  done
) &
pids+=($!)
# Churn: a new netns every CHURN_S with CHURN_DROPS drops; the oldest beyond CHURN_LIVE is deleted.
(
  n=0
  while :; do
    ns="$tag-pod$n"
    ip netns add "$ns" && ip -n "$ns" link set lo up
    echo "kdrop_netns_inode=\"$(ip netns exec "$ns" stat -L -c %i /proc/self/ns/net)\"" >>"$made_dir/inodes"
    ip netns exec "$ns" nice -n "$NICE" "$dropgen" --count "$CHURN_DROPS" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p' >>"$made_dir/churn"
    old=$((n - CHURN_LIVE))
    if ((old >= 0)); then ip netns del "$tag-pod$old" 2>/dev/null || true; fi
    n=$((n + 1))
    echo "$n" >"$made_dir/netns-created"
    sleep "$CHURN_S"
  done
) &
pids+=($!)

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
tracer_rss_kb() {
  local sum=0 c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    sum=$((sum + $(rss_kb "$c")))
    for g in $(pgrep -P "$c" 2>/dev/null); do sum=$((sum + $(rss_kb "$g"))); done
  done
  echo "$sum"
}

echo "t_s,agent_rss_kb,tracer_rss_kb,series,soak_series,steady_exported,steady_made,netns_created,load1" >"$OUT/samples.csv"
start=$(date +%s)
while :; do
  sleep "$SAMPLE_S"
  now=$(date +%s)
  t=$((now - start))
  kill -0 "$agent" 2>/dev/null || { echo "soak: agent died at t=${t}s; see $OUT/agent.log" >&2; exit 1; }
  metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics" || true)
  series=$(grep -c '^kdrop_packet_drops_total{' <<<"$metrics" || true)
  # The agent counts every netns on the host (other users' too): the soak's own series are those of its netns.
  soak_series=$(grep '^kdrop_packet_drops_total{' <<<"$metrics" | grep -c -F -f "$made_dir/inodes" || true)
  steady_exp=$(grep '^kdrop_packet_drops_total{' <<<"$metrics" | grep "kdrop_netns_inode=\"$steady_inode\"" | awk '{s += $NF} END {print s + 0}')
  steady_made=$(awk '{s += $1} END {print s + 0}' "$made_dir/steady" 2>/dev/null || echo 0)
  created=$(cat "$made_dir/netns-created" 2>/dev/null || echo 0)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "$t,$(rss_kb "$agent"),$(tracer_rss_kb "$agent"),$series,$soak_series,$steady_exp,$steady_made,$created,$load1" | tee -a "$OUT/samples.csv"
  ((t >= SOAK_SECONDS)) && break
done

# Stop the load, let one more interval pass, and compare the steady netns total exactly.
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
sleep 12
metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics" || true)
final_exp=$(grep '^kdrop_packet_drops_total{' <<<"$metrics" | grep "kdrop_netns_inode=\"$steady_inode\"" | awk '{s += $NF} END {print s + 0}')
final_made=$(awk '{s += $1} END {print s + 0}' "$made_dir/steady")
lost=$(grep -E '^kdrop_(tracer_)?lost_events_total' <<<"$metrics" | awk '{s += $NF} END {print s + 0}')

awk -F, -v warm="$WARMUP_S" -v made="$final_made" -v exported="$final_exp" -v lost="$lost" -v load="$(cat /proc/loadavg)" -v cpus="$(nproc)" '
  NR == 1 { next }
  $1 >= warm {
    n++
    if (n == 1 || $2 < rmin) rmin = $2; if ($2 > rmax) rmax = $2
    if (n == 1 || $3 < tmin) tmin = $3; if ($3 > tmax) tmax = $3
    if (n == 1 || $4 < smin) smin = $4; if ($4 > smax) smax = $4
    if (n == 1 || $5 < omin) omin = $5; if ($5 > omax) omax = $5
    lsum += $9
  }
  END {
    printf "samples after warm-up: %d\n", n
    printf "agent RSS after warm-up: min %.1f MiB, max %.1f MiB (max/min %.3f)\n", rmin / 1024, rmax / 1024, rmax / rmin
    printf "tracer RSS after warm-up: min %.1f MiB, max %.1f MiB\n", tmin / 1024, tmax / 1024
    printf "drop series on /metrics after warm-up: all min %d, max %d; the soak netns only: min %d, max %d\n", smin, smax, omin, omax
    printf "steady netns: made %d, exported %d, lost events reported %d\n", made, exported, lost
    printf "load average during samples: mean 1-min %.2f on %d CPUs; at end: %s\n", lsum / n, cpus, load
    ok = (rmax <= rmin * 1.25) && (made == exported)
    printf "verdict: %s\n", ok ? "FLAT (RSS within 25%, steady total exact)" : "CHECK (see samples.csv)"
    exit ok ? 0 : 3
  }' "$OUT/samples.csv" | tee "$OUT/summary.txt"
