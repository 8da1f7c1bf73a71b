"""What every controller of the controller-manager shares: one informer per kind, options, events.

Several controllers watch the same kinds (pods feed the ReplicaSet, Endpoints, DaemonSet,
garbage collector, node lifecycle and namespace controllers). One informer per kind, shared,
keeps the apiserver's load and our memory at one watch and one cache per kind whatever the
number of controllers. Controllers only add handlers and read caches; the manager runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from minik8s.api.registry import ResourceKind
from minik8s.client.api import ApiClient
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer


class InformerFactory:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._informers: dict[str, Informer] = {}

    def informer(self, kind: ResourceKind) -> Informer:
        """The one shared informer of this kind (all namespaces), made on first use."""
        if kind.group_resource not in self._informers:
            self._informers[kind.group_resource] = Informer(self.client, kind)
        return self._informers[kind.group_resource]

    async def run(self) -> None:
        """Run every informer made so far, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            for informer in self._informers.values():
                tasks.create_task(informer.run())

    async def wait_synced(self) -> None:
        for informer in self._informers.values():
            await informer.wait_synced()


@dataclass(frozen=True)
class ControllerOptions:
    """Kubernetes' own flag names (kube-controller-manager), so tests can shorten every interval."""

    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    workers: int = 2
    root_ca: str = ""  # the PEM of --root-ca-file, published as kube-root-ca.crt; empty: not published
    resource_quota_sync_period: float = 300.0  # every quota is recounted at least this often
    pvclaimbinder_sync_period: float = 15.0  # every claim and volume is synced at least this often
    job_backoff_base: float = 10.0  # the first delay after a Job's pod fails; doubles per failure, 6 min at most
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class ControllerContext:
    client: ApiClient
    informers: InformerFactory
    events: EventRecorder
    options: ControllerOptions


class RunnableController(Protocol):
    name: str

    async def run(self) -> None:
        """Register handlers (in __init__), wait for the caches, reconcile until cancelled."""


ControllerFactory = Callable[[ControllerContext], RunnableController]
Runner = Callable[[], Awaitable[None]]
