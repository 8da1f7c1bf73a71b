"""A pod's securityContext becomes what Docker runs the container with, as the kubelet decides it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from minik8s.node.env import ConfigError
from minik8s.node.runtime import NamespaceOptions, SecurityOptions
from minik8s.node.security_context import (
    capability_name,
    docker_user,
    effective_security_context,
    fs_user,
    image_user_id,
    namespace_options,
    security_options,
    unsupported_settings,
    verify_run_as_non_root,
)

POD_REF = "web_default(uid-1)"


def pod(pod_context: dict[str, Any] | None = None, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": list(containers) or [{"name": "main", "image": "busybox"}], **spec}
    if pod_context is not None:
        body["securityContext"] = pod_context
    return {"metadata": {"name": "web", "namespace": "default", "uid": "uid-1"}, "spec": body}


def container(context: dict[str, Any] | None = None, name: str = "main") -> dict[str, Any]:
    return {"name": name, "image": "busybox", **({"securityContext": context} if context is not None else {})}


def no_profiles(name: str) -> str:
    raise AssertionError(f"no Localhost profile expected, asked for {name}")


def options(pod_context: dict[str, Any] | None, context: dict[str, Any] | None = None, *,
            image_user: str = "", **spec: Any) -> SecurityOptions:
    own = container(context)
    return security_options(pod(pod_context, own, **spec), own, image_user=image_user, read_seccomp_profile=no_profiles)


def test_a_container_field_overrides_the_pods_and_the_rest_come_from_the_pod() -> None:
    effective = effective_security_context(
        pod({"runAsUser": 1000, "runAsGroup": 3000, "runAsNonRoot": True, "fsGroup": 2000}),
        container({"runAsUser": 1001, "readOnlyRootFilesystem": True}))
    assert effective == {"runAsUser": 1001, "runAsGroup": 3000, "runAsNonRoot": True, "readOnlyRootFilesystem": True}


def test_without_any_security_context_docker_keeps_its_defaults() -> None:
    assert options(None) == SecurityOptions()


@pytest.mark.parametrize(("run_as_user", "run_as_group", "image_user", "expected"), [
    (None, None, "nobody", None),  # the image's USER, group and all
    (1000, None, "", "1000"),
    (1000, 3000, "", "1000:3000"),
    (None, 3000, "", "0:3000"),  # the kubelet runs a USER-less image as uid 0
    (None, 3000, "999:999", "999:3000"),
    (None, 3000, "app", "app:3000"),
    (0, None, "app", "0"),
])
def test_the_docker_user_follows_run_as_user_and_group(run_as_user: int | None, run_as_group: int | None,
                                                       image_user: str, expected: str | None) -> None:
    assert docker_user(run_as_user, run_as_group, image_user) == expected


def test_pod_run_as_user_and_group_reach_docker() -> None:
    assert options({"runAsUser": 1000, "runAsGroup": 3000}).user == "1000:3000"
    assert options({"runAsUser": 1000}, {"runAsUser": 2000}).user == "2000"


def test_fs_group_then_supplemental_groups_are_added_to_every_container() -> None:
    assert options({"fsGroup": 2000, "supplementalGroups": [4000, 2000, 5000]}).group_add == (2000, 4000, 5000)


@pytest.mark.parametrize(("names", "expected"), [
    (["NET_ADMIN", "cap_sys_time", "CAP_CHOWN"], ("CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_CHOWN")),
    (["all"], ("ALL",)),
])
def test_capabilities_are_named_as_docker_wants_them(names: list[str], expected: tuple[str, ...]) -> None:
    assert tuple(capability_name(name) for name in names) == expected


def test_capabilities_are_the_containers_own() -> None:
    got = options({"runAsUser": 1}, {"capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN", "chown"]}})
    assert (got.cap_add, got.cap_drop) == (("CAP_NET_ADMIN",), ("CAP_CHOWN",))


def test_privilege_read_only_root_and_no_new_privileges() -> None:
    got = options(None, {"privileged": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False})
    assert (got.privileged, got.read_only_root, got.no_new_privileges) == (True, True, True)
    assert options(None, {"allowPrivilegeEscalation": True}).no_new_privileges is False


@pytest.mark.parametrize(("pod_profile", "own_profile", "expected"), [
    (None, None, None),  # Docker's default profile
    ({"type": "RuntimeDefault"}, None, None),
    ({"type": "Unconfined"}, None, "unconfined"),
    ({"type": "Unconfined"}, {"type": "RuntimeDefault"}, None),  # the container's wins
    (None, {"type": "Unconfined"}, "unconfined"),
])
def test_seccomp_profiles(pod_profile: dict[str, str] | None, own_profile: dict[str, str] | None,
                          expected: str | None) -> None:
    pod_context = {"seccompProfile": pod_profile} if pod_profile else None
    own = {"seccompProfile": own_profile} if own_profile else None
    assert options(pod_context, own).seccomp == expected


def test_a_localhost_seccomp_profile_is_read_from_the_node_and_compacted() -> None:
    asked: list[str] = []

    def read(name: str) -> str:
        asked.append(name)
        return '{\n  "defaultAction": "SCMP_ACT_LOG"\n}\n'

    own = container({"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"}})
    got = security_options(pod(None, own), own, image_user="", read_seccomp_profile=read)
    assert asked == ["profiles/audit.json"] and got.seccomp == '{"defaultAction":"SCMP_ACT_LOG"}'


def test_a_localhost_seccomp_profile_that_is_not_json_is_refused() -> None:
    own = container({"seccompProfile": {"type": "Localhost", "localhostProfile": "bad"}})
    with pytest.raises(ConfigError, match='seccomp profile "bad" is not JSON'):
        security_options(pod(None, own), own, image_user="", read_seccomp_profile=lambda _: "nope")


def test_app_armor_unconfined_lifts_the_runtime_profile() -> None:
    assert options({"appArmorProfile": {"type": "Unconfined"}}).apparmor_unconfined is True
    assert options({"appArmorProfile": {"type": "RuntimeDefault"}}).apparmor_unconfined is False


@pytest.mark.parametrize(("image_user", "expected"), [
    ("", (0, "")), ("0", (0, "")), ("1000", (1000, "")), ("1000:1000", (1000, "")), ("nginx", (None, "nginx")),
    ("nginx:nginx", (None, "nginx")),
])
def test_the_image_user_is_read_as_the_kubelet_does(image_user: str, expected: tuple[int | None, str]) -> None:
    assert image_user_id(image_user) == expected


@pytest.mark.parametrize(("pod_context", "context", "image_user", "message"), [
    ({"runAsNonRoot": True}, None, "",
     f'container has runAsNonRoot and image will run as root (pod: "{POD_REF}", container: main)'),
    ({"runAsNonRoot": True}, None, "0:0",
     f'container has runAsNonRoot and image will run as root (pod: "{POD_REF}", container: main)'),
    (None, {"runAsNonRoot": True}, "nginx",
     "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root "
     f'(pod: "{POD_REF}", container: main)'),
    ({"runAsNonRoot": True}, {"runAsUser": 0}, "1000",
     f'container\'s runAsUser breaks non-root policy (pod: "{POD_REF}", container: main)'),
])
def test_run_as_non_root_refuses_what_would_run_as_root(pod_context: dict[str, Any] | None,
                                                        context: dict[str, Any] | None, image_user: str,
                                                        message: str) -> None:
    own = container(context)
    with pytest.raises(ConfigError) as refused:
        verify_run_as_non_root(pod(pod_context, own), own, image_user)
    assert str(refused.value) == message


@pytest.mark.parametrize(("pod_context", "context", "image_user"), [
    ({"runAsNonRoot": True}, None, "1000"),
    ({"runAsNonRoot": True, "runAsUser": 1000}, None, ""),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, ""),  # the container's own word wins
    (None, None, ""),
])
def test_run_as_non_root_admits_a_non_root_user(pod_context: dict[str, Any] | None, context: dict[str, Any] | None,
                                                image_user: str) -> None:
    own = container(context)
    verify_run_as_non_root(pod(pod_context, own), own, image_user)


def test_security_options_checks_run_as_non_root_first() -> None:
    with pytest.raises(ConfigError, match="image will run as root"):
        options({"runAsNonRoot": True})


def test_host_namespaces_come_from_the_pod_spec() -> None:
    assert namespace_options(pod(None)) == NamespaceOptions()
    assert namespace_options(pod(None, hostNetwork=True, hostPID=True, hostIPC=True, shareProcessNamespace=True)) == \
        NamespaceOptions(host_network=True, host_pid=True, host_ipc=True, share_process_namespace=True)


@pytest.mark.parametrize(("pod_context", "context", "spec", "refused"), [
    ({"seLinuxOptions": {"level": "s0:c1"}}, None, {}, ["spec.securityContext.seLinuxOptions"]),
    ({"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}]}, None, {},
     ["spec.securityContext.sysctls"]),
    ({"windowsOptions": {"runAsUserName": "x"}}, None, {}, ["spec.securityContext.windowsOptions"]),
    ({"supplementalGroupsPolicy": "Strict"}, None, {}, ["spec.securityContext.supplementalGroupsPolicy: Strict"]),
    (None, {"procMount": "Unmasked"}, {}, ["securityContext.procMount: Unmasked"]),
    (None, {"seLinuxOptions": {"type": "spc_t"}}, {}, ["securityContext.seLinuxOptions"]),
    (None, {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}, {},
     ["securityContext.appArmorProfile: Localhost"]),
    (None, None, {"hostUsers": False}, ["spec.hostUsers: false (user namespaces)"]),
    ({"supplementalGroupsPolicy": "Merge", "fsGroupChangePolicy": "OnRootMismatch"},
     {"procMount": "Default", "appArmorProfile": {"type": "RuntimeDefault"}}, {"hostUsers": True}, []),
])
def test_what_docker_cannot_enforce_is_named(pod_context: dict[str, Any] | None, context: dict[str, Any] | None,
                                             spec: dict[str, Any], refused: list[str]) -> None:
    own = container(context)
    assert unsupported_settings(pod(pod_context, own, **spec), own) == refused


def test_a_setting_that_cannot_be_enforced_fails_the_container_instead_of_being_ignored() -> None:
    with pytest.raises(ConfigError, match=re.escape("container main asks for what this node cannot enforce: "
                                                    "spec.securityContext.seLinuxOptions")):
        options({"seLinuxOptions": {"level": "s0"}})


def test_fs_user_is_the_one_run_as_user_every_container_shares() -> None:
    assert fs_user(pod({"runAsUser": 1000}, container(), container(name="b"))) == 1000
    assert fs_user(pod(None, container({"runAsUser": 7}), container({"runAsUser": 7}, name="b"))) == 7
    assert fs_user(pod(None, container({"runAsUser": 7}), container(name="b"))) is None
    assert fs_user(pod({"runAsUser": 1}, container({"runAsUser": 2}), container(name="b"))) is None
