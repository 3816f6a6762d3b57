"""A minimal remoting client (JSON headers) for the e2e tests' own checks."""

import json
import socket
import struct
import time


def request(addr: str, code: int, ext: dict | None = None, body: bytes = b"", timeout: float = 5.0):
    host, port = addr.rsplit(":", 1)
    header = json.dumps(
        {"code": code, "extFields": {k: str(v) for k, v in (ext or {}).items()}, "flag": 0, "language": "PYTHON", "opaque": 1, "version": 409},
        separators=(",", ":"),
    ).encode()
    frame = struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(frame)
        total = struct.unpack(">I", _recv(s, 4))[0]
        rest = _recv(s, total)
    hlen = struct.unpack(">I", rest[:4])[0] & 0xFFFFFF
    h = json.loads(rest[4 : 4 + hlen])
    return h["code"], h.get("extFields", {}), rest[4 + hlen :], h.get("remark")


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


GET_CONSUMER_LIST_BY_GROUP = 38
GET_ALL_TOPIC_CONFIG = 21
GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201
QUERY_CONSUMER_OFFSET = 14
GET_MAX_OFFSET = 30
GET_BROKER_CONFIG = 26


def consumer_ids(broker: str, group: str) -> list:
    code, _, body, _ = request(broker, GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": group})
    return json.loads(body)["consumerIdList"] if code == 0 else []


def wait_consumers(broker: str, group: str, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(consumer_ids(broker, group)) >= n:
            return
        time.sleep(0.05)
    raise TimeoutError(f"group {group} never reached {n} consumers")
