import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cluster import Cluster  # noqa: E402

HERE = Path(__file__).parent


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path).start()
    c.logdir = str(tmp_path / "client-logs")
    os.makedirs(c.logdir, exist_ok=True)
    yield c
    c.stop()


def run(cluster, scenario, **args):
    """Runs a client scenario in a child process and returns its JSON result."""
    args.setdefault("ns", cluster.namesrv_addr)
    args.setdefault("logdir", cluster.logdir)
    argfile = Path(cluster.workdir) / f"args-{scenario}-{os.getpid()}.json"
    argfile.write_text(json.dumps(args))
    proc = subprocess.run(
        [sys.executable, str(HERE / "scenarios.py"), scenario, f"@{argfile}"],
        capture_output=True,
        timeout=args.get("timeout", 60) + 60,
    )
    out = proc.stdout.decode(errors="replace")
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"scenario {scenario} failed (rc={proc.returncode}):\n{out}\n{proc.stderr.decode(errors='replace')}")


@pytest.fixture
def client(cluster):
    return lambda scenario, **args: run(cluster, scenario, **args)


@pytest.fixture(params=["ASYNC_FLUSH", "SYNC_FLUSH"])
def buffered(tmp_path, request):
    """A cluster whose broker appends through the write buffer (transientStorePoolEnable),
    with the flush mode as the parameter; yields (cluster, client)."""
    c = Cluster(tmp_path, broker_conf={"transientStorePoolEnable": "true", "flushDiskType": request.param}).start()
    c.logdir = str(tmp_path / "client-logs")
    os.makedirs(c.logdir, exist_ok=True)
    c.flush_disk_type = request.param
    yield c, (lambda scenario, **args: run(c, scenario, **args))
    c.stop()
