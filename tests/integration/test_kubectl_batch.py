"""The real kubectl (v1.32) on Jobs and CronJobs: its generators (protobuf bodies), get, describe, wait, delete.

No controllers run here: the tests write the status a Job controller would write (PUT /status), so what
is checked is the API's side — the generated selector, defaults, the Table columns kubectl prints, the
condition `kubectl wait` waits for, `create job --from=cronjob/NAME`, and the `all` category.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.kubectl import Kubectl
from tests.support.serving import ThreadedApiserver

JOBS = "/apis/batch/v1/namespaces/default/jobs"
CRON_JOBS = "/apis/batch/v1/namespaces/default/cronjobs"
REPO = Path(__file__).resolve().parents[2]


def read(apiserver: ThreadedApiserver, path: str) -> dict[str, Any]:
    response = httpx.get(apiserver.url + path, timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def write_status(apiserver: ThreadedApiserver, path: str, status: dict[str, Any]) -> None:
    current = read(apiserver, path)
    response = httpx.put(f"{apiserver.url}{path}/status", json={**current, "status": status}, timeout=5)
    assert response.status_code == 200, response.text


def test_create_job_generates_its_selector_and_defaults(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    created = kubectl("create", "job", "pi", "--image=minik8s/busybox:latest", "--", "sh", "-c", "echo done")
    assert created.stdout.strip() == "job.batch/pi created"
    job = read(apiserver, f"{JOBS}/pi")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
              "controller-uid": uid, "job-name": "pi"}
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels  # a Job without labels takes its template's
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"], spec["completionMode"],
            spec["suspend"], spec["manualSelector"]) == (1, 1, 6, "NonIndexed", False, False)
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["containers"][0]["command"] == ["sh", "-c", "echo done"]


def test_get_jobs_prints_kubectls_columns_and_wait_sees_complete(kubectl: Kubectl,
                                                                 apiserver: ThreadedApiserver) -> None:
    kubectl("create", "job", "counted", "--image=minik8s/busybox:latest")
    header, row = kubectl("get", "jobs", "counted").stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["counted", "Running", "0/1"]
    done = [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods", "lastProbeTime": "2024-05-01T12:00:05Z",
             "lastTransitionTime": "2024-05-01T12:00:05Z"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods", "lastProbeTime": "2024-05-01T12:00:05Z",
             "lastTransitionTime": "2024-05-01T12:00:05Z"}]
    write_status(apiserver, f"{JOBS}/counted", {
        "startTime": "2024-05-01T12:00:00Z", "completionTime": "2024-05-01T12:00:05Z", "succeeded": 1, "active": 0,
        "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}, "conditions": done})
    waited = kubectl("wait", "--for=condition=complete", "job/counted", "--timeout=10s")
    assert waited.stdout.strip() == "job.batch/counted condition met"
    assert kubectl("get", "job", "counted").stdout.splitlines()[1].split()[:4] == ["counted", "Complete", "1/1", "5s"]
    described = kubectl("describe", "job", "counted").stdout
    assert "Completions:      1\n" in described
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed\n" in described


def test_create_cronjob_and_a_job_from_it(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    created = kubectl("create", "cronjob", "tick", "--image=minik8s/busybox:latest", "--schedule=*/1 * * * *",
                      "--", "date")
    assert created.stdout.strip() == "cronjob.batch/tick created"
    cron_job = read(apiserver, f"{CRON_JOBS}/tick")
    assert (cron_job["spec"]["concurrencyPolicy"], cron_job["spec"]["suspend"],
            cron_job["spec"]["successfulJobsHistoryLimit"], cron_job["spec"]["failedJobsHistoryLimit"]) == (
        "Allow", False, 3, 1)
    header, row = kubectl("get", "cj").stdout.splitlines()
    assert header.split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert row.split()[:8] == ["tick", "*/1", "*", "*", "*", "*", "<none>", "False"]

    manual = kubectl("create", "job", "tick-manual", "--from=cronjob/tick")
    assert manual.stdout.strip() == "job.batch/tick-manual created"
    job = read(apiserver, f"{JOBS}/tick-manual")
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    [owner] = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "CronJob", "tick", cron_job["metadata"]["uid"], True)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]


def test_bad_schedules_and_names_are_refused_in_kubernetes_words(kubectl: Kubectl) -> None:
    bad = kubectl("create", "cronjob", "broken", "--image=minik8s/busybox:latest", "--schedule=hello", check=False)
    assert bad.returncode != 0
    assert ('spec.schedule: Invalid value: "hello": expected exactly 5 fields, found 1: [hello]'
            in bad.stderr), bad.stderr
    long_name = "c" * 53
    too_long = kubectl("create", "cronjob", long_name, "--image=minik8s/busybox:latest", "--schedule=@hourly",
                       check=False)
    assert "must be no more than 52 characters" in too_long.stderr


def test_get_all_lists_jobs_and_cronjobs(kubectl: Kubectl) -> None:
    kubectl("create", "cronjob", "listed", "--image=minik8s/busybox:latest", "--schedule=@daily")
    kubectl("create", "job", "listed-job", "--image=minik8s/busybox:latest")
    printed = kubectl("get", "all").stdout
    assert "job.batch/listed-job" in printed
    assert "cronjob.batch/listed" in printed


def minik8s(apiserver: ThreadedApiserver, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args, "--server", apiserver.url],
                            capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_minik8s_describes_and_lists_batch_kinds_as_kubectl_does(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    kubectl("create", "job", "same", "--image=minik8s/busybox:latest")
    write_status(apiserver, f"{JOBS}/same", {"startTime": "2024-05-01T12:00:00Z", "active": 1, "ready": 0,
                                            "terminating": 0, "uncountedTerminatedPods": {}})
    kubectl("create", "cronjob", "same", "--image=minik8s/busybox:latest", "--schedule=@hourly")
    for kind in ("job", "cronjob"):
        assert minik8s(apiserver, "describe", kind, "same") == kubectl("describe", kind, "same").stdout
    assert minik8s(apiserver, "get", "jobs").splitlines()[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION",
                                                                        "AGE"]
