"""Snapshot save and restore of 10,000 objects on three real replicas (no Docker).

Save is what `minik8s snapshot save` runs (`cli.snapshot_save.save_snapshot`, in this process): the read
barrier, the apiserver streaming the store, the file written, synced, read back whole and renamed. Restore is
timed in its two halves: `minik8s snapshot restore` (`cli.snapshot_restore.restore_snapshot`: the file
checked, a new home with its PKI, a seed per replica), then the restored cluster's first start — three
replica processes until every one serves, which includes replicating the 10,000 objects through Raft.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from bench.api_store import BenchmarkError
from bench.figures import Figure, Outcome
from bench.host import endpoint_of, replica_cluster
from bench.wire import CONFIG_MAPS, LeanConnection, config_map_body
from minik8s.cli.cluster import Reporter, UpOptions
from minik8s.cli.cluster_config import ClusterHome
from minik8s.cli.kubeconfig_context import Connection
from minik8s.cli.snapshot_restore import restore_snapshot
from minik8s.cli.snapshot_save import save_snapshot
from minik8s.client.kubeconfig import write_kubeconfig
from tests.support.replicas import ReplicaSet

OBJECTS = 10_000
WRITERS = 16
START_DEADLINE_SECONDS = 120.0


def fill(cluster: ReplicaSet, count: int) -> None:
    """`count` ConfigMaps of ~1 KB, written by WRITERS threads over every replica."""
    failures: list[str] = []

    def write(slot: int) -> None:
        with LeanConnection(endpoint_of(cluster.replicas[slot % len(cluster.replicas)])) as connection:
            for index in range(slot, count, WRITERS):
                status, answer = connection.post(CONFIG_MAPS, config_map_body(f"snap-{index}"))
                if status != 201:
                    failures.append(f"HTTP {status}: {answer[:200]!r}")
                    return

    threads = [threading.Thread(target=write, args=(slot,)) for slot in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise BenchmarkError(f"filling the store failed: {failures[0]}")


def bench_snapshot() -> Outcome:
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-snapshot-") as scratch:
        root = Path(scratch)
        with replica_cluster() as cluster:
            fill(cluster, OBJECTS)
            kubeconfig = root / "kubeconfig"
            write_kubeconfig(kubeconfig, servers=[replica.url for replica in cluster.replicas])
            started = time.perf_counter()
            saved = save_snapshot(Connection(kubeconfig=str(kubeconfig)), root / "backup.snap")
            save_seconds = time.perf_counter() - started
        home = ClusterHome(root / "restored")
        started = time.perf_counter()
        restore_snapshot(root / "backup.snap", home, UpOptions(replicas=3, nodes=0), encryption_config=None,
                         report=Reporter(progress=lambda _: None, warning=lambda _: None))
        restore_seconds = time.perf_counter() - started
        start_seconds = seconds_to_serve(ReplicaSet(home.data_dir))
        (root / "empty").mkdir()
        empty_start_seconds = seconds_to_serve(ReplicaSet(root / "empty"))
    keys, megabytes = saved.header.keys, saved.size / 1e6
    note = f"{keys} keys, {megabytes:.1f} MB"
    return Outcome((
        Figure("snapshot", "save (barrier, stream, fsync, verify)", save_seconds, "s", note=note),
        Figure("snapshot", "restore: new home + 3 seeds", restore_seconds, "s", note=note),
        Figure("snapshot", "restored cluster's first start → all serve", start_seconds, "s",
               note="3 replicas, seeded through Raft"),
        Figure("snapshot", "an empty cluster's first start → all serve", empty_start_seconds, "s",
               note="the same without a seed, for comparison"),
    ), (f"snapshot: {OBJECTS} ConfigMaps of ~1 KB on 3 replicas; save {keys / save_seconds:,.0f} keys/s",))


def seconds_to_serve(cluster: ReplicaSet) -> float:
    """Start every replica; seconds until all serve the API (then they are stopped)."""
    started = time.perf_counter()
    try:
        for index in range(cluster.size):
            cluster.start(index)
        cluster.wait_ready(timeout=START_DEADLINE_SECONDS)
        return time.perf_counter() - started
    finally:
        cluster.stop_all()
