"""The three lifecycle verbs of a local cluster: bring it up, report on it, take it down.

Each verb works on the component list of `components.py` and never on a particular
kind of process, so the verbs stay the same as the cluster grows. `up` is idempotent:
it starts only what does not run and changes nothing else, which is also how a killed
replica is brought back. Output goes through a `Reporter` so the verbs stay testable
and the typer layer alone decides what reaches the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minik8s.cli import host_cleanup, processes
from minik8s.cli.cluster_config import (
    DEFAULT_NODES,
    DEFAULT_REPLICAS,
    ClusterConfig,
    ClusterHome,
    check_compatible,
    ensure_secret,
    load_config,
    plan_config,
    save_config,
    validate_request,
)
from minik8s.cli.cluster_pki import (
    CLUSTER_NAME,
    admin_credentials,
    component_kubeconfigs,
    ensure_cluster_pki,
    prober_tls,
)
from minik8s.cli.components import (
    APISERVER,
    CLUSTER_DNS_IP,
    DNS,
    NODE_AGENT,
    ComponentSpec,
    apiserver_urls,
    component_specs,
)
from minik8s.cli.errors import CliError
from minik8s.cli.probes import Health, Prober
from minik8s.cli.store_status import StoreStatus, store_status
from minik8s.client.kubeconfig import KubeConfigError, load_kubeconfig, write_kubeconfig
from minik8s.pki.encryption import ensure_encryption_config

logger = logging.getLogger(__name__)

READY_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Reporter:
    """Where progress lines (stdout) and warnings (stderr) go."""

    progress: Callable[[str], None]
    warning: Callable[[str], None]


@dataclass(frozen=True)
class UpOptions:
    """The flags of `up`; None means "as recorded" (or the default for a new cluster)."""

    replicas: int | None = None
    nodes: int | None = None
    port_base: int | None = None
    timeout: float = 30.0
    daemon_args: tuple[tuple[str, tuple[str, ...]], ...] = ()  # recorded by the first `up` only
    snapshot_interval: float | None = None  # seconds, 0: none; recorded, and may change on a later `up`
    snapshot_retention: int | None = None


@dataclass(frozen=True)
class UpSummary:
    """What `up` achieved, for the closing lines."""

    kubeconfig: str
    ready: int
    total: int
    started: tuple[str, ...]
    leader: str | None


@dataclass(frozen=True)
class ComponentStatus:
    """One line of `status`: the component, its pid if it runs, how it answered, and an apiserver's store."""

    spec: ComponentSpec
    pid: int | None
    health: Health
    store: StoreStatus | None = None

    @property
    def healthy(self) -> bool:
        return self.pid is not None and self.health.healthy

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.spec.name, "kind": self.spec.kind, "pid": self.pid,
                                    "url": self.spec.url, "healthy": self.healthy}
        if self.spec.kind == APISERVER:
            document["raft_role"] = self.health.raft_role if self.pid is not None else None
        if self.store is not None:
            document.update(self.store.to_json())
        document.update(self.spec.status_fields)
        return document


def bring_up(home: ClusterHome, options: UpOptions, report: Reporter) -> UpSummary:
    """Start every component that does not run, wait until all serve, write the kubeconfig."""
    config = prepare_home(home, options, report)
    specs = component_specs(config, home)
    started = _start_missing(specs, home, report)
    healths = asyncio.run(_wait_ready(specs, started, home=home, timeout=options.timeout, report=report))
    urls = apiserver_urls(specs)
    _ensure_kubeconfig(home, servers=urls, ready=[s.url for s in specs if s.url and healths[s.name].healthy],
                       report=report)
    return UpSummary(kubeconfig=str(home.kubeconfig_file), ready=len(healths), total=len(specs),
                     started=tuple(started), leader=_leader_name(config, list(healths.values())))


def cluster_status(home: ClusterHome) -> list[ComponentStatus]:
    """Every component with its pid (None when not running) and its health."""
    config = load_config(home)
    if config is None:
        raise CliError(f"no cluster in {home.root} (start one with `minik8s up`)")
    specs = component_specs(config, home)
    pids = [processes.running_pid(home.pid_file(spec.name), spec.markers) for spec in specs]
    running = [spec for spec, pid in zip(specs, pids, strict=True) if pid is not None]
    healths = dict(zip([s.name for s in running], asyncio.run(_probe(running, home)), strict=True))
    not_running = Health(healthy=False, reason="not running")
    data_dirs = {layout.name: home.root / layout.data_dir for layout in config.apiservers}
    statuses = []
    for spec, pid in zip(specs, pids, strict=True):
        health = healths.get(spec.name, not_running)
        store = store_status(health.raft, data_dirs[spec.name]) if spec.name in data_dirs else None
        statuses.append(ComponentStatus(spec, pid, health, store))
    return statuses


def bring_down(home: ClusterHome, *, purge: bool, grace_seconds: float, report: Reporter) -> None:
    """Stop every component (SIGTERM, then SIGKILL after the grace period); purge files if asked."""
    config = load_config(home)
    specs = component_specs(config, home) if config is not None else []
    targets: dict[int, tuple[str, ...]] = {}
    for spec in reversed(specs):
        pid = processes.running_pid(home.pid_file(spec.name), spec.markers)
        if pid is not None:
            report.progress(f"stopping {spec.name} (pid {pid})")
            targets[pid] = spec.markers
    survivors = processes.stop(targets, grace_seconds=grace_seconds)
    if survivors:
        raise CliError(f"processes {survivors} are still running after SIGKILL; not touching their files")
    processes.remove_files(home.pid_file(spec.name) for spec in specs)
    if config is not None and config.nodes:
        _clean_host({node.name: home.root / node.data_dir for node in config.node_layouts}, report)
    if config is None:
        report.progress(f"no cluster in {home.root}: nothing to stop")
    else:
        report.progress(f"stopped {len(targets)} component(s)" if targets else "nothing was running")
    if purge:
        _purge(home, report)


def _clean_host(nodes: dict[str, Path], report: Reporter) -> None:
    """What the nodes made in Docker (and their pods' mounts) and the proxy's rules: the daemons' own
    `--cleanup` removes them."""
    removed = host_cleanup.remove_node_resources(nodes, report=report.warning)
    if removed:
        report.progress(f"removed {removed} pod container(s) and the nodes' networks")
    if host_cleanup.remove_proxy_rules(report=report.warning):
        report.progress("removed the proxy's iptables rules and the service route")


def prepare_home(home: ClusterHome, options: UpOptions, report: Reporter) -> ClusterConfig:
    """Everything but the processes: the recorded layout (checked against the flags) or a new one recorded
    now, the folders, the secret, the encryption key, the PKI and the components' kubeconfigs (what is
    there already is kept)."""
    config = load_config(home)
    if config is not None:
        check_compatible(config, home=home, replicas=options.replicas, nodes=options.nodes,
                         port_base=options.port_base)
        report.progress(f"cluster in {home.root}: {config.replicas} apiserver replica(s), {config.nodes} node(s)")
        config = _record_snapshot_settings(home, config, options, report)
    else:
        replicas = DEFAULT_REPLICAS if options.replicas is None else options.replicas
        nodes = DEFAULT_NODES if options.nodes is None else options.nodes
        validate_request(replicas=replicas, nodes=nodes, port_base=options.port_base)
        config = with_snapshot_settings(plan_config(replicas=replicas, nodes=nodes, port_base=options.port_base,
                                                    daemon_args=options.daemon_args), options)
        save_config(home, config)
        report.progress(f"new cluster in {home.root}: {replicas} apiserver replica(s), {nodes} node(s)")
    for data_dir in [*(a.data_dir for a in config.apiservers), *(n.data_dir for n in config.node_layouts)]:
        (home.root / data_dir).mkdir(parents=True, exist_ok=True)
    home.logs_dir.mkdir(parents=True, exist_ok=True)
    home.run_dir.mkdir(parents=True, exist_ok=True)
    ensure_secret(home.secret_file)
    ensure_encryption_config(home.encryption_config_file)
    pki = ensure_cluster_pki(home, config)
    component_kubeconfigs(home, pki, [layout.url for layout in config.apiservers])
    return config


def with_snapshot_settings(config: ClusterConfig, options: UpOptions) -> ClusterConfig:
    """`config` with the periodic snapshot settings `options` give (those not given stay as they are)."""
    interval = config.snapshot_interval if options.snapshot_interval is None else options.snapshot_interval
    retention = config.snapshot_retention if options.snapshot_retention is None else options.snapshot_retention
    return dataclasses.replace(config, snapshot_interval=interval, snapshot_retention=retention)


def _record_snapshot_settings(home: ClusterHome, config: ClusterConfig, options: UpOptions,
                              report: Reporter) -> ClusterConfig:
    wanted = with_snapshot_settings(config, options)
    if wanted != config:
        save_config(home, wanted)
        report.warning("recorded the new snapshot settings: apiservers started from now on take them; those "
                       "running keep theirs until restarted (`minik8s down` then `minik8s up`)")
    return wanted


def _start_missing(specs: list[ComponentSpec], home: ClusterHome,
                   report: Reporter) -> dict[str, subprocess.Popen[bytes]]:
    started: dict[str, subprocess.Popen[bytes]] = {}
    for spec in specs:
        pid = processes.running_pid(home.pid_file(spec.name), spec.markers)
        if pid is not None:
            report.progress(f"{spec.name} already running (pid {pid})")
            continue
        process = processes.spawn(spec.argv, log_file=home.log_file(spec.name), pid_file=home.pid_file(spec.name))
        started[spec.name] = process
        where = f" at {spec.url}" if spec.url else ""
        report.progress(f"started {spec.name} (pid {process.pid}){where}, log {home.log_file(spec.name)}")
    return started


async def _wait_ready(specs: list[ComponentSpec], started: dict[str, subprocess.Popen[bytes]], *,
                      home: ClusterHome, timeout: float, report: Reporter) -> dict[str, Health]:
    """Poll until every component serves; fail at once when a started one exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ready: dict[str, Health] = {}
    last: dict[str, Health] = {}
    reported: str | None = None
    report.progress(f"waiting for {len(specs)} component(s) to serve (up to {timeout:.0f} s)")
    async with Prober(verify=prober_tls(home)) as prober:
        while True:
            _fail_if_exited(started, home, report)
            pending = [spec for spec in specs if spec.name not in ready]
            for spec, health in zip(pending, await prober.check_all(pending), strict=True):
                last[spec.name] = health
                if health.healthy:
                    ready[spec.name] = health
                    role = f" ({health.raft_role})" if health.raft_role else ""
                    report.progress(f"{spec.name} ready{role}")
            if len(ready) == len(specs):
                missing = await _still_waiting_for(prober, specs)
                if missing is None:
                    return ready
                if missing != reported:
                    report.progress(f"waiting for {missing}")
                    reported = missing
            if loop.time() > deadline:
                raise CliError(_not_ready_message(specs, ready, last, home=home, timeout=timeout, missing=reported))
            await asyncio.sleep(READY_POLL_INTERVAL)


async def _still_waiting_for(prober: Prober, specs: list[ComponentSpec]) -> str | None:
    """What the serving components still lack before a user can work (None: nothing): the system
    namespaces (kubectl get ns works), every node Ready, the cluster DNS answering at its Service
    address (so the proxy has programmed it too)."""
    urls = apiserver_urls(specs)
    if not urls or not await prober.system_namespaces_exist(urls[0]):
        return "the apiservers to create the system namespaces"
    nodes = [spec.name for spec in specs if spec.kind == NODE_AGENT]
    if nodes and not await prober.nodes_ready(urls[0], nodes):
        return f"node(s) {', '.join(nodes)} to report Ready"
    if any(spec.kind == DNS for spec in specs) and not await prober.dns_answers(CLUSTER_DNS_IP):
        return f"the cluster DNS to answer at {CLUSTER_DNS_IP}:53"
    return None


def _fail_if_exited(started: dict[str, subprocess.Popen[bytes]], home: ClusterHome, report: Reporter) -> None:
    for name, process in started.items():
        exit_code = process.poll()
        if exit_code is None:
            continue
        log_file = home.log_file(name)
        report.warning(f"--- last lines of {log_file}:")
        for line in processes.log_tail(log_file):
            report.warning(line)
        home.pid_file(name).unlink(missing_ok=True)
        raise CliError(f"{name} exited with code {exit_code} while starting (log: {log_file})")


def _not_ready_message(specs: list[ComponentSpec], ready: dict[str, Health], last: dict[str, Health], *,
                       home: ClusterHome, timeout: float, missing: str | None) -> str:
    waiting = [spec.name for spec in specs if spec.name not in ready]
    if not waiting:
        return f"every component serves, but waiting for {missing or 'the API'} timed out after {timeout:.0f} s"
    first = waiting[0]
    reason = last[first].reason if first in last else "no answer"
    return (f"{', '.join(waiting)} not ready after {timeout:.0f} s ({first}: {reason}); "
            f"see {home.log_file(first)}")


async def _probe(specs: list[ComponentSpec], home: ClusterHome) -> list[Health]:
    async with Prober(verify=prober_tls(home)) as prober:
        return await prober.check_all(specs)


def _ensure_kubeconfig(home: ClusterHome, *, servers: list[str], ready: list[str], report: Reporter) -> None:
    """Write the kubeconfig unless the existing one already names these servers with a live one first."""
    if not servers:
        return
    try:
        existing = load_kubeconfig(home.kubeconfig_file).servers
    except (OSError, KubeConfigError, yaml.YAMLError):
        existing = []
    if existing and existing[0] in ready and set(existing) == set(servers):
        return
    ordered = [url for url in servers if url in ready] + [url for url in servers if url not in ready]
    write_kubeconfig(home.kubeconfig_file, servers=ordered, cluster_name=CLUSTER_NAME,
                     credentials=admin_credentials(home))
    report.progress(f"wrote {home.kubeconfig_file} (server {ordered[0]})")


def _leader_name(config: ClusterConfig, healths: list[Health]) -> str | None:
    by_raft_address = {layout.raft_address: layout.name for layout in config.apiservers}
    for health in healths:
        if health.raft_leader in by_raft_address:
            return by_raft_address[health.raft_leader]
    return None


def _purge(home: ClusterHome, report: Reporter) -> None:
    """Remove everything `up` made in the home, and the home itself when nothing else is left."""
    try:
        for folder in (home.data_dir, home.logs_dir, home.run_dir, home.pki_dir, home.kubeconfigs_dir,
                       home.snapshots_dir):
            if folder.exists():
                shutil.rmtree(folder)
        processes.remove_files([home.secret_file, home.encryption_config_file, home.kubeconfig_file,
                                home.config_file])
    except OSError as error:
        raise CliError(f"could not remove the files of {home.root}: {error}") from error
    with contextlib.suppress(OSError):  # absent, or holds files that are not ours: keep it
        home.root.rmdir()
    report.progress(f"removed the data, snapshots, logs, keys, kubeconfigs and cluster.json of {home.root}")
