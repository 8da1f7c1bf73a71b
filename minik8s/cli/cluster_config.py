"""The persistent layout of a local cluster: where its files live and which ports it uses.

A cluster stopped with `minik8s down` and started again with `minik8s up` must come back
as the same cluster: the same replica names, Raft addresses and data directories, or the
Raft group would not recognise its own members and the objects would be lost. So the
first `up` chooses the layout once and writes it to `HOME/cluster.json`; every later
command reads it from there. The home folder holds, besides it:

    secret              the cluster secret protecting Raft traffic (0600, made once)
    encryption.yaml     the key Secrets are encrypted with at rest (EncryptionConfiguration, 0600, made once)
    kubeconfig          how kubectl and the client reach the cluster
    data/<name>/        each replica's journal and dump
    logs/<name>.log     each process's stdout and stderr
    run/<name>.pid      each running process's pid
    pki/                the cluster CA (ca.crt, ca.key 0600) and the certificates it signed
    kubeconfigs/        each component's kubeconfig with its client certificate (0600)
    snapshots/          the periodic snapshots of the store the apiservers' leader takes (0600)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minik8s.cli.errors import CliError

HOME_ENV = "MINIK8S_HOME"
LOOPBACK = "127.0.0.1"
REPLICA_COUNTS = (1, 3, 5)
DEFAULT_REPLICAS = 3
DEFAULT_NODES = 2
CLUSTER_CIDR_PREFIX = "10.244"  # node i gets 10.244.i.0/24; its agent listens on 10.244.i.1
NODE_AGENT_PORT = 10250
WELL_KNOWN_HTTP_PORT = 6443
WELL_KNOWN_RAFT_PORT = 7001
RAFT_PORT_OFFSET = 100  # with --port-base P: HTTP ports P+i, Raft ports P+100+i
CONFIG_FORMAT = 1
DEFAULT_SNAPSHOT_INTERVAL = 12 * 3600.0  # k3s's default: at 00:00 and 12:00
DEFAULT_SNAPSHOT_RETENTION = 5  # k3s's default

PortCheck = Callable[[int], bool]
PortPicker = Callable[[], int]


class _HomePath:
    """A file or folder at a fixed place in the cluster home: `home.config_file` is `home.root / "cluster.json"`."""

    def __init__(self, relative: str) -> None:
        self.relative = relative

    def __get__(self, home: ClusterHome, owner: type[ClusterHome] | None = None) -> Path:
        return home.root / self.relative


@dataclass(frozen=True)
class ClusterHome:
    """The folder of one local cluster and the files in it."""

    root: Path

    config_file = _HomePath("cluster.json")
    secret_file = _HomePath("secret")
    encryption_config_file = _HomePath("encryption.yaml")
    kubeconfig_file = _HomePath("kubeconfig")
    pki_dir = _HomePath("pki")
    kubeconfigs_dir = _HomePath("kubeconfigs")
    data_dir = _HomePath("data")
    logs_dir = _HomePath("logs")
    run_dir = _HomePath("run")
    snapshots_dir = _HomePath("snapshots")

    def log_file(self, component_name: str) -> Path:
        return self.logs_dir / f"{component_name}.log"

    def pid_file(self, component_name: str) -> Path:
        return self.run_dir / f"{component_name}.pid"


@dataclass(frozen=True)
class ApiserverLayout:
    """One apiserver replica: its name, ports and data directory (relative to the home)."""

    name: str
    http_port: int
    raft_port: int
    data_dir: str

    @property
    def listen_address(self) -> str:
        return f"{LOOPBACK}:{self.http_port}"

    @property
    def url(self) -> str:
        return f"https://{self.listen_address}"

    @property
    def raft_address(self) -> str:
        return f"{LOOPBACK}:{self.raft_port}"


@dataclass(frozen=True)
class NodeLayout:
    """One node agent: everything derived from its index, so nothing about it needs recording."""

    index: int
    name: str
    pod_cidr: str
    node_ip: str
    url: str
    data_dir: str

    @classmethod
    def numbered(cls, index: int) -> NodeLayout:
        """node-INDEX, with the pod network 10.244.INDEX.0/24 and its gateway as the node's address."""
        name, subnet = f"node-{index}", f"{CLUSTER_CIDR_PREFIX}.{index}"
        return cls(index=index, name=name, pod_cidr=f"{subnet}.0/24", node_ip=f"{subnet}.1",
                   url=f"https://{subnet}.1:{NODE_AGENT_PORT}", data_dir=f"data/{name}")


@dataclass(frozen=True)
class ClusterConfig:
    """What `HOME/cluster.json` records: fixed at the first `up`, reused by every later one.

    `daemon_args` holds extra flags per daemon kind ("node", …) given with `up --daemon-arg`
    (short intervals for tests, say); they are recorded so a restarted daemon gets them again.
    `snapshot_interval` (seconds, 0: none) and `snapshot_retention` are the periodic snapshots'.
    """

    replicas: int
    nodes: int
    port_base: int | None
    apiservers: tuple[ApiserverLayout, ...]
    daemon_args: tuple[tuple[str, tuple[str, ...]], ...] = ()
    snapshot_interval: float = DEFAULT_SNAPSHOT_INTERVAL
    snapshot_retention: int = DEFAULT_SNAPSHOT_RETENTION

    @property
    def node_layouts(self) -> tuple[NodeLayout, ...]:
        return tuple(NodeLayout.numbered(index) for index in range(1, self.nodes + 1))

    def args_for(self, daemon: str) -> tuple[str, ...]:
        return dict(self.daemon_args).get(daemon, ())

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "replicas": self.replicas,
            "nodes": self.nodes,
            "port_base": self.port_base,
            "apiservers": [
                {"name": a.name, "http_port": a.http_port, "raft_port": a.raft_port, "data_dir": a.data_dir}
                for a in self.apiservers
            ],
            "daemon_args": {daemon: list(args) for daemon, args in self.daemon_args},
            "snapshots": {"interval_seconds": self.snapshot_interval, "retention": self.snapshot_retention},
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ClusterConfig:
        apiservers = tuple(
            ApiserverLayout(name=str(entry["name"]), http_port=int(entry["http_port"]),
                            raft_port=int(entry["raft_port"]), data_dir=str(entry["data_dir"]))
            for entry in document["apiservers"]
        )
        port_base = document.get("port_base")
        daemon_args = tuple((str(daemon), tuple(str(a) for a in args))
                            for daemon, args in (document.get("daemon_args") or {}).items())
        snapshots = document.get("snapshots") or {}  # absent from the files of older versions
        return cls(replicas=int(document["replicas"]), nodes=int(document.get("nodes", 0)),
                   port_base=None if port_base is None else int(port_base), apiservers=apiservers,
                   daemon_args=daemon_args,
                   snapshot_interval=float(snapshots.get("interval_seconds", DEFAULT_SNAPSHOT_INTERVAL)),
                   snapshot_retention=int(snapshots.get("retention", DEFAULT_SNAPSHOT_RETENTION)))


def resolve_home(explicit: str | None) -> ClusterHome:
    """The cluster home: `--home`, else `$MINIK8S_HOME`, else `~/.minik8s` (made absolute)."""
    chosen = explicit or os.environ.get(HOME_ENV) or str(Path.home() / ".minik8s")
    return ClusterHome(Path(chosen).expanduser().resolve())


def load_config(home: ClusterHome) -> ClusterConfig | None:
    """The recorded layout, or None when this home has no cluster yet."""
    try:
        text = home.config_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return ClusterConfig.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as error:
        raise CliError(f"{home.config_file} is damaged ({error}); fix it or run `minik8s down --purge`") from error


def save_config(home: ClusterHome, config: ClusterConfig) -> None:
    """Write `cluster.json` atomically, so a crash never leaves half a layout."""
    home.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # it will hold the cluster secret
    descriptor, temporary = tempfile.mkstemp(prefix=".cluster.json.", dir=home.root)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(config.to_json(), stream, indent=2)
            stream.write("\n")
        os.replace(temporary, home.config_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def validate_request(*, replicas: int, nodes: int, port_base: int | None) -> None:
    """Refuse flags that cannot make a cluster."""
    if replicas not in REPLICA_COUNTS:
        raise CliError(f"--replicas must be 1, 3 or 5 (a Raft group needs an odd size), not {replicas}")
    if not 0 <= nodes <= 250:
        raise CliError(f"--nodes must be between 0 and 250 (one /24 of 10.244.0.0/16 each), not {nodes}")
    if port_base is not None and not 1024 <= port_base <= 65535 - RAFT_PORT_OFFSET - replicas:
        raise CliError(f"--port-base must leave room for {replicas} HTTP and Raft ports below 65536, "
                       f"not {port_base}")


def check_compatible(config: ClusterConfig, *, home: ClusterHome, replicas: int | None, nodes: int | None,
                     port_base: int | None) -> None:
    """An existing cluster keeps its layout: a flag asking for another one is an error."""
    wanted = {"--replicas": (replicas, config.replicas), "--nodes": (nodes, config.nodes),
              "--port-base": (port_base, config.port_base)}
    for flag, (asked, recorded) in wanted.items():
        if asked is not None and asked != recorded:
            shown = "default ports" if recorded is None else recorded
            raise CliError(f"the cluster in {home.root} was created with {flag} {shown}; it cannot change "
                           f"to {asked} (run `minik8s down --purge` first to start over)")


def plan_config(*, replicas: int, nodes: int, port_base: int | None,
                is_free: PortCheck | None = None, pick_free: PortPicker | None = None,
                daemon_args: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> ClusterConfig:
    """Choose names and ports for a new cluster, preferring the well-known (or --port-base) ports."""
    check = is_free or port_is_free
    pick = pick_free or free_port
    taken: set[int] = set()

    def choose(preferred: int) -> int:
        port = preferred if preferred not in taken and check(preferred) else _pick_unused(pick, taken)
        taken.add(port)
        return port

    http_base = WELL_KNOWN_HTTP_PORT if port_base is None else port_base
    raft_base = WELL_KNOWN_RAFT_PORT if port_base is None else port_base + RAFT_PORT_OFFSET
    apiservers: list[ApiserverLayout] = []
    for index in range(replicas):
        name = f"apiserver-{index + 1}"
        apiservers.append(ApiserverLayout(name=name, http_port=choose(http_base + index),
                                          raft_port=choose(raft_base + index), data_dir=f"data/{name}"))
    return ClusterConfig(replicas=replicas, nodes=nodes, port_base=port_base, apiservers=tuple(apiservers),
                         daemon_args=daemon_args)


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not "taken"
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the kernel says is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_secret(path: Path) -> None:
    """Create the cluster secret once (mode 0600); an existing one is kept as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(secrets.token_hex(24) + "\n")


def _pick_unused(pick: PortPicker, taken: set[int]) -> int:
    for _ in range(100):
        port = pick()
        if port not in taken:
            return port
    raise CliError("could not find a free TCP port on 127.0.0.1")
