"""What DockerRuntime asks of Docker and how it reads the answers, without an engine."""

from __future__ import annotations

import pytest
from docker.utils import convert_port_bindings

from minik8s.node.docker.capabilities import missing_from
from minik8s.node.docker.wire import (
    ContainerDetails,
    FrameDemultiplexer,
    container_arguments,
    container_event,
    container_info_from_inspect,
    cpu_quota,
    image_reference,
    log_parameters,
    resolv_conf_text,
    rfc3339,
    sandbox_arguments,
    security_arguments,
)
from minik8s.node.runtime import (
    ContainerSpec,
    LogOptions,
    Mount,
    NamespaceOptions,
    PortBinding,
    SandboxSpec,
    SecurityOptions,
)


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize("chunk_size", [1, 3, 8, 9, 1000])
def test_frames_are_split_into_stdout_and_stderr_whatever_the_chunking(chunk_size: int) -> None:
    stream = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"") + frame(3, b"engine error") + frame(1, b"x" * 20)
    demultiplexer = FrameDemultiplexer()
    frames = []
    for start in range(0, len(stream), chunk_size):
        frames += demultiplexer.feed(stream[start:start + chunk_size])
    assert frames == [(1, b"out\n"), (2, b"err\n"), (2, b"engine error"), (1, b"x" * 20)]
    assert demultiplexer.pending == 0


@pytest.mark.parametrize(("docker_time", "expected"), [
    ("2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00Z"),
    ("2024-05-01T12:00:00.5+02:00", "2024-05-01T10:00:00Z"),
    ("0001-01-01T00:00:00Z", None),  # Docker's "never"
    ("", None),
    (None, None),
    ("yesterday", None),
])
def test_docker_times_become_kubernetes_times(docker_time: str | None, expected: str | None) -> None:
    assert rfc3339(docker_time) == expected


@pytest.mark.parametrize(("command", "args", "entrypoint", "cmd"), [
    (None, None, None, None),  # the image's ENTRYPOINT and CMD
    (["/app"], None, ["/app"], None),  # command replaces ENTRYPOINT; Docker then drops the image's CMD
    (None, ["--flag"], None, ["--flag"]),  # args replace CMD and keep ENTRYPOINT
    (["/app"], ["--flag"], ["/app"], ["--flag"]),
    ([], [], None, None),  # empty means unset, as in Kubernetes
])
def test_command_and_args_map_to_entrypoint_and_cmd(command, args, entrypoint, cmd) -> None:
    create, _ = container_arguments(ContainerSpec(name="c", image="i", labels={}, sandbox_id="s",
                                                  entrypoint=command, args=args))
    assert (create["entrypoint"], create["command"]) == (entrypoint, cmd)


def test_a_container_joins_its_sandbox_with_limits_and_binds() -> None:
    create, host = container_arguments(ContainerSpec(
        name="c", image="i", labels={"k": "v"}, sandbox_id="sandbox-id", env={"A": "1"}, working_dir="/w",
        mounts=[Mount("/host/a", "/a", read_only=True), Mount("/host/a", "/b")], cpu_millis=1500,
        memory_bytes=128 * 2**20, stdin=True, tty=True))
    assert host["network_mode"] == host["ipc_mode"] == "container:sandbox-id"
    assert (host["cpu_period"], host["cpu_quota"]) == (100_000, 150_000)
    assert host["mem_limit"] == host["memswap_limit"] == 128 * 2**20
    assert host["mounts"] == [{"Type": "bind", "Source": "/host/a", "Target": "/a", "ReadOnly": True},
                              {"Type": "bind", "Source": "/host/a", "Target": "/b", "ReadOnly": False}]
    assert host["restart_policy"] == {"Name": "no"} and host["log_config"]["type"] == "json-file"
    assert create["environment"] == {"A": "1"} and create["working_dir"] == "/w"
    assert create["stdin_open"] and create["tty"] and create["labels"] == {"k": "v"}


@pytest.mark.parametrize(("millis", "quota"), [(1, 1_000), (10, 1_000), (11, 1_100), (250, 25_000), (2000, 200_000)])
def test_cpu_quota_follows_the_kubelet(millis: int, quota: int) -> None:
    assert cpu_quota(millis) == quota


NODE_IP = "10.244.1.1"


def test_a_sandbox_owns_network_dns_hosts_and_ports_published_on_the_node_address_only() -> None:
    create, host = sandbox_arguments(SandboxSpec(
        name="s", image="pause", labels={}, network="net", hostname="web", dns_servers=["10.96.0.10"],
        extra_hosts={"db": "10.0.0.9"}, port_bindings=[PortBinding(NODE_IP, 8080, "tcp", 80),
                                                       PortBinding(NODE_IP, 8081, "tcp", 80),
                                                       PortBinding(NODE_IP, 5353, "udp", 53)]))
    assert host["network_mode"] == "net" and host["ipc_mode"] == "shareable" and host["pid_mode"] is None
    assert host["port_bindings"] == {"80/tcp": [(NODE_IP, 8080), (NODE_IP, 8081)], "53/udp": [(NODE_IP, 5353)]}
    assert create["ports"] == [(80, "tcp"), (53, "udp")]
    assert host["dns"] == ["10.96.0.10"] and host["dns_search"] is None and host["extra_hosts"] == {"db": "10.0.0.9"}
    assert create["hostname"] == "web"


def test_the_docker_sdk_publishes_a_host_port_on_the_address_given() -> None:
    _, host = sandbox_arguments(SandboxSpec(name="s", image="p", labels={}, network="n", hostname="h",
                                            port_bindings=[PortBinding(NODE_IP, 8080, "tcp", 80)]))
    assert convert_port_bindings(host["port_bindings"]) == {"80/tcp": [{"HostIp": NODE_IP, "HostPort": "8080"}]}


def test_a_host_network_sandbox_is_in_the_node_namespaces_with_no_ports_or_hostname_of_its_own() -> None:
    create, host = sandbox_arguments(SandboxSpec(
        name="s", image="pause", labels={}, network="net", hostname="web",
        port_bindings=[PortBinding(NODE_IP, 8080, "tcp", 8080)],
        namespaces=NamespaceOptions(host_network=True, host_pid=True, host_ipc=True)))
    assert (host["network_mode"], host["pid_mode"], host["ipc_mode"]) == ("host", "host", "host")
    assert host["port_bindings"] is None and create["ports"] is None
    assert create["hostname"] is None  # the node's own


@pytest.mark.parametrize(("namespaces", "modes"), [
    (NamespaceOptions(), ("container:sb", "container:sb", None)),
    (NamespaceOptions(share_process_namespace=True), ("container:sb", "container:sb", "container:sb")),
    (NamespaceOptions(host_pid=True, host_ipc=True), ("container:sb", "host", "host")),
    (NamespaceOptions(host_network=True), ("container:sb", "container:sb", None)),  # the sandbox is on the host
])
def test_a_container_joins_its_sandbox_namespaces_or_the_hosts(namespaces: NamespaceOptions,
                                                               modes: tuple[str, str, str | None]) -> None:
    _, host = container_arguments(ContainerSpec(name="c", image="i", labels={}, sandbox_id="sb", namespaces=namespaces))
    assert (host["network_mode"], host["ipc_mode"], host["pid_mode"]) == modes


def test_a_container_without_a_security_context_keeps_dockers_defaults() -> None:
    create, host = container_arguments(ContainerSpec(name="c", image="i", labels={}, sandbox_id="sb"))
    assert create["user"] is None  # the image's USER
    assert host["privileged"] is False and host["read_only"] is None
    assert host["cap_add"] is host["cap_drop"] is host["group_add"] is host["security_opt"] is None


def test_the_security_context_reaches_docker() -> None:
    security = SecurityOptions(user="1000:3000", group_add=(2000, 4000), cap_add=("CAP_NET_ADMIN",),
                               cap_drop=("ALL",), privileged=True, read_only_root=True, no_new_privileges=True,
                               seccomp="unconfined", apparmor_unconfined=True)
    create, host = container_arguments(ContainerSpec(name="c", image="i", labels={}, sandbox_id="sb",
                                                     security=security))
    assert create["user"] == "1000:3000"
    assert host["group_add"] == ["2000", "4000"]
    assert (host["cap_add"], host["cap_drop"]) == (["CAP_NET_ADMIN"], ["ALL"])
    assert host["privileged"] is True and host["read_only"] is True
    assert host["security_opt"] == ["no-new-privileges", "seccomp=unconfined", "apparmor=unconfined"]


def test_a_localhost_seccomp_profile_goes_to_docker_as_its_json() -> None:
    profile = '{"defaultAction":"SCMP_ACT_ERRNO"}'
    _, host = container_arguments(ContainerSpec(name="c", image="i", labels={}, sandbox_id="sb",
                                                security=SecurityOptions(seccomp=profile)))
    assert host["security_opt"] == [f"seccomp={profile}"]


def test_resolv_conf_lists_search_servers_and_options() -> None:
    spec = SandboxSpec(name="s", image="p", labels={}, network="n", hostname="h", dns_servers=["10.96.0.10"],
                       dns_search=["ns.svc.cluster.local", "svc.cluster.local"], dns_options=["ndots:5"])
    assert resolv_conf_text(spec) == ("search ns.svc.cluster.local svc.cluster.local\n"
                                      "nameserver 10.96.0.10\noptions ndots:5\n")


@pytest.mark.parametrize(("image", "expected"), [
    ("busybox", ("busybox", "latest")),
    ("minik8s/busybox:latest", ("minik8s/busybox", "latest")),
    ("localhost:5000/app", ("localhost:5000/app", "latest")),
    ("localhost:5000/app:1.2", ("localhost:5000/app", "1.2")),
    ("app@sha256:abcd", ("app", "sha256:abcd")),
])
def test_image_references_split_into_repository_and_tag(image: str, expected: tuple[str, str]) -> None:
    assert image_reference(image) == expected


def test_log_parameters() -> None:
    assert log_parameters(LogOptions(), now_nanos=0) == {"stdout": 1, "stderr": 1, "follow": 0, "timestamps": 0,
                                                         "tail": "all"}
    asked = log_parameters(LogOptions(follow=True, tail_lines=10, since_seconds=5, timestamps=True),
                           now_nanos=1_700_000_010_250_000_000)
    assert asked == {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1, "tail": "10",
                     "since": "1700000005.250000000"}


def test_events_carry_labels_without_docker_attributes() -> None:
    event = container_event({"Type": "container", "Action": "die", "Actor": {"ID": "abc", "Attributes": {
        "exitCode": "3", "image": "busybox", "name": "app", "minik8s.io/pod-uid": "u"}}})
    assert event is not None and (event.container_id, event.action) == ("abc", "die")
    assert event.labels == {"minik8s.io/pod-uid": "u"}
    assert container_event({"Type": "network", "Action": "connect", "Actor": {"ID": "n"}}) is None


def inspected(container_id: str, status: str, *, exit_code: int = 0, labels: dict[str, str] | None = None) -> dict:
    return {"Id": container_id, "Name": f"/{container_id}-name", "Image": "sha256:1",
            "Config": {"Image": "busybox", "Labels": labels or {"pod": "p"}},
            "State": {"Status": status, "ExitCode": exit_code, "Pid": 42 if status == "running" else 0,
                      "StartedAt": "2024-05-01T10:00:00.1Z", "FinishedAt": "2024-05-01T10:05:00.1Z",
                      "OOMKilled": False, "Error": ""},
            "NetworkSettings": {"Networks": {"pods": {"IPAddress": "10.244.1.5"}}}}


def test_inspect_answers_become_container_info() -> None:
    exited = container_info_from_inspect(inspected("a", "exited", exit_code=3))
    assert (exited.name, exited.state, exited.exit_code, exited.finished_at, exited.pid) == (
        "a-name", "exited", 3, "2024-05-01T10:05:00Z", None)
    assert (exited.image, exited.image_id, exited.ip) == ("busybox", "sha256:1", "10.244.1.5")
    running = container_info_from_inspect(inspected("b", "running"))
    assert (running.exit_code, running.finished_at, running.pid) == (None, None, 42)  # no stale finish time


def test_details_are_inspected_again_only_when_the_state_changed() -> None:
    details = ContainerDetails()
    summaries = [{"Id": "a", "State": "running", "Names": ["/a"], "Labels": {"pod": "p"}}]
    assert details.stale(summaries) == ["a"]
    details.remember(container_info_from_inspect(inspected("a", "running")))
    assert details.stale(summaries) == []
    assert details.listing(summaries, {"pod": "p"})[0].pid == 42
    assert details.stale([{"Id": "a", "State": "exited"}]) == ["a"]
    details.forget("a")
    assert details.stale(summaries) == ["a"]
    details.remember(container_info_from_inspect(inspected("a", "running")))
    assert details.listing([], {"pod": "p"}) == []  # gone from a listing that would show it: dropped
    assert details.stale(summaries) == ["a"]


def test_privileged_on_a_node_short_of_capabilities_grants_every_one_it_holds() -> None:
    """Docker's --privileged and --cap-add ALL fail when the agent lacks a capability (these machines lack
    CAP_SYS_RESOURCE): a privileged container gets ALL but the missing ones, unconfined, as runtimes do."""
    missing = missing_from("000001fffeffffff", 40)
    assert missing == {"CAP_SYS_RESOURCE"}
    emulated = security_arguments(SecurityOptions(privileged=True), missing)
    assert emulated["privileged"] is False and emulated["cap_add"] == ["ALL"]
    assert emulated["cap_drop"] == ["CAP_SYS_RESOURCE"]
    assert emulated["security_opt"] == ["seccomp=unconfined", "apparmor=unconfined"]
    added = security_arguments(SecurityOptions(cap_add=("ALL",), cap_drop=("CAP_CHOWN",)), missing)
    assert added["cap_add"] == ["ALL"] and added["cap_drop"] == ["CAP_CHOWN", "CAP_SYS_RESOURCE"]
    whole = security_arguments(SecurityOptions(privileged=True), missing_from("1ffffffffff", 40))
    assert whole["privileged"] is True and whole["cap_add"] is None and whole["security_opt"] is None


def test_a_sandbox_with_a_domain_gets_it_so_its_hosts_file_names_the_fqdn() -> None:
    create, _ = sandbox_arguments(SandboxSpec(name="s", image="p", labels={}, network="n", hostname="web-0",
                                              domainname="web.default.svc.cluster.local"))
    assert (create["hostname"], create["domainname"]) == ("web-0", "web.default.svc.cluster.local")
    plain, _ = sandbox_arguments(SandboxSpec(name="s", image="p", labels={}, network="n", hostname="h"))
    assert plain["domainname"] is None
