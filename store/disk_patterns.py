#!/usr/bin/env python3
"""What a SYNC_FLUSH group commit costs on this disk, without the store.

Each pattern writes 75 KiB (about 64 records of 1 KiB) and msyncs that range, N times,
while something else may write to the disk; mean and median latency in microseconds.
Baseline: a 4 KiB append + fdatasync (the store bench's `fsync` scenario).

    python3 store/disk_patterns.py [dir] [flushes]
"""
import mmap
import os
import statistics
import sys
import threading
import time

DIR = sys.argv[1] if len(sys.argv) > 1 else "target/store-bench"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
SIZE = 1 << 30
REC = 75 * 1024
CHUNK = 256 << 10
ZEROS = b"\0" * CHUNK


def stats(lat):
    return f"mean {statistics.mean(lat):6.0f}  median {statistics.median(lat):6.0f}"


def append_4k():
    path = os.path.join(DIR, "append.test")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    lat = []
    for i in range(N):
        t = time.perf_counter()
        os.pwrite(fd, b"7" * 4096, i * 4096)
        os.fdatasync(fd)
        lat.append((time.perf_counter() - t) * 1e6)
    os.close(fd)
    os.unlink(path)
    return lat


def group_commits(prezero, zero_ahead, other_file):
    """prezero: zero-fill (and sync) the region first, all of it or (True) the first
    64 MiB; zero_ahead: a thread keeps 64 MiB ahead zero-filled while flushing, syncing
    per MiB, in this file (from where the prezeroed part ends) or another."""
    path = os.path.join(DIR, "log.test")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    os.ftruncate(fd, SIZE)
    span = N * REC + CHUNK if prezero == "all" else 64 << 20
    if prezero:
        for off in range(0, span, CHUNK):
            os.pwrite(fd, ZEROS, off)
        os.fdatasync(fd)
    zpath = os.path.join(DIR, "other.test")
    zfd = fd
    if other_file:
        zfd = os.open(zpath, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        os.ftruncate(zfd, SIZE)
    state = {"pos": 0, "stop": False}

    def zero():
        zeroed, unsynced = (0 if other_file else span), 0
        while not state["stop"]:
            if zeroed < min(state["pos"] + (64 << 20), SIZE - CHUNK):
                os.pwrite(zfd, ZEROS, zeroed)
                zeroed += CHUNK
                unsynced += CHUNK
                if unsynced >= 1 << 20:
                    os.fdatasync(zfd)
                    unsynced = 0
            else:
                time.sleep(0.002)

    th = threading.Thread(target=zero) if zero_ahead else None
    if th:
        th.start()
    m = mmap.mmap(fd, SIZE)
    rec = b"y" * REC
    lat = []
    for _ in range(N):
        pos = state["pos"]
        t = time.perf_counter()
        os.pwrite(fd, rec, pos)
        start = pos // 4096 * 4096
        m.flush(start, pos + REC - start)
        lat.append((time.perf_counter() - t) * 1e6)
        state["pos"] = pos + REC
    state["stop"] = True
    if th:
        th.join()
    m.close()
    os.close(fd)
    os.unlink(path)
    if other_file:
        os.close(zfd)
        os.unlink(zpath)
    return lat


os.makedirs(DIR, exist_ok=True)
print(f"4 KiB append + fdatasync                     {stats(append_4k())}")
print(f"75 KiB overwrite, nothing else running       {stats(group_commits('all', False, False))}")
print(f"75 KiB into holes (no zero-fill)             {stats(group_commits(False, False, False))}")
print(f"75 KiB, zero-fill ahead in the same file     {stats(group_commits(True, True, False))}")
print(f"75 KiB overwrite, zero-fill in another file  {stats(group_commits('all', True, True))}")
