"""The container runtime seam of the node agent: what the agent needs from Docker, as a Protocol.

The agent decides; the runtime only does. Keeping the seam this narrow lets the same agent
drive real Docker (the `docker` package, the only importer of the docker SDK) or an in-memory
fake (the `fake` package) that simulates a hundred nodes in a benchmark.

Every container the agent makes carries labels (`LABEL_*`) naming its node, pod and
container, so a restarted agent can find and adopt what runs, and never touches containers
of another node that shares the same Docker engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

LABEL_MANAGED = "minik8s.io/managed"  # "true" on everything the agent creates
LABEL_NODE = "minik8s.io/node"
LABEL_POD_UID = "minik8s.io/pod-uid"
LABEL_POD_NAME = "minik8s.io/pod-name"
LABEL_POD_NAMESPACE = "minik8s.io/pod-namespace"
LABEL_CONTAINER = "minik8s.io/container"  # the container's name in the pod spec; "" for the sandbox
LABEL_ROLE = "minik8s.io/role"  # "sandbox" | "init" | "app"
LABEL_ATTEMPT = "minik8s.io/attempt"  # restart count of this container name, as a decimal string
LABEL_SPEC_HASH = "minik8s.io/spec-hash"  # hash of the container spec it was made from

ContainerState = Literal["created", "running", "exited", "dead", "paused", "restarting", "removing", "unknown"]


class RuntimeFailure(Exception):
    """A runtime operation failed; `reason` is a Kubernetes-style waiting reason."""

    def __init__(self, message: str, *, reason: str = "RunContainerError") -> None:
        super().__init__(message)
        self.reason = reason


class ImagePullError(RuntimeFailure):
    def __init__(self, message: str) -> None:
        super().__init__(message, reason="ErrImagePull")


class RuntimeUnavailable(RuntimeFailure):
    """The engine does not answer (socket gone, daemon down)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="RuntimeUnavailable")


@dataclass(frozen=True)
class Mount:
    source: str  # a host path
    target: str  # the path in the container
    read_only: bool = False


@dataclass(frozen=True)
class PortBinding:
    """A hostPort: `host_ip:host_port` on the node forwarded to the pod's `container_port`."""

    host_ip: str  # the node's address, never every interface
    host_port: int
    protocol: str  # "tcp" | "udp" | "sctp"
    container_port: int


@dataclass(frozen=True)
class NamespaceOptions:
    """The pod's Linux namespaces: the node's own (hostNetwork/hostPID/hostIPC) or the sandbox's.

    `share_process_namespace` puts every container in the sandbox's PID namespace (the pause
    process is PID 1), as `shareProcessNamespace` asks; otherwise each container has its own."""

    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False


@dataclass(frozen=True)
class SecurityOptions:
    """How a container's process runs: its securityContext resolved against the pod's.

    `user` is Docker's `uid`, `uid:gid` or `name:gid`; None leaves the image's USER. `seccomp`
    None is the runtime's default profile, "unconfined" none, anything else a profile's JSON.
    `apparmor_unconfined` lifts the runtime's default AppArmor profile."""

    user: str | None = None
    group_add: Sequence[int] = ()
    cap_add: Sequence[str] = ()  # `CAP_` names, or "ALL"
    cap_drop: Sequence[str] = ()
    privileged: bool = False
    read_only_root: bool = False
    no_new_privileges: bool = False
    seccomp: str | None = None
    apparmor_unconfined: bool = False


@dataclass(frozen=True)
class SandboxSpec:
    """The pod's sandbox: a pause container that owns the network namespace and IP."""

    name: str  # the Docker container name
    image: str  # e.g. minik8s/pause:latest
    labels: Mapping[str, str]
    network: str  # the node's Docker network
    hostname: str
    dns_servers: Sequence[str] = ()
    domainname: str = ""  # `<subdomain>.<ns>.svc.<zone>` for a pod with hostname and subdomain: its FQDN's rest
    dns_search: Sequence[str] = ()
    dns_options: Sequence[str] = ()
    extra_hosts: Mapping[str, str] = field(default_factory=dict)  # hostname -> IP in /etc/hosts
    port_bindings: Sequence[PortBinding] = ()
    namespaces: NamespaceOptions = NamespaceOptions()  # hostNetwork: the node's network, no IP of its own


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a pod, joined to its sandbox's network namespace."""

    name: str  # the Docker container name
    image: str
    labels: Mapping[str, str]
    sandbox_id: str  # network (and IPC) namespace to join: network_mode=container:<sandbox_id>
    entrypoint: Sequence[str] | None = None  # Kubernetes `command`
    args: Sequence[str] | None = None  # Kubernetes `args`
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    mounts: Sequence[Mount] = ()
    cpu_millis: int | None = None  # limits.cpu → CPU quota (period 100 ms)
    memory_bytes: int | None = None  # limits.memory → memory limit
    stdin: bool = False
    tty: bool = False
    security: SecurityOptions = SecurityOptions()
    namespaces: NamespaceOptions = NamespaceOptions()


@dataclass(frozen=True)
class ContainerInfo:
    """What the runtime reports about one container (sandbox or app)."""

    id: str
    name: str
    labels: Mapping[str, str]
    state: ContainerState
    image: str  # the image reference it was created from
    image_id: str  # e.g. docker-pullable://… or sha256:…
    exit_code: int | None = None
    started_at: str | None = None  # RFC 3339, None when never started
    finished_at: str | None = None
    oom_killed: bool = False
    error: str = ""  # the engine's error message, if any
    ip: str | None = None  # the IP on the node network (sandboxes)
    pid: int | None = None


@dataclass(frozen=True)
class ContainerEvent:
    """A change the engine reports (die, start, oom, destroy …) for a labelled container."""

    container_id: str
    action: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class ExecSession(Protocol):
    """A running `exec`: separate stdout/stderr, optional stdin and TTY, then an exit code."""

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(stream, data) pairs until the process ends: stream 1 stdout, 2 stderr."""

    async def resize(self, *, width: int, height: int) -> None: ...

    async def wait(self) -> int:
        """The exit code, once the process has ended."""

    async def close(self) -> None: ...


class ContainerRuntime(Protocol):
    async def version(self) -> str:
        """e.g. `docker://20.10.24`; raises RuntimeUnavailable when the engine does not answer."""

    async def ensure_network(self, name: str, *, subnet: str, gateway: str) -> None:
        """A bridge network with this subnet (IP masquerade off), created when missing."""

    async def remove_network(self, name: str) -> None: ...

    async def image_id(self, image: str) -> str | None:
        """The local image's id, or None when it is not present."""

    async def image_user(self, image: str) -> str:
        """The USER the local image runs as ("" when it names none: root); raises RuntimeFailure when absent."""

    async def pull_image(self, image: str) -> str:
        """Pull and return the image id; raises ImagePullError."""

    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        """Create and start the sandbox; the returned info carries its IP."""

    async def create_container(self, spec: ContainerSpec) -> str:
        """Create (not start) a container; returns its id. Raises RuntimeFailure."""

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, *, grace_seconds: float) -> None:
        """SIGTERM, wait up to grace_seconds, then SIGKILL. No error if already stopped."""

    async def remove_container(self, container_id: str) -> None:
        """Remove (forcefully); no error if already gone."""

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Every container (any state) carrying all these labels."""

    async def inspect(self, container_id: str) -> ContainerInfo | None: ...

    def events(self, labels: Mapping[str, str]) -> AsyncIterator[ContainerEvent]:
        """Container events of containers carrying these labels, until cancelled."""

    def logs(self, container_id: str, options: LogOptions) -> AsyncIterator[bytes]:
        """The container's combined stdout/stderr as raw bytes (with timestamps if asked)."""

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool, tty: bool) -> ExecSession: ...

    async def close(self) -> None: ...
