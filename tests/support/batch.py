"""What the Job and CronJob tests share: object builders, a clock tests move, and processes that finish.

The fake container runtime runs a container until told it exited (`FakeRuntime.finish`); `Processes`
plays the containers' programs for batch tests: every running app container exits at once with the
code its environment asks for (`EXIT_CODE`, or 1 for the index named by `FAIL_INDEX` when the pod's
`JOB_COMPLETION_INDEX` is that index), or keeps running when `HANG` is `all` or its index — as
`sh -c 'exit $EXIT_CODE'` would on a real node.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from minik8s.node.fake.runtime import FakeRuntime
from minik8s.node.runtime import LABEL_ROLE

BUSYBOX = "minik8s/busybox:latest"


def job_container(**env: str) -> dict[str, Any]:
    return {"name": "work", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", "exit 0"],
            "env": [{"name": key, "value": value} for key, value in env.items()]}


def job_body(name: str, *, env: dict[str, str] | None = None, restart_policy: str = "Never",
             **spec: Any) -> dict[str, Any]:
    """A batch/v1 Job of one `work` container; `spec` adds JobSpec fields (completions, parallelism, ...)."""
    template = {"spec": {"restartPolicy": restart_policy, "containers": [job_container(**(env or {}))]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {**spec, "template": template}}


def cron_job_body(name: str, schedule: str, *, env: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    job_template = {"spec": {"template": {"spec": {"restartPolicy": "Never",
                                                   "containers": [job_container(**(env or {}))]}}}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "jobTemplate": job_template, **spec}}


@dataclass
class FakeClock:
    """A controller's `now()` that moves only when the test says so."""

    moment: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def exit_code_for(env: dict[str, str]) -> int | None:
    """The code the container exits with, or None while it keeps running."""
    if env.get("HANG") in ("all", env.get("JOB_COMPLETION_INDEX", "all")):
        return None
    if "FAIL_INDEX" in env and env.get("JOB_COMPLETION_INDEX") == env["FAIL_INDEX"]:
        return 1
    return int(env.get("EXIT_CODE", "0"))


class Processes:
    """Finishes the fake runtime's running app containers as their programs would."""

    def __init__(self, runtime: FakeRuntime, *, interval: float = 0.02) -> None:
        self.runtime, self.interval = runtime, interval
        self.finished: dict[str, int] = {}  # container id -> exit code

    async def run(self) -> None:
        while True:
            for info in await self.runtime.list_containers({LABEL_ROLE: "app"}):
                spec = self.runtime.created_specs.get(info.id)
                if info.state != "running" or spec is None or info.id in self.finished:
                    continue
                code = exit_code_for(dict(spec.env))
                if code is not None:
                    self.finished[info.id] = code
                    self.runtime.finish(info.id, code)
            await asyncio.sleep(self.interval)
