"""Starts our mqnamesrv and mqbroker binaries on free loopback ports with a temporary store."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("RMQ_BIN_DIR", ROOT / "target" / "debug"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


class Cluster:
    """One name server and one broker (master) on loopback."""

    def __init__(self, workdir: Path, broker_conf: dict | None = None):
        self.workdir = workdir
        self.ns_port = free_port()
        self.broker_port = free_port()
        self.namesrv_addr = f"127.0.0.1:{self.ns_port}"
        self.extra = broker_conf or {}
        self.ns = None
        self.broker = None

    def _log(self, name):
        return open(self.workdir / f"{name}.log", "ab")

    def start(self):
        (self.workdir / "ns.properties").write_text(
            f"listenPort={self.ns_port}\nlistenHost=127.0.0.1\nkvConfigPath={self.workdir}/kv.json\n"
            f"configStorePath={self.workdir}/ns.properties.saved\n"
        )
        self.ns = subprocess.Popen(
            [BIN_DIR / "mqnamesrv", "-c", self.workdir / "ns.properties"], stdout=self._log("ns"), stderr=subprocess.STDOUT
        )
        wait_port(self.ns_port, self.ns)
        self.start_broker()
        return self

    def start_broker(self):
        conf = {
            "brokerClusterName": "DefaultCluster",
            "brokerName": "broker-a",
            "brokerId": "0",
            "brokerIP1": "127.0.0.1",
            "listenHost": "127.0.0.1",
            "listenPort": str(self.broker_port),
            "storePathRootDir": str(self.workdir / "store"),
            "mapedFileSizeCommitLog": str(64 * 1024 * 1024),
            "mapedFileSizeConsumeQueue": str(60000),
            "maxHashSlotNum": "10000",
            "maxIndexNum": "40000",
        }
        conf.update(self.extra)
        (self.workdir / "broker.conf").write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
        self.broker = subprocess.Popen(
            [BIN_DIR / "mqbroker", "-n", self.namesrv_addr, "-c", self.workdir / "broker.conf"],
            stdout=self._log("broker"),
            stderr=subprocess.STDOUT,
        )
        wait_port(self.broker_port, self.broker)

    def stop_broker(self, kill: bool = False):
        if self.broker and self.broker.poll() is None:
            self.broker.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.broker.wait(timeout=30)
        rc = self.broker.returncode
        self.broker = None
        return rc

    def restart_broker(self, kill: bool = False):
        self.stop_broker(kill)
        self.start_broker()

    def stop(self):
        for p in (self.broker, self.ns):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
