"""Client scenarios run with the Apache C++ client (librocketmq.so through its Python wrapper).

Each scenario runs in its own process (`python scenarios.py NAME JSON_ARGS`) and prints one JSON
line with what it observed, so that a crash inside the native library fails one test only.
Bodies are bytes 1..255: the C API reads bodies back as NUL-terminated strings.
"""

import json
import os
import sys
import threading
import time

from rocketmq import client as rmq
from rocketmq.ffi import dll

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def body_of(m) -> bytes:
    return m.body if isinstance(m.body, bytes) else m.body.encode()


def make_message(topic, body: bytes, tags=None, keys=None, props=None):
    m = rmq.Message(topic)
    rmq.ffi_check(dll.SetByteMessageBody(m._handle, body, len(body)))
    if tags:
        m.set_tags(tags)
    if keys:
        m.set_keys(keys)
    for k, v in (props or {}).items():
        m.set_property(k, v)
    return m


def producer(a):
    p = rmq.Producer(a.get("group", "PG_E2E"), timeout=10000)
    p.set_namesrv_addr(a["ns"])
    p.set_log_root_path(a["logdir"])
    if "compress_level" in a:
        p.set_compress_level(a["compress_level"])
    p.set_max_message_size(a.get("max_message_size", 4 * 1024 * 1024))
    p.start()
    return p


def describe(m):
    return {
        "topic": m.topic,
        "tags": (m.tags or b"").decode(),
        "keys": (m.keys or b"").decode(),
        "body": body_of(m).hex(),
        "queue_id": m.queue_id,
        "queue_offset": m.queue_offset,
        "props": {k: (m.get_property(k) or b"").decode() for k in ("u1", "u2")},
        "id": m.id,
        "reconsume": m.reconsume_times,
        "store_size": m.store_size,
    }


def send(a):
    """Sends messages in one mode; reports each send result."""
    p = producer(a)
    out = []
    mode = a["mode"]
    msgs = a["messages"]
    if mode == "batch":
        batch = [make_message(a["topic"], bytes.fromhex(m["body"]), m.get("tags"), m.get("keys"), m.get("props")) for m in msgs]
        r = p.send_batch(batch)
        out.append({"status": int(r.status), "msg_id": r.msg_id, "offset": r.offset})
    done = threading.Event()
    pending = [0]
    lock = threading.Lock()
    for spec in msgs if mode != "batch" else []:
        m = make_message(a["topic"], bytes.fromhex(spec["body"]), spec.get("tags"), spec.get("keys"), spec.get("props"))
        if mode == "sync":
            try:
                r = p.send_sync(m)
                out.append({"status": int(r.status), "msg_id": r.msg_id, "offset": r.offset})
            except Exception as e:  # the client raises on broker errors
                out.append({"status": -1, "error": str(e)})
        elif mode == "oneway":
            p.send_oneway(m)
            out.append({"status": 0})
        elif mode == "orderly":
            r = p.send_orderly(m, spec["shard"], queue_selector=lambda n, _m, arg: arg % n)
            out.append({"status": int(r.status), "msg_id": r.msg_id, "offset": r.offset})
        elif mode == "async":
            with lock:
                pending[0] += 1

            def ok(r):
                with lock:
                    out.append({"status": int(r.status), "msg_id": r.msg_id, "offset": r.offset})
                    pending[0] -= 1
                    if pending[0] == 0:
                        done.set()

            def err(e):
                with lock:
                    out.append({"status": -1, "error": str(e)})
                    pending[0] -= 1
                    if pending[0] == 0:
                        done.set()

            p.send_async(m, ok, err)
    if mode == "async":
        done.wait(60)
    p.shutdown()
    return {"results": out}


def consume(a):
    """Push consumers (one or more instances in this process) until `expect` messages arrived
    in total or `timeout` passed; reports what each instance got, in arrival order."""
    model = rmq.MessageModel.BROADCASTING if a.get("broadcast") else rmq.MessageModel.CLUSTERING
    got = {i: [] for i in range(a.get("instances", 1))}
    lock = threading.Lock()
    total = [0]
    done = threading.Event()
    consumers = []
    for i in range(a.get("instances", 1)):
        c = rmq.PushConsumer(a["group"], orderly=a.get("orderly", False), message_model=model)
        c.set_namesrv_addr(a["ns"])
        c.set_log_root_path(a["logdir"])
        c.set_instance_name(f"inst{i}_{os.getpid()}")
        c.set_thread_count(a.get("threads", 2))

        def cb(msg, i=i):
            d = describe(msg)
            with lock:
                got[i].append(d)
                total[0] += 1
                if total[0] >= a["expect"]:
                    done.set()
            if a.get("slow_ms"):
                time.sleep(a["slow_ms"] / 1000)

        c.subscribe(a["topic"], cb, a.get("expression", "*"))
        consumers.append(c)
    for c in consumers:
        c.start()
    if a.get("produce"):
        # Produce only once every instance is a member and has rebalanced, so each message
        # has exactly one owner queue-wise.
        import admin

        admin.wait_consumers(a["broker"], a["group"], len(consumers))
        time.sleep(a.get("rebalance_grace", 1.0))
        send(dict(a, **a["produce"]))
    done.wait(a.get("timeout", 60))
    # Let offsets reach the broker (the C++ client commits them every 5 s and on shutdown).
    settle = a.get("settle", 0)
    if settle:
        time.sleep(settle)
    # The result goes out before shutdown: the C++ 2.1 push consumer can crash while
    # shutting down its internal trace producer, after its work is done.
    emit({"got": {str(k): v for k, v in got.items()}})
    for c in consumers:
        c.shutdown()
    return None


def pull(a):
    c = rmq.PullConsumer(a["group"])
    c.set_namesrv_addr(a["ns"])
    c.set_log_root_path(a["logdir"])
    c.start()
    got = [describe(m) for m in c.pull(a["topic"], a.get("expression", "*"), a.get("max_num", 32))]
    c.shutdown()
    return {"got": got}


def emit(result):
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    name, raw = sys.argv[1], sys.argv[2]
    args = json.loads(open(raw[1:]).read() if raw.startswith("@") else raw)
    result = {"send": send, "consume": consume, "pull": pull}[name](args)
    if result is not None:
        emit(result)
    # Skip the native library's teardown at interpreter exit, which can crash after success.
    os._exit(0)
