"""The Job, CronJob and TTL controllers work under the controller-manager's least-privilege role (RBAC on).

Each controller makes its own calls as `system:kube-controller-manager`: the CronJob controller creates
a Job (its catch-up run, for a CronJob whose last run was minutes ago) and writes the CronJob's status;
the Job controller creates the Job's pod with its tracking finalizer and writes the Job's status; the
TTL controller deletes a finished Job whose time to live has passed. No pod runs: no node is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from minik8s.api.kinds import CRON_JOBS, JOBS, PODS
from minik8s.api.meta import format_time
from minik8s.api.rbac_policy import CONTROLLER_MANAGER_USER
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.manager import load_controllers
from tests.support.batch import cron_job_body, job_body
from tests.support.in_loop import controllers_running
from tests.support.serving import apiserver_serving
from tests.support.users import user_token
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(90)
BATCH_CONTROLLERS = ["job", "cronjob", "ttl-after-finished"]


async def test_batch_controllers_work_under_the_controller_manager_role() -> None:
    async with apiserver_serving(history=5_000, authorization_mode="RBAC") as url, \
            ApiClient([url], token=user_token("admin", "system:masters")) as admin, \
            ApiClient([url], token=user_token(CONTROLLER_MANAGER_USER)) as manager, \
            controllers_running(manager, ControllerOptions(workers=1),
                                lambda c: [cls(c) for cls in load_controllers(BATCH_CONTROLLERS)]):
        cron_job = await admin.create(CRON_JOBS, cron_job_body("nightly", "*/1 * * * *"), namespace="default")
        missed = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
        await admin.update_status(CRON_JOBS, {**cron_job, "status": {"lastScheduleTime": format_time(missed)}})

        async def catch_up_pod() -> bool:
            jobs = (await admin.list(JOBS, namespace="default"))["items"]
            pods = (await admin.list(PODS, namespace="default"))["items"]
            run = [job for job in jobs if job["metadata"]["name"].startswith("nightly-")]
            return (len(run) == 1 and (run[0].get("status") or {}).get("active") == 1 and len(pods) == 1
                    and pods[0]["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"])
        await eventually("the catch-up run's Job and its pod", catch_up_pod)
        active = (await admin.get(CRON_JOBS, "nightly", namespace="default"))["status"]["active"]
        assert [ref["name"].startswith("nightly-") for ref in active] == [True]

        done = await admin.create(JOBS, job_body("done", ttlSecondsAfterFinished=0, suspend=True), namespace="default")
        finished = [{"type": "Complete", "status": "True", "lastTransitionTime": format_time(datetime.now(UTC))}]
        await admin.update_status(JOBS, {**done, "status": {"conditions": finished, "startTime": format_time(
            datetime.now(UTC)), "completionTime": format_time(datetime.now(UTC))}})

        async def deleted() -> bool:  # in the Foreground: the garbage collector (not running here) would finish it
            try:
                return bool((await admin.get(JOBS, "done", namespace="default"))["metadata"].get("deletionTimestamp"))
            except NotFound:
                return True
        await eventually("the TTL controller to delete the finished Job", deleted)
