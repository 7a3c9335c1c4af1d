#!/usr/bin/env bash
# Replay throughput with and without the behavioural baselines and the risk
# engine, on the same simulated data in the same run, alternating the two
# modes so that both see the same machine state; then the state size of a
# large population. Prints Markdown tables for BENCHMARKS.md.
#
#   scripts/bench_baselines.sh [USERS] [DAYS] [STATE_USERS]
#
# Needs a release build (cargo build --release --bin vigil) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${VIGIL:-target/release/vigil}
users=${1:-2000}
days=${2:-3}
state_users=${3:-28000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$vigil" simulate --seed 7 --days "$days" --users "$users" --warmup-days 1 \
    --out "$work/sim" > /dev/null
echo "Replay of \`vigil simulate --seed 7 --days $days --users $users --warmup-days 1\` (events/ only), lake written, no Sigma rules:"
echo
echo "| run | mode | records | seconds | records/s | peak RSS (MB) |"
echo "|---|---|---:|---:|---:|---:|"
for run in 1 2 3; do
    for mode in without with; do
        flags=()
        [ "$mode" = without ] && flags=(--no-baselines)
        rm -rf "$work/out"
        /usr/bin/time -f "%M" -o "$work/rss" \
            "$vigil" replay "$work/sim/events" --out "$work/out" "${flags[@]}" > /dev/null 2>&1
        python3 - "$work/out/summary.json" "$work/rss" "$run" "$mode" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(f"| {sys.argv[3]} | {sys.argv[4]} baselines and risk | {s['records']} | {s['seconds']:.2f} | {s['records'] / s['seconds']:,.0f} | {rss:.0f} |")
PY
    done
done

# State for a large population: one day of STATE_USERS users after one
# day of history; every user, device and address the baselines hold.
# Peak RSS of the same replay without the detectors, with them, and with
# them and --state (checkpoints), then of a restart from the checkpoint.
"$vigil" simulate --seed 7 --days 1 --users "$state_users" --warmup-days 1 \
    --out "$work/big" > /dev/null
peak() {
    rm -rf "$work/out"
    /usr/bin/time -f "%M" -o "$work/rss" "$vigil" replay "$work/big/history" "$work/big/events" \
        --out "$work/out" "$@" > /dev/null 2>&1
    echo $(( $(tail -1 "$work/rss") / 1024 ))
}
rss_off=$(peak --no-baselines)
rss_on=$(peak)
cp "$work/out/summary.json" "$work/summary.json"
rm -rf "$work/state"
rss_state=$(peak --state "$work/state")
rss_restart=$(peak --state "$work/state")
python3 - "$work/summary.json" "$work/state/checkpoint.json" "$state_users" \
    "$rss_off" "$rss_on" "$rss_state" "$rss_restart" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
d = s["detector"]
cp = os.path.getsize(sys.argv[2]) / 1e6
ents = d["baselines.entities"]
b = d["baselines.state_bytes"]
off, on, st, restart = (int(x) for x in sys.argv[4:8])
print()
print(f"State after 2 simulated days of {sys.argv[3]} users ({s['records']:,} records):")
print()
print("| baseline entities | baseline state (MB, counted) | bytes per entity | risk entities | checkpoint.json (MB) |")
print("|---:|---:|---:|---:|---:|")
print(f"| {ents:,} | {b / 1e6:.1f} | {b / max(ents, 1):.0f} | {d['risk.entities']:,} | {cp:.1f} |")
print()
print("| replay peak RSS (MB) | without baselines and risk | with them | with them and --state | restart from that checkpoint |")
print("|---|---:|---:|---:|---:|")
print(f"| | {off} | {on} (+{on - off}) | {st} (+{st - off}) | {restart} |")
PY
