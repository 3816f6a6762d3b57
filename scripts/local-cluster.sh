#!/usr/bin/env bash
# Starts a local RocketMQ cluster in the foreground: a name server on 9876 (and, once the
# broker is built, a broker on 10911) with all data under ./.data. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${ROCKETMQ_DATA:-$PWD/.data}"
NS_PORT="${NAMESRV_PORT:-9876}"
mkdir -p "$DATA/namesrv"

cargo build --release --bins
BIN="$PWD/target/release"

cat > "$DATA/namesrv/namesrv.properties" <<CONF
listenPort=$NS_PORT
kvConfigPath=$DATA/namesrv/kvConfig.json
configStorePath=$DATA/namesrv/namesrv.properties
CONF

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
}
trap cleanup EXIT INT TERM

"$BIN/mqnamesrv" -c "$DATA/namesrv/namesrv.properties" &
pids+=($!)

if [ -x "$BIN/mqbroker" ]; then
  mkdir -p "$DATA/broker"
  cat > "$DATA/broker/broker.conf" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
listenPort=10911
brokerIP1=127.0.0.1
storePathRootDir=$DATA/broker/store
autoCreateTopicEnable=true
CONF
  "$BIN/mqbroker" -n "127.0.0.1:$NS_PORT" -c "$DATA/broker/broker.conf" &
  pids+=($!)
fi

echo "local cluster running: name server 127.0.0.1:$NS_PORT, data in $DATA (Ctrl-C to stop)"
wait -n "${pids[@]}"
