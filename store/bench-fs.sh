#!/usr/bin/env bash
# The SYNC_FLUSH 64-writer target on other file systems of the same disk. store/bench.sh
# measures it on the file system the repository is on; this makes each file system named
# below in an image file under target/, mounts it through a loop device (direct I/O, so the
# page cache holds each page once) and runs the same rounds there: the baseline (median
# latency of a 4 KiB append + fdatasync), then 64 writers, each round against its own
# baseline. The image is written in full first and the file systems are made without
# discards or lazy initialisation, so that no write of the loop device allocates blocks of
# the image or competes with background zeroing. Needs root, losetup and mkfs.ext4
# (mkfs.xfs for xfs); IMG_GIB (default 6) GiB free.
#   store/bench-fs.sh [fs...]   fs: ext4 (with the journal mkfs gives it), ext4-nojournal, xfs
# Default: all three. REPEAT rounds each (default 3). Results: one RESULT line per fs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
FSES=${*:-ext4 ext4-nojournal xfs}
REPEAT=${REPEAT:-3}
export STORE_BENCH_PRETOUCH_MIB=${PRETOUCH_MIB:-4096}

if [ "$(id -u)" != 0 ] || ! command -v losetup >/dev/null; then
  echo "needs root and losetup" >&2
  exit 1
fi
echo "== host"
date -u
uname -r
df -h "$CARGO_TARGET_DIR" | tail -1

. store/bench-lib.sh
build_store_bench

IMG="" LOOP="" MNT=""
cleanup() {
  if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null || true; rmdir "$MNT" 2>/dev/null || true; fi
  if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
  if [ -n "$IMG" ]; then rm -f "$IMG"; fi
  IMG="" LOOP="" MNT=""
}
trap cleanup EXIT

for fs in $FSES; do
  case $fs in
    ext4) mkfs=(mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0) ;;
    ext4-nojournal) mkfs=(mkfs.ext4 -q -F -O ^has_journal -E nodiscard,lazy_itable_init=0) ;;
    xfs) mkfs=(mkfs.xfs -q -f -K) ;;
    *) echo "unknown file system $fs" >&2; exit 1 ;;
  esac
  if ! command -v "${mkfs[0]}" >/dev/null; then
    echo "== $fs: ${mkfs[0]} not installed, skipped"
    continue
  fi
  IMG=$CARGO_TARGET_DIR/bench-fs-$fs.img
  rm -f "$IMG"
  dd if=/dev/zero of="$IMG" bs=4M count=$((${IMG_GIB:-6} * 256)) conv=fdatasync status=none
  "${mkfs[@]}" "$IMG"
  LOOP=$(losetup --direct-io=on -f --show "$IMG")
  MNT=$(mktemp -d)
  mount "$LOOP" "$MNT"
  echo "== $fs on $LOOP ($(findmnt -no OPTIONS "$MNT")), $REPEAT rounds"
  RES=$(mktemp -d)
  for r in $(seq "$REPEAT"); do
    sync_baseline "$MNT/fsync" "round $r: " "$RES"
    line=$("$BIN" sync "$MNT/sync" 64 30)
    rate=$(echo "$line" | field msg_per_s)
    of=$(ratio "$rate" "$TARGET")
    echo "round $r: ${line#RESULT } of_target=$of"
    echo "$rate $of" >>"$RES/sync"
  done
  echo "RESULT sync-fs fs=$fs writers=64 msg_per_s=$(cut -d' ' -f1 "$RES/sync" | median)" \
    "of_target=$(cut -d' ' -f2 "$RES/sync" | median) $(disk_medians "$RES")"
  rm -rf "$RES"
  cleanup
done
