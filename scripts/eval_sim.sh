#!/usr/bin/env bash
# The simulated-enterprise evaluation of EVALUATION.md: for each seed,
# simulate 2000 users over 14 days (7 days of history first), replay the
# history to warm the baselines up, replay the labelled days with the
# same --state, and score the alerts against labels.csv.
#
#   scripts/eval_sim.sh [SEED...]        (default: 7 8 9)
#
# Needs a release build (cargo build --release --bin vigil). Exits 1 when
# any seed misses a target.
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${VIGIL:-target/release/vigil}
seeds=("${@:-7 8 9}")
[ $# -eq 0 ] && seeds=(7 8 9)
work=${WORK:-$(mktemp -d)}
status=0
for seed in "${seeds[@]}"; do
    sim=$work/sim-$seed
    rm -rf "$sim" "$work/hist-$seed" "$work/run-$seed" "$work/state-$seed"
    "$vigil" simulate --seed "$seed" --days 14 --users 2000 --out "$sim" > /dev/null
    "$vigil" replay "$sim/history" --out "$work/hist-$seed" --state "$work/state-$seed" \
        --rules rules > /dev/null 2>&1
    "$vigil" replay "$sim/events" --out "$work/run-$seed" --state "$work/state-$seed" \
        --rules rules ${MODEL:+--model "$MODEL"} > /dev/null 2>&1
    echo "### seed $seed"
    echo
    echo '```text'
    "$vigil" eval --labels "$sim/labels.csv" --out "$work/run-$seed" --check 2>/dev/null || status=1
    echo '```'
    echo
done
echo "outputs under $work"
exit $status
