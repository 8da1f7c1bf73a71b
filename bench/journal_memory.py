"""`journal-memory`: RSS of one apiserver replica after 400 writes of a 900 KB ConfigMap (issue #13).

pysyncobj's own journal kept every Raft entry in RAM as well as on disk until log compaction: 400
such writes took the apiserver to about 1 GB. The durable journal (minik8s/store/journal.py) keeps
each entry's offset and a bounded cache of recent entries, and reads older ones back from its file.
The watch history also holds values (256 MiB by default); a second run caps it at 1 MiB, so that
what is left is the store's own share. One replica alone in its group, in a fresh directory.
"""

from __future__ import annotations

import time

import httpx

from bench.figures import Figure, Outcome
from bench.watch_load import one_apiserver, pid_of, rss_mb

WRITES = 400
VALUE_BYTES = 900_000
CONFIG_MAP = "/api/v1/namespaces/default/configmaps"
SETTLE_SECONDS = 1.0


def write_big_config_map(url: str) -> None:
    """Create one ConfigMap of VALUE_BYTES, then replace it until it was written WRITES times."""
    value = "x" * VALUE_BYTES
    with httpx.Client(base_url=url, timeout=60) as client:
        answer = client.post(CONFIG_MAP, json={"metadata": {"name": "big"}, "data": {"value": value}})
        answer.raise_for_status()
        for _ in range(WRITES - 1):
            body = answer.json()
            body["data"]["value"] = value[:-1] + ("y" if body["data"]["value"][-1] == "x" else "x")
            answer = client.put(f"{CONFIG_MAP}/big", json=body)
            answer.raise_for_status()


def measure(*flags: str) -> tuple[float, float, float]:
    """(RSS MB, seconds for the writes, journal MB on disk) for one replica started with `flags`."""
    with one_apiserver(*flags) as cluster:
        replica = cluster.replicas[0]
        started = time.monotonic()
        write_big_config_map(replica.url)
        elapsed = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)  # let the last writes' buffers be freed before reading RSS
        rss = rss_mb(pid_of(cluster))
        status = httpx.get(f"{replica.url}/debug/raft", timeout=5).json()
        journal = status.get("journal_bytes")
        journal_mb = journal / 1e6 if isinstance(journal, int) else sum(
            path.stat().st_size for path in replica.data_dir.iterdir() if path.is_file()) / 1e6
    return rss, elapsed, journal_mb


def bench_journal_memory() -> Outcome:
    name = "journal-memory"
    default_rss, seconds, journal_mb = measure()
    capped_rss, _, _ = measure("--watch-history-bytes", str(1 << 20))
    note = f"{WRITES} x {VALUE_BYTES // 1000} KB"
    return Outcome((
        Figure(name, "RSS after the writes", default_rss, "MB", note=f"{note}, default watch history (256 MiB)"),
        Figure(name, "RSS, watch history capped at 1 MiB", capped_rss, "MB", note=note),
        Figure(name, "data directory / journal on disk", journal_mb, "MB"),
        Figure(name, "time for the writes", seconds, "s", note=f"{WRITES / seconds:.0f} writes/s"),
    ))
