#!/usr/bin/env bash
# Broker benchmark (issue 4 figures; not part of CI). For ASYNC_FLUSH and SYNC_FLUSH:
#   - 1 KiB send TPS and latency percentiles with 1, 8, 32 producer threads (mqbench producer);
#   - end-to-end produce -> consume latency with a long-polling push consumer (mqbench consumer);
#   - broker resident memory (VmRSS, RssAnon = anonymous memory, mapped files aside) at rest and
#     the peak under load.
# Same-run baseline: dd on the same disk — 4 KiB writes with O_DSYNC (one fdatasync each: the
# rate SYNC_FLUSH group commit must beat) and 1 GiB sequential with conv=fdatasync.
#
#   scripts/bench-broker.sh [seconds-per-run]        env: THREADS ("1 8 32"), SIZE (1024), WORK,
#   FLUSH_MODES ("ASYNC_FLUSH SYNC_FLUSH"),
#   BROKER_CPUS (a taskset CPU list for the broker, e.g. 0: a one-CPU pod, one runtime worker)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
THREADS="${THREADS:-1 8 32}"
SIZE="${SIZE:-1024}"
WORK="${WORK:-$PWD/target/bench-broker}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BIN="$CARGO_TARGET_DIR/release"
RES="$WORK/results"
rm -rf "$WORK"
mkdir -p "$RES"
cargo build --release -p rocketmq-namesrv -p rocketmq-broker -p rocketmq-client --bins

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
trap cleanup EXIT INT TERM

mem_kb() { awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} END{printf "%d %d", r, a}' "/proc/$1/status"; }
# Samples a process's memory every 100 ms into a file until killed; keeps the peaks.
sample_peak() {
  set +e
  local pid=$1 out=$2 peak_r=0 peak_a=0 r a
  while kill -0 "$pid" 2>/dev/null; do
    read -r r a < <(mem_kb "$pid")
    if [ "${r:-0}" -gt "$peak_r" ]; then peak_r=$r; fi
    if [ "${a:-0}" -gt "$peak_a" ]; then peak_a=$a; fi
    echo "$peak_r $peak_a" >"$out"
    sleep 0.1
  done
}

echo "== baseline: dd on $(df --output=source "$WORK" | tail -1)"
dd if=/dev/zero of="$WORK/dd.bin" bs=4k count=2000 oflag=dsync 2>"$RES/dd-dsync.txt" || true
dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 conv=fdatasync 2>"$RES/dd-seq.txt" || true
rm -f "$WORK/dd.bin"
tail -1 "$RES/dd-dsync.txt"; tail -1 "$RES/dd-seq.txt"

for flush in ${FLUSH_MODES:-ASYNC_FLUSH SYNC_FLUSH}; do
  d="$WORK/$flush"; mkdir -p "$d"
  printf 'listenPort=29876\nkvConfigPath=%s/kv.json\nconfigStorePath=%s/ns.properties\n' "$d" "$d" >"$d/ns.properties"
  printf 'brokerName=broker-bench\nbrokerIP1=127.0.0.1\nlistenPort=30911\nstorePathRootDir=%s/store\nflushDiskType=%s\n' "$d" "$flush" >"$d/broker.conf"
  "$BIN/mqnamesrv" -c "$d/ns.properties" >"$d/ns.log" 2>&1 & pids+=($!)
  ${BROKER_CPUS:+taskset -c "$BROKER_CPUS"} "$BIN/mqbroker" -n 127.0.0.1:29876 -c "$d/broker.conf" >"$d/broker.log" 2>&1 & broker=$!; pids+=($!)
  for _ in $(seq 1 100); do "$BIN/mqadmin" clusterList -n 127.0.0.1:29876 2>/dev/null | grep -q broker-bench && break; sleep 0.2; done
  "$BIN/mqadmin" updateTopic -n 127.0.0.1:29876 -b 127.0.0.1:30911 -t BenchTopic -r 8 -w 8 >/dev/null
  echo "$(mem_kb "$broker")" >"$RES/$flush-rest.mem"
  for t in $THREADS; do
    sample_peak "$broker" "$RES/$flush-producer-$t.mem" & sampler=$!
    "$BIN/mqbench" producer -n 127.0.0.1:29876 -t BenchTopic -w "$t" -s "$SIZE" --duration "$DUR" --json \
      >"$RES/$flush-producer-$t.json" 2>"$RES/$flush-producer-$t.err" || echo "producer -w $t failed: $(tail -1 "$RES/$flush-producer-$t.err")"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
  done
  # End to end: a caught-up consumer long-polls while 8 producers send. A fresh topic: a new
  # group starts at offset 0 while the queue's first message is stored (as in Apache), so on
  # BenchTopic it would drain the backlog of the runs above and measure its age.
  "$BIN/mqadmin" updateTopic -n 127.0.0.1:29876 -b 127.0.0.1:30911 -t E2ETopic -r 8 -w 8 >/dev/null
  "$BIN/mqbench" consumer -n 127.0.0.1:29876 -t E2ETopic -g e2e --from last --duration $((DUR + 4)) --json \
    >"$RES/$flush-e2e.json" 2>"$RES/$flush-e2e.err" & consumer=$!
  sleep 3 # consumer start-up and rebalance
  "$BIN/mqbench" producer -n 127.0.0.1:29876 -t E2ETopic -w 8 -s "$SIZE" --duration "$DUR" --json >"$RES/$flush-e2e-producer.json" 2>/dev/null || true
  wait "$consumer" || echo "e2e consumer failed: $(tail -1 "$RES/$flush-e2e.err")"
  cleanup
done

python3 - "$RES" "$SIZE" <<'PY'
import json, os, re, sys
res, size = sys.argv[1], int(sys.argv[2])
def load(p):
    try:
        with open(os.path.join(res, p)) as f: return json.load(f)
    except Exception: return None
def mem(p):
    try: r, a = open(os.path.join(res, p)).read().split(); return f"{int(r)/1024:.1f}/{int(a)/1024:.1f}"
    except Exception: return "-"
dsync = open(os.path.join(res, "dd-dsync.txt")).read()
m = re.search(r"(\d+) bytes.*copied, ([\d.]+) s", dsync)
fsync_rate = 2000 / float(m.group(2)) if m else None
print()
if fsync_rate: print(f"baseline: {fsync_rate:.0f} fdatasync'd 4 KiB writes/s (dd oflag=dsync) — {1e3/fsync_rate:.3f} ms each")
print(f"{'flush':<12} {'threads':>7} {'tps':>9} {'x dsync':>8} {'avg ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'p999 ms':>8} {'fail':>5} {'RSS/anon MiB peak':>18}")
for flush in ("ASYNC_FLUSH", "SYNC_FLUSH"):
    print(f"{flush:<12} {'rest':>7} {'':>9} {'':>8} {'':>8} {'':>8} {'':>8} {'':>8} {'':>5} {mem(flush + '-rest.mem'):>18}")
    for f in sorted(os.listdir(res), key=lambda s: (len(s), s)):
        mm = re.match(rf"{flush}-producer-(\d+)\.json$", f)
        if not mm: continue
        d = load(f) or {}; lat = d.get("latency") or {}
        ratio = f"{d.get('tps', 0)/fsync_rate:.1f}" if fsync_rate else "-"
        print(f"{flush:<12} {mm.group(1):>7} {d.get('tps', 0):>9.0f} {ratio:>8} {lat.get('avg_ms', 0):>8.3f} {lat.get('p50_ms', 0):>8.3f} {lat.get('p99_ms', 0):>8.3f} {lat.get('p999_ms', 0):>8.3f} {d.get('failed', 0):>5} {mem(f[:-5] + '.mem'):>18}")
    e = load(f"{flush}-e2e.json") or {}; lat = e.get("e2e_latency") or e.get("latency") or {}
    print(f"{flush:<12} {'e2e':>7} {e.get('tps', 0):>9.0f} {'':>8} {lat.get('avg_ms', 0):>8.3f} {lat.get('p50_ms', 0):>8.3f} {lat.get('p99_ms', 0):>8.3f} {lat.get('p999_ms', 0):>8.3f}")
PY
