"""securityContext on real Docker containers: what the process inside is, and may do, is what the pod asked for.

Each test runs busybox pods (minik8s/busybox runs as root, uid 0, like most images) on node-1 and looks
from inside with `kubectl exec`: the uid and groups `id` prints, a capability dropped or added, a
read-only root, no_new_privs and seccomp in /proc/self/status, privileged mounts, the host's network,
PID and IPC namespaces, Secret volumes on tmpfs with their modes, a hostPort on the node's address only,
and the refusals Kubernetes gives (runAsNonRoot on a root image, a subPath that leads out of its volume).

The pods live in a namespace labelled `pod-security.kubernetes.io/enforce: privileged`, so Pod Security
(baseline by default under `minik8s up`) admits the privileged and host-namespace pods these tests need.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Cluster, container_status, is_ready
from tests.support import builders
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

NAMESPACE = "securityctx"
SLEEP = "exec sleep 3600"


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> Iterator[str]:
    with cluster.namespace(NAMESPACE, privileged=True) as name:
        yield name


def busybox(name: str = "main", command: str = SLEEP, **fields: Any) -> dict[str, Any]:
    return builders.container(name, imagePullPolicy="IfNotPresent", command=["sh", "-c", command], **fields)


def run_pod(cluster: Cluster, name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """Create the pod on node-1 and wait until it is Ready; returns it."""
    cluster.create_pod(builders.pod(name, node_name="node-1", grace=1, containers=list(containers) or [busybox()],
                                    **spec), namespace=NAMESPACE)
    return wait_pod(cluster, name, is_ready, "Ready")


def wait_pod(cluster: Cluster, name: str, condition: Any, what: str, timeout: float = 60) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        pod = cluster.pod(name, NAMESPACE)
        return pod if pod is not None and condition(pod) else None

    return wait_for(f"pod {NAMESPACE}/{name} to be {what}", probe, timeout=timeout,
                    describe=lambda: repr((cluster.pod(name, NAMESPACE) or {}).get("status")))


def sh(cluster: Cluster, pod: str, script: str, container: str = "main") -> tuple[int, str]:
    """(exit code, stdout and stderr) of `sh -c script` in the container."""
    result = cluster.kubectl("exec", "-n", NAMESPACE, pod, "-c", container, "--", "sh", "-c", script, check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


def out(cluster: Cluster, pod: str, script: str, container: str = "main") -> str:
    code, output = sh(cluster, pod, script, container)
    assert code == 0, f"{script!r} failed in {pod}/{container}: {output}"
    return output


def test_the_process_runs_as_the_user_and_groups_asked_and_the_fs_group_owns_the_volumes(
        cluster: Cluster, namespace: str) -> None:
    cluster.create(f"/api/v1/namespaces/{namespace}/secrets",
                   {"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}})
    mounts = [{"name": "data", "mountPath": "/data"}, {"name": "creds", "mountPath": "/etc/creds"}]
    run_pod(cluster, "users", busybox(volumeMounts=mounts),
            busybox("other", securityContext={"runAsUser": 1001}),
            securityContext={"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                             "supplementalGroups": [4000]},
            volumes=[{"name": "data", "emptyDir": {}},
                     {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}}])
    assert out(cluster, "users", "id -u") == "1000"
    assert out(cluster, "users", "id -g") == "3000"
    assert set(out(cluster, "users", "id -G").split()) == {"3000", "2000", "4000"}
    assert out(cluster, "users", "id -u", container="other") == "1001"  # the container's own word wins
    assert out(cluster, "users", "stat -c '%g %A' /data") == "2000 drwxrwsrwx"  # setgid: new files are 2000's
    assert out(cluster, "users", "touch /data/made && stat -c '%u %g' /data/made") == "1000 2000"
    assert out(cluster, "users", "stat -c '%g %a' /etc/creds/password") == "2000 440"
    assert out(cluster, "users", "cat /etc/creds/password") == "s3cret"  # readable through the fsGroup


def test_a_dropped_capability_is_refused_and_an_added_one_granted(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "caps", busybox(securityContext={"capabilities": {"drop": ["CHOWN"], "add": ["NET_ADMIN"]}}),
            busybox("plain"))
    code, output = sh(cluster, "caps", "touch /tmp/f && chown 1234 /tmp/f")
    assert code != 0 and "Operation not permitted" in output
    assert out(cluster, "caps", "touch /tmp/f && chown 1234 /tmp/f && stat -c %u /tmp/f", container="plain") == "1234"
    # CAP_NET_ADMIN, on the pod's own network (a change: busybox skips a no-op `ip link set … up`)
    assert sh(cluster, "caps", "ip addr add 192.0.2.1/32 dev lo")[0] == 0
    code, output = sh(cluster, "caps", "ip addr add 192.0.2.2/32 dev lo", container="plain")
    assert code != 0 and "not permitted" in output


def test_a_read_only_root_filesystem_refuses_a_write_but_a_volume_takes_it(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "readonly", busybox(securityContext={"readOnlyRootFilesystem": True},
                                         volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}]),
            volumes=[{"name": "scratch", "emptyDir": {}}])
    code, output = sh(cluster, "readonly", "echo x > /written")
    assert code != 0 and "Read-only file system" in output
    assert out(cluster, "readonly", "echo x > /scratch/written && cat /scratch/written") == "x"


def test_run_as_non_root_on_a_root_image_is_refused_as_kubernetes_refuses_it(cluster: Cluster,
                                                                            namespace: str) -> None:
    created = cluster.create_pod(builders.pod("rootless", node_name="node-1", grace=1, containers=[busybox()],
                                              securityContext={"runAsNonRoot": True}), namespace=namespace)
    uid = created["metadata"]["uid"]
    pod = wait_pod(cluster, "rootless", lambda p: (container_status(p, "main").get("state") or {}).get(
        "waiting", {}).get("reason") == "CreateContainerConfigError", "held in CreateContainerConfigError")
    assert container_status(pod, "main")["state"]["waiting"]["message"] == (
        f'container has runAsNonRoot and image will run as root (pod: "rootless_{namespace}({uid})", container: main)')
    assert pod["status"]["phase"] == "Pending"


def test_no_new_privileges_and_seccomp_profiles(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "confined", busybox(securityContext={"allowPrivilegeEscalation": False}),
            busybox("unconfined", securityContext={"seccompProfile": {"type": "Unconfined"}}),
            busybox("default"),
            securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    status = "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t ' ' '"
    assert out(cluster, "confined", status).splitlines() == ["NoNewPrivs: 1", "Seccomp: 2"]
    assert out(cluster, "confined", status, container="unconfined").splitlines() == ["NoNewPrivs: 0", "Seccomp: 0"]
    assert out(cluster, "confined", status, container="default").splitlines() == ["NoNewPrivs: 0", "Seccomp: 2"]


def test_a_privileged_container_may_mount_and_an_ordinary_one_may_not(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "privileged", busybox(securityContext={"privileged": True}), busybox("plain"))
    mount = "mkdir -p /tmp/m && mount -t tmpfs tmpfs /tmp/m && grep -c ' /tmp/m ' /proc/mounts"
    assert out(cluster, "privileged", mount) == "1"
    assert sh(cluster, "privileged", mount, container="plain")[0] != 0


def test_host_network_shows_the_nodes_interfaces(cluster: Cluster, namespace: str) -> None:
    pod = run_pod(cluster, "hostnet", hostNetwork=True)
    plain = run_pod(cluster, "podnet")
    host_ip = pod["status"]["hostIP"]
    assert pod["status"]["podIP"] == host_ip  # a hostNetwork pod has its node's address
    assert f"inet {host_ip}/" in out(cluster, "hostnet", "ip addr")
    assert f"inet {host_ip}/" not in out(cluster, "podnet", "ip addr")
    assert plain["status"]["podIP"] != host_ip
    assert out(cluster, "hostnet", "readlink /proc/self/ns/net") == os.readlink("/proc/self/ns/net")


def test_host_pid_and_host_ipc_are_the_hosts_namespaces(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "hostpid", hostPID=True, hostIPC=True)
    assert out(cluster, "hostpid", "readlink /proc/self/ns/pid") == os.readlink("/proc/self/ns/pid")
    assert out(cluster, "hostpid", "readlink /proc/self/ns/ipc") == os.readlink("/proc/self/ns/ipc")
    # a process may exit between the glob and the read: its error goes to /dev/null
    agents = ("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' 2>/dev/null < $f; echo; done "
              "| grep -c '[m]inik8s.node.main'")
    assert int(out(cluster, "hostpid", agents)) >= 1  # the node agents are processes of the host
    run_pod(cluster, "ownpid")
    assert out(cluster, "ownpid", "readlink /proc/self/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert out(cluster, "ownpid", "readlink /proc/self/ns/ipc") != os.readlink("/proc/self/ns/ipc")


def test_share_process_namespace_puts_the_pause_process_first(cluster: Cluster, namespace: str) -> None:
    run_pod(cluster, "shared", busybox(), busybox("sidecar", "exec sleep 7200"), shareProcessNamespace=True)
    assert "pause" in out(cluster, "shared", "tr '\\0' ' ' < /proc/1/cmdline")
    assert "sleep 3600" in out(cluster, "shared", "ps", container="sidecar")  # main's process, seen from the sidecar


def test_secret_volumes_are_on_tmpfs_with_their_modes(cluster: Cluster, namespace: str) -> None:
    cluster.create(f"/api/v1/namespaces/{namespace}/secrets",
                   {"metadata": {"name": "tokens"}, "stringData": {"key": "value"}})
    mounts = [{"name": "plain", "mountPath": "/etc/plain"}, {"name": "private", "mountPath": "/etc/private"}]
    run_pod(cluster, "secrets", busybox(volumeMounts=mounts),
            volumes=[{"name": "plain", "secret": {"secretName": "tokens"}},
                     {"name": "private", "secret": {"secretName": "tokens", "defaultMode": 0o400}}])
    for path in ("/etc/plain", "/etc/private"):
        assert out(cluster, "secrets", f"grep ' {path} ' /proc/mounts").split()[2] == "tmpfs"
    assert out(cluster, "secrets", "stat -c %a /etc/plain/key") == "644"  # Kubernetes' default mode
    assert out(cluster, "secrets", "stat -c %a /etc/private/key") == "400"
    account = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert out(cluster, "secrets", f"grep ' {account} ' /proc/mounts").split()[2] == "tmpfs"  # the token too


def test_a_host_port_is_published_on_the_node_address_only(cluster: Cluster, namespace: str) -> None:
    port = free_port()
    server = busybox(command="mkdir -p /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www",
                     ports=[{"containerPort": 8080, "hostPort": port}],
                     readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1})
    pod = run_pod(cluster, "hostport", server)
    host_ip = pod["status"]["hostIP"]
    answer = wait_for("the hostPort to answer", lambda: httpx.get(f"http://{host_ip}:{port}/", timeout=3).text)
    assert answer.strip() == "served"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=3)  # not on every interface of the machine


def test_a_sub_path_leading_out_of_its_volume_is_refused(cluster: Cluster, namespace: str) -> None:
    """An init container plants a symlink to `/` in a shared volume; the app container's subPath names it."""
    plant = busybox("plant", "ln -s / /work/escape", volumeMounts=[{"name": "work", "mountPath": "/work"}])
    app = busybox(volumeMounts=[{"name": "work", "mountPath": "/host", "subPath": "escape"}])
    cluster.create_pod(builders.pod("escape", node_name="node-1", grace=1, containers=[app], init_containers=[plant],
                                    volumes=[{"name": "work", "emptyDir": {}}]), namespace=namespace)
    pod = wait_pod(cluster, "escape", lambda p: (container_status(p, "main").get("state") or {}).get(
        "waiting", {}).get("reason") == "CreateContainerConfigError", "refused its subPath")
    assert container_status(pod, "main")["state"]["waiting"]["message"] == (
        'failed to prepare subPath for volumeMount "work" of container "main"')
