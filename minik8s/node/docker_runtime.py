"""The container runtime on a real Docker engine: the only module that imports the docker SDK.

The agent must never block its event loop, so every SDK call runs in this runtime's own
thread pool (a pool of its own, not the loop's default executor: a `stop` waits out a
grace period and must not starve the agent's other blocking work), and the long-lived
streams (events, logs, pulls) each read in a dedicated thread (`thread_stream`). Engine
connection failures become `RuntimeUnavailable`, so the agent can tell "Docker is down"
from "this container is broken".

`list_containers` is called at every resync, so it costs one list call plus an inspect only
for containers whose state changed since the last look.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors
import requests

from minik8s.node import docker_streams
from minik8s.node.docker_exec import DockerExecSession
from minik8s.node.docker_wire import (
    ContainerDetails,
    container_arguments,
    container_event,
    container_info_from_inspect,
    docker_since,
    event_filters,
    image_reference,
    label_filter,
    log_parameters,
    resolv_conf_text,
    sandbox_arguments,
)
from minik8s.node.runtime import (
    LABEL_MANAGED,
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
from minik8s.node.thread_stream import ThreadStreams

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

API_VERSION = "1.41"  # Debian's docker.io 20.10; newer engines still serve it
REQUEST_TIMEOUT_SECONDS = 60
PULL_TIMEOUT_SECONDS = 30.0
SANDBOX_FAILURE = "CreatePodSandboxError"
CREATE_FAILURE = "CreateContainerError"
START_FAILURE = "RunContainerError"


def _explain(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    if isinstance(exc, docker_streams.ResponseError):
        return exc.message
    return str(exc) or repr(exc)


def engine_failure(operation: str, exc: Exception, *, reason: str = START_FAILURE) -> RuntimeFailure:
    """The runtime error for an exception of the SDK (or of the HTTP layer under it)."""
    if isinstance(exc, RuntimeFailure):
        return exc
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return RuntimeUnavailable(f"{operation}: the Docker engine does not answer: {exc}")
    if isinstance(exc, docker.errors.DockerException) and not isinstance(exc, docker.errors.APIError):
        return RuntimeUnavailable(f"{operation}: cannot reach the Docker engine: {exc}")
    return RuntimeFailure(f"{operation}: {_explain(exc)}", reason=reason)


def _network_named(api: Any, name: str) -> dict[str, Any] | None:
    for network in api.networks(names=[name]):  # a name filter matches substrings too
        if network.get("Name") == name:
            return dict(network)
    return None


def _ensure_network(api: Any, name: str, subnet: str, gateway: str) -> None:
    wanted = ipaddress.ip_network(subnet, strict=False)
    network = _network_named(api, name)
    if network is None:
        try:
            api.create_network(
                name, driver="bridge", check_duplicate=True, labels={LABEL_MANAGED: "true"},
                options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                ipam={"Driver": "default", "Config": [{"Subnet": str(wanted), "Gateway": gateway}]},
            )
            logger.info("created network %s (%s, gateway %s)", name, wanted, gateway)
            return
        except docker.errors.APIError as exc:
            network = _network_named(api, name) if exc.status_code == 409 else None  # lost a race
            if network is None:
                raise engine_failure(f"creating network {name} ({wanted})", exc) from exc
    configs = (network.get("IPAM") or {}).get("Config") or []
    subnets = [ipaddress.ip_network(config["Subnet"], strict=False) for config in configs if config.get("Subnet")]
    if wanted not in subnets:
        found = ", ".join(map(str, subnets)) or "no subnet"
        raise RuntimeFailure(f"network {name} exists with {found}, not {wanted}; remove it or pick another name")


def _remove_network(api: Any, name: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_network(name)


def _image_id(api: Any, image: str) -> str | None:
    try:
        return str(api.inspect_image(image)["Id"])
    except docker.errors.NotFound:  # ImageNotFound is a NotFound
        return None


def _remove(api: Any, container_id: str) -> None:
    try:
        api.remove_container(container_id, v=True, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "in progress" not in _explain(exc):
            raise engine_failure(f"removing container {container_id[:12]}", exc) from exc


def _run_sandbox(api: Any, spec: SandboxSpec) -> ContainerInfo:
    create_arguments, host_arguments = sandbox_arguments(spec)

    def create() -> str:
        return str(api.create_container(
            **create_arguments, host_config=api.create_host_config(**host_arguments),
            networking_config=api.create_networking_config({spec.network: api.create_endpoint_config()}),
        )["Id"])

    try:
        try:
            container_id = create()
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
            logger.info("sandbox %s exists already: replacing it", spec.name)
            _remove(api, spec.name)
            container_id = create()
    except docker.errors.APIError as exc:
        raise engine_failure(f"creating sandbox {spec.name}", exc, reason=SANDBOX_FAILURE) from exc
    try:
        api.start(container_id)
        details = api.inspect_container(container_id)
    except docker.errors.APIError as exc:
        _remove(api, container_id)
        raise engine_failure(f"starting sandbox {spec.name}", exc, reason=SANDBOX_FAILURE) from exc
    _write_resolv_conf(str(details.get("ResolvConfPath") or ""), spec)
    return container_info_from_inspect(details)


def _write_resolv_conf(path: str, spec: SandboxSpec) -> None:
    """Point the pod straight at its DNS servers, as the kubelet's dockershim did.

    On a user-defined network Docker writes `nameserver 127.0.0.11` (its embedded resolver,
    which forwards to the servers asked for). The pod's containers share the sandbox's file,
    so rewriting it in place (same inode: it is bind-mounted) once is enough. Possible only
    when the engine's files are on this machine; otherwise the embedded resolver stays.
    """
    if not spec.dns_servers or not path or not os.path.isfile(path):
        return
    try:
        with open(path, "w", encoding="utf-8") as resolv_conf:
            resolv_conf.write(resolv_conf_text(spec))
    except OSError as exc:
        logger.warning("sandbox %s: cannot rewrite %s (%s); Docker's resolver forwards instead", spec.name, path, exc)


def _create_container(api: Any, spec: ContainerSpec) -> str:
    create_arguments, host_arguments = container_arguments(spec)
    try:
        created = api.create_container(**create_arguments, host_config=api.create_host_config(**host_arguments))
    except docker.errors.ImageNotFound as exc:
        raise RuntimeFailure(f"creating container {spec.name}: image {spec.image} is not present on this node",
                             reason=CREATE_FAILURE) from exc
    except docker.errors.APIError as exc:
        raise engine_failure(f"creating container {spec.name}", exc, reason=CREATE_FAILURE) from exc
    return str(created["Id"])


def _inspect(api: Any, container_id: str) -> ContainerInfo | None:
    try:
        return container_info_from_inspect(api.inspect_container(container_id))
    except docker.errors.NotFound:
        return None


def _inspect_many(api: Any, container_ids: Sequence[str]) -> list[ContainerInfo]:
    """Those still there; one that fails to inspect is left to what the listing says."""
    found: list[ContainerInfo] = []
    for container_id in container_ids:
        try:
            info = _inspect(api, container_id)
        except docker.errors.APIError as exc:
            logger.warning("inspecting container %s failed: %s", container_id[:12], _explain(exc))
            continue
        if info is not None:
            found.append(info)
    return found


class DockerRuntime:
    """`ContainerRuntime` on the Docker engine at `base_url` (default: DOCKER_HOST or the unix socket)."""

    def __init__(self, base_url: str | None = None, *, max_workers: int = 32,
                 pull_timeout_seconds: float = PULL_TIMEOUT_SECONDS) -> None:
        self._base_url = base_url
        self._pull_timeout_seconds = pull_timeout_seconds
        self._max_workers = max_workers  # one pooled connection per worker thread
        self._client: Any = None  # docker.APIClient, made on first use
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="docker")
        self._streams = ThreadStreams()
        self._details = ContainerDetails()
        self._closed = False

    def _api(self) -> Any:
        if self._closed:
            raise RuntimeFailure("the Docker runtime is closed")
        if self._client is None:
            try:
                settings = docker.utils.kwargs_from_env() if self._base_url is None else {"base_url": self._base_url}
                self._client = docker.APIClient(version=API_VERSION, timeout=REQUEST_TIMEOUT_SECONDS,
                                                max_pool_size=self._max_workers, **settings)
            except docker.errors.DockerException as exc:
                raise RuntimeUnavailable(f"cannot set up a Docker client: {exc}") from exc
        return self._client

    async def _run(self, operation: str, call: Callable[[Any], ResultT]) -> ResultT:
        """`call(api)` in the pool; SDK errors other than RuntimeFailure are mapped by `engine_failure`."""
        api = self._api()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call, api)
        except RuntimeFailure:
            raise
        except Exception as exc:
            raise engine_failure(operation, exc) from exc

    async def version(self) -> str:
        answer = await self._run("asking the engine's version", lambda api: api.version())
        return f"docker://{answer['Version']}"

    async def ensure_network(self, name: str, *, subnet: str, gateway: str) -> None:
        await self._run(f"ensuring network {name}", lambda api: _ensure_network(api, name, subnet, gateway))

    async def remove_network(self, name: str) -> None:
        await self._run(f"removing network {name}", lambda api: _remove_network(api, name))

    async def image_id(self, image: str) -> str | None:
        return await self._run(f"inspecting image {image}", lambda api: _image_id(api, image))

    async def pull_image(self, image: str) -> str:
        repository, tag = image_reference(image)
        operation = f"pulling image {image}"
        api = self._api()
        try:
            messages = self._streams.iterate(
                lambda: docker_streams.open_pull_stream(api, repository, tag), name="docker-pull",
                translate_error=lambda exc: engine_failure(operation, exc),
            )
            async with asyncio.timeout(self._pull_timeout_seconds), contextlib.aclosing(messages):
                async for message in messages:
                    if message.get("error"):
                        raise ImagePullError(f"{operation}: {message['error']}")
        except TimeoutError as exc:
            raise ImagePullError(f"{operation}: no answer within {self._pull_timeout_seconds:g} s") from exc
        except RuntimeUnavailable:
            raise
        except RuntimeFailure as exc:
            raise ImagePullError(str(exc)) from exc
        image_id = await self.image_id(image)
        if image_id is None:
            raise ImagePullError(f"{operation}: the pull ended but the image is not present")
        return image_id

    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        info = await self._run(f"running sandbox {spec.name}", lambda api: _run_sandbox(api, spec))
        self._details.remember(info)
        return info

    async def create_container(self, spec: ContainerSpec) -> str:
        return await self._run(f"creating container {spec.name}", lambda api: _create_container(api, spec))

    async def start_container(self, container_id: str) -> None:
        self._details.forget(container_id)
        try:
            await self._run(f"starting container {container_id[:12]}", lambda api: api.start(container_id))
        finally:
            self._details.forget(container_id)  # a failed start leaves an error and an exit code

    async def stop_container(self, container_id: str, *, grace_seconds: float) -> None:
        timeout = max(math.ceil(grace_seconds), 0)

        def stop(api: Any) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                api.stop(container_id, timeout=timeout)  # SIGTERM (or the image's STOPSIGNAL), then SIGKILL

        try:
            await self._run(f"stopping container {container_id[:12]}", stop)
        finally:
            self._details.forget(container_id)

    async def remove_container(self, container_id: str) -> None:
        await self._run(f"removing container {container_id[:12]}", lambda api: _remove(api, container_id))
        self._details.forget(container_id)

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        info = await self._run(f"inspecting container {container_id[:12]}", lambda api: _inspect(api, container_id))
        if info is not None:
            self._details.remember(info)
        return info

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        filters = {"label": label_filter(labels)}
        summaries = await self._run("listing containers", lambda api: api.containers(all=True, filters=filters))
        stale = self._details.stale(summaries)
        if stale:
            for info in await self._run("inspecting containers", lambda api: _inspect_many(api, stale)):
                self._details.remember(info)
        return self._details.listing(summaries, labels)

    def events(self, labels: Mapping[str, str]) -> AsyncIterator[ContainerEvent]:
        """Container lifecycle events from the moment of this call (Docker replays any that
        happen before the stream is connected). Raises RuntimeUnavailable when the engine ends
        the stream (e.g. it restarts); otherwise runs until the consumer stops."""
        since = docker_since(time.time_ns() - 1_000_000)  # a millisecond early: a duplicate beats a miss
        return self._event_stream(labels, since=since)

    async def _event_stream(self, labels: Mapping[str, str], *, since: str) -> AsyncIterator[ContainerEvent]:
        api = self._api()
        filters = event_filters(labels)
        messages = self._streams.iterate(
            lambda: api.events(since=since, filters=filters, decode=True), name="docker-events",
            translate_error=lambda exc: engine_failure("watching events", exc),
        )
        async with contextlib.aclosing(messages):
            async for message in messages:
                event = container_event(message)
                if event is not None:
                    yield event
        if not self._closed:
            raise RuntimeUnavailable("watching events: the Docker engine ended the event stream")

    async def logs(self, container_id: str, options: LogOptions) -> AsyncIterator[bytes]:
        operation = f"reading the log of container {container_id[:12]}"
        details = await self._run(operation, lambda api: api.inspect_container(container_id))
        tty = bool((details.get("Config") or {}).get("Tty"))
        parameters = log_parameters(options, now_nanos=time.time_ns())
        api = self._api()
        remaining = options.limit_bytes
        chunks = self._streams.iterate(
            lambda: docker_streams.open_log_stream(api, container_id, tty=tty, parameters=parameters),
            name="docker-logs", translate_error=lambda exc: engine_failure(operation, exc),
        )
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    yield chunk
                if remaining is not None and remaining <= 0:
                    return

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool, tty: bool) -> ExecSession:
        exec_id, connection, response, initial_output = await self._run(
            f"exec in container {container_id[:12]}",
            lambda api: docker_streams.start_exec(api, container_id, command, stdin=stdin, tty=tty),
        )

        async def inspect_exec() -> Mapping[str, Any]:
            return dict(await self._run(f"inspecting exec {exec_id[:12]}", lambda api: api.exec_inspect(exec_id)))

        async def resize_exec(width: int, height: int) -> None:
            await self._run(f"resizing exec {exec_id[:12]}",
                            lambda api: api.exec_resize(exec_id, height=height, width=width))

        return DockerExecSession(exec_id=exec_id, sock=connection, response=response, initial_output=initial_output,
                                 tty=tty, inspect_exec=inspect_exec, resize_exec=resize_exec)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._streams.close_all()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()
