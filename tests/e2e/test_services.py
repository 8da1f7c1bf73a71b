"""Services on two Docker nodes: the iptables proxy, pod networking and cluster DNS, seen from outside.

What a user of kube-proxy and CoreDNS relies on: a ClusterIP spreads new connections over the
Ready pods (from the host and from a pod on either node), NodePort answers on 127.0.0.1, an unready
or vanished pod gets no traffic and a service without endpoints refuses at once, ClientIP affinity
sticks, names resolve from pods, UDP works, chains flushed by hand come back, and pods see each
other's real addresses. Most tests share one web Deployment of 3 pods in the namespace `e2e-svc`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import Cluster, busybox_pod, is_live, is_ready, web_deployment
from tests.support import builders
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

NAMESPACE = "e2e-svc"
REQUESTS = 300


@dataclass(frozen=True)
class WebApp:
    """The shared web Deployment, its Services and a client pod on node-2."""

    cluster: Cluster
    namespace: str
    cluster_ip: str
    node_port: int
    pods: dict[str, str]  # pod name → pod IP
    client_ip: str

    def in_client(self, script: str) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl("exec", "-n", self.namespace, "client", "--", "sh", "-c", script, check=False)

    def service_ip(self, name: str) -> str:
        return str(self.cluster.api.get(f"/api/v1/namespaces/{self.namespace}/services/{name}").json()["spec"][
            "clusterIP"])


def service(name: str, selector: str, *, port: int = 80, target: int | str = "http", **spec: Any) -> dict[str, Any]:
    return builders.service(name, namespace=None, selector={"app": selector},
                            ports=[{"port": port, "targetPort": target}], **spec)


def fetch(host: str, port: int = 80, *, timeout: float = 3.0) -> str:
    """One HTTP GET on a new connection (so the proxy picks a backend anew): the body."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        data = b""
        while chunk := connection.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], head
    return body.decode().strip()


def try_fetch(host: str, port: int = 80) -> str | None:
    """fetch, or None while nothing answers (yet)."""
    try:
        return fetch(host, port)
    except OSError:
        return None


def refused(host: str, port: int = 80) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


def programmed(pod_ips: list[str]) -> bool:
    """The proxy's rules send traffic to each of these pod IPs."""
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    return all(f"--to-destination {ip}:" in rules for ip in pod_ips)


def endpoint_ips(cluster: Cluster, namespace: str, name: str, *, ready: bool = True) -> list[str]:
    found = cluster.api.get(f"/api/v1/namespaces/{namespace}/endpoints/{name}").json()
    key = "addresses" if ready else "notReadyAddresses"
    return sorted(a["ip"] for subset in found.get("subsets") or [] for a in subset.get(key) or [])


def assert_spread(answers: list[str], pods: dict[str, str]) -> None:
    counts = Counter(answers)
    assert set(counts) == set(pods), counts
    assert all(count >= 0.15 * len(answers) for count in counts.values()), counts


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Iterator[WebApp]:
    with cluster.namespace(NAMESPACE, privileged=True) as namespace:  # udp-echo runs the host's Python
        cluster.apply(namespace, web_deployment("web"), service("web", "web"),
                      service("web-np", "web", type="NodePort"), service("sticky", "web", sessionAffinity="ClientIP"),
                      service("web-headless", "web", clusterIP="None"),
                      busybox_pod("client", "exec sleep 3600", node="node-2", grace=0))

        def ready_web_pods() -> list[dict[str, Any]] | None:
            ready = [pod for pod in cluster.pods(namespace, "app=web") if is_live(pod) and is_ready(pod)]
            return ready if len(ready) == 3 else None

        def ready_client() -> dict[str, Any] | None:
            pod = cluster.pod("client", namespace)
            return pod if pod and is_ready(pod) else None

        pods = wait_for("3 Ready web pods", ready_web_pods, timeout=60)
        pod_ips = {pod["metadata"]["name"]: pod["status"]["podIP"] for pod in pods}
        wait_for("the endpoints of web", lambda: endpoint_ips(cluster, namespace, "web") == sorted(pod_ips.values()))
        wait_for("the proxy to program them", lambda: programmed(list(pod_ips.values())))
        client = wait_for("the client pod to be Ready", ready_client)
        services = cluster.api.get(f"/api/v1/namespaces/{namespace}/services").json()["items"]
        by_name = {s["metadata"]["name"]: s for s in services}
        yield WebApp(cluster, namespace, by_name["web"]["spec"]["clusterIP"],
                     by_name["web-np"]["spec"]["ports"][0]["nodePort"], pod_ips, client["status"]["podIP"])


def test_a_cluster_ip_spreads_host_connections_over_every_pod(web: WebApp) -> None:
    assert_spread([fetch(web.cluster_ip) for _ in range(REQUESTS)], web.pods)


def test_a_cluster_ip_spreads_connections_from_a_pod_on_another_node(web: WebApp) -> None:
    loop = f"for i in $(seq {REQUESTS}); do timeout 3 wget -qO- http://{web.cluster_ip}/; done"
    result = web.in_client(loop)
    assert_spread(result.stdout.split(), web.pods)


def test_a_node_port_answers_on_localhost(web: WebApp) -> None:
    answers = [fetch("127.0.0.1", web.node_port) for _ in range(60)]
    assert set(answers) == set(web.pods)


def test_a_pod_whose_readiness_fails_gets_no_traffic(web: WebApp) -> None:
    cluster = web.cluster
    server = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"
    pod = busybox_pod("unready", server, node="node-1", grace=0, container={
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"exec": {"command": ["test", "-f", "/never"]}, "periodSeconds": 1}})
    pod["metadata"]["labels"] = {"app": "web"}
    cluster.create_pod(pod, web.namespace)
    try:
        running = wait_for("the unready pod to run", lambda: (lambda p: p if p and p["status"].get("podIP") and
                           p["status"].get("phase") == "Running" else None)(cluster.pod("unready", web.namespace)))
        wait_for("it to be listed as not ready", lambda: endpoint_ips(cluster, web.namespace, "web", ready=False)
                 == [running["status"]["podIP"]])
        answers = [fetch(web.cluster_ip) for _ in range(150)]
        assert "unready" not in answers and set(answers) == set(web.pods)
    finally:
        cluster.delete_pod("unready", web.namespace, grace=0)
        wait_for("the unready pod to go", lambda: cluster.pod("unready", web.namespace) is None)


def test_scaling_to_zero_refuses_connections_at_once(web: WebApp) -> None:
    cluster, namespace = web.cluster, web.namespace
    cluster.apply(namespace, web_deployment("zero", replicas=2), service("zero", "zero"))
    address = web.service_ip("zero")
    wait_for("zero to answer", lambda: try_fetch(address), timeout=60)
    response = cluster.api.patch(f"/apis/apps/v1/namespaces/{namespace}/deployments/zero/scale",
                                 json={"spec": {"replicas": 0}},
                                 headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text
    wait_for("the pods and endpoints of zero to go", lambda: not cluster.pods(namespace, "app=zero")
             and not endpoint_ips(cluster, namespace, "zero"), timeout=30)
    wait_for("the service to refuse", lambda: refused(address), timeout=5)
    for _ in range(5):
        started = time.monotonic()
        assert refused(address)
        assert time.monotonic() - started < 1.0, "a refused connection must not wait for a timeout"
    cluster.kubectl("delete", "-n", namespace, "deployment/zero", "service/zero")


def test_client_ip_affinity_keeps_one_backend(web: WebApp) -> None:
    address = web.service_ip("sticky")
    answers = {fetch(address) for _ in range(40)}
    assert len(answers) == 1 and answers <= set(web.pods)
    from_pod = web.in_client(f"for i in $(seq 20); do timeout 3 wget -qO- http://{address}/; done").stdout.split()
    assert len(from_pod) == 20 and len(set(from_pod)) == 1


def test_pods_reach_services_by_name(web: WebApp) -> None:
    for url in (f"http://web.{web.namespace}.svc.cluster.local/", "http://web/", f"http://web.{web.namespace}/"):
        result = web.in_client(f"timeout 3 wget -qO- {url}")
        assert result.returncode == 0 and result.stdout.strip() in web.pods, (url, result.stderr)


def test_a_headless_service_resolves_to_the_pod_ips(web: WebApp) -> None:
    result = web.in_client(f"nslookup web-headless.{web.namespace}.svc.cluster.local.")
    addresses = re.findall(r"^Address: (\S+)$", result.stdout, flags=re.MULTILINE)
    assert sorted(addresses) == sorted(web.pods.values()), result.stdout
    plain = web.in_client(f"nslookup web.{web.namespace}.svc.cluster.local.")
    assert re.findall(r"^Address: (\S+)$", plain.stdout, flags=re.MULTILINE) == [web.cluster_ip]


def udp_echo_pod() -> dict[str, Any]:
    """A pod answering UDP datagrams. busybox's nc has no UDP, so the pod runs the host's Python
    (the host's root mounted read-only and entered with chroot)."""
    program = ("import socket\nsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nsock.bind(('', 9000))\n"
               "while True:\n    data, peer = sock.recvfrom(512)\n    sock.sendto(b'hi ' + data, peer)\n")
    pod = busybox_pod("udp-echo", "", node="node-1", grace=0, container={
        "command": ["chroot", "/host", os.path.realpath(sys.executable), "-u", "-c", program],
        "ports": [{"name": "echo", "containerPort": 9000, "protocol": "UDP"}],
        "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": True}]},
        volumes=[{"name": "host", "hostPath": {"path": "/"}}])
    pod["metadata"]["labels"] = {"app": "udp-echo"}
    return pod


def ask_udp(address: str, port: int, payload: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        try:
            sock.sendto(payload, (address, port))  # EPERM while the Service has no endpoint yet (REJECT)
            return sock.recv(512)
        except OSError:  # no answer yet, or refused while the rules catch up
            return None


def test_a_udp_service_answers(web: WebApp) -> None:
    cluster, namespace = web.cluster, web.namespace
    udp_service = service("udp-echo", "udp-echo", port=53, target="echo")
    udp_service["spec"]["ports"][0]["protocol"] = "UDP"
    cluster.apply(namespace, udp_echo_pod(), udp_service)
    address = web.service_ip("udp-echo")
    try:
        assert wait_for("an answer over UDP", lambda: ask_udp(address, 53, b"there"), timeout=30) == b"hi there"
        rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
        assert f"-d {address}/32 -p udp -m udp --dport 53" in rules
    finally:
        cluster.kubectl("delete", "-n", namespace, "pod/udp-echo", "service/udp-echo", "--grace-period=0")


def test_chains_flushed_by_hand_are_repaired_by_the_resync(web: WebApp) -> None:
    subprocess.run(["iptables", "-t", "nat", "-F", "MINIK8S-SERVICES"], check=True)
    flushed = time.monotonic()
    assert refused(web.cluster_ip), "the flush should have broken the ClusterIP"
    wait_for("the proxy to repair its chains", lambda: try_fetch(web.cluster_ip) in web.pods, timeout=10,
             interval=0.2)
    assert time.monotonic() - flushed < 3 + 2, "repaired later than one resync period (3 s) and some slack"


def test_pods_on_different_nodes_see_each_others_real_address(web: WebApp) -> None:
    cluster = web.cluster
    on_node_1 = [name for name, _ in web.pods.items()
                 if (cluster.pod(name, web.namespace) or {}).get("spec", {}).get("nodeName") == "node-1"]
    assert on_node_1, "no web pod on node-1"
    target = on_node_1[0]
    web.in_client(f"timeout 3 wget -qO- http://{web.pods[target]}:8080/from-client")  # 404: only the log matters

    def access_lines() -> list[str]:
        log = cluster.api.get(f"/api/v1/namespaces/{web.namespace}/pods/{target}/log").text
        return [line for line in log.splitlines() if "url:/from-client" in line]

    peers = [line.split("]")[0].removeprefix("[::ffff:") for line in wait_for("the access log line", access_lines)]
    assert peers == [web.client_ip]


def test_a_service_whose_selector_matches_nothing_rejects_at_once(web: WebApp) -> None:
    cluster = web.cluster
    cluster.apply(web.namespace, service("nothing", "nothing-at-all"))
    address = web.service_ip("nothing")
    try:
        wait_for("the REJECT rule", lambda: refused(address), timeout=10)
        started = time.monotonic()
        assert refused(address) and time.monotonic() - started < 1.0
        result = web.in_client(f"timeout 3 wget -qO- http://{address}/")
        assert result.returncode != 0 and "Connection refused" in result.stderr
        rules = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True, check=True).stdout
        assert re.search(rf"-d {re.escape(address)}/32 .*-j REJECT", rules)
    finally:
        cluster.kubectl("delete", "-n", web.namespace, "service/nothing")
