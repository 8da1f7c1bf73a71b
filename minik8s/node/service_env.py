"""The Services' environment variables every container gets, as the kubelet makes them.

Programs find the apiserver through `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` (the
official clients' in-cluster configuration reads exactly these), and older ones find their peers
through Docker-link-style variables. Kubernetes' getServiceEnvVarMap (pkg/kubelet/kubelet_pods.go)
and envvars.FromServices (pkg/kubelet/envvars): the `kubernetes` Service of the `default` namespace
always, and when the pod's `enableServiceLinks` is true (the default) every Service of the pod's own
namespace, which wins over the master one of the same name; Services without a cluster IP (headless,
ExternalName) give nothing. Pure: the agent hands in the Services from its informer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.meta import name_of, namespace_of, spec_of

MASTER_SERVICE_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})


def service_env(services: Iterable[Mapping[str, Any]], namespace: str, *, enable_service_links: bool = True,
                master_namespace: str = MASTER_SERVICE_NAMESPACE) -> dict[str, str]:
    """The variables of the Services a pod in `namespace` sees."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for service in services:
        if not _has_cluster_ip(service):
            continue
        name = name_of(service)
        if namespace_of(service) == master_namespace and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif namespace_of(service) == namespace and enable_service_links:
            chosen[name] = service
    variables: dict[str, str] = {}
    for service in chosen.values():
        variables.update(service_variables(service))
    return variables


def service_variables(service: Mapping[str, Any]) -> dict[str, str]:
    """`<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT[_<PORT NAME>]` and the Docker link variables."""
    spec = spec_of(service)
    ports = [port for port in spec.get("ports") or [] if isinstance(port, Mapping)]
    if not ports:
        return {}
    prefix = _variable_name(name_of(service))
    cluster_ip = str(spec["clusterIP"])
    variables = {f"{prefix}_SERVICE_HOST": cluster_ip, f"{prefix}_SERVICE_PORT": str(ports[0].get("port"))}
    for port in ports:
        if port.get("name"):
            variables[f"{prefix}_SERVICE_PORT_{_variable_name(str(port['name']))}"] = str(port.get("port"))
    for index, port in enumerate(ports):
        protocol = str(port.get("protocol") or "TCP")
        url = f"{protocol.lower()}://{_host_port(cluster_ip, port.get('port'))}"
        if index == 0:
            variables[f"{prefix}_PORT"] = url  # Docker special-cases the first port
        port_prefix = f"{prefix}_PORT_{port.get('port')}_{protocol.upper()}"
        variables.update({port_prefix: url, f"{port_prefix}_PROTO": protocol.lower(),
                          f"{port_prefix}_PORT": str(port.get("port")), f"{port_prefix}_ADDR": cluster_ip})
    return variables


def _has_cluster_ip(service: Mapping[str, Any]) -> bool:
    cluster_ip = spec_of(service).get("clusterIP")
    return isinstance(cluster_ip, str) and cluster_ip not in ("", "None")


def _variable_name(name: str) -> str:
    return name.replace("-", "_").upper()


def _host_port(host: str, port: Any) -> str:
    """Go's net.JoinHostPort: an IPv6 address goes in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
