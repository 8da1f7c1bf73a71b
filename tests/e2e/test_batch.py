"""Jobs and CronJobs on two Docker nodes, driven by the real kubectl.

An Indexed Job of five completions, two at a time, whose index 3 always fails (one retry, per index):
the other indexes complete, the Job fails on its failed index, every pod ran with its index in
JOB_COMPLETION_INDEX and its hostname. A NonIndexed Job of five completes and `kubectl logs job/NAME`
reads one of its pods. A CronJob firing every minute runs a real Job within one real minute (plus the
seconds to start it), and `kubectl create job --from=cronjob/NAME` runs its template at once.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Cluster
from tests.e2e.kubectl_output import parse_table
from tests.support import builders
from tests.support.waiting import wait_for

INDEXED_SCRIPT = ('echo "index $JOB_COMPLETION_INDEX on $(hostname)"; sleep 1; '
                  '[ "$JOB_COMPLETION_INDEX" != 3 ]')


def job_manifest(name: str, script: str, **spec: Any) -> dict[str, Any]:
    container = builders.container("work", imagePullPolicy="IfNotPresent", command=["sh", "-c", script])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                                                   "containers": [container]}}}}


def job_of(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    response = cluster.api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_an_indexed_job_of_five_with_parallelism_two_and_one_failing_index(cluster: Cluster) -> None:
    with cluster.namespace("batch-indexed") as namespace:
        cluster.apply(namespace, job_manifest("ix", INDEXED_SCRIPT, completions=5, parallelism=2,
                                              completionMode="Indexed", backoffLimitPerIndex=1))
        waited = cluster.kubectl("wait", "-n", namespace, "--for=condition=failed", "job/ix", "--timeout=180s")
        assert waited.stdout.strip() == "job.batch/ix condition met"

        status = job_of(cluster, namespace, "ix")["status"]
        assert (status["completedIndexes"], status["failedIndexes"], status["succeeded"], status["failed"]) == (
            "0-2,4", "3", 4, 2)
        [row] = parse_table(cluster.kubectl("get", "-n", namespace, "job", "ix").stdout)
        assert (row["STATUS"], row["COMPLETIONS"]) == ("Failed", "4/5")
        pods = cluster.pods(namespace, "batch.kubernetes.io/job-name=ix")
        assert {pod["spec"]["nodeName"] for pod in pods} <= {"node-1", "node-2"}
        for pod in pods:
            index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            logs = cluster.kubectl("logs", "-n", namespace, pod["metadata"]["name"]).stdout
            assert logs == f"index {index} on ix-{index}\n"
            assert pod["status"]["phase"] == ("Failed" if index == "3" else "Succeeded")
            assert "batch.kubernetes.io/job-tracking" not in (pod["metadata"].get("finalizers") or [])
        described = cluster.kubectl("describe", "-n", namespace, "job", "ix").stdout
        assert "Completed Indexes:  0-2,4\n" in described and "FailedIndexes" in described


def test_a_job_of_five_completions_two_at_a_time_completes_and_logs_through_the_job(cluster: Cluster) -> None:
    with cluster.namespace("batch-plain") as namespace:
        cluster.apply(namespace, job_manifest("five", "echo done by $(hostname); sleep 1", completions=5,
                                              parallelism=2))
        waited = cluster.kubectl("wait", "-n", namespace, "--for=condition=complete", "job/five", "--timeout=180s")
        assert waited.stdout.strip() == "job.batch/five condition met"
        [row] = parse_table(cluster.kubectl("get", "-n", namespace, "jobs").stdout)
        assert (row["NAME"], row["STATUS"], row["COMPLETIONS"]) == ("five", "Complete", "5/5")
        assert len(cluster.pods(namespace, "batch.kubernetes.io/job-name=five")) == 5
        logs = cluster.kubectl("logs", "-n", namespace, "job/five").stdout
        assert logs.startswith("done by five-")


def test_a_cronjob_every_minute_runs_a_job_and_can_be_run_by_hand(cluster: Cluster) -> None:
    with cluster.namespace("batch-cron") as namespace:
        container = builders.container("tick", imagePullPolicy="IfNotPresent", command=["sh", "-c", "echo tick"])
        cron_job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                    "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [container]}}}}}}
        cluster.apply(namespace, cron_job)

        def a_completed_run() -> str | None:
            listed = cluster.api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs").json()["items"]
            done = [job["metadata"]["name"] for job in listed if any(
                c["type"] == "Complete" and c["status"] == "True" for c in job.get("status", {}).get("conditions", []))]
            return done[0] if done else None

        run = wait_for("a scheduled run to complete", a_completed_run, timeout=100)
        assert run.startswith("tick-") and run.removeprefix("tick-").isdigit()
        [row] = parse_table(cluster.kubectl("get", "-n", namespace, "cronjob", "tick").stdout)
        assert (row["SCHEDULE"], row["SUSPEND"]) == ("*/1 * * * *", "False") and row["LAST SCHEDULE"] != "<none>"
        assert cluster.kubectl("logs", "-n", namespace, f"job/{run}").stdout == "tick\n"

        created = cluster.kubectl("create", "job", "-n", namespace, "by-hand", "--from=cronjob/tick")
        assert created.stdout.strip() == "job.batch/by-hand created"
        cluster.kubectl("wait", "-n", namespace, "--for=condition=complete", "job/by-hand", "--timeout=120s")
        cluster.kubectl("delete", "-n", namespace, "cronjob", "tick")
