"""The container runtime on a real Docker engine: `ContainerRuntime` over the docker SDK.

The agent must never block its event loop, so every SDK call (`engine_calls`) runs in this
runtime's own thread pool (a pool of its own, not the loop's default executor: a `stop` waits
out a grace period and must not starve the agent's other blocking work), and the long-lived
streams (events, logs, pulls) each read in a dedicated thread (`thread_streams`). Engine
connection failures become `RuntimeUnavailable`, so the agent can tell "Docker is down"
from "this container is broken".

`list_containers` is called at every resync, so it costs one list call plus an inspect only
for containers whose state changed since the last look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors

from minik8s.node.docker import engine_calls, http_streams
from minik8s.node.docker.exec_session import DockerExecSession
from minik8s.node.docker.thread_streams import ThreadStreams
from minik8s.node.docker.wire import (
    ContainerDetails,
    container_event,
    docker_since,
    event_filters,
    image_reference,
    label_filter,
    log_parameters,
)
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

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

API_VERSION = "1.41"  # Debian's docker.io 20.10; newer engines still serve it
REQUEST_TIMEOUT_SECONDS = 60
PULL_TIMEOUT_SECONDS = 30.0


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
            raise engine_calls.engine_failure(operation, exc) from exc

    async def version(self) -> str:
        answer = await self._run("asking the engine's version", lambda api: api.version())
        return f"docker://{answer['Version']}"

    async def ensure_network(self, name: str, *, subnet: str, gateway: str) -> None:
        await self._run(f"ensuring network {name}", lambda api: engine_calls.ensure_network(api, name, subnet, gateway))

    async def remove_network(self, name: str) -> None:
        await self._run(f"removing network {name}", lambda api: engine_calls.remove_network(api, name))

    async def image_id(self, image: str) -> str | None:
        return await self._run(f"inspecting image {image}", lambda api: engine_calls.image_id(api, image))

    async def image_user(self, image: str) -> str:
        return await self._run(f"inspecting image {image}", lambda api: engine_calls.image_user(api, image))

    async def pull_image(self, image: str) -> str:
        repository, tag = image_reference(image)
        operation = f"pulling image {image}"
        api = self._api()
        try:
            messages = self._streams.iterate(
                lambda: http_streams.open_pull_stream(api, repository, tag), name="docker-pull",
                translate_error=lambda exc: engine_calls.engine_failure(operation, exc),
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
        info = await self._run(f"running sandbox {spec.name}", lambda api: engine_calls.run_sandbox(api, spec))
        self._details.remember(info)
        return info

    async def create_container(self, spec: ContainerSpec) -> str:
        return await self._run(f"creating container {spec.name}", lambda api: engine_calls.create_container(api, spec))

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
        await self._run(f"removing container {container_id[:12]}", lambda api: engine_calls.remove_container(api, container_id))
        self._details.forget(container_id)

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        info = await self._run(f"inspecting container {container_id[:12]}", lambda api: engine_calls.inspect_container(api, container_id))
        if info is not None:
            self._details.remember(info)
        return info

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        filters = {"label": label_filter(labels)}
        summaries = await self._run("listing containers", lambda api: api.containers(all=True, filters=filters))
        stale = self._details.stale(summaries)
        if stale:
            for info in await self._run("inspecting containers", lambda api: engine_calls.inspect_containers(api, stale)):
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
            translate_error=lambda exc: engine_calls.engine_failure("watching events", exc),
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
            lambda: http_streams.open_log_stream(api, container_id, tty=tty, parameters=parameters),
            name="docker-logs", translate_error=lambda exc: engine_calls.engine_failure(operation, exc),
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
            lambda api: http_streams.start_exec(api, container_id, command, stdin=stdin, tty=tty),
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
