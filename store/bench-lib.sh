# Shared by store/bench.sh and store/bench-fs.sh (sourced; run from the repository root).

# Builds the store bench binary and sets BIN to its path.
build_store_bench() {
  cargo bench -p rocketmq-store --bench store_bench --no-run 2>&1 | tail -1
  BIN=$(cargo bench -p rocketmq-store --bench store_bench --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*store_bench[^"]*\)".*/\1/p' | tail -1)
}

# The value of key $1 in the RESULT line on stdin.
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

# The median of the numbers on stdin, with their minimum and maximum.
median() { sort -n | awk '{v[NR]=$1} END {printf "%s (min %s, max %s)", v[int((NR+1)/2)], v[1], v[NR]}'; }

# $1 as a fraction of $2, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# Runs the SYNC_FLUSH target's baseline (the fsync scenario) in dir $1 and prints it after
# the prefix $2; sets TARGET (msg/s) and appends what the disk alone allows, the fresh-file
# floor and the written-blocks ceiling as fractions of TARGET, to $3/disk.
sync_baseline() {
  local base
  base=$("$BIN" fsync "$1" 400)
  echo "$2${base#RESULT }"
  TARGET=$(echo "$base" | field target_sync64_msg_per_s)
  echo "$(ratio "$(echo "$base" | field fresh_floor_sync64_msg_per_s)" "$TARGET")" \
    "$(ratio "$(echo "$base" | field ceiling_sync64_msg_per_s)" "$TARGET")" >>"$3/disk"
}

# The medians of what sync_baseline appended to $1/disk, as RESULT fields.
disk_medians() {
  echo "fresh_floor_of_target=$(cut -d' ' -f1 "$1/disk" | median)" \
    "ceiling_of_target=$(cut -d' ' -f2 "$1/disk" | median)"
}
