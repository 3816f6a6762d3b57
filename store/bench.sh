#!/usr/bin/env bash
# Runs the store benchmarks and the dd baseline on the same disk, in one go.
#   store/bench.sh [bench-dir] [log-bytes-for-recovery]
# Defaults: bench-dir = <repo>/target/store-bench (same file system as the repo),
#           recovery log = 4 GiB. Needs ~5 GiB free. Results: one RESULT line per scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$PWD/target/store-bench}
LOG_BYTES=${2:-$((4 << 30))}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

echo "== host"
date -u
uptime
nproc
df -h "$(dirname "$DIR")" | tail -1

echo "== build"
cargo bench -p rocketmq-store --bench store_bench --no-run 2>&1 | tail -2
BIN=$(cargo bench -p rocketmq-store --bench store_bench --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*store_bench[^"]*\)".*/\1/p' | tail -1)
echo "binary: $BIN"

mkdir -p "$DIR"
echo "== dd baseline (1 GiB sequential write, same disk)"
dd if=/dev/zero of="$DIR/dd.test" bs=1M count=1024 2>&1 | tail -1
rm -f "$DIR/dd.test"
dd if=/dev/zero of="$DIR/dd.test" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1
rm -f "$DIR/dd.test"

echo "== store (load average printed before each run: other processes share the CPUs)"
load() { cut -d' ' -f1-3 /proc/loadavg; }
load; "$BIN" fsync "$DIR/fsync" 400
load; "$BIN" async "$DIR/async1" 1 1000000
load; "$BIN" async "$DIR/async4" 4 1000000
load; "$BIN" sync "$DIR/sync" 64 5
load; "$BIN" sync-threads "$DIR/sync" 64 5
load; "$BIN" fsync "$DIR/fsync" 400
load; "$BIN" read "$DIR/read" 1000000
# Apache defaults: the checkpoint is persisted by the 60 s thorough consume-queue flush, so a
# crash within the first minute re-verifies the whole log from file 0.
load; "$BIN" recovery "$DIR/recovery" "$LOG_BYTES"
# Steady state: checkpoint persisted every second, recovery starts from the newest safe file.
load; STORE_BENCH_CONF=flushConsumeQueueThoroughInterval=1000 "$BIN" recovery "$DIR/recovery" "$LOG_BYTES"
uptime
rm -rf "$DIR"
