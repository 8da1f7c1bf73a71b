"""What goes over the wire to Docker and back, as pure functions.

`DockerRuntime` talks to the engine; this module decides *what* it says and how it reads the
answers: the arguments of a create (Kubernetes command/args semantics, CPU quota, bind
mounts, the securityContext as user, groups, capabilities, privileged, read-only root and
security options, the pod's namespaces or the host's, hostPorts on the node's address), the
list/inspect JSON turned into `ContainerInfo`, Docker's timestamps turned into
RFC 3339, event messages turned into `ContainerEvent`, and the 8-byte-header framing of
non-TTY output streams. Nothing here does I/O or imports the docker SDK, so all of it is
unit-testable without an engine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from minik8s.api.meta import format_time, parse_time
from minik8s.node.runtime import (
    ContainerEvent,
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    LogOptions,
    NamespaceOptions,
    PortBinding,
    SandboxSpec,
    SecurityOptions,
)

logger = logging.getLogger(__name__)

STDOUT: Final = 1
STDERR: Final = 2
FRAME_HEADER_BYTES: Final = 8

CPU_PERIOD_MICROS: Final = 100_000
MIN_CPU_QUOTA_MICROS: Final = 1_000  # the kernel (and Docker) refuse a smaller quota
RESTART_NEVER: Final = {"Name": "no"}
# json-file keeps `docker logs` working; rotation bounds the disk a chatty pod can use.
LOG_CONFIG: Final = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}

# The container actions the agent cares about; exec_*, health_status, attach … are left out.
LIFECYCLE_ACTIONS: Final = ("create", "start", "restart", "die", "kill", "oom", "stop", "pause", "unpause", "destroy")
# Attributes Docker adds to an event next to the container's labels.
_EVENT_ATTRIBUTES: Final = frozenset({"name", "image", "exitCode", "signal"})

_STATES: Final[Mapping[str, ContainerState]] = {
    state: state for state in ("created", "running", "exited", "dead", "paused", "restarting", "removing")
}
_TERMINATED: Final = frozenset({"exited", "dead"})


def container_state(value: object) -> ContainerState:
    return _STATES.get(value, "unknown") if isinstance(value, str) else "unknown"


def rfc3339(value: object) -> str | None:
    """Docker's RFC 3339 nano time as Kubernetes writes it (UTC, seconds, `Z`); None for zero time."""
    if not isinstance(value, str) or not value:
        return None
    moment = parse_time(value)
    if moment is None:
        logger.warning("unreadable Docker timestamp %r", value)
        return None
    if moment.year <= 1:
        return None
    return format_time(moment)


def label_filter(labels: Mapping[str, str]) -> list[str]:
    """Docker's `label` filter values; several are ANDed by the engine."""
    return [f"{key}={value}" for key, value in sorted(labels.items())]


def event_filters(labels: Mapping[str, str]) -> dict[str, list[str]]:
    return {"type": ["container"], "event": list(LIFECYCLE_ACTIONS), "label": label_filter(labels)}


def docker_since(epoch_nanos: int) -> str:
    """A `since` parameter with nanosecond precision (`seconds.nanoseconds`)."""
    return f"{epoch_nanos // 1_000_000_000}.{epoch_nanos % 1_000_000_000:09d}"


def _first_ip(network_settings: object) -> str | None:
    if not isinstance(network_settings, Mapping):
        return None
    networks = network_settings.get("Networks") or {}
    for endpoint in networks.values():
        address = (endpoint or {}).get("IPAddress")
        if address:
            return str(address)
    return None


def container_info_from_inspect(data: Mapping[str, Any]) -> ContainerInfo:
    """The full picture from `GET /containers/{id}/json`."""
    state_data: Mapping[str, Any] = data.get("State") or {}
    config: Mapping[str, Any] = data.get("Config") or {}
    state = container_state(state_data.get("Status"))
    terminated = state in _TERMINATED
    exit_code = state_data.get("ExitCode")
    return ContainerInfo(
        id=str(data["Id"]),
        name=str(data.get("Name") or "").lstrip("/"),
        labels=dict(config.get("Labels") or {}),
        state=state,
        image=str(config.get("Image") or ""),
        image_id=str(data.get("Image") or ""),
        exit_code=int(exit_code) if terminated and exit_code is not None else None,
        started_at=rfc3339(state_data.get("StartedAt")),
        finished_at=rfc3339(state_data.get("FinishedAt")) if terminated else None,
        oom_killed=bool(state_data.get("OOMKilled")),
        error=str(state_data.get("Error") or ""),
        ip=_first_ip(data.get("NetworkSettings")),
        pid=int(state_data["Pid"]) if state_data.get("Pid") else None,
    )


def container_info_from_summary(summary: Mapping[str, Any]) -> ContainerInfo:
    """What one entry of `GET /containers/json` alone tells (no exit code or timestamps)."""
    names = summary.get("Names") or []
    return ContainerInfo(
        id=str(summary["Id"]),
        name=str(names[0]).lstrip("/") if names else "",
        labels=dict(summary.get("Labels") or {}),
        state=container_state(summary.get("State")),
        image=str(summary.get("Image") or ""),
        image_id=str(summary.get("ImageID") or ""),
        ip=_first_ip(summary.get("NetworkSettings")),
    )


def container_event(message: Mapping[str, Any]) -> ContainerEvent | None:
    """The event of one `docker events` message; None for anything but a container event."""
    if message.get("Type") != "container":
        return None
    actor: Mapping[str, Any] = message.get("Actor") or {}
    container_id = actor.get("ID") or message.get("id")
    action = message.get("Action") or message.get("status")
    if not container_id or not action:
        return None
    attributes: Mapping[str, Any] = actor.get("Attributes") or {}
    labels = {str(key): str(value) for key, value in attributes.items() if key not in _EVENT_ATTRIBUTES}
    return ContainerEvent(container_id=str(container_id), action=str(action), labels=labels)


def cpu_quota(cpu_millis: int) -> int:
    """CFS quota for a period of 100 ms, as the kubelet computes it (never under 1 ms)."""
    return max(cpu_millis * CPU_PERIOD_MICROS // 1000, MIN_CPU_QUOTA_MICROS)


def port_bindings(bindings: Sequence[PortBinding]) -> tuple[dict[str, list[tuple[str, int]]], list[tuple[int, str]]]:
    """(Docker's port_bindings, the exposed ports): each hostPort on its own address, never 0.0.0.0."""
    published: dict[str, list[tuple[str, int]]] = {}
    exposed: list[tuple[int, str]] = []
    for binding in bindings:
        key = f"{binding.container_port}/{binding.protocol}"
        if key not in published:
            exposed.append((binding.container_port, binding.protocol))
        published.setdefault(key, []).append((binding.host_ip, binding.host_port))
    return published, exposed


def sandbox_arguments(spec: SandboxSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(create_container kwargs without host/networking config, create_host_config kwargs).

    The sandbox owns the pod's namespaces: the node's network (hostNetwork: no IP, hostname or
    published ports of its own, as the kubelet does), its PID and IPC namespaces or the host's."""
    host_network = spec.namespaces.host_network
    bindings, exposed = port_bindings(()) if host_network else port_bindings(spec.port_bindings)
    host_config: dict[str, Any] = {
        "network_mode": "host" if host_network else spec.network,
        "ipc_mode": "host" if spec.namespaces.host_ipc else "shareable",  # containers join with container:<id>
        "pid_mode": "host" if spec.namespaces.host_pid else None,
        "dns": list(spec.dns_servers) or None,
        "dns_search": list(spec.dns_search) or None,
        "dns_opt": list(spec.dns_options) or None,
        "extra_hosts": dict(spec.extra_hosts) or None,
        "port_bindings": bindings or None,
        "restart_policy": dict(RESTART_NEVER),
        "log_config": dict(LOG_CONFIG),
    }
    create: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "hostname": None if host_network else spec.hostname,
        "domainname": None if host_network else spec.domainname or None,
        "labels": dict(spec.labels),
        "ports": exposed or None,
        "detach": True,
    }
    return create, host_config


def namespace_modes(namespaces: NamespaceOptions, sandbox_id: str) -> dict[str, Any]:
    """A container's network, IPC and PID modes: its sandbox's namespaces (which may be the host's)."""
    if namespaces.host_pid:
        pid_mode: str | None = "host"
    elif namespaces.share_process_namespace:
        pid_mode = f"container:{sandbox_id}"
    else:
        pid_mode = None
    return {"network_mode": f"container:{sandbox_id}",
            "ipc_mode": "host" if namespaces.host_ipc else f"container:{sandbox_id}", "pid_mode": pid_mode}


def security_arguments(security: SecurityOptions, missing: frozenset[str] = frozenset()) -> dict[str, Any]:
    """create_host_config kwargs for the container's privileges and confinement. `missing`: the
    capabilities this node does not hold (see capabilities): `privileged` and ALL grant the rest."""
    emulate_privileged = security.privileged and bool(missing)
    seccomp = "unconfined" if emulate_privileged else security.seccomp
    options = ["no-new-privileges"] if security.no_new_privileges else []
    if seccomp is not None:
        options.append(f"seccomp={seccomp}")
    if security.apparmor_unconfined or emulate_privileged:
        options.append("apparmor=unconfined")
    cap_add = ["ALL"] if emulate_privileged else list(security.cap_add)
    cap_drop = list(security.cap_drop)
    if missing and "ALL" in cap_add:
        cap_drop += sorted(missing - set(cap_drop))
    return {
        "privileged": security.privileged and not missing,
        "read_only": security.read_only_root or None,
        "cap_add": cap_add or None,
        "cap_drop": cap_drop or None,
        "group_add": [str(group) for group in security.group_add] or None,
        "security_opt": options or None,
    }


def container_arguments(spec: ContainerSpec, missing: frozenset[str] = frozenset()
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(create_container kwargs without host config, create_host_config kwargs).

    Kubernetes semantics: `command` replaces the image's ENTRYPOINT and drops its CMD; `args`
    replaces CMD; with only `args`, the image's ENTRYPOINT stays. Empty lists mean "not set".
    """
    host_config: dict[str, Any] = {
        **namespace_modes(spec.namespaces, spec.sandbox_id),
        **security_arguments(spec.security, missing),
        "mounts": [
            {"Type": "bind", "Source": mount.source, "Target": mount.target, "ReadOnly": mount.read_only}
            for mount in spec.mounts
        ]
        or None,
        "restart_policy": dict(RESTART_NEVER),
        "log_config": dict(LOG_CONFIG),
    }
    if spec.cpu_millis is not None:
        host_config["cpu_period"] = CPU_PERIOD_MICROS
        host_config["cpu_quota"] = cpu_quota(spec.cpu_millis)
    if spec.memory_bytes is not None:
        host_config["mem_limit"] = spec.memory_bytes
        host_config["memswap_limit"] = spec.memory_bytes  # no swap beyond the limit
    create: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "user": spec.security.user,
        "labels": dict(spec.labels),
        "entrypoint": list(spec.entrypoint) if spec.entrypoint else None,
        "command": list(spec.args) if spec.args else None,
        "environment": dict(spec.env) or None,
        "working_dir": spec.working_dir or None,
        "stdin_open": spec.stdin,
        "tty": spec.tty,
        "detach": True,
    }
    return create, host_config


def resolv_conf_text(spec: SandboxSpec) -> str:
    """The pod's /etc/resolv.conf: its search domains, DNS servers and resolver options."""
    lines = [f"search {' '.join(spec.dns_search)}"] if spec.dns_search else []
    lines += [f"nameserver {server}" for server in spec.dns_servers]
    if spec.dns_options:
        lines.append(f"options {' '.join(spec.dns_options)}")
    return "\n".join(lines) + "\n"


def log_parameters(options: LogOptions, *, now_nanos: int) -> dict[str, str | int]:
    """Query parameters of `GET /containers/{id}/logs` (stdout and stderr together)."""
    parameters: dict[str, str | int] = {
        "stdout": 1,
        "stderr": 1,
        "follow": int(options.follow),
        "timestamps": int(options.timestamps),
        "tail": "all" if options.tail_lines is None else str(max(options.tail_lines, 0)),
    }
    if options.since_seconds is not None and options.since_seconds > 0:
        parameters["since"] = docker_since(now_nanos - options.since_seconds * 1_000_000_000)
    return parameters


def image_reference(image: str) -> tuple[str, str]:
    """(repository, tag or digest) of an image reference; the tag defaults to `latest`."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    last_slash = image.rfind("/")
    last_colon = image.rfind(":")
    if last_colon > last_slash:
        return image[:last_colon], image[last_colon + 1 :]
    return image, "latest"


class ContainerDetails:
    """Inspect results by container id, trusted while the listed state stays the same.

    A listing lacks exit codes, timestamps, pids and OOM flags; inspecting every container at
    every resync would cost one call each. A container's details change only with its state
    (or when it is started again, which the runtime reports with `forget`).
    """

    def __init__(self) -> None:
        self._by_id: dict[str, ContainerInfo] = {}

    def stale(self, summaries: Sequence[Mapping[str, Any]]) -> list[str]:
        """Ids of listed containers whose details are missing or older than their state."""
        return [str(summary["Id"]) for summary in summaries
                if (known := self._by_id.get(summary["Id"])) is None
                or known.state != container_state(summary.get("State"))]

    def remember(self, info: ContainerInfo) -> None:
        self._by_id[info.id] = info

    def forget(self, container_id: str) -> None:
        self._by_id.pop(container_id, None)

    def listing(self, summaries: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> list[ContainerInfo]:
        """The listed containers, in detail where known; drops what a listing by `labels` no longer shows."""
        listed = {str(summary["Id"]) for summary in summaries}
        for gone in [key for key, info in self._by_id.items()
                     if key not in listed and all(info.labels.get(name) == value for name, value in labels.items())]:
            del self._by_id[gone]
        return [self._by_id.get(summary["Id"]) or container_info_from_summary(summary) for summary in summaries]


class FrameDemultiplexer:
    """Splits Docker's multiplexed stream (8-byte header: stream, 0, 0, 0, big-endian length).

    Fed arbitrary chunks, returns the complete frames as (stream, payload) with stream 1 for
    stdout and 2 for stderr (Docker's stream 3, its own error channel, counts as stderr).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        start = 0
        while len(self._buffer) - start >= FRAME_HEADER_BYTES:
            stream = self._buffer[start]
            length = int.from_bytes(self._buffer[start + 4 : start + 8], "big")
            end = start + FRAME_HEADER_BYTES + length
            if len(self._buffer) < end:
                break
            if length:
                frames.append((STDOUT if stream <= STDOUT else STDERR, bytes(self._buffer[start + 8 : end])))
            start = end
        del self._buffer[:start]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame kept for the next `feed`."""
        return len(self._buffer)
