"""Three etcd members on loopback, the yardstick of `store-vs-etcd`: started, found, killed and removed.

Issue #14 compares the store with etcd 3.4 as Debian ships it (`apt-get install etcd-server`): three
members on 127.0.0.1, each with its own client and peer ports and a data directory in a temporary folder,
etcd's defaults otherwise (it fsyncs its WAL before it acknowledges). Every member runs in a session of its
own and dies with the process that started it (`tests.support.replicas`: the same harness as the replicas),
and the folder goes when the context ends.

The client reaches etcd the way it reaches the apiserver: HTTP/1.1 and JSON on one keep-alive connection
(`bench.wire`), through etcd's gRPC gateway on the client port (`/v3/...`, keys and values in base64). A
create is what Kubernetes' storage sends for one: a transaction that puts the key only if it does not
exist (`mod_revision == 0`), the same guarded create the store makes for a ConfigMap; its value is the
ConfigMap's own ~1 KB JSON under `/registry/configmaps/default/NAME`.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.wire import CreateCall, Endpoint, config_map_body
from tests.support.ports import free_ports
from tests.support.replicas import die_with_parent, kill_group, reap

START_SECONDS = 30.0
INSTALL_HINT = "apt-get install -y etcd-server etcd-client"


class EtcdUnavailable(Exception):
    """No etcd binary, or the members did not come up: the comparison cannot run."""


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self.client_port)


def etcd_binary() -> str:
    found = shutil.which("etcd")
    if found is None:
        raise EtcdUnavailable(f"no etcd binary on PATH: install Debian's etcd ({INSTALL_HINT})")
    return found


def etcd_version() -> str:
    """`etcd --version`'s first line, e.g. "etcd Version: 3.4.23"."""
    answer = subprocess.run([etcd_binary(), "--version"], capture_output=True, text=True, timeout=30, check=False)
    return answer.stdout.splitlines()[0].strip() if answer.stdout else "etcd (version unknown)"


def member_argv(member: EtcdMember, members: list[EtcdMember], token: str) -> list[str]:
    """One member's command line: its ports and folder; fsync and every timing left at etcd's defaults."""
    initial = ",".join(f"{other.name}={other.peer_url}" for other in members)
    return [etcd_binary(), "--name", member.name, "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.client_url, "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url, "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", initial, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            "--logger", "zap", "--log-level", "warn"]


def wait_healthy(members: list[EtcdMember]) -> None:
    """Every member answers `/health` with true (a leader is elected and reachable from it)."""
    deadline = time.monotonic() + START_SECONDS
    for member in members:
        while True:
            try:
                if httpx.get(f"{member.client_url}/health", timeout=2).json().get("health") == "true":
                    break
            except (httpx.TransportError, ValueError):
                pass
            exited = member.process is not None and member.process.poll() is not None
            if exited or time.monotonic() > deadline:
                raise EtcdUnavailable(f"etcd member {member.name} did not come up:\n"
                                      f"{member.log_path.read_text()[-3000:]}")
            time.sleep(0.1)


@contextmanager
def etcd_cluster(size: int = 3) -> Iterator[list[EtcdMember]]:
    """`size` fresh members on loopback; on exit every one is SIGKILLed, reaped, and its data removed."""
    etcd_binary()
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-etcd-") as root:
        ports = free_ports(2 * size)
        members = [EtcdMember(f"etcd-{index + 1}", ports[2 * index], ports[2 * index + 1],
                              Path(root) / f"etcd-{index + 1}", Path(root) / f"etcd-{index + 1}.log")
                   for index in range(size)]
        token = f"bench-{uuid.uuid4().hex[:12]}"
        try:
            for member in members:
                with member.log_path.open("ab") as log:
                    member.process = subprocess.Popen(member_argv(member, members, token), stdout=log,
                                                      stderr=subprocess.STDOUT, start_new_session=True,
                                                      preexec_fn=die_with_parent)
            wait_healthy(members)
            yield members
        finally:
            for member in members:
                kill_group(member.process)
            for member in members:
                reap(member.process)


def leader_index(members: list[EtcdMember]) -> int:
    """The index of the member that leads, as the members' own status says."""
    for index, member in enumerate(members):
        status = httpx.post(f"{member.client_url}/v3/maintenance/status", content=b"{}", timeout=5).json()
        if status.get("leader") == status.get("header", {}).get("member_id"):
            return index
    raise EtcdUnavailable("no etcd member says it leads")


def filesystem_of(path: Path) -> str:
    """The type of the filesystem `path` is on, from /proc/mounts (an fsync on tmpfs would cost nothing)."""
    resolved, best, kind = str(path.resolve()).rstrip("/") + "/", "", "an unknown filesystem"
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and resolved.startswith(fields[1].rstrip("/") + "/") and len(fields[1]) >= len(best):
            best, kind = fields[1], fields[2]
    return kind


def member_pids(members: list[EtcdMember], *, leader: int) -> dict[str, int]:
    return {("etcd leader" if index == leader else f"etcd {member.name}"): member.process.pid
            for index, member in enumerate(members) if member.process is not None}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def etcd_create_body(name: str) -> bytes:
    """The gateway's JSON for Kubernetes' create: put the ConfigMap's ~1 KB JSON under its key if absent."""
    key = _b64(f"/registry/configmaps/default/{name}".encode())
    return json.dumps({
        "compare": [{"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": "0"}],
        "success": [{"request_put": {"key": key, "value": _b64(config_map_body(name))}}],
    }, separators=(",", ":")).encode()


# A guarded create that found the key answers 200 too, without "succeeded": the marker tells them apart.
ETCD_CREATE = CreateCall("/v3/kv/txn", etcd_create_body, 200, b'"succeeded":true')
