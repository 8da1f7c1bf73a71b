"""A Job of 100 completions, 10 at a time, on two Docker nodes: create → Complete (issue 15's figure).

The path a batch user waits on: the Job controller creating pods as earlier ones finish (never more
than 10 at once), the scheduler spreading them, two node agents running 100 short containers, and
every finished pod counted through the tracking finalizer before the Job is Complete. Also reported:
the most pods seen active at once and the pods per node.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.deployment_start import DEADLINE_SECONDS
from bench.figures import Figure, Outcome
from bench.pod_start import docker_cluster
from tests.support import builders

COMPLETIONS = 100
PARALLELISM = 10
JOBS = "/apis/batch/v1/namespaces/default/jobs"
SELECTOR = "batch.kubernetes.io/job-name=bench100"


def job() -> dict[str, Any]:
    container = builders.container("work", imagePullPolicy="IfNotPresent", command=["sh", "-c", "echo done"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bench100"},
            "spec": {"completions": COMPLETIONS, "parallelism": PARALLELISM,
                     "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                                           "containers": [container]}}}}


def is_complete(job_object: dict[str, Any]) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in (job_object.get("status") or {}).get("conditions") or [])


def bench_job_completion() -> Outcome:
    with docker_cluster(replicas=1) as cluster, httpx.Client(base_url=cluster.api_url, timeout=10,
                                                             verify=cluster.tls) as api:
        started = time.monotonic()
        api.post(JOBS, json=job()).raise_for_status()
        most_active = 0
        while True:
            current = api.get(f"{JOBS}/bench100").json()
            most_active = max(most_active, int((current.get("status") or {}).get("active") or 0))
            if is_complete(current):
                break
            if time.monotonic() - started > DEADLINE_SECONDS * 2:
                raise TimeoutError(f"the Job did not complete within {DEADLINE_SECONDS * 2:.0f} s")
            time.sleep(0.1)
        completed = time.monotonic() - started
        pods = api.get("/api/v1/namespaces/default/pods", params={"labelSelector": SELECTOR}).json()["items"]
        nodes: dict[str, int] = {}
        for pod in pods:
            nodes[pod["spec"]["nodeName"]] = nodes.get(pod["spec"]["nodeName"], 0) + 1
        api.delete(f"{JOBS}/bench100", params={"propagationPolicy": "Background"})
    spread = ", ".join(f"{node}: {count}" for node, count in sorted(nodes.items()))
    succeeded = int((current.get("status") or {}).get("succeeded") or 0)
    return Outcome(
        figures=(Figure("job-100", "create → Complete (100 completions, parallelism 10)", completed, "s",
                        note=f"succeeded {succeeded}, pods {len(pods)}, most active at once {most_active}; "
                             f"pods per node: {spread}"),
                 Figure("job-100", "completions per second", COMPLETIONS / completed, "/s")),
        remarks=("1 apiserver, scheduler, controller-manager, 2 Docker nodes (minik8s up)",),
    )
