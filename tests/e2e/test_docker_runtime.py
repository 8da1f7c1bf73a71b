"""DockerRuntime against the real engine: what the node agent relies on Docker to do.

Every container carries `minik8s.io/test=<uuid>` and is removed by label after each test;
networks are named `minik8s-test-*` inside 10.244.250.0/24 to 10.244.254.0/24 and removed too.
With CI=true these tests must run; elsewhere they skip only when no engine answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from minik8s.node.docker.runtime import DockerRuntime
from minik8s.node.runtime import (
    LABEL_MANAGED,
    ContainerEvent,
    ContainerInfo,
    ContainerRuntime,
    ContainerSpec,
    ImagePullError,
    LogOptions,
    Mount,
    NamespaceOptions,
    PortBinding,
    RuntimeFailure,
    RuntimeUnavailable,
    SandboxSpec,
    SecurityOptions,
)
from tests.support.ports import free_port
from tests.support.requirements import require_docker
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker

BUSYBOX = "minik8s/busybox:latest"
PAUSE = "minik8s/pause:latest"
TEST_LABEL = "minik8s.io/test"
NETWORK_PREFIX = "minik8s-test-"
SUBNET, GATEWAY = "10.244.250.0/24", "10.244.250.1"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def docker_cli(*arguments: str) -> str:
    done = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise AssertionError(f"docker {' '.join(arguments)}: {done.stderr.strip()}")
    return done.stdout


def docker_inspect(container_id: str) -> dict:
    details: dict = json.loads(docker_cli("inspect", container_id))[0]
    return details


def remove_labelled_containers(label: str) -> None:
    ids = docker_cli("ps", "-aq", "--filter", f"label={label}").split()
    if ids:
        docker_cli("rm", "-f", "-v", *ids)


def remove_test_networks() -> None:
    for name in docker_cli("network", "ls", "--filter", f"name={NETWORK_PREFIX}", "--format", "{{.Name}}").split():
        if name.startswith(NETWORK_PREFIX):
            attached = docker_cli("network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{end}}", name)
            if attached.split():
                docker_cli("rm", "-f", "-v", *attached.split())
            docker_cli("network", "rm", name)


@pytest.fixture(scope="module", autouse=True)
def engine() -> Iterator[None]:
    require_docker()
    remove_test_networks()  # leftovers of an interrupted run would hold our subnets
    yield
    remove_test_networks()


@pytest.fixture(scope="module")
def network(engine: None) -> str:
    """A pod network for the module; `engine` removes it (and what is on it) at the end."""
    name = f"{NETWORK_PREFIX}{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        runtime = DockerRuntime()
        try:
            await runtime.ensure_network(name, subnet=SUBNET, gateway=GATEWAY)
        finally:
            await runtime.close()

    asyncio.run(create())
    return name


@pytest.fixture
def labels() -> Iterator[dict[str, str]]:
    """Labels for this test's containers; every container carrying them is removed afterwards."""
    test_id = uuid.uuid4().hex
    yield {TEST_LABEL: test_id, LABEL_MANAGED: "true"}
    remove_labelled_containers(f"{TEST_LABEL}={test_id}")


@pytest.fixture
async def runtime() -> AsyncIterator[DockerRuntime]:
    docker_runtime = DockerRuntime()
    conforming: ContainerRuntime = docker_runtime  # mypy holds it to the Protocol
    yield docker_runtime
    assert conforming is docker_runtime
    await docker_runtime.close()


def unique(prefix: str) -> str:
    return f"minik8s-test-{prefix}-{uuid.uuid4().hex[:8]}"


async def start_sandbox(runtime: DockerRuntime, network: str, labels: dict[str, str], **extra) -> str:
    info = await runtime.run_sandbox(SandboxSpec(name=unique("sandbox"), image=PAUSE, labels=labels,
                                                 network=network, hostname=extra.pop("hostname", "pod"), **extra))
    return info.id


async def start_busybox(runtime: DockerRuntime, sandbox_id: str, labels: dict[str, str], script: str,
                        **extra) -> str:
    container_id = await runtime.create_container(ContainerSpec(
        name=unique("app"), image=BUSYBOX, labels=labels, sandbox_id=sandbox_id,
        entrypoint=["sh", "-c"], args=[script], **extra))
    await runtime.start_container(container_id)
    return container_id


async def wait_for_state(runtime: DockerRuntime, container_id: str, state: str, *, timeout: float = 20):
    async def in_state() -> ContainerInfo | None:
        info = await runtime.inspect(container_id)
        return info if info is not None and info.state == state else None
    return await eventually(f"container {container_id[:12]} to become {state}", in_state, timeout=timeout)


async def exec_output(runtime: DockerRuntime, container_id: str, command: list[str], *, stdin: bytes | None = None,
                      tty: bool = False) -> tuple[dict[int, bytes], int]:
    session = await runtime.exec(container_id, command, stdin=stdin is not None, tty=tty)
    try:
        if stdin is not None:
            await session.write_stdin(stdin)
            await session.close_stdin()
        streams: dict[int, bytes] = {1: b"", 2: b""}
        async with asyncio.timeout(20):
            async for stream, data in session.output():
                streams[stream] += data
            return streams, await session.wait()
    finally:
        await session.close()


async def test_version_names_the_docker_engine(runtime: DockerRuntime) -> None:
    assert re.match(r"^docker://\d+\.\d+", await runtime.version())


async def test_an_unreachable_engine_raises_runtime_unavailable(tmp_path: Path) -> None:
    runtime = DockerRuntime(f"unix://{tmp_path}/no-docker.sock")
    try:
        with pytest.raises(RuntimeUnavailable):
            await runtime.version()
        with pytest.raises(RuntimeUnavailable):
            await runtime.list_containers({LABEL_MANAGED: "true"})
    finally:
        await runtime.close()


async def test_network_is_made_once_with_masquerade_off_and_another_subnet_is_refused(runtime: DockerRuntime) -> None:
    name = f"{NETWORK_PREFIX}{uuid.uuid4().hex[:8]}"
    try:
        await runtime.ensure_network(name, subnet="10.244.251.0/24", gateway="10.244.251.1")
        first_id = json.loads(docker_cli("network", "inspect", name))[0]["Id"]
        await runtime.ensure_network(name, subnet="10.244.251.0/24", gateway="10.244.251.1")
        details = json.loads(docker_cli("network", "inspect", name))[0]
        assert details["Id"] == first_id
        assert details["Driver"] == "bridge"
        assert details["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "false"
        assert details["Labels"] == {LABEL_MANAGED: "true"}
        assert details["IPAM"]["Config"] == [{"Subnet": "10.244.251.0/24", "Gateway": "10.244.251.1"}]
        with pytest.raises(RuntimeFailure, match=re.escape("exists with 10.244.251.0/24")):
            await runtime.ensure_network(name, subnet="10.244.252.0/24", gateway="10.244.252.1")
    finally:
        await runtime.remove_network(name)
    await runtime.remove_network(name)  # already gone: no error
    assert name not in docker_cli("network", "ls", "--format", "{{.Name}}").split()


async def test_pod_answers_on_its_ip_and_its_containers_share_localhost(
        runtime: DockerRuntime, network: str, labels: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello from the pod\n")
    sandbox = await runtime.run_sandbox(SandboxSpec(
        name=unique("sandbox"), image=PAUSE, labels=labels, network=network, hostname="web-0",
        dns_servers=["10.96.0.10"], dns_search=["default.svc.cluster.local"], dns_options=["ndots:5"],
        extra_hosts={"db.example": "10.244.250.99"}))
    assert sandbox.state == "running"
    assert sandbox.ip is not None and ipaddress.ip_address(sandbox.ip) in ipaddress.ip_network(SUBNET)
    await start_busybox(runtime, sandbox.id, labels, "exec httpd -f -p 8080 -h /www",
                        mounts=[Mount(source=str(tmp_path), target="/www", read_only=True)])
    client = await start_busybox(runtime, sandbox.id, labels, "exec sleep 300")
    async with httpx.AsyncClient(timeout=2) as http:
        async def served() -> httpx.Response | None:
            response = await http.get(f"http://{sandbox.ip}:8080/index.html")
            return response if response.status_code == 200 else None
        answer = await eventually("the pod to answer on its IP", served, timeout=20)
    assert answer.text == "hello from the pod\n"
    output, exit_code = await exec_output(runtime, client, [
        "sh", "-c", "timeout 3 wget -qO- http://127.0.0.1:8080/index.html; hostname; cat /etc/hosts /etc/resolv.conf"])
    assert exit_code == 0, output
    text = output[1].decode()
    assert text.startswith("hello from the pod\nweb-0\n")
    assert re.search(r"^10\.244\.250\.99\s+db\.example$", text, re.MULTILINE)
    assert text.endswith("search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")


async def test_a_sandbox_of_the_same_name_is_replaced(runtime: DockerRuntime, network: str,
                                                      labels: dict[str, str]) -> None:
    spec = SandboxSpec(name=unique("sandbox"), image=PAUSE, labels=labels, network=network, hostname="pod")
    first = await runtime.run_sandbox(spec)
    await runtime.stop_container(first.id, grace_seconds=0)
    second = await runtime.run_sandbox(spec)
    assert second.id != first.id and second.state == "running" and second.ip
    assert await runtime.inspect(first.id) is None


@pytest.mark.parametrize(("image", "entrypoint", "args", "expected_entrypoint", "expected_cmd"), [
    (BUSYBOX, None, None, None, ["sh"]),  # the image's defaults
    (BUSYBOX, ["echo"], None, ["echo"], None),  # command drops the image's CMD
    (BUSYBOX, None, ["echo", "hi"], None, ["echo", "hi"]),  # args replace CMD
    (PAUSE, None, ["-v"], ["/pause"], ["-v"]),  # args alone keep the image's ENTRYPOINT
    (PAUSE, ["/bin/true"], ["x"], ["/bin/true"], ["x"]),
    (PAUSE, [], [], ["/pause"], None),  # empty lists mean "not set"
])
async def test_command_and_args_follow_kubernetes(runtime: DockerRuntime, network: str, labels: dict[str, str],
                                                  image, entrypoint, args, expected_entrypoint, expected_cmd) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await runtime.create_container(ContainerSpec(
        name=unique("app"), image=image, labels=labels, sandbox_id=sandbox_id, entrypoint=entrypoint, args=args))
    config = docker_inspect(container_id)["Config"]
    assert (config["Entrypoint"], config["Cmd"]) == (expected_entrypoint, expected_cmd)


async def test_container_sees_env_working_dir_and_mounts(runtime: DockerRuntime, network: str,
                                                         labels: dict[str, str], tmp_path: Path) -> None:
    readable, writable = tmp_path / "ro", tmp_path / "rw"
    readable.mkdir()
    writable.mkdir()
    (readable / "in.txt").write_text("config data\n")
    sandbox_id = await start_sandbox(runtime, network, labels)
    script = ('echo "$GREETING $EMPTY|" > /rw/env; pwd > /rw/pwd; cat /ro/in.txt > /rw/copy; '
              "if touch /ro/x 2>/dev/null; then echo writable; else echo refused; fi > /rw/ro")
    container_id = await start_busybox(
        runtime, sandbox_id, labels, script, env={"GREETING": "hello world", "EMPTY": ""}, working_dir="/var/www",
        mounts=[Mount(source=str(readable), target="/ro", read_only=True), Mount(source=str(writable), target="/rw")])
    info = await wait_for_state(runtime, container_id, "exited")
    assert info.exit_code == 0
    assert (writable / "env").read_text() == "hello world |\n"
    assert (writable / "pwd").read_text() == "/var/www\n"
    assert (writable / "copy").read_text() == "config data\n"
    assert (writable / "ro").read_text() == "refused\n"


@pytest.mark.parametrize(("cpu_millis", "memory_bytes", "quota", "memory"), [
    (250, 64 * 1024 * 1024, 25_000, 64 * 1024 * 1024),
    (1, None, 1_000, 0),  # the kernel's minimum quota
    (None, None, 0, 0),  # no limits at all
])
async def test_limits_and_shared_namespaces_are_set(runtime: DockerRuntime, network: str, labels: dict[str, str],
                                                    cpu_millis, memory_bytes, quota, memory) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await runtime.create_container(ContainerSpec(
        name=unique("app"), image=BUSYBOX, labels=labels, sandbox_id=sandbox_id, cpu_millis=cpu_millis,
        memory_bytes=memory_bytes))
    host_config = docker_inspect(container_id)["HostConfig"]
    assert host_config["CpuQuota"] == quota
    assert host_config["CpuPeriod"] == (100_000 if cpu_millis else 0)
    assert host_config["Memory"] == memory
    assert host_config["MemorySwap"] == memory
    assert host_config["NetworkMode"] == host_config["IpcMode"] == f"container:{sandbox_id}"
    assert host_config["RestartPolicy"]["Name"] == "no"
    assert host_config["LogConfig"]["Type"] == "json-file"


async def test_stop_sends_sigterm_first_and_sigkill_after_the_grace_period(
        runtime: DockerRuntime, network: str, labels: dict[str, str], tmp_path: Path) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    marks = Mount(source=str(tmp_path), target="/marks")
    loop = "while :; do sleep 1 & wait; done"
    stubborn = await start_busybox(runtime, sandbox_id, labels, f"trap 'echo term > /marks/stubborn' TERM; {loop}",
                                   mounts=[marks])
    polite = await start_busybox(runtime, sandbox_id, labels, f"trap 'echo term > /marks/polite; exit 0' TERM; {loop}",
                                 mounts=[marks])
    await wait_for_state(runtime, stubborn, "running")
    await wait_for_state(runtime, polite, "running")

    async def timed_stop(container_id: str) -> float:
        started = time.monotonic()
        await runtime.stop_container(container_id, grace_seconds=2)
        return time.monotonic() - started

    stubborn_seconds, polite_seconds = await asyncio.gather(timed_stop(stubborn), timed_stop(polite))
    assert (tmp_path / "stubborn").read_text() == "term\n"
    assert (tmp_path / "polite").read_text() == "term\n"
    assert 1.8 <= stubborn_seconds < 10
    assert polite_seconds < 1.8
    assert (await wait_for_state(runtime, stubborn, "exited")).exit_code == 137  # SIGKILL
    assert (await wait_for_state(runtime, polite, "exited")).exit_code == 0
    await runtime.stop_container(polite, grace_seconds=1)  # already stopped: no error
    await runtime.remove_container(polite)
    await runtime.remove_container(polite)  # already gone: no error
    await runtime.stop_container(polite, grace_seconds=1)


async def test_events_report_die_and_destroy_with_the_labels(runtime: DockerRuntime, network: str,
                                                             labels: dict[str, str]) -> None:
    events = runtime.events(labels)  # events from here on, even before the stream connects
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(runtime, sandbox_id, labels | {"minik8s.io/container": "main"}, "exit 3")
    await wait_for_state(runtime, container_id, "exited")
    await runtime.remove_container(container_id)
    seen: list[ContainerEvent] = []
    async with asyncio.timeout(20):
        async for event in events:
            seen.append(event)
            if event.container_id == container_id and event.action == "destroy":
                break
    await events.aclose()  # type: ignore[attr-defined]
    mine = [event.action for event in seen if event.container_id == container_id]
    assert mine == ["create", "start", "die", "destroy"]
    die = next(event for event in seen if event.container_id == container_id and event.action == "die")
    assert die.labels[TEST_LABEL] == labels[TEST_LABEL] and die.labels["minik8s.io/container"] == "main"
    assert "exitCode" not in die.labels and "name" not in die.labels
    assert {event.container_id for event in seen} == {sandbox_id, container_id}


async def test_logs_tail_follow_timestamps_and_limit(runtime: DockerRuntime, network: str,
                                                     labels: dict[str, str], tmp_path: Path) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(
        runtime, sandbox_id, labels, "echo one; echo two >&2; while [ ! -e /ctl/go ]; do sleep 0.05; done; echo three",
        mounts=[Mount(source=str(tmp_path), target="/ctl")])
    followed = b""
    async with asyncio.timeout(20):
        async for chunk in runtime.logs(container_id, LogOptions(follow=True)):
            followed += chunk
            if b"one\n" in followed and b"two\n" in followed:
                (tmp_path / "go").touch()  # the rest must arrive on the same stream, which ends at exit
    assert sorted(followed.splitlines()) == [b"one", b"three", b"two"]
    assert followed.endswith(b"three\n")
    await wait_for_state(runtime, container_id, "exited")

    async def read(options: LogOptions) -> bytes:
        return b"".join([chunk async for chunk in runtime.logs(container_id, options)])

    assert await read(LogOptions(tail_lines=1)) == b"three\n"
    assert await read(LogOptions(tail_lines=0)) == b""
    assert await read(LogOptions(limit_bytes=5)) == followed[:5]
    assert await read(LogOptions(since_seconds=3600)) == followed
    stamped = (await read(LogOptions(timestamps=True))).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == followed.decode().splitlines()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", line) for line in stamped)


async def test_logs_of_a_tty_container_and_of_a_missing_one(runtime: DockerRuntime, network: str,
                                                            labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(runtime, sandbox_id, labels, "echo out; echo err >&2", tty=True)
    await wait_for_state(runtime, container_id, "exited")
    logged = b"".join([chunk async for chunk in runtime.logs(container_id, LogOptions())])
    assert logged == b"out\r\nerr\r\n"
    with pytest.raises(RuntimeFailure, match="No such container"):
        async for _ in runtime.logs("minik8s-test-no-such-container", LogOptions()):
            pass


async def test_exec_separates_stdout_and_stderr_and_reports_the_exit_code(
        runtime: DockerRuntime, network: str, labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(runtime, sandbox_id, labels, "exec sleep 300")
    output, exit_code = await exec_output(runtime, container_id, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (output, exit_code) == ({1: b"out\n", 2: b"err\n"}, 7)
    output, exit_code = await exec_output(runtime, container_id, ["cat"], stdin=b"hello\nstdin\n")
    assert (output, exit_code) == ({1: b"hello\nstdin\n", 2: b""}, 0)
    output, exit_code = await exec_output(runtime, container_id, ["sh", "-c", "echo out; echo err >&2"], tty=True)
    assert (output, exit_code) == ({1: b"out\r\nerr\r\n", 2: b""}, 0)
    output, exit_code = await exec_output(runtime, container_id, ["no-such-binary"])
    assert exit_code in (126, 127) and b"no-such-binary" in output[1] + output[2]  # the engine's message


async def test_exec_with_a_tty_resizes_and_close_ends_the_output(
        runtime: DockerRuntime, network: str, labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(runtime, sandbox_id, labels, "exec sleep 300")
    session = await runtime.exec(container_id, ["sh"], stdin=True, tty=True)
    await session.resize(width=123, height=45)
    await session.write_stdin(b"stty size; echo done-$((40+2))\n")
    seen = b""
    async with asyncio.timeout(20):
        async for _, data in session.output():
            seen += data
            if b"done-42" in seen:
                await session.close()
    assert b"45 123" in seen
    with pytest.raises(RuntimeFailure):
        await runtime.exec("minik8s-test-no-such-container", ["true"], stdin=False, tty=False)


async def test_images_are_found_and_a_missing_image_fails_to_pull_quickly(runtime: DockerRuntime, network: str,
                                                                          labels: dict[str, str]) -> None:
    busybox_id = await runtime.image_id(BUSYBOX)
    assert busybox_id is not None and busybox_id.startswith("sha256:")
    missing = f"minik8s-test/no-such-image:{uuid.uuid4().hex[:8]}"
    assert await runtime.image_id(missing) is None
    started = time.monotonic()
    with pytest.raises(ImagePullError) as raised:
        await runtime.pull_image(missing)
    assert time.monotonic() - started < 35
    assert raised.value.reason == "ErrImagePull" and missing.split(":")[0] in str(raised.value)
    sandbox_id = await start_sandbox(runtime, network, labels)
    with pytest.raises(RuntimeFailure, match="not present") as failed:
        await runtime.create_container(ContainerSpec(name=unique("app"), image=missing, labels=labels,
                                                     sandbox_id=sandbox_id))
    assert failed.value.reason == "CreateContainerError"


async def test_list_reports_states_exit_codes_times_and_only_matching_labels(
        runtime: DockerRuntime, network: str, labels: dict[str, str]) -> None:
    other_labels = labels | {"minik8s.io/pod-uid": "other"}
    sandbox = await runtime.run_sandbox(SandboxSpec(name=unique("sandbox"), image=PAUSE, network=network,
                                                    labels=labels | {"minik8s.io/pod-uid": "mine"}, hostname="p"))
    exited = await start_busybox(runtime, sandbox.id, labels | {"minik8s.io/pod-uid": "mine"}, "exit 3")
    running = await start_busybox(runtime, sandbox.id, labels | {"minik8s.io/pod-uid": "mine"}, "exec sleep 300")
    created = await runtime.create_container(ContainerSpec(name=unique("app"), image=BUSYBOX, labels=other_labels,
                                                           sandbox_id=sandbox.id))
    await wait_for_state(runtime, exited, "exited")
    for _ in range(2):  # the second list answers from what the first one inspected
        listed = {info.id: info for info in await runtime.list_containers(labels | {"minik8s.io/pod-uid": "mine"})}
        assert set(listed) == {sandbox.id, exited, running}
        assert listed[sandbox.id].ip == sandbox.ip and listed[sandbox.id].state == "running"
        assert listed[exited].state == "exited" and listed[exited].exit_code == 3
        assert RFC3339.match(listed[exited].finished_at or "") and RFC3339.match(listed[exited].started_at or "")
        assert listed[running].state == "running" and listed[running].exit_code is None
        assert RFC3339.match(listed[running].started_at or "") and listed[running].pid
        assert listed[running].image == BUSYBOX and listed[running].image_id.startswith("sha256:")
        assert listed[running].name.startswith("minik8s-test-app-")
    everything = {info.id: info for info in await runtime.list_containers(labels)}
    assert everything[created].state == "created" and everything[created].started_at is None
    await runtime.stop_container(running, grace_seconds=0)
    listed = {info.id: info for info in await runtime.list_containers(labels | {"minik8s.io/pod-uid": "mine"})}
    assert listed[running].state == "exited" and listed[running].exit_code == 137
    await runtime.remove_container(exited)
    assert exited not in {info.id for info in await runtime.list_containers(labels)}


async def test_a_bad_command_fails_to_start_with_run_container_error(runtime: DockerRuntime, network: str,
                                                                     labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await runtime.create_container(ContainerSpec(
        name=unique("app"), image=BUSYBOX, labels=labels, sandbox_id=sandbox_id, entrypoint=["/no/such/binary"]))
    with pytest.raises(RuntimeFailure) as failed:
        await runtime.start_container(container_id)
    assert failed.value.reason == "RunContainerError" and "/no/such/binary" in str(failed.value)
    info = await runtime.inspect(container_id)
    assert info is not None and info.state in ("created", "exited") and info.error


async def test_cancelled_streams_leave_no_thread_behind(runtime: DockerRuntime, network: str,
                                                        labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    container_id = await start_busybox(runtime, sandbox_id, labels, "echo started; exec sleep 300")
    first_chunk = asyncio.get_running_loop().create_future()

    async def follow_logs() -> None:
        async for chunk in runtime.logs(container_id, LogOptions(follow=True)):
            if not first_chunk.done():
                first_chunk.set_result(chunk)

    async def watch_events() -> None:
        async for _ in runtime.events({TEST_LABEL: "nothing-carries-this"}):
            pass

    tasks = [asyncio.create_task(follow_logs()), asyncio.create_task(watch_events())]
    assert await asyncio.wait_for(first_chunk, 20) == b"started\n"  # the log stream is connected and idle
    names = {"docker-logs", "docker-events"}
    assert names <= {thread.name for thread in threading.enumerate()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await eventually("the stream threads to end with their consumer",
                     lambda: not names & {thread.name for thread in threading.enumerate()}, timeout=10)


async def test_an_images_user_is_read_from_its_config(runtime: DockerRuntime) -> None:
    assert await runtime.image_user(BUSYBOX) == ""  # no USER: runs as root, which runAsNonRoot refuses
    with pytest.raises(RuntimeFailure) as missing:
        await runtime.image_user(f"minik8s-test/no-such-image:{uuid.uuid4().hex[:8]}")
    assert missing.value.reason == "CreateContainerError"


async def test_the_security_options_reach_the_engine(runtime: DockerRuntime, network: str,
                                                     labels: dict[str, str]) -> None:
    sandbox_id = await start_sandbox(runtime, network, labels)
    security = SecurityOptions(user="1000:3000", group_add=(2000,), cap_add=("CAP_NET_ADMIN",),
                               cap_drop=("CAP_CHOWN",), read_only_root=True, no_new_privileges=True,
                               seccomp="unconfined")
    container_id = await start_busybox(runtime, sandbox_id, labels, "id -u; exec sleep 60", security=security,
                                       namespaces=NamespaceOptions(share_process_namespace=True))
    details = docker_inspect(container_id)
    host_config = details["HostConfig"]
    assert details["Config"]["User"] == "1000:3000"
    assert host_config["GroupAdd"] == ["2000"] and host_config["ReadonlyRootfs"] is True
    assert host_config["CapAdd"] == ["CAP_NET_ADMIN"] and host_config["CapDrop"] == ["CAP_CHOWN"]
    options = host_config["SecurityOpt"]
    assert any(option.startswith("no-new-privileges") for option in options) and "seccomp=unconfined" in options
    assert host_config["PidMode"] == f"container:{sandbox_id}"
    streams, code = await exec_output(runtime, container_id, ["id", "-G"])
    assert code == 0 and set(streams[1].decode().split()) == {"3000", "2000"}


async def test_host_ports_are_published_on_the_address_given(runtime: DockerRuntime, network: str,
                                                             labels: dict[str, str]) -> None:
    port = free_port()
    sandbox_id = await start_sandbox(runtime, network, labels,
                                     port_bindings=[PortBinding(GATEWAY, port, "tcp", 8080)])
    bindings = docker_inspect(sandbox_id)["HostConfig"]["PortBindings"]
    assert bindings == {"8080/tcp": [{"HostIp": GATEWAY, "HostPort": str(port)}]}


async def test_a_host_network_sandbox_is_on_the_hosts_network_without_an_ip(runtime: DockerRuntime, network: str,
                                                                           labels: dict[str, str]) -> None:
    info = await runtime.run_sandbox(SandboxSpec(name=unique("sandbox"), image=PAUSE, labels=labels, network=network,
                                                 hostname="ignored",
                                                 namespaces=NamespaceOptions(host_network=True, host_pid=True)))
    host_config = docker_inspect(info.id)["HostConfig"]
    assert (host_config["NetworkMode"], host_config["PidMode"]) == ("host", "host")
    assert info.ip is None  # the pod's IP is its node's
