"""The Apache C++ client (rocketmq-python-cvs / librocketmq.so) against our mqnamesrv + mqbroker."""

import json
import os
from collections import Counter, defaultdict

import admin


def body(i: int, size: int = 64) -> str:
    """A binary body of bytes 1..255 (never 0: the C API reads bodies as C strings)."""
    raw = bytes(((i * 131 + k * 7) % 255) + 1 for k in range(size))
    return raw.hex()


def msgs(n, topic_tags=("TagA",), start=0, size=64):
    return [
        {
            "body": body(i, size),
            "tags": topic_tags[i % len(topic_tags)],
            "keys": f"key-{i} alt-{i}",
            "props": {"u1": f"v{i}", "u2": "ünïcødé"},
            "shard": i % 3,
        }
        for i in range(start, start + n)
    ]


def all_got(result):
    return [m for inst in result["got"].values() for m in inst]


def test_every_send_mode_stores_messages_and_topic_is_auto_created(client, cluster):
    sent = {}
    for mode in ["sync", "async", "oneway", "orderly", "batch"]:
        topic = f"Auto_{mode}"
        spec = msgs(6, start=0)
        r = client("send", topic=topic, mode=mode, messages=spec)["results"]
        if mode != "oneway":
            assert r and all(x["status"] == 0 for x in r), (mode, r)
        sent[topic] = spec
    code, _, body_bytes, _ = admin.request(f"127.0.0.1:{cluster.broker_port}", admin.GET_ALL_TOPIC_CONFIG)
    assert code == 0
    for topic in sent:
        assert f'"{topic}"' in body_bytes.decode(), f"{topic} was auto-created"
    for topic, spec in sent.items():
        got = all_got(client("consume", group=f"CG_{topic}", topic=topic, expect=len(spec), timeout=40))
        assert sorted(m["body"] for m in got) == sorted(m["body"] for m in spec), topic
        for m in got:
            i = int(m["keys"].split()[0].split("-")[1])
            assert m["tags"] == "TagA" and m["keys"] == f"key-{i} alt-{i}"
            assert m["props"] == {"u1": f"v{i}", "u2": "ünïcødé"}


def test_clustering_two_instances_consume_each_message_once(client, cluster):
    # Consumers find brokers through the topic's route, so the topic must exist first.
    warm = msgs(1, start=999)
    client("send", topic="ClusterTopic", mode="sync", messages=warm)
    spec = warm + msgs(60)
    r = client(
        "consume",
        group="CG_CLUSTER",
        topic="ClusterTopic",
        instances=2,
        expect=61,
        broker=f"127.0.0.1:{cluster.broker_port}",
        produce={"topic": "ClusterTopic", "mode": "sync", "messages": spec[1:]},
        settle=1,
        timeout=60,
    )
    counts = Counter(m["body"] for m in all_got(r))
    assert set(counts) == {m["body"] for m in spec}
    assert all(c == 1 for c in counts.values()), "each message consumed exactly once"
    assert all(len(v) > 0 for v in r["got"].values()), "both instances got a share of the queues"
    # Queues are split: no queue delivered to both instances.
    owners = defaultdict(set)
    for inst, got in r["got"].items():
        for m in got:
            owners[m["queue_id"]].add(inst)
    assert all(len(o) == 1 for o in owners.values())


def test_broadcasting_every_instance_gets_every_message(client, cluster):
    client("send", topic="BcastTopic", mode="sync", messages=msgs(1))  # create the topic
    spec = msgs(20, start=1)
    r = client(
        "consume",
        group="CG_BCAST",
        topic="BcastTopic",
        instances=2,
        broadcast=True,
        expect=2 * 21,
        broker=f"127.0.0.1:{cluster.broker_port}",
        produce={"topic": "BcastTopic", "mode": "sync", "messages": spec},
        timeout=60,
    )
    for inst, got in r["got"].items():
        bodies = {m["body"] for m in got}
        assert {m["body"] for m in spec} <= bodies, f"instance {inst} missed messages"


def test_orderly_consumption_keeps_per_queue_order(client, cluster):
    spec = msgs(45)
    client("send", topic="OrderTopic", mode="orderly", messages=spec)
    r = client("consume", group="CG_ORDER", topic="OrderTopic", orderly=True, expect=45, threads=4, timeout=60)
    got = all_got(r)
    assert len(got) == 45
    per_queue = defaultdict(list)
    for m in r["got"]["0"]:
        per_queue[m["queue_id"]].append(m["queue_offset"])
    for q, offsets in per_queue.items():
        assert offsets == sorted(offsets), f"queue {q} out of order: {offsets}"
    # Each shard key went to one queue.
    shard_queue = defaultdict(set)
    for m in got:
        i = int(m["keys"].split()[0].split("-")[1])
        shard_queue[i % 3].add(m["queue_id"])
    assert all(len(qs) == 1 for qs in shard_queue.values())


def test_tag_expression_filters(client, cluster):
    spec = msgs(30, topic_tags=("TagA", "TagB", "TagC"))
    client("send", topic="TagTopic", mode="sync", messages=spec)
    want = [m for m in spec if m["tags"] in ("TagA", "TagB")]
    r = client("consume", group="CG_TAGS", topic="TagTopic", expression="TagA || TagB", expect=len(want), settle=2, timeout=40)
    got = all_got(r)
    assert sorted(m["body"] for m in got) == sorted(m["body"] for m in want)
    assert {m["tags"] for m in got} == {"TagA", "TagB"}


def test_pull_consumer_reads_everything(client, cluster):
    spec = msgs(25, topic_tags=("TagA", "TagB"))
    client("send", topic="PullTopic", mode="sync", messages=spec)
    got = client("pull", group="PULL_G", topic="PullTopic")["got"]
    assert sorted(m["body"] for m in got) == sorted(m["body"] for m in spec)
    tagged = client("pull", group="PULL_G2", topic="PullTopic", expression="TagB")["got"]
    assert sorted(m["body"] for m in tagged) == sorted(m["body"] for m in spec if m["tags"] == "TagB")


def test_large_and_client_compressed_bodies_are_intact(client, cluster):
    big = os.urandom(1024 * 1024)
    big = bytes(b if b else 1 for b in big).hex()  # 1 MiB, incompressible
    compressible = ("abc" * 30000).encode().hex()  # 90 KB, compressed by the client (> 4 KiB)
    spec = [
        {"body": big, "tags": "Big", "keys": "big", "props": {"u1": "1"}},
        {"body": compressible, "tags": "Zip", "keys": "zip", "props": {"u1": "2"}},
    ]
    r = client("send", topic="BigTopic", mode="sync", messages=spec, compress_level=5)["results"]
    assert [x["status"] for x in r] == [0, 0]
    got = {m["tags"]: m for m in all_got(client("consume", group="CG_BIG", topic="BigTopic", expect=2, timeout=60))}
    assert got["Big"]["body"] == big
    assert got["Zip"]["body"] == compressible
    assert got["Zip"]["store_size"] < len(compressible) // 2 // 4, "the body travelled and was stored compressed"


def test_oversize_message_is_refused_and_broker_keeps_working(client, cluster):
    # Incompressible and over the broker's 4 MiB maxMessageSize even after client compression.
    too_big = bytes(b if b else 1 for b in os.urandom(4 * 1024 * 1024 + 4096)).hex()
    r = client(
        "send",
        topic="SizeTopic",
        mode="sync",
        max_message_size=16 * 1024 * 1024,
        messages=[{"body": body(1)}, {"body": too_big}, {"body": body(2)}],
    )["results"]
    assert [x["status"] for x in r] == [0, -1, 0], r
    # The C++ client reports its own generic error after retrying; the broker's refusal
    # (MESSAGE_ILLEGAL) shows in its counters.
    code, _, info, _ = admin.request(f"127.0.0.1:{cluster.broker_port}", 28)
    assert code == 0
    assert int(json.loads(info)["table"]["putMessageFailedTimes"]) >= 1
    got = all_got(client("consume", group="CG_SIZE", topic="SizeTopic", expect=2, timeout=40))
    assert sorted(m["body"] for m in got) == sorted([body(1), body(2)])


def test_consumer_restart_resumes_from_committed_offset(client, cluster):
    first = msgs(10)
    client("send", topic="ResumeTopic", mode="sync", messages=first)
    got1 = all_got(client("consume", group="CG_RESUME", topic="ResumeTopic", expect=10, settle=6, timeout=40))
    assert len({m["body"] for m in got1}) == 10
    second = msgs(5, start=100)
    client("send", topic="ResumeTopic", mode="sync", messages=second)
    got2 = all_got(client("consume", group="CG_RESUME", topic="ResumeTopic", expect=5, settle=3, timeout=40))
    assert sorted(m["body"] for m in got2) == sorted(m["body"] for m in second), "only the new messages"


def test_broker_restart_keeps_topics_groups_offsets_and_messages(client, cluster):
    broker = lambda: f"127.0.0.1:{cluster.broker_port}"  # noqa: E731
    spec = msgs(20)
    client("send", topic="DurableTopic", mode="sync", messages=spec[:10])
    got = all_got(client("consume", group="CG_DURABLE", topic="DurableTopic", expect=10, settle=6, timeout=40))
    assert len(got) == 10
    for kill in (False, True):
        cluster.restart_broker(kill=kill)
        code, _, topics, _ = admin.request(broker(), admin.GET_ALL_TOPIC_CONFIG)
        assert code == 0 and b'"DurableTopic"' in topics
        code, _, groups, _ = admin.request(broker(), admin.GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
        assert code == 0 and b'"CG_DURABLE"' in groups
    client("send", topic="DurableTopic", mode="sync", messages=spec[10:])
    got = all_got(client("consume", group="CG_DURABLE", topic="DurableTopic", expect=10, settle=2, timeout=40))
    assert sorted(m["body"] for m in got) == sorted(m["body"] for m in spec[10:])
    fresh = all_got(client("consume", group="CG_NEW", topic="DurableTopic", expect=20, timeout=40))
    assert sorted(m["body"] for m in fresh) == sorted(m["body"] for m in spec), "all messages survived restarts"


def test_write_buffer_serves_clients_and_keeps_acknowledged_messages(buffered):
    cluster, client = buffered
    code, _, conf, _ = admin.request(f"127.0.0.1:{cluster.broker_port}", admin.GET_BROKER_CONFIG)
    assert code == 0 and b"transientStorePoolEnable=true" in conf, conf
    spec = msgs(45, topic_tags=("TagA", "TagB"))
    for n, mode in enumerate(["sync", "async", "batch"]):
        r = client("send", topic="BufferedTopic", mode=mode, messages=spec[n * 15 : (n + 1) * 15])["results"]
        assert r and all(x["status"] == 0 for x in r), (mode, r)
    # Long polling is woken once the buffered messages are committed and dispatched.
    got = all_got(client("consume", group="CG_BUF", topic="BufferedTopic", expect=45, timeout=40))
    assert sorted(m["body"] for m in got) == sorted(m["body"] for m in spec)
    tagged = all_got(client("consume", group="CG_BUF_B", topic="BufferedTopic", expression="TagB", expect=22, timeout=40))
    assert sorted(m["body"] for m in tagged) == sorted(m["body"] for m in spec if m["tags"] == "TagB")
    # SYNC_FLUSH acknowledges only what is on disk, so even SIGKILL loses nothing; under
    # ASYNC_FLUSH a graceful stop commits the buffer.
    cluster.restart_broker(kill=cluster.flush_disk_type == "SYNC_FLUSH")
    fresh = all_got(client("consume", group="CG_BUF_NEW", topic="BufferedTopic", expect=45, timeout=40))
    assert sorted(m["body"] for m in fresh) == sorted(m["body"] for m in spec)
