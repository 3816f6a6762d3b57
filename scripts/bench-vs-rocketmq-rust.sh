#!/usr/bin/env bash
# Side-by-side mqbench runs against this repository's name server + broker and against
# rocketmq-rust's (crates.io `rocketmq-namesrv` / `rocketmq-broker`), in the same run on the
# same machine. Not part of CI: it installs rocketmq-rust from crates.io (long build).
#
#   scripts/bench-vs-rocketmq-rust.sh [seconds-per-run]
#
# Env: THREADS ("1 8 32"), SIZE (1024), WORK (target/bench-vs), RR_ROOT (install root),
#      SKIP_RR=1 to measure only ours, RR_VERSION to pin the crates.io version.
# Each run writes mqbench's --json document to $WORK/results/<server>-<kind>-<threads>.json
# and the broker's CPU seconds next to it; a summary table is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
THREADS="${THREADS:-1 8 32}"
SIZE="${SIZE:-1024}"
WORK="${WORK:-$PWD/target/bench-vs}"
RR_ROOT="${RR_ROOT:-$WORK/rocketmq-rust}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BIN="$CARGO_TARGET_DIR/release"
RES="$WORK/results"
rm -rf "$WORK/data" "$RES"
mkdir -p "$WORK/data" "$RES"

cargo build --release -p rocketmq-namesrv -p rocketmq-broker -p rocketmq-client --bins

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# CPU seconds (user+system) a process has used so far.
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_broker() { # ns
  for _ in $(seq 1 120); do
    if "$BIN/mqadmin" clusterList -n "$1" 2>/dev/null | grep -q ':'; then return 0; fi
    sleep 0.5
  done
  return 1
}

run_suite() { # label ns broker_addr broker_pid
  local label=$1 ns=$2 addr=$3 bpid=$4
  if ! "$BIN/mqadmin" updateTopic -n "$ns" -b "$addr" -t BenchTopic -r 8 -w 8 >"$RES/$label-updateTopic.log" 2>&1; then
    echo "[$label] updateTopic failed: $(tail -1 "$RES/$label-updateTopic.log")"
  fi
  for t in $THREADS; do
    local c0 c1 status=ok
    c0=$(cpu_s "$bpid")
    if ! "$BIN/mqbench" producer -n "$ns" -t BenchTopic -w "$t" -s "$SIZE" --duration "$DUR" --json \
        >"$RES/$label-producer-$t.json" 2>"$RES/$label-producer-$t.err"; then
      status="failed: $(tail -1 "$RES/$label-producer-$t.err")"
    fi
    c1=$(cpu_s "$bpid")
    echo "{\"broker_cpu_s\": $(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}'), \"status\": \"${status//\"/\'}\"}" \
      >"$RES/$label-producer-$t.broker.json"
    echo "[$label] producer -w $t: $status"
  done
  local c0 c1 status=ok
  c0=$(cpu_s "$bpid")
  if ! "$BIN/mqbench" consumer -n "$ns" -t BenchTopic -g "bench_$label" --from first --duration "$DUR" --json \
      >"$RES/$label-consumer.json" 2>"$RES/$label-consumer.err"; then
    status="failed: $(tail -1 "$RES/$label-consumer.err")"
  fi
  c1=$(cpu_s "$bpid")
  echo "{\"broker_cpu_s\": $(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}'), \"status\": \"${status//\"/\'}\"}" \
    >"$RES/$label-consumer.broker.json"
  echo "[$label] consumer: $status"
}

# ---- ours ----
NS_PORT=19876; BR_PORT=20911
mkdir -p "$WORK/data/ours"
cat >"$WORK/data/ours/namesrv.properties" <<CONF
listenPort=$NS_PORT
kvConfigPath=$WORK/data/ours/kv.json
configStorePath=$WORK/data/ours/namesrv.properties
CONF
cat >"$WORK/data/ours/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-ours
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
listenPort=$BR_PORT
brokerIP1=127.0.0.1
storePathRootDir=$WORK/data/ours/store
CONF
"$BIN/mqnamesrv" -c "$WORK/data/ours/namesrv.properties" >"$WORK/data/ours/namesrv.log" 2>&1 & pids+=($!)
"$BIN/mqbroker" -n "127.0.0.1:$NS_PORT" -c "$WORK/data/ours/broker.conf" >"$WORK/data/ours/broker.log" 2>&1 & OURS_BROKER=$!; pids+=($!)
if wait_broker "127.0.0.1:$NS_PORT"; then
  run_suite ours "127.0.0.1:$NS_PORT" "127.0.0.1:$BR_PORT" "$OURS_BROKER"
else
  echo "[ours] broker did not register; see $WORK/data/ours/broker.log"
fi
cleanup; pids=()

# ---- rocketmq-rust (crates.io) ----
if [ "${SKIP_RR:-0}" != 1 ]; then
  ver=${RR_VERSION:+--version $RR_VERSION}
  if ! ls "$RR_ROOT"/bin/*namesrv* >/dev/null 2>&1; then
    echo "[rocketmq-rust] cargo install rocketmq-namesrv rocketmq-broker (crates.io) into $RR_ROOT"
    cargo install --root "$RR_ROOT" $ver rocketmq-namesrv >"$WORK/rr-install-namesrv.log" 2>&1 || echo "[rocketmq-rust] namesrv install failed: $(tail -3 "$WORK/rr-install-namesrv.log")"
    cargo install --root "$RR_ROOT" $ver rocketmq-broker >"$WORK/rr-install-broker.log" 2>&1 || echo "[rocketmq-rust] broker install failed: $(tail -3 "$WORK/rr-install-broker.log")"
  fi
  RR_NS=$(ls "$RR_ROOT"/bin/*namesrv* 2>/dev/null | head -1 || true)
  RR_BR=$(ls "$RR_ROOT"/bin/*broker* 2>/dev/null | grep -v -i migrate | head -1 || true)
  if [ -z "$RR_NS" ] || [ -z "$RR_BR" ]; then
    echo "[rocketmq-rust] binaries not found in $RR_ROOT/bin; skipped"
  elif ! port_free 9876 || ! port_free 10911; then
    echo "[rocketmq-rust] ports 9876/10911 are in use (its broker keeps Apache's defaults); skipped"
  else
    home="$WORK/data/rr"; mkdir -p "$home/conf" "$home/store"
    cat >"$home/conf/broker.toml" <<CONF
brokerIP1 = "127.0.0.1"
namesrvAddr = "127.0.0.1:9876"
storePathRootDir = "$home/store"
flushDiskType = "ASYNC_FLUSH"
brokerRole = "ASYNC_MASTER"
listenPort = 10911

[brokerIdentity]
brokerName = "broker-rr"
brokerClusterName = "DefaultCluster"
brokerId = 0
CONF
    ROCKETMQ_HOME="$home" "$RR_NS" >"$home/namesrv.log" 2>&1 & pids+=($!)
    sleep 2
    ROCKETMQ_HOME="$home" "$RR_BR" -c "$home/conf/broker.toml" -n 127.0.0.1:9876 >"$home/broker.log" 2>&1 & RR_BROKER=$!; pids+=($!)
    if wait_broker "127.0.0.1:9876"; then
      run_suite rocketmq-rust "127.0.0.1:9876" "127.0.0.1:10911" "$RR_BROKER"
    else
      echo "[rocketmq-rust] no broker listed by clusterList within 60 s;" \
        "mqadmin says: $("$BIN/mqadmin" clusterList -n 127.0.0.1:9876 2>&1 | tail -1)"
      echo "  logs: $home/namesrv.log $home/broker.log"
    fi
    cleanup; pids=()
  fi
fi

# ---- summary ----
python3 - "$RES" <<'PY'
import json, os, sys
res = sys.argv[1]
def load(p):
    try:
        with open(p) as f: return json.load(f)
    except Exception: return None
print()
print(f"{'server':<14} {'run':<12} {'tps':>9} {'avg ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'p999 ms':>8} {'fail':>6} {'client cpu s':>12} {'broker cpu s':>12}")
for f in sorted(os.listdir(res)):
    if not f.endswith('.json') or f.endswith('.broker.json'): continue
    d = load(os.path.join(res, f)); b = load(os.path.join(res, f[:-5] + '.broker.json')) or {}
    server, run = f[:-5].rsplit('-', 2)[0], '-'.join(f[:-5].rsplit('-', 2)[1:])
    if server.endswith('-producer') or server.endswith('-consumer'):
        server, run = server.rsplit('-', 1)[0], f[:-5][len(server.rsplit('-', 1)[0]) + 1:]
    if d is None:
        print(f"{server:<14} {run:<12} {'(no result: ' + b.get('status', '?') + ')'}"); continue
    lat = d.get('latency') or d.get('e2e_latency') or {}
    fail = d.get('failed', 0)
    print(f"{server:<14} {run:<12} {d['tps']:>9.0f} {lat.get('avg_ms', 0):>8.3f} {lat.get('p50_ms', 0):>8.3f} {lat.get('p99_ms', 0):>8.3f} {lat.get('p999_ms', 0):>8.3f} {fail:>6} {d.get('cpu_s') or 0:>12.2f} {b.get('broker_cpu_s', 0):>12.2f}")
PY
