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
. store/bench-lib.sh
build_store_bench
echo "binary: $BIN"

mkdir -p "$DIR"
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Appends write fresh page-cache pages as fast as the machine allows, and on a VM that
# returns freed memory to its host (free page reporting) the first touch of such memory is
# several times slower (here 0.31 to 2.08 M msg/s for one ASYNC run repeated). So each
# store run first touches and frees PRETOUCH_MIB of memory, and dd runs once unmeasured
# before its measured run: both then write into memory freed a moment ago, as a
# long-running broker reuses its page cache. PRETOUCH_MIB=0 measures the cold case. The dd
# baseline and the store alternate, REPEAT rounds, and medians are compared.
export STORE_BENCH_PRETOUCH_MIB=${PRETOUCH_MIB:-4096}
REPEAT=${REPEAT:-5}
ASYNC_MODES="mmap buffer keyed"
SYNC_MODES="default mapping one-worker sched-batch"
RES=$(mktemp -d)
echo "== ASYNC_FLUSH 1 KiB appends vs dd (1 GiB sequential write, same disk), $REPEAT rounds"
for r in $(seq "$REPEAT"); do
  dd if=/dev/zero of="$DIR/dd.test" bs=1M count=1024 2>/dev/null
  rm -f "$DIR/dd.test"
  dd if=/dev/zero of="$DIR/dd.test" bs=1M count=1024 2>&1 | tail -1 \
    | awk '{printf "%.1f\n", $1 / $(NF-3) / 1048576}' >>"$RES/dd"
  rm -f "$DIR/dd.test"
  # keyed: mmap with a unique UNIQ_KEY per message, as producers send, so the index is built.
  for mode in $ASYNC_MODES; do
    conf=""; [ "$mode" = buffer ] && conf="transientStorePoolEnable=true"
    keyed=0; [ "$mode" = keyed ] && keyed=1
    for w in 1 4; do
      line=$(STORE_BENCH_CONF=$conf STORE_BENCH_KEYED=$keyed "$BIN" async "$DIR/async" "$w" 1000000)
      echo "round $r $mode writers=$w load=$(load): ${line#RESULT }"
      echo "$line" | sed -n 's/.*msg_per_s=\([0-9]*\).*mib_per_s=\([0-9.]*\).*/\1 \2/p' >>"$RES/$mode$w"
    done
  done
done
dd_med=$(median <"$RES/dd" | cut -d' ' -f1)
echo "== medians of $REPEAT rounds"
echo "dd (no sync): $(median <"$RES/dd") MiB/s"
for mode in $ASYNC_MODES; do
  for w in 1 4; do
    mib=$(cut -d' ' -f2 "$RES/$mode$w" | median | cut -d' ' -f1)
    echo "RESULT async mode=$mode writers=$w msg_per_s=$(cut -d' ' -f1 "$RES/$mode$w" | median)" \
      "mib_per_s=$mib vs_dd=$(ratio "$mib" "$dd_med")"
  done
done
rm -rf "$RES"
dd if=/dev/zero of="$DIR/dd.test" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1
rm -f "$DIR/dd.test"

echo "== SYNC_FLUSH, 64 writers, against the 4 KiB append + fdatasync latency, $REPEAT rounds"
# Each round measures its own baseline right before the runs it judges (the disk's latency
# drifts within minutes here). SYNC_FLUSH masters append through the write buffer by
# default; transientStorePoolEnable=false is the mapping.
RES=$(mktemp -d)
for r in $(seq "$REPEAT"); do
  # Also what the disk alone allows (no CPU time at all): a 64 KiB group flush in a fresh
  # file, laid out in its cheapest way, and one overwriting blocks written before.
  sync_baseline "$DIR/fsync" "round $r load=$(load): " "$RES"
  # Timed over one whole commit-log file, from the first roll-over to the second (the window
  # writes a file the store zero-filled in the background and zero-fills the next meanwhile;
  # 30 s at most). default and mapping run the writers on two runtime workers (one per CPU,
  # as the broker's runtime). Diagnostics: one-worker runs them on one; sched-batch on two
  # SCHED_BATCH workers. Both show what the wake-ups still cost the default: this VM's kernel
  # packs both workers onto one vCPU at this load, and a worker woken there preempts the
  # waker (the store wakes a group through the runtime's driver while a worker is parked,
  # one wake-up instead of one per put, but not none).
  for mode in $SYNC_MODES; do
    conf=""; [ "$mode" = mapping ] && conf="transientStorePoolEnable=false"
    workers=2; [ "$mode" = one-worker ] && workers=1
    sched=normal; [ "$mode" = sched-batch ] && sched=batch
    line=$(STORE_BENCH_CONF=$conf STORE_BENCH_WORKERS=$workers STORE_BENCH_SCHED=$sched \
      "$BIN" sync "$DIR/sync" 64 30)
    echo "round $r $mode: ${line#RESULT }"
    rate=$(echo "$line" | field msg_per_s)
    echo "$rate $(ratio "$rate" "$TARGET")" >>"$RES/$mode"
  done
done
echo "RESULT sync-disk $(disk_medians "$RES")"
for mode in $SYNC_MODES; do
  echo "RESULT sync mode=$mode writers=64 msg_per_s=$(cut -d' ' -f1 "$RES/$mode" | median)" \
    "of_target=$(cut -d' ' -f2 "$RES/$mode" | median)"
done
rm -rf "$RES"

echo "== store (load average printed before each run: other processes share the CPUs)"
load; "$BIN" sync-threads "$DIR/sync" 64 5
load; "$BIN" read "$DIR/read" 1000000
# Each run writes LOG_BYTES as fast as it can, then 1 msg/ms for 5 s, then SIGKILL.
# Apache defaults: the checkpoint is persisted by the 60 s thorough consume-queue flush, so a
# crash within the first minute re-verifies the whole log from file 0 (reput_from=0).
load; "$BIN" recovery "$DIR/recovery" "$LOG_BYTES"
# Steady state: checkpoint persisted every second, recovery starts from the newest file whose
# first message is older than the checkpoint minus Apache's 3 s margin (reput_from > 0).
load; STORE_BENCH_CONF=flushConsumeQueueThoroughInterval=1000 "$BIN" recovery "$DIR/recovery" "$LOG_BYTES"
uptime
rm -rf "$DIR"
