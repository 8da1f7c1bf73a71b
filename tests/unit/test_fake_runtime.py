"""FakeRuntime behaves like Docker where the node agent relies on it."""

from __future__ import annotations

import asyncio
import ipaddress
import re

import pytest

from minik8s.node.fake.runtime import ExecResult, FakeRuntime
from minik8s.node.runtime import (
    ContainerEvent,
    ContainerRuntime,
    ContainerSpec,
    ImagePullError,
    LogOptions,
    RuntimeFailure,
    RuntimeUnavailable,
    SandboxSpec,
)

PAUSE, BUSYBOX = "minik8s/pause:latest", "minik8s/busybox:latest"
NETWORK, SUBNET = "pods", "10.244.1.0/24"
POD = {"minik8s.io/node": "node-1", "minik8s.io/pod-uid": "uid-1"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
async def runtime() -> FakeRuntime:
    fake = FakeRuntime()
    conforming: ContainerRuntime = fake  # mypy holds the fake to the Protocol
    await conforming.ensure_network(NETWORK, subnet=SUBNET, gateway="10.244.1.1")
    return fake


async def sandbox(runtime: FakeRuntime, name: str = "pod-sandbox", labels: dict[str, str] = POD) -> str:
    info = await runtime.run_sandbox(SandboxSpec(name=name, image=PAUSE, labels=labels, network=NETWORK,
                                                 hostname="pod"))
    return info.id


async def container(runtime: FakeRuntime, sandbox_id: str, name: str = "app", *, start: bool = True,
                    labels: dict[str, str] = POD, entrypoint: list[str] | None = None, image: str = BUSYBOX) -> str:
    container_id = await runtime.create_container(ContainerSpec(
        name=name, image=image, labels=labels | {"minik8s.io/container": name}, sandbox_id=sandbox_id,
        entrypoint=entrypoint or ["sleep", "300"]))
    if start:
        await runtime.start_container(container_id)
    return container_id


async def collect(iterator, *, until: int) -> list:
    items = []
    async with asyncio.timeout(5):
        async for item in iterator:
            items.append(item)
            if len(items) == until:
                return items
    return items


async def test_sandboxes_get_distinct_ips_of_the_subnet_while_they_run(runtime: FakeRuntime) -> None:
    first, second = await sandbox(runtime, "a"), await sandbox(runtime, "b")
    first_info, second_info = await runtime.inspect(first), await runtime.inspect(second)
    assert first_info and second_info and first_info.ip and second_info.ip
    assert first_info.ip != second_info.ip != "10.244.1.1"
    assert {ipaddress.ip_address(first_info.ip), ipaddress.ip_address(second_info.ip)} <= set(
        ipaddress.ip_network(SUBNET).hosts())
    assert first_info.state == "running" and RFC3339.match(first_info.started_at or "")
    await runtime.stop_container(first, grace_seconds=1)
    assert (await runtime.inspect(first)).ip is None  # type: ignore[union-attr]
    third = await sandbox(runtime, "c")
    assert (await runtime.inspect(third)).ip == first_info.ip  # type: ignore[union-attr]  # freed, reused


async def test_networks_keep_their_subnet(runtime: FakeRuntime) -> None:
    await runtime.ensure_network(NETWORK, subnet=SUBNET, gateway="10.244.1.1")  # same: reused
    with pytest.raises(RuntimeFailure, match="exists with"):
        await runtime.ensure_network(NETWORK, subnet="10.244.2.0/24", gateway="10.244.2.1")
    await sandbox(runtime)
    with pytest.raises(RuntimeFailure, match="active endpoints"):
        await runtime.remove_network(NETWORK)
    with pytest.raises(RuntimeFailure) as missing:
        await runtime.run_sandbox(SandboxSpec(name="x", image=PAUSE, labels=POD, network="nope", hostname="x"))
    assert missing.value.reason == "CreatePodSandboxError"


async def test_a_container_runs_exits_with_its_code_and_reports_events(runtime: FakeRuntime) -> None:
    events = runtime.events(POD)  # subscribed from this call on
    sandbox_id = await sandbox(runtime)
    app = await container(runtime, sandbox_id, start=False)
    assert (await runtime.inspect(app)).state == "created"  # type: ignore[union-attr]
    await runtime.start_container(app)
    running = await runtime.inspect(app)
    assert running and running.state == "running" and running.pid and running.exit_code is None
    runtime.finish(app, 3)
    exited = await runtime.inspect(app)
    assert exited and exited.state == "exited" and exited.exit_code == 3 and RFC3339.match(exited.finished_at or "")
    seen: list[ContainerEvent] = await collect(events, until=5)
    assert [(event.container_id, event.action) for event in seen] == [
        (sandbox_id, "create"), (sandbox_id, "start"), (app, "create"), (app, "start"), (app, "die")]
    assert seen[-1].labels["minik8s.io/container"] == "app"


@pytest.mark.parametrize(("ignores_sigterm", "exit_code", "actions"), [
    (False, 143, ["kill", "die", "stop"]),
    (True, 137, ["kill", "kill", "die", "stop"]),  # SIGTERM ignored: SIGKILL after the grace period
])
async def test_stop_terminates_then_kills(runtime: FakeRuntime, ignores_sigterm: bool, exit_code: int,
                                          actions: list[str]) -> None:
    app = await container(runtime, await sandbox(runtime))
    if ignores_sigterm:
        runtime.ignore_sigterm(app)
    events = runtime.events({"minik8s.io/container": "app"})
    await runtime.stop_container(app, grace_seconds=0.01)
    info = await runtime.inspect(app)
    assert info and info.state == "exited" and info.exit_code == exit_code
    assert [event.action for event in await collect(events, until=len(actions))] == actions
    assert runtime.stop_calls == [(app, 0.01)]
    await runtime.stop_container(app, grace_seconds=1)  # already stopped: nothing happens
    assert (await runtime.inspect(app)).exit_code == exit_code  # type: ignore[union-attr]


async def test_remove_is_forced_and_tolerates_a_missing_container(runtime: FakeRuntime) -> None:
    app = await container(runtime, await sandbox(runtime))
    events = runtime.events({"minik8s.io/container": "app"})
    await runtime.remove_container(app)
    assert await runtime.inspect(app) is None
    assert [event.action for event in await collect(events, until=3)] == ["kill", "die", "destroy"]
    await runtime.remove_container(app)
    await runtime.stop_container(app, grace_seconds=1)


async def test_list_filters_by_every_label(runtime: FakeRuntime) -> None:
    mine = await sandbox(runtime, "mine", POD)
    other = await sandbox(runtime, "other", POD | {"minik8s.io/pod-uid": "uid-2"})
    assert {info.id for info in await runtime.list_containers(POD)} == {mine}
    assert {info.id for info in await runtime.list_containers({"minik8s.io/node": "node-1"})} == {mine, other}
    assert await runtime.list_containers({"minik8s.io/node": "node-2"}) == []


async def test_containers_need_their_image_a_unique_name_and_a_running_sandbox(runtime: FakeRuntime) -> None:
    sandbox_id = await sandbox(runtime)
    with pytest.raises(RuntimeFailure, match="not present") as missing_image:
        await container(runtime, sandbox_id, image="nowhere/image:1")
    assert missing_image.value.reason == "CreateContainerError"
    app = await container(runtime, sandbox_id, start=False)
    with pytest.raises(RuntimeFailure, match="already in use"):
        await container(runtime, sandbox_id, start=False)
    await runtime.stop_container(sandbox_id, grace_seconds=1)
    with pytest.raises(RuntimeFailure, match="non running") as not_running:
        await runtime.start_container(app)
    assert not_running.value.reason == "RunContainerError"


async def test_a_bad_command_fails_to_start(runtime: FakeRuntime) -> None:
    runtime.fail_start("/no/such/binary")
    app = await container(runtime, await sandbox(runtime), start=False, entrypoint=["/no/such/binary"])
    with pytest.raises(RuntimeFailure, match="/no/such/binary") as failed:
        await runtime.start_container(app)
    assert failed.value.reason == "RunContainerError"
    info = await runtime.inspect(app)
    assert info and info.state == "created" and info.error


async def test_run_sandbox_replaces_one_of_the_same_name(runtime: FakeRuntime) -> None:
    first = await sandbox(runtime)
    second = await sandbox(runtime)
    assert first != second and await runtime.inspect(first) is None


async def test_images_pull_only_when_pullable(runtime: FakeRuntime) -> None:
    image = "example.com/app:1"
    assert await runtime.image_id(image) is None
    with pytest.raises(ImagePullError) as failed:
        await runtime.pull_image(image)
    assert failed.value.reason == "ErrImagePull"
    runtime.make_pullable(image)
    image_id = await runtime.pull_image(image)
    assert image_id.startswith("sha256:") and await runtime.image_id(image) == image_id
    runtime.fail_pull(image, "toomanyrequests")
    with pytest.raises(ImagePullError, match="toomanyrequests"):
        await runtime.pull_image(image)
    assert runtime.pull_counts[image] == 3
    runtime.remove_image(BUSYBOX)
    assert await runtime.image_id(BUSYBOX) is None


async def test_logs_tail_since_timestamps_limit_and_follow(runtime: FakeRuntime) -> None:
    app = await container(runtime, await sandbox(runtime))
    runtime.write_log(app, b"one\ntwo\nthree\n")

    async def read(options: LogOptions) -> bytes:
        return b"".join([chunk async for chunk in runtime.logs(app, options)])

    assert await read(LogOptions()) == b"one\ntwo\nthree\n"
    assert await read(LogOptions(tail_lines=2)) == b"two\nthree\n"
    assert await read(LogOptions(tail_lines=0)) == b""
    assert await read(LogOptions(limit_bytes=6)) == b"one\ntw"
    assert await read(LogOptions(since_seconds=60)) == b"one\ntwo\nthree\n"
    stamped = (await read(LogOptions(timestamps=True, tail_lines=1))).decode()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$", stamped)

    follower = asyncio.create_task(read(LogOptions(follow=True, tail_lines=1)))
    await asyncio.sleep(0)  # one loop turn: it reads what is there, then waits for more
    runtime.write_log(app, b"four\n")
    runtime.finish(app, 0)  # a follow ends when the container stops
    assert await asyncio.wait_for(follower, 5) == b"three\nfour\n"
    with pytest.raises(RuntimeFailure, match="No such container"):
        async for _ in runtime.logs("missing", LogOptions()):
            pass


@pytest.mark.parametrize(("tty", "expected"), [
    (False, [(1, b"cat:hello"), (2, b"warning")]),
    (True, [(1, b"cat:hellowarning")]),  # a terminal merges the streams
])
async def test_exec_runs_the_handler_with_stdin(runtime: FakeRuntime, tty: bool, expected: list) -> None:
    app = await container(runtime, await sandbox(runtime))
    runtime.exec_handler = lambda info, command, stdin: ExecResult(
        exit_code=4, stdout=f"{command[0]}:".encode() + stdin, stderr=b"warning")
    session = await runtime.exec(app, ["cat"], stdin=True, tty=tty)
    await session.write_stdin(b"hello")
    await session.close_stdin()
    assert [item async for item in session.output()] == expected
    assert await session.wait() == 4
    await session.close()
    assert runtime.exec_calls == [(app, ("cat",))]
    runtime.finish(app, 0)
    with pytest.raises(RuntimeFailure, match="not running"):
        await runtime.exec(app, ["true"], stdin=False, tty=False)


async def test_an_unavailable_engine_fails_every_call_and_ends_event_streams(runtime: FakeRuntime) -> None:
    events = runtime.events(POD)
    waiting = asyncio.create_task(collect(events, until=1))
    runtime.set_available(False)
    with pytest.raises(RuntimeUnavailable):
        await waiting
    with pytest.raises(RuntimeUnavailable):
        await runtime.list_containers(POD)
    with pytest.raises(RuntimeUnavailable):
        await runtime.version()
    runtime.set_available(True)
    assert await runtime.version() == "fake://1.0"
