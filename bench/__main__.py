"""`python -m bench [names...]` (what `make bench` runs): run the benchmarks in turn, print one table.

Each benchmark is named so a single figure can be re-measured on its own
(`python -m bench watch-latency`). The table shows each figure next to its target;
nothing is asserted, and the exit status is non-zero only when a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from collections.abc import Callable, Sequence

from bench.api_store import bench_create_latency, bench_watch_latency, bench_write_throughput
from bench.create_latency_tls import bench_create_latency_tls
from bench.deployment_start import bench_deployment_start
from bench.failover import bench_failover
from bench.figures import Figure, Outcome, render_table
from bench.fuzz import bench_fuzz
from bench.job_completion import bench_job_completion
from bench.journal_memory import bench_journal_memory
from bench.pod_start import bench_pod_start, bench_pod_start_replicated
from bench.proxy_sync import bench_proxy_sync
from bench.rbac_decisions import bench_rbac_decisions
from bench.ready_traffic import bench_ready_traffic
from bench.scheduler_bench import bench_scheduler, bench_scheduler_single_apiserver
from bench.snapshot import bench_snapshot
from bench.statefulset_start import bench_statefulset_start
from bench.store_vs_etcd import bench_store_vs_etcd
from bench.watch_load import bench_watch_memory, bench_watch_write_latency

log = logging.getLogger("bench")

BENCHMARKS: dict[str, tuple[Callable[[], Outcome], str]] = {
    "create-latency": (bench_create_latency, "1,000 sequential creates, to the leader and via a follower"),
    "create-latency-tls": (bench_create_latency_tls, "create-latency over HTTPS + client certificates + RBAC, "
                           "next to plain HTTP in the same run"),
    "write-throughput": (bench_write_throughput, "32 connections over 3 replicas for 10 s"),
    "watch-latency": (bench_watch_latency, "write acknowledged → event at a watcher on a follower"),
    "failover": (bench_failover, "SIGKILL the leader → a create succeeds again, 5 rounds"),
    "proxy-sync": (bench_proxy_sync, "1,000 services x 3 endpoints into iptables: full sync, one changed service"),
    "ready-traffic": (bench_ready_traffic, "a pod turns Ready → its endpoint receives traffic through its ClusterIP"),
    "pod-start": (bench_pod_start, "50 pods on 2 Docker nodes → Running and Ready via a watch, next to docker run"),
    "pod-start-3": (bench_pod_start_replicated, "pod-start with 3 apiserver replicas"),
    "deployment-30": (bench_deployment_start, "a Deployment of 30 replicas on 2 Docker nodes: create → all available"),
    "statefulset-10": (bench_statefulset_start, "a StatefulSet of 10 on 2 Docker nodes: create → all Ready, "
                       "OrderedReady then Parallel"),
    "job-100": (bench_job_completion, "a Job of 100 completions, parallelism 10, on 2 Docker nodes: create → Complete"),
    "scheduler": (bench_scheduler, "1,000 pods on 100 simulated nodes, 3 apiservers: first create → all bound"),
    "scheduler-1": (bench_scheduler_single_apiserver, "the scheduler benchmark with 1 apiserver"),
    "rbac-decisions": (bench_rbac_decisions, "RBAC decisions with 1,000 Roles and RoleBindings (pure, in process)"),
    "fuzz": (bench_fuzz, "schemathesis over the served OpenAPI against one in-process apiserver: cases per minute "
             "and answers >= 500"),
    "watch-memory": (bench_watch_memory, "RSS of one apiserver holding 10,000 idle watches (limits lifted), "
                     "and what the default watch limits let one client open"),
    "journal-memory": (bench_journal_memory, "RSS of one apiserver after 400 writes of a 900 KB ConfigMap, "
                       "with the default watch history and with it capped at 1 MiB"),
    "watch-write-latency": (bench_watch_write_latency, "create latency on one apiserver with no watcher, then "
                            "with 1,000 watchers reading every event"),
    "store-vs-etcd": (bench_store_vs_etcd, "create latency and 32-connection throughput beside 3 etcd members "
                      "(Debian's etcd 3.4) driven by the same client in the same run"),
    "snapshot": (bench_snapshot, "snapshot save and restore of 10,000 objects on 3 replicas: save, a new home "
                 "from it, its first start"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    listing = "; ".join(f"{name}: {about}" for name, (_, about) in BENCHMARKS.items())
    parser = argparse.ArgumentParser(prog="python -m bench", description=f"minik8s benchmarks. {listing}")
    parser.add_argument("names", nargs="*", metavar="name", help="benchmarks to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return arguments


def run(names: Sequence[str]) -> tuple[list[Figure], list[str], list[str]]:
    """Run the named benchmarks in order: (figures, remarks, names that failed)."""
    figures: list[Figure] = []
    remarks: list[str] = []
    failed: list[str] = []
    for name in names:
        benchmark, about = BENCHMARKS[name]
        log.info("running %s (%s)", name, about)
        started = time.monotonic()
        try:
            outcome = benchmark()
        except Exception:
            log.exception("benchmark %s failed", name)
            failed.append(name)
            continue
        log.info("%s done in %.1f s", name, time.monotonic() - started)
        figures.extend(outcome.figures)
        remarks.extend(remark for remark in outcome.remarks if remark not in remarks)
    return figures, remarks, failed


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.verbose else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per readiness poll otherwise
    started = time.monotonic()
    figures, remarks, failed = run(arguments.names or list(BENCHMARKS))
    header = (f"minik8s benchmarks — Python {platform.python_version()}, {platform.machine()}, "
              f"{len(BENCHMARKS) if not arguments.names else len(arguments.names)} benchmark(s) "
              f"in {time.monotonic() - started:.0f} s")
    lines = [header, "", render_table(figures), ""]
    lines += [f"* {remark}" for remark in remarks]
    lines += [f"! {name} failed (see the log above)" for name in failed]
    sys.stdout.write("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
