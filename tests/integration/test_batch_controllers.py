"""Jobs, CronJobs and TTLs through a real apiserver, the real controllers and a real node agent on the fake runtime.

An in-process apiserver runs the Job, CronJob, TTL-after-finished and garbage-collector controllers
against it; a binder puts every pod on `node-a`, whose real node agent runs them in the fake runtime,
where `Processes` makes each container exit as its environment says. The CronJob controller reads a
FakeClock the tests move (then re-queue the CronJobs, as its timers would): a minute passes in no time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.kinds import CRON_JOBS, EVENTS, JOBS, NAMESPACES, PODS
from minik8s.api.meta import key_of, parse_time
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound
from minik8s.client.events import EventRecorder
from minik8s.client.informer import Informer
from minik8s.controllers.common.context import (
    ControllerContext,
    ControllerOptions,
    InformerFactory,
    RunnableController,
)
from minik8s.controllers.cronjob.controller import CronJobController
from minik8s.controllers.garbage_collector.controller import GarbageCollector
from minik8s.controllers.job.controller import JobController
from minik8s.controllers.namespace.controller import NamespaceController
from minik8s.controllers.ttl_after_finished.controller import TtlAfterFinishedController
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from tests.support.batch import FakeClock, Processes, cron_job_body, job_body
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(120)

NODE = "node-a"
NAMESPACE = "default"
WAIT = 30.0


class Binder:
    """The scheduler's stand-in: binds every pending pod to NODE, and remembers the most pods active at once."""

    def __init__(self, client: ApiClient, pods: Informer) -> None:
        self.client, self.pods = client, pods
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.most_active: dict[str, int] = {}  # job name -> most of its pods active at one time
        pods.add_handler(on_add=self._seen, on_update=lambda _old, new: self._seen(new))

    def _seen(self, pod: dict[str, Any]) -> None:
        self.queue.put_nowait(key_of(pod))
        job = pod["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name")
        if job:
            active = sum(1 for p in self.pods.list() if p["metadata"].get("labels", {}).get(
                "batch.kubernetes.io/job-name") == job and (p.get("status") or {}).get("phase") not in
                ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp"))
            self.most_active[job] = max(self.most_active.get(job, 0), active)

    async def run(self) -> None:
        while True:
            pod = self.pods.get(await self.queue.get())
            if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                continue
            with contextlib.suppress(ApiError):
                await self.client.bind(pod["metadata"]["namespace"], pod["metadata"]["name"], NODE)


@dataclass
class Cluster:
    client: ApiClient
    informers: InformerFactory
    runtime: FakeRuntime
    clock: FakeClock
    cron: CronJobController
    binder: Binder
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def job(self, name: str) -> dict[str, Any]:
        return await self.client.get(JOBS, name, namespace=NAMESPACE)

    async def wait_job(self, name: str, what: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            try:
                job = await self.job(name)
            except NotFound:
                return None
            return job if check(job) else None

        return await eventually(f"job {name} {what}", probe, timeout=WAIT)

    async def pods_of(self, job: str) -> list[dict[str, Any]]:
        listed = await self.client.list(PODS, namespace=NAMESPACE, label_selector=f"batch.kubernetes.io/job-name={job}")
        return list(listed["items"])

    async def reasons(self, kind: str, name: str) -> list[str]:
        listed = await self.client.list(EVENTS, namespace=NAMESPACE,
                                        field_selector=f"involvedObject.kind={kind},involvedObject.name={name}")
        return [event["reason"] for event in listed["items"]]

    def tick(self, seconds: float) -> None:
        """Let `seconds` pass for the CronJob controller: move its clock, then fire its timers."""
        self.clock.advance(seconds)
        self.cron.resync()


def condition(job: dict[str, Any], kind: str) -> dict[str, Any]:
    """The Job's condition of that type ({} when it has none)."""
    return next((c for c in (job.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def has(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda job: condition(job, kind).get("status") == "True"


def when(value: str) -> datetime:
    moment = parse_time(value)
    assert moment is not None, value
    return moment


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with apiserver_in_loop(history=10000) as client:
        informers = InformerFactory(client)
        context = ControllerContext(client, informers, EventRecorder(client, component="controller-manager"),
                                    ControllerOptions(workers=2, job_backoff_base=0.2))
        clock = FakeClock()
        cron = CronJobController(context, clock=clock.now, zone=UTC)
        controllers: list[RunnableController] = [JobController(context, batch_seconds=0.02), cron, TtlAfterFinishedController(context),
                       GarbageCollector(context), NamespaceController(context)]
        runtime = FakeRuntime()
        settings = NodeSettings(node_name=NODE, network=f"fake-{NODE}", pod_cidr="10.250.1.0/24",
                                node_ip="10.250.1.1", data_dir=tmp_path / NODE, host_mounts=False)
        await runtime.ensure_network(settings.network, subnet=settings.pod_cidr, gateway=settings.gateway)
        agent = NodeAgent(client, runtime, settings, backoff_base=1.0, resync_seconds=0.5, workers=4)
        harness = Cluster(client, informers, runtime, clock, cron, Binder(client, informers.informer(PODS)))
        harness.tasks = [asyncio.create_task(informers.run()), asyncio.create_task(agent.run()),
                         asyncio.create_task(harness.binder.run()), asyncio.create_task(Processes(runtime).run()),
                         *(asyncio.create_task(controller.run()) for controller in controllers)]
        await informers.wait_synced()
        try:
            yield harness
        finally:
            for task in harness.tasks:
                task.cancel()
            await asyncio.gather(*harness.tasks, return_exceptions=True)


async def test_an_indexed_job_of_five_with_parallelism_two_and_one_failing_index(cluster: Cluster) -> None:
    body = job_body("ix", env={"FAIL_INDEX": "3"}, completions=5, parallelism=2, completionMode="Indexed",
                    backoffLimitPerIndex=1)
    await cluster.client.create(JOBS, body, namespace=NAMESPACE)

    job = await cluster.wait_job("ix", "to fail on its failed index", has("Failed"))

    status = job["status"]
    assert (status["completedIndexes"], status["failedIndexes"], status["succeeded"], status["failed"]) == (
        "0-2,4", "3", 4, 2)
    assert condition(job, "FailureTarget")["reason"] == "FailedIndexes"
    failed = condition(job, "Failed")
    assert (failed["reason"], failed["message"]) == ("FailedIndexes", "Job has failed indexes")
    assert status.get("uncountedTerminatedPods") == {} and "completionTime" not in status
    assert cluster.binder.most_active["ix"] <= 2
    pods = await cluster.pods_of("ix")
    by_index: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        by_index.setdefault(pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"], []).append(pod)
        assert "batch.kubernetes.io/job-tracking" not in (pod["metadata"].get("finalizers") or [])
    assert sorted(by_index) == ["0", "1", "2", "3", "4"]
    retried = sorted(pod["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"]
                     for pod in by_index["3"])
    assert retried == ["0", "1"]  # the index ran twice: once plus its one retry
    index_three = by_index["3"][0]
    assert index_three["spec"]["hostname"] == "ix-3"
    assert index_three["metadata"]["name"].startswith("ix-3-")
    assert index_three["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "3"
    envs = [dict(spec.env) for spec in cluster.runtime.created_specs.values() if spec.env.get("FAIL_INDEX")]
    assert sorted({env["JOB_COMPLETION_INDEX"] for env in envs}) == ["0", "1", "2", "3", "4"]
    assert "FailedIndexes" in await cluster.reasons("Job", "ix")


async def test_a_job_completes_counting_each_pod_once_and_its_ttl_deletes_it_with_its_pods(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job_body("done", completions=3, parallelism=3, ttlSecondsAfterFinished=1),
                                namespace=NAMESPACE)

    job = await cluster.wait_job("done", "to complete", has("Complete"))

    status = job["status"]
    assert (status["succeeded"], status.get("failed"), status.get("active"), status["ready"]) == (3, None, None, 0)
    met = condition(job, "SuccessCriteriaMet")
    assert (met["reason"], met["message"]) == ("CompletionsReached", "Reached expected number of succeeded pods")
    assert condition(job, "Complete")["reason"] == "CompletionsReached"
    assert when(status["completionTime"]) >= when(status["startTime"])
    assert len(await cluster.pods_of("done")) == 3
    assert (await cluster.reasons("Job", "done")).count("SuccessfulCreate") == 3

    async def gone() -> bool:
        try:
            await cluster.job("done")
        except NotFound:
            return not await cluster.pods_of("done")
        return False

    await eventually("the TTL to delete the job and the garbage collector its pods", gone, timeout=WAIT)


async def test_the_backoff_limit_fails_a_job_whose_pods_keep_failing(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job_body("flaky", env={"EXIT_CODE": "1"}, backoffLimit=1), namespace=NAMESPACE)

    job = await cluster.wait_job("flaky", "to fail", has("Failed"))

    failed = condition(job, "Failed")
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert job["status"]["failed"] == 2 and len(await cluster.pods_of("flaky")) == 2


async def test_a_pod_failure_policy_fails_the_job_on_an_exit_code_and_ignores_another(cluster: Cluster) -> None:
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}},
                        {"action": "FailJob", "onExitCodes": {"containerName": "work", "operator": "In",
                                                              "values": [42]}}]}
    await cluster.client.create(JOBS, job_body("fatal", env={"EXIT_CODE": "42"}, podFailurePolicy=policy),
                                namespace=NAMESPACE)
    await cluster.client.create(JOBS, job_body("ignored", env={"EXIT_CODE": "7"}, podFailurePolicy=policy,
                                               backoffLimit=0), namespace=NAMESPACE)

    job = await cluster.wait_job("fatal", "to fail by its policy", has("Failed"))
    [pod] = await cluster.pods_of("fatal")
    failed = condition(job, "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert failed["message"] == (f"Container work for pod default/{pod['metadata']['name']} failed with exit code 42 "
                                 "matching FailJob rule at index 1")

    await eventually("ignored failures to be retried", lambda: _at_least_pods(cluster, "ignored", 3), timeout=WAIT)
    ignored = await cluster.job("ignored")
    assert not has("Failed")(ignored) and not ignored["status"].get("failed")


async def test_a_failing_job_stops_its_other_pods_before_it_is_failed(cluster: Cluster) -> None:
    body = job_body("stops", env={"FAIL_INDEX": "0", "HANG": "1"}, completions=2, parallelism=2,
                    completionMode="Indexed", backoffLimit=0)
    await cluster.client.create(JOBS, body, namespace=NAMESPACE)

    job = await cluster.wait_job("stops", "to fail", has("Failed"))

    assert condition(job, "Failed")["reason"] == "BackoffLimitExceeded"
    assert (job["status"]["failed"], job["status"].get("active"), job["status"]["terminating"]) == (2, None, 0)
    for pod in await cluster.pods_of("stops"):  # the running index was stopped, and counted as failed
        assert pod["metadata"].get("deletionTimestamp") is None or not pod["metadata"].get("finalizers")


async def _at_least_pods(cluster: Cluster, job: str, count: int) -> bool:
    return len(await cluster.pods_of(job)) >= count


async def test_a_suspended_job_runs_nothing_until_resumed(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job_body("later", suspend=True), namespace=NAMESPACE)
    job = await cluster.wait_job("later", "to be Suspended", has("Suspended"))
    assert condition(job, "Suspended")["reason"] == "JobSuspended" and "startTime" not in job["status"]
    assert await cluster.pods_of("later") == []

    await cluster.client.patch(JOBS, "later", {"spec": {"suspend": False}}, namespace=NAMESPACE)

    job = await cluster.wait_job("later", "to complete once resumed", has("Complete"))
    assert condition(job, "Suspended")["status"] == "False" and condition(job, "Suspended")["reason"] == "JobResumed"
    assert {"Suspended", "Resumed", "Completed"} <= set(await cluster.reasons("Job", "later"))


async def test_a_cronjob_fires_each_minute_of_a_fake_clock_and_keeps_its_history(cluster: Cluster) -> None:
    created = await cluster.client.create(CRON_JOBS, cron_job_body("tick", "*/1 * * * *",
                                                                   successfulJobsHistoryLimit=1), namespace=NAMESPACE)
    start = when(created["metadata"]["creationTimestamp"])
    cluster.clock.set(start.replace(second=0) + timedelta(minutes=1, seconds=1))
    cluster.cron.resync()
    first = int((start.replace(second=0) + timedelta(minutes=1)).timestamp()) // 60

    job = await cluster.wait_job(f"tick-{first}", "to complete", has("Complete"))
    assert job["metadata"]["ownerReferences"][0]["name"] == "tick"
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"].endswith(":00Z")

    cluster.tick(60)
    await cluster.wait_job(f"tick-{first + 1}", "to complete", has("Complete"))
    cluster.tick(1)

    async def history_kept() -> dict[str, Any] | None:
        cron_job = await cluster.client.get(CRON_JOBS, "tick", namespace=NAMESPACE)
        jobs = (await cluster.client.list(JOBS, namespace=NAMESPACE))["items"]
        names = sorted(j["metadata"]["name"] for j in jobs if j["metadata"]["name"].startswith("tick-"))
        done = names == [f"tick-{first + 1}"] and not cron_job["status"].get("active")
        return cron_job if done and cron_job["status"].get("lastSuccessfulTime") else None

    cron_job = await eventually("the older run to be deleted past the history limit", history_kept, timeout=WAIT)
    assert when(cron_job["status"]["lastScheduleTime"]).timestamp() // 60 == first + 1
    reasons = await cluster.reasons("CronJob", "tick")
    assert {"SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"} <= set(reasons)


async def test_after_many_missed_schedules_one_catch_up_run_starts_with_a_warning(cluster: Cluster) -> None:
    created = await cluster.client.create(CRON_JOBS, cron_job_body("late", "*/1 * * * *"), namespace=NAMESPACE)
    start = when(created["metadata"]["creationTimestamp"])
    cluster.clock.set(start + timedelta(hours=3))  # the controller-manager was down for 180 runs
    cluster.cron.resync()

    expected = int(start.replace(second=0).timestamp()) // 60 + 180
    await cluster.wait_job(f"late-{expected}", "the one catch-up run to start", lambda job: True)
    reasons = await eventually("the warning", lambda: _reasons_with(cluster, "late", "TooManyMissedTimes"),
                               timeout=WAIT)
    assert reasons.count("SuccessfulCreate") == 1
    jobs = (await cluster.client.list(JOBS, namespace=NAMESPACE))["items"]
    assert [j["metadata"]["name"] for j in jobs if j["metadata"]["name"].startswith("late-")] == [f"late-{expected}"]


async def _reasons_with(cluster: Cluster, name: str, reason: str) -> list[str] | None:
    reasons = await cluster.reasons("CronJob", name)
    return reasons if reason in reasons else None


async def test_forbid_skips_a_run_while_one_is_active_and_replace_replaces_it(cluster: Cluster) -> None:
    for name, policy in (("forbid", "Forbid"), ("replace", "Replace")):
        created = await cluster.client.create(CRON_JOBS, cron_job_body(name, "*/1 * * * *", env={"HANG": "all"},
                                                                       concurrencyPolicy=policy), namespace=NAMESPACE)
    start = when(created["metadata"]["creationTimestamp"])
    cluster.clock.set(start.replace(second=0) + timedelta(minutes=1, seconds=1))
    cluster.cron.resync()
    first = int((start.replace(second=0) + timedelta(minutes=1)).timestamp()) // 60
    for name in ("forbid", "replace"):
        await cluster.wait_job(f"{name}-{first}", "to run", lambda job: (job.get("status") or {}).get("active") == 1)

    cluster.tick(60)

    await eventually("Forbid to skip the run", lambda: _reasons_with(cluster, "forbid", "JobAlreadyActive"),
                     timeout=WAIT)
    await cluster.wait_job(f"replace-{first + 1}", "to replace the running one", lambda job: True)

    async def replaced() -> bool:
        try:
            await cluster.job(f"replace-{first}")
        except NotFound:
            return True
        return False

    await eventually("the replaced run to be deleted", replaced, timeout=WAIT)
    with pytest.raises(NotFound):
        await cluster.job(f"forbid-{first + 1}")


async def test_deleting_a_namespace_takes_its_running_jobs_and_their_tracked_pods(cluster: Cluster) -> None:
    await cluster.client.create(NAMESPACES, {"metadata": {"name": "batch-ns"}})
    await cluster.client.create(JOBS, job_body("forever", env={"HANG": "all"}), namespace="batch-ns")
    await cluster.client.create(CRON_JOBS, cron_job_body("often", "@hourly"), namespace="batch-ns")

    async def running() -> bool:
        pods = (await cluster.client.list(PODS, namespace="batch-ns"))["items"]
        return len(pods) == 1 and (pods[0].get("status") or {}).get("phase") == "Running"
    await eventually("the job's pod to run", running, timeout=WAIT)

    await cluster.client.delete(NAMESPACES, "batch-ns")

    async def gone() -> bool:
        try:
            await cluster.client.get(NAMESPACES, "batch-ns")
        except NotFound:
            return True
        return False
    await eventually("the namespace, its Job, CronJob and finalized pod to be gone", gone, timeout=WAIT)
