"""Proxy sync cost: 1,000 services x 3 endpoints rendered and applied with one real iptables-restore.

Two targets: a full sync of 1,000 services x 3 endpoints within 1.5 s, and a sync
of one changed service among them within 100 ms. Both are measured on the real kernel, as the proxy
does them (render, then one `iptables-restore --noflush`), on chains of a prefix of their own
(`MINIK8S-BENCH-`) that nothing jumps to — so no packet is affected and a running proxy is never
disturbed — and that are removed at the end. "One changed service" replaces a backend of one
service (its own chains only are rewritten); "one new service" also changes the dispatch chain,
which is then rewritten whole (1,000+ rules). Also reported: the render alone, and the periodic
resync, which first reads the tables back (`iptables-save`) to find stale or flushed chains.
Needs root and iptables; a machine without them fails this benchmark, nothing else.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from bench.figures import Figure, Outcome, median
from minik8s.proxy import iptables
from minik8s.proxy.rules import render

PREFIX = "MINIK8S-BENCH-"
SERVICES = 1000
ENDPOINTS_PER_SERVICE = 3
PARTIAL_ROUNDS = 5
NAME = "proxy-sync"


def synthetic_cluster(services: int, endpoints_per_service: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Services with one TCP port each (every tenth a NodePort) and their ready Endpoints."""
    service_objects: list[dict[str, Any]] = []
    endpoint_objects: list[dict[str, Any]] = []
    for index in range(services):
        metadata = {"name": f"bench-{index}", "namespace": "default"}
        port: dict[str, Any] = {"port": 80, "protocol": "TCP", "targetPort": 8080}
        spec: dict[str, Any] = {"clusterIP": f"10.96.{index // 250}.{index % 250 + 2}", "ports": [port]}
        if index % 10 == 0:
            spec["type"] = "NodePort"
            port["nodePort"] = 30000 + index
        service_objects.append({"metadata": metadata, "spec": spec})
        endpoint_objects.append(endpoints_for(metadata, index, generation=0, count=endpoints_per_service))
    return service_objects, endpoint_objects


def endpoints_for(metadata: dict[str, str], index: int, *, generation: int, count: int) -> dict[str, Any]:
    addresses = [{"ip": f"10.244.{(index * count + slot) // 250 % 250}.{(index * count + slot) % 250 + 2}"}
                 for slot in range(count)]
    addresses[0]["ip"] = f"10.244.{250 + generation % 5}.{index % 250 + 2}"  # a new pod each generation
    return {"metadata": dict(metadata), "subsets": [{"addresses": addresses, "ports": [{"port": 8080}]}]}


def bench_proxy_sync() -> Outcome:
    if os.geteuid() != 0 or shutil.which("iptables-restore") is None:
        raise RuntimeError("the proxy benchmark needs root and iptables-restore")
    services, endpoints = synthetic_cluster(SERVICES, ENDPOINTS_PER_SERVICE)
    iptables.cleanup(prefix=PREFIX, service_cidr=None)  # leftovers of an interrupted run
    try:
        started = time.perf_counter()
        result = render(services, endpoints, prefix=PREFIX)
        rendered = time.perf_counter()
        iptables.restore(result.text)
        full = time.perf_counter() - started
        render_only = rendered - started

        started = time.perf_counter()
        existing = iptables.chains_with_prefix(iptables.read_tables(), PREFIX)
        result = render(services, endpoints, prefix=PREFIX, existing_chains=existing)
        iptables.restore(result.text)
        resync = time.perf_counter() - started

        partials: list[float] = []
        for generation in range(1, PARTIAL_ROUNDS + 1):
            index = generation * 97
            endpoints[index] = endpoints_for(services[index]["metadata"], index, generation=generation,
                                             count=ENDPOINTS_PER_SERVICE)
            started = time.perf_counter()
            result = render(services, endpoints, prefix=PREFIX, changed={f"default/bench-{index}"},
                            existing_chains=result.chains, previous_dispatch=result.dispatch)
            iptables.restore(result.text)
            partials.append(time.perf_counter() - started)

        additions: list[float] = []
        for extra in range(PARTIAL_ROUNDS):
            index = SERVICES + extra
            more_services, more_endpoints = synthetic_cluster(index + 1, ENDPOINTS_PER_SERVICE)
            services.append(more_services[index])
            endpoints.append(more_endpoints[index])
            started = time.perf_counter()
            result = render(services, endpoints, prefix=PREFIX, changed={f"default/bench-{index}"},
                            existing_chains=result.chains, previous_dispatch=result.dispatch)
            iptables.restore(result.text)
            additions.append(time.perf_counter() - started)
    finally:
        iptables.cleanup(prefix=PREFIX, service_cidr=None)
    scale = f"{SERVICES:,} services x {ENDPOINTS_PER_SERVICE} endpoints"
    return Outcome(
        figures=(
            Figure(NAME, "full sync (render + iptables-restore)", full, "s", 1.5, "at_most", scale),
            Figure(NAME, "one changed service (median)", median(partials) * 1000, "ms", 100.0, "at_most",
                   f"of {PARTIAL_ROUNDS}, at {SERVICES:,} services"),
            Figure(NAME, "one new service (median)", median(additions) * 1000, "ms", 100.0, "at_most",
                   "rewrites the whole dispatch chain"),
            Figure(NAME, "render alone, full", render_only * 1000, "ms", note="pure Python, first render"),
            Figure(NAME, "periodic resync (iptables-save + render + restore)", resync, "s", note=scale),
        ),
        remarks=("proxy-sync runs on chains MINIK8S-BENCH-* that nothing jumps to, removed afterwards",),
    )
