"""The proxy's sync loop: Services and Endpoints in informers, iptables kept in step with them.

kube-proxy's contract, in one process per host: every change to a Service or its Endpoints marks
that service; marks arriving together are coalesced for a short while (`min_sync_interval`) and
then only the marked services' chains are rewritten (a partial sync, one `iptables-restore`).
Every `sync_period` a full sync rewrites everything — which also repairs chains that someone
flushed or deleted (found by comparing `iptables-save` with what we declared, and logged), re-asserts
the service CIDR route and sysctls — so a lost event or a meddling admin is corrected in bounded
time. After each sync the jump rules are moved back to the top of their chains if Docker pushed
them down, and new pod ports get hairpin mode. A failed sync is retried, in full, with backoff.
Side effects go through a `Dataplane`, so the loop is tested with a fake one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from minik8s.api.kinds import ENDPOINTS, SERVICES
from minik8s.api.meta import namespaced_key_of
from minik8s.client.informer import Backoff, Informer, ListWatchClient
from minik8s.proxy import host, iptables
from minik8s.proxy.health import Health
from minik8s.proxy.rules import DEFAULT_CLUSTER_CIDR, DEFAULT_PREFIX, ChainKey, RenderResult, render

logger = logging.getLogger(__name__)

# Partial syncs log at INFO only when slower than this: what a sync of one changed service should take.
SLOW_PARTIAL_SYNC_SECONDS = 0.1


@dataclass(frozen=True)
class ProxySettings:
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    service_cidr: str = host.DEFAULT_SERVICE_CIDR
    sync_period: float = 30.0  # seconds between full syncs
    min_sync_interval: float = 0.05  # seconds a burst of changes is coalesced for
    prefix: str = DEFAULT_PREFIX


class Dataplane(Protocol):
    """The side effects of a sync (the host's kernel, or a fake in tests). Called from a thread."""

    def prepare(self) -> None: ...  # route the service CIDR locally, sysctls
    def read_tables(self) -> iptables.Tables: ...
    def restore(self, text: str) -> None: ...
    def ensure_jumps(self, tables: iptables.Tables | None) -> list[str]: ...  # chains repaired
    def tune_bridges(self) -> list[str]: ...  # hairpin / route_localnet settings changed


class HostDataplane:
    """This machine's iptables, routes and sysctls."""

    def __init__(self, settings: ProxySettings) -> None:
        self._settings = settings
        self._jumps = iptables.jumps(settings.prefix)

    def prepare(self) -> None:
        host.sink_service_cidr(self._settings.service_cidr)
        host.enable_sysctls()

    def read_tables(self) -> iptables.Tables:
        return iptables.read_tables()

    def restore(self, text: str) -> None:
        iptables.restore(text)

    def ensure_jumps(self, tables: iptables.Tables | None) -> list[str]:
        return iptables.ensure_jumps(tables, wanted=self._jumps)

    def tune_bridges(self) -> list[str]:
        return host.tune_bridges(host.pod_bridges(self._settings.cluster_cidr))


@dataclass(frozen=True)
class SyncReport:
    """What one sync did and how long each step took (seconds)."""

    full: bool
    services: int
    read: float
    render: float
    restore: float
    after: float
    drifted: tuple[str, ...] = ()  # chains someone else changed, now repaired
    jumps_moved: tuple[str, ...] = ()  # chains whose jump rules were (re)installed at the top
    first: bool = False


class ServiceProxy:
    """Keeps this host's iptables in step with every Service and its Endpoints."""

    def __init__(self, client: ListWatchClient, dataplane: Dataplane, settings: ProxySettings) -> None:
        self.settings = settings
        self._dataplane = dataplane
        self.services = Informer(client, SERVICES)
        self.endpoints = Informer(client, ENDPOINTS)
        for informer in (self.services, self.endpoints):
            informer.add_handler(on_add=self._mark, on_update=lambda _old, new: self._mark(new),
                                 on_delete=self._mark)
        self._changed: set[str] = set()
        self._wake = asyncio.Event()
        self._needs_full = True
        self._expected: dict[ChainKey, int] = {}  # what we declared: (table, chain) → rules
        self._existing: set[str] = set()  # chains of ours in the kernel, as far as we know
        self._dispatch: dict[ChainKey, str] = {}  # fingerprints of the dispatch chains in the kernel
        self._backoff = Backoff(base=0.5, cap=max(1.0, settings.sync_period))
        self.last_success: datetime | None = None
        self._failing_since: float | None = None
        self.first_sync = asyncio.Event()
        self.reports: list[SyncReport] = []  # the last few, newest last (tests, debugging)

    def _mark(self, obj: Mapping[str, Any]) -> None:
        self._changed.add(namespaced_key_of(obj))
        self._wake.set()

    def health(self) -> Health:
        """Healthy once the first sync succeeded, until syncs have failed for two sync periods."""
        failing = self._failing_since is not None and (
            time.monotonic() - self._failing_since > 2 * self.settings.sync_period)
        return Health(self.last_success is not None and not failing, self.last_success)

    async def run(self) -> None:
        """List and watch, and sync, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.services.run())
            tasks.create_task(self.endpoints.run())
            tasks.create_task(self._sync_forever())

    async def _sync_forever(self) -> None:
        await self.services.wait_synced()
        await self.endpoints.wait_synced()
        loop = asyncio.get_running_loop()
        next_full = loop.time()
        while True:
            if not self._needs_full and loop.time() < next_full:
                try:
                    async with asyncio.timeout(next_full - loop.time()):
                        await self._wake.wait()
                    await asyncio.sleep(self.settings.min_sync_interval)  # let a burst gather
                except TimeoutError:
                    pass
            full = self._needs_full or loop.time() >= next_full
            if await self.sync_now(full=full):
                self._backoff.reset()
                if full:
                    next_full = loop.time() + self.settings.sync_period
            else:
                await asyncio.sleep(self._backoff.next_delay())

    async def sync_now(self, *, full: bool) -> bool:
        """One sync of what changed (or everything); False if it failed (the next one is full)."""
        self._wake.clear()
        changed, self._changed = self._changed, set()
        services, endpoints = self.services.list(), self.endpoints.list()
        try:
            report = await asyncio.to_thread(self._apply, services, endpoints, None if full else changed)
        except Exception as error:  # a failed command or an unexpected object: retry in full, live on
            logger.error("%s sync failed: %s", "full" if full else "partial", error,
                         exc_info=not isinstance(error, OSError | RuntimeError))
            self._needs_full = True
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            return False
        self._needs_full = False
        self._failing_since = None
        self.last_success = datetime.now(UTC)
        self.first_sync.set()
        self.reports = [*self.reports[-9:], report]
        log_report(report)
        return True

    def _apply(self, services: Sequence[Mapping[str, Any]], endpoints: Sequence[Mapping[str, Any]],
               changed: set[str] | None) -> SyncReport:
        """Read (full syncs), render, restore, then fix jumps and bridges. Runs in a worker thread."""
        started = time.perf_counter()
        tables: iptables.Tables | None = None
        drifted: list[str] = []
        existing = self._existing
        if changed is None:
            self._dataplane.prepare()
            tables = self._dataplane.read_tables()
            drifted = iptables.drift(self._expected, tables)
            existing = iptables.chains_with_prefix(tables, self.settings.prefix)
        read = time.perf_counter()
        result = render(services, endpoints, cluster_cidr=self.settings.cluster_cidr, changed=changed,
                        existing_chains=existing, previous_dispatch=self._dispatch, prefix=self.settings.prefix)
        rendered = time.perf_counter()
        self._dataplane.restore(result.text)
        restored = time.perf_counter()
        self._remember(result, full=changed is None)
        jumps_moved = self._dataplane.ensure_jumps(tables)
        try:
            self._dataplane.tune_bridges()
        except (OSError, RuntimeError) as error:  # hairpin is a nicety: never fail a sync over it
            logger.warning("could not set hairpin mode on pod bridges: %s", error)
        return SyncReport(full=changed is None, services=len(services), read=read - started,
                          render=rendered - read, restore=restored - rendered,
                          after=time.perf_counter() - restored, drifted=tuple(drifted),
                          jumps_moved=tuple(jumps_moved), first=not self.first_sync.is_set())

    def _remember(self, result: RenderResult, *, full: bool) -> None:
        if full:
            self._expected = dict(result.declared)
        else:
            self._expected.update(result.declared)
            for chain in result.deleted:
                self._expected.pop(("nat", chain), None)
        self._existing = set(result.chains)
        self._dispatch = dict(result.dispatch)


def log_report(report: SyncReport) -> None:
    if report.drifted:
        logger.warning("repaired chains someone else changed: %s", "; ".join(report.drifted))
    if report.jumps_moved:
        logger.log(logging.INFO if report.first else logging.WARNING, "%s jump rules at the top of %s",
                   "installed" if report.first else "moved back", ", ".join(report.jumps_moved))
    total = report.read + report.render + report.restore + report.after
    slow = total >= SLOW_PARTIAL_SYNC_SECONDS
    logger.log(logging.INFO if report.full or slow else logging.DEBUG,
               "%s sync of %d services in %.0f ms (read %.0f, render %.0f, restore %.0f, jumps+bridges %.0f)",
               "full" if report.full else "partial", report.services, total * 1000, report.read * 1000,
               report.render * 1000, report.restore * 1000, report.after * 1000)
