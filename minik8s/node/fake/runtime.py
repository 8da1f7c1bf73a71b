"""The container runtime in memory, for agent unit tests and simulated nodes in benchmarks.

It keeps Docker's behaviour where the agent depends on it, so a test that passes here means
something on Docker too: a stopped container is `exited` with an exit code (143 when it
honours SIGTERM, 137 when it had to be killed after the grace period), a sandbox gets an IP
from its network's subnet while it runs and loses it when it stops, a container of a pod
cannot start while its sandbox is not running, removal is forced (a running container is
killed first), and events (create, start, kill, die, stop, destroy, oom) reach subscribers
whose labels match. Nothing takes time unless asked (`start_latency_seconds`).

Knobs tests use: `add_image`/`remove_image`, `image_users` (an image's USER; none is root), `make_pullable`, `fail_pull`, `fail_start`,
`finish` (the process exits by itself), `ignore_sigterm`, `write_log`, `exec_handler`,
`set_available(False)` (the engine stops answering), and the records `pull_counts`,
`stop_calls`, `exec_calls` and `created_specs` (what each container was created from: env, mounts).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from minik8s.api.meta import format_micro_time, now_time
from minik8s.node.fake.exec_session import ExecHandler, ExecResult, FakeExecSession
from minik8s.node.runtime import (
    ContainerEvent,
    ContainerInfo,
    ContainerSpec,
    ExecSession,
    ImagePullError,
    LogOptions,
    RuntimeFailure,
    RuntimeUnavailable,
    SandboxSpec,
)

__all__ = ["ExecHandler", "ExecResult", "FakeRuntime"]

DEFAULT_IMAGES = ("minik8s/pause:latest", "minik8s/busybox:latest")
EXIT_ON_SIGTERM = 143
EXIT_ON_SIGKILL = 137


def _log_timestamp(moment: float) -> str:
    """The prefix of a log line with `timestamps`: Docker's RFC 3339 with nanoseconds (zero-padded here)."""
    return format_micro_time(datetime.fromtimestamp(moment, UTC)).removesuffix("Z") + "000Z"


def fake_image_id(image: str) -> str:
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


@dataclass
class _Network:
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: str
    in_use: set[str] = field(default_factory=set)

    def allocate(self) -> str:
        for address in self.subnet.hosts():
            if str(address) != self.gateway and str(address) not in self.in_use:
                self.in_use.add(str(address))
                return str(address)
        raise RuntimeFailure(f"no free address left in {self.subnet}")


@dataclass
class _Container:
    info: ContainerInfo
    network: str | None = None  # sandboxes: the network they take an IP from
    sandbox_id: str | None = None  # app containers: the sandbox whose namespaces they join
    command: tuple[str, ...] = ()
    ignores_sigterm: bool = False
    log: list[tuple[float, bytes]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def update(self, **changes: object) -> None:
        self.info = replace(self.info, **changes)  # type: ignore[arg-type]
        self.notify()

    def notify(self) -> None:
        """Wake log followers: swap in a fresh event and set the old one."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


_Subscriber = tuple[Mapping[str, str], asyncio.Queue[ContainerEvent | Exception | None]]


class FakeRuntime:
    """`ContainerRuntime` in memory; see the module docstring for the knobs."""

    def __init__(self, *, images: Iterable[str] = DEFAULT_IMAGES, start_latency_seconds: float = 0.0,
                 version: str = "fake://1.0") -> None:
        self.images: set[str] = set(images)
        self.image_users: dict[str, str] = {}  # image → its USER ("" unless set: root)
        self.start_latency_seconds = start_latency_seconds
        self.exec_handler: ExecHandler = lambda info, command, stdin: ExecResult()
        self.pull_counts: Counter[str] = Counter()
        self.stop_calls: list[tuple[str, float]] = []
        self.exec_calls: list[tuple[str, tuple[str, ...]]] = []
        self.created_specs: dict[str, ContainerSpec] = {}  # container id → the spec it was created from
        self._version = version
        self._pullable: set[str] = set()
        self._pull_failures: dict[str, str] = {}
        self._start_failures: dict[str, str] = {}
        self._networks: dict[str, _Network] = {}
        self._containers: dict[str, _Container] = {}
        self._subscribers: list[_Subscriber] = []
        self._ids = itertools.count(1)
        self._pids = itertools.count(1000)
        self._available = True

    # ---- knobs ----

    def add_image(self, image: str) -> None:
        self.images.add(image)

    def remove_image(self, image: str) -> None:
        self.images.discard(image)

    def make_pullable(self, image: str) -> None:
        """A pull of this (missing) image will succeed."""
        self._pullable.add(image)

    def fail_pull(self, image: str, message: str = "manifest unknown") -> None:
        self._pull_failures[image] = message

    def fail_start(self, executable: str, message: str = "executable file not found in $PATH") -> None:
        """Containers whose command starts with `executable` fail to start, as a bad command does."""
        self._start_failures[executable] = message

    def ignore_sigterm(self, container_id: str) -> None:
        """The container's process ignores SIGTERM: a stop waits the grace period, then kills it."""
        self._get(container_id).ignores_sigterm = True

    def finish(self, container_id: str, exit_code: int, *, oom_killed: bool = False, error: str = "") -> None:
        """The running container's process exits by itself with `exit_code`."""
        container = self._get(container_id)
        if container.info.state != "running":
            raise ValueError(f"container {container_id} is {container.info.state}, not running")
        if oom_killed:
            self._emit(container, "oom")
        self._exit(container, exit_code, oom_killed=oom_killed, error=error)

    def write_log(self, container_id: str, data: bytes) -> None:
        """Append output to the container's log, one entry per line."""
        container = self._get(container_id)
        now = time.time()
        container.log.extend((now, line) for line in data.splitlines(keepends=True))
        container.notify()

    def set_available(self, available: bool) -> None:
        """Make every call raise RuntimeUnavailable (False) as when the engine is down, or heal it."""
        self._available = available
        if not available:
            for _, queue in self._subscribers:
                queue.put_nowait(RuntimeUnavailable("the fake engine ended the event stream"))

    # ---- helpers ----

    def _check(self) -> None:
        if not self._available:
            raise RuntimeUnavailable("the fake engine is down")

    def _find(self, container_id: str) -> _Container | None:
        container = self._containers.get(container_id)
        if container is None:  # Docker also accepts a name
            container = next((item for item in self._containers.values() if item.info.name == container_id), None)
        return container

    def _get(self, container_id: str) -> _Container:
        container = self._find(container_id)
        if container is None:
            raise RuntimeFailure(f"No such container: {container_id}")
        return container

    def _emit(self, container: _Container, action: str) -> None:
        event = ContainerEvent(container_id=container.info.id, action=action, labels=dict(container.info.labels))
        for labels, queue in self._subscribers:
            if all(container.info.labels.get(key) == value for key, value in labels.items()):
                queue.put_nowait(event)

    def _new(self, *, name: str, image: str, labels: Mapping[str, str]) -> _Container:
        if self._find(name) is not None:
            raise RuntimeFailure(f'Conflict. The container name "/{name}" is already in use', reason="CreateContainerError")
        container_id = hashlib.sha256(f"{name}/{next(self._ids)}".encode()).hexdigest()
        info = ContainerInfo(id=container_id, name=name, labels=dict(labels), state="created", image=image,
                             image_id=fake_image_id(image))
        container = _Container(info=info)
        self._containers[container_id] = container
        self._emit(container, "create")
        return container

    def _exit(self, container: _Container, exit_code: int, *, oom_killed: bool = False, error: str = "") -> None:
        if container.network is not None and container.info.ip is not None:
            self._networks[container.network].in_use.discard(container.info.ip)
        container.update(state="exited", exit_code=exit_code, finished_at=now_time(),
                         oom_killed=oom_killed, error=error, pid=None, ip=None)
        self._emit(container, "die")

    # ---- ContainerRuntime ----

    async def version(self) -> str:
        self._check()
        return self._version

    async def ensure_network(self, name: str, *, subnet: str, gateway: str) -> None:
        self._check()
        wanted = ipaddress.ip_network(subnet, strict=False)
        existing = self._networks.get(name)
        if existing is None:
            self._networks[name] = _Network(subnet=wanted, gateway=gateway)
        elif existing.subnet != wanted:
            raise RuntimeFailure(f"network {name} exists with {existing.subnet}, not {wanted}")

    async def remove_network(self, name: str) -> None:
        self._check()
        network = self._networks.get(name)
        if network is not None and network.in_use:
            raise RuntimeFailure(f"network {name} has active endpoints")
        self._networks.pop(name, None)

    async def image_id(self, image: str) -> str | None:
        self._check()
        return fake_image_id(image) if image in self.images else None

    async def image_user(self, image: str) -> str:
        self._check()
        if image not in self.images:
            raise RuntimeFailure(f"image {image} is not present on this node", reason="CreateContainerError")
        return self.image_users.get(image, "")

    async def pull_image(self, image: str) -> str:
        self._check()
        self.pull_counts[image] += 1
        if image in self._pull_failures:
            raise ImagePullError(f"pulling image {image}: {self._pull_failures[image]}")
        if image not in self.images and image not in self._pullable:
            raise ImagePullError(f"pulling image {image}: repository does not exist or no registry is reachable")
        self.images.add(image)
        return fake_image_id(image)

    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        self._check()
        failure = "CreatePodSandboxError"
        if spec.network not in self._networks:
            raise RuntimeFailure(f"creating sandbox {spec.name}: network {spec.network} not found", reason=failure)
        if spec.image not in self.images:
            raise RuntimeFailure(f"creating sandbox {spec.name}: image {spec.image} is not present", reason=failure)
        if self._find(spec.name) is not None:
            await self.remove_container(spec.name)
        container = self._new(name=spec.name, image=spec.image, labels=spec.labels)
        container.network = None if spec.namespaces.host_network else spec.network  # the node's: no IP
        await self.start_container(container.info.id)
        return container.info

    async def create_container(self, spec: ContainerSpec) -> str:
        self._check()
        if spec.image not in self.images:
            raise RuntimeFailure(f"creating container {spec.name}: image {spec.image} is not present on this node",
                                 reason="CreateContainerError")
        if self._find(spec.sandbox_id) is None:
            raise RuntimeFailure(f"creating container {spec.name}: No such container: {spec.sandbox_id}",
                                 reason="CreateContainerError")
        container = self._new(name=spec.name, image=spec.image, labels=spec.labels)
        container.sandbox_id = spec.sandbox_id
        container.command = (*(spec.entrypoint or ()), *(spec.args or ()))
        self.created_specs[container.info.id] = spec
        return container.info.id

    async def start_container(self, container_id: str) -> None:
        self._check()
        container = self._get(container_id)
        if container.info.state == "running":
            return
        sandbox = self._find(container.sandbox_id) if container.sandbox_id else None
        if container.sandbox_id and (sandbox is None or sandbox.info.state != "running"):
            raise RuntimeFailure(f"starting container {container_id[:12]}: cannot join network of a non running "
                                 "container")
        if self.start_latency_seconds:
            await asyncio.sleep(self.start_latency_seconds)
        executable = container.command[0] if container.command else ""
        if executable in self._start_failures:
            message = f"starting container {container_id[:12]}: exec: {executable!r}: {self._start_failures[executable]}"
            container.update(exit_code=None, error=message)
            raise RuntimeFailure(message)
        address = self._networks[container.network].allocate() if container.network in self._networks else None
        container.update(state="running", started_at=now_time(), finished_at=None, exit_code=None,
                         error="", oom_killed=False, pid=next(self._pids), ip=address)
        self._emit(container, "start")

    async def stop_container(self, container_id: str, *, grace_seconds: float) -> None:
        self._check()
        self.stop_calls.append((container_id, grace_seconds))
        container = self._find(container_id)
        if container is None or container.info.state != "running":
            return
        self._emit(container, "kill")
        if container.ignores_sigterm:
            await asyncio.sleep(grace_seconds)
            if container.info.state != "running":
                return
            self._emit(container, "kill")
        self._exit(container, EXIT_ON_SIGKILL if container.ignores_sigterm else EXIT_ON_SIGTERM)
        self._emit(container, "stop")

    async def remove_container(self, container_id: str) -> None:
        self._check()
        container = self._find(container_id)
        if container is None:
            return
        if container.info.state == "running":
            self._emit(container, "kill")
            self._exit(container, EXIT_ON_SIGKILL)
        del self._containers[container.info.id]
        self.created_specs.pop(container.info.id, None)
        container.notify()
        self._emit(container, "destroy")

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        self._check()
        return [container.info for container in self._containers.values()
                if all(container.info.labels.get(key) == value for key, value in labels.items())]

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        self._check()
        container = self._find(container_id)
        return container.info if container is not None else None

    def events(self, labels: Mapping[str, str]) -> AsyncIterator[ContainerEvent]:
        """Events from the moment of this call (as DockerRuntime promises) until closed."""
        self._check()
        queue: asyncio.Queue[ContainerEvent | Exception | None] = asyncio.Queue()
        subscriber = (dict(labels), queue)
        self._subscribers.append(subscriber)
        return self._event_stream(subscriber)

    async def _event_stream(self, subscriber: _Subscriber) -> AsyncIterator[ContainerEvent]:
        try:
            while True:
                event = await subscriber[1].get()
                if event is None:
                    return
                if isinstance(event, Exception):
                    raise event
                yield event
        finally:
            self._subscribers.remove(subscriber)

    async def logs(self, container_id: str, options: LogOptions) -> AsyncIterator[bytes]:
        self._check()
        container = self._get(container_id)
        since = time.time() - options.since_seconds if options.since_seconds else None
        eligible = [index for index, (moment, _) in enumerate(container.log) if since is None or moment >= since]
        if options.tail_lines is not None:
            eligible = eligible[len(eligible) - options.tail_lines:] if options.tail_lines > 0 else []
        position = eligible[0] if eligible else len(container.log)
        remaining = options.limit_bytes
        while True:
            changed = container.changed
            for moment, line in container.log[position:]:
                position += 1
                if since is not None and moment < since:
                    continue
                chunk = (_log_timestamp(moment).encode() + b" " + line) if options.timestamps else line
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                yield chunk
                if remaining == 0:
                    return
            if not options.follow or container.info.state != "running" or self._find(container_id) is None:
                return
            await changed.wait()

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool, tty: bool) -> ExecSession:
        self._check()
        container = self._get(container_id)
        if container.info.state != "running":
            raise RuntimeFailure(f"container {container_id[:12]} is not running")
        self.exec_calls.append((container.info.id, tuple(command)))
        return FakeExecSession(info=container.info, command=tuple(command), stdin=stdin, tty=tty,
                               handler=self.exec_handler)

    async def close(self) -> None:
        for _, queue in self._subscribers:
            queue.put_nowait(None)

