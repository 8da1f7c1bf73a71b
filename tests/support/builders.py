"""API objects for tests, built with keyword arguments: a test names only what it is about.

Each builder returns a plain JSON object as the apiserver would accept it (no status unless asked
for). Defaults are those of a small web workload: pods labelled `app=<name>` running busybox,
a `web` Service on port 80 to 8080, Endpoints with three pod IPs.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject

NAMESPACE = "default"
POD_IPS = ["10.244.1.11", "10.244.1.12", "10.244.2.13"]


def service(name: str = "web", *, namespace: str = NAMESPACE, cluster_ip: str | None = None,
            ports: list[JsonObject] | None = None, **spec: Any) -> JsonObject:
    """A Service (port 80 to 8080 unless `ports`); no clusterIP unless given, so the apiserver allocates one."""
    body: JsonObject = {"ports": ports if ports is not None else [{"port": 80, "targetPort": 8080}], **spec}
    if cluster_ip is not None:
        body["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": body}


def endpoints(name: str = "web", ips: list[str] | None = None, *, namespace: str = NAMESPACE,
              ports: list[JsonObject] | None = None, not_ready: list[str] | None = None) -> JsonObject:
    """Endpoints with one subset: `ips` (three pod IPs unless given) ready, `not_ready` not, on TCP 8080."""
    subset: JsonObject = {"addresses": [{"ip": ip} for ip in (POD_IPS if ips is None else ips)],
                          "ports": ports if ports is not None else [{"port": 8080, "protocol": "TCP"}]}
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace},
            "subsets": [subset]}
