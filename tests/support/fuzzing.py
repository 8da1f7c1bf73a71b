"""Fuzzing a served apiserver with schemathesis over the apiserver's own OpenAPI v3 documents.

What a user of the fuzzer would do: read `/openapi/v3`, load each group-version's document into
schemathesis, and send what it generates, in two phases. Fuzzing: for every operation, a fixed
number of Hypothesis cases from schemathesis' strategies, valid (positive) and schema-breaking
(negative), sent one by one (schemathesis 4's engine sent about 300 cases per operation with
`max-examples = 4` here, so a bounded run drives the strategies itself). Coverage: schemathesis' engine, configured as a
schemathesis.toml would, sends boundary and type-breaking values for each parameter and field —
cheap and systematic. Each answer is judged here: nothing at or above 500, and every error a
Kubernetes `Status` whose `code` is the HTTP status. A seed makes a run repeat; a deadline stops it
on a slow machine.

Left out, each for its reason: `watch` is always `false` (a watch streams until its timeout, by
design, and would only measure the client's read timeout); pod `log` and `exec` are served by a
node agent through the apiserver's proxy, and there is none; and a plan may give bodies that hold
a pod spec (Pod, Deployment, ReplicaSet, DaemonSet and their status) fewer cases and the coverage
phase to a subset of operations, since generating a pod spec costs 0.2 to 0.5 s against 0.02 s.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.engine import events, from_schema
from schemathesis.generation import GenerationMode

from minik8s.apiserver import error_handlers

EXCLUDED_PATHS = r"/(log|exec)$"
POD_SPEC_BODIES = r"/(pods|deployments|replicasets|daemonsets)(/\{name\}(/status)?)?$"
WRITES = ["POST", "PUT", "PATCH"]
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    """A response the API must never give, with what reproduces it."""

    operation: str
    problem: str
    status: int
    request: str
    response: str
    traceback: str = ""

    def __str__(self) -> str:
        text = f"{self.operation}: {self.problem} (HTTP {self.status})\n  {self.request}\n  <- {self.response}"
        return f"{text}\n{self.traceback}" if self.traceback else text


@dataclass
class FuzzRun:
    """What a run sent and what came back."""

    seed: int
    cases: int = 0
    seconds: float = 0.0
    operations: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    by_phase: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds_by_phase: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    cut_short: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.by_status.items() if status >= 500)

    @property
    def not_status_errors(self) -> int:
        return sum(1 for finding in self.findings if 400 <= finding.status < 500)

    @property
    def cases_per_minute(self) -> float:
        return self.cases / self.seconds * 60 if self.seconds else 0.0


@dataclass(frozen=True)
class FuzzPlan:
    """How much to send: Hypothesis cases per operation, where the coverage phase runs, and when to stop."""

    examples: int = 4
    pod_spec_examples: int = 1
    coverage_paths: str | None = None  # a regex; None: every operation
    coverage_pod_spec_bodies: bool = False  # 4,000 to 8,000 cases each
    deadline_seconds: float = 100.0
    seed: int = 13

    def coverage_config(self, seconds: float) -> SchemathesisConfig:
        """What a schemathesis.toml would say to run only the coverage phase, for at most `seconds`."""
        return SchemathesisConfig.from_dict({
            "seed": self.seed, "max-time": max(1, int(seconds)), "request-timeout": REQUEST_TIMEOUT,
            "continue-on-failure": True, "parameters": {"watch": False}, "checks": {"enabled": False},
            "phases": {name: {"enabled": name == "coverage"} for name in ("examples", "coverage", "fuzzing", "stateful")},
        })

    def examples_for(self, method: str, path: str) -> int:
        return self.pod_spec_examples if method.upper() in WRITES and re.search(POD_SPEC_BODIES, path) else self.examples


def status_problem(status: int, body: bytes) -> str | None:
    """Why an answer is one the API must not give (a 5xx, an error that is not its Status); None if fine."""
    if status >= 500:
        return "a server error"
    if status < 400:
        return None
    try:
        decoded = httpx.Response(status, content=body).json()
    except ValueError:
        return "an error body that is not JSON"
    if not isinstance(decoded, dict) or decoded.get("kind") != "Status" or decoded.get("apiVersion") != "v1":
        return "an error body that is not a Status"
    if decoded.get("status") != "Failure" or decoded.get("code") != status or not decoded.get("reason"):
        return f"a Status that does not say Failure/{status} with a reason"
    return None


class ServerErrors(logging.Handler):
    """Keeps the traceback the apiserver logs for its latest 500 (the engine sends one request at a time)."""

    def __init__(self) -> None:
        super().__init__()
        self.latest = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.latest = "".join(traceback.format_exception(record.exc_info[1])[-8:])

    def take(self) -> str:
        latest, self.latest = self.latest, ""
        return latest


@contextlib.contextmanager
def server_errors() -> Iterator[ServerErrors]:
    """The apiserver's 500 tracebacks during the block, kept instead of printed."""
    logger = logging.getLogger(error_handlers.__name__)
    handler, propagate = ServerErrors(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _Judge:
    """Records every answer of a phase (the coverage engine calls it as an `after_call` hook)."""

    def __init__(self, run: FuzzRun, phase: str, errors: ServerErrors) -> None:
        self.run, self.phase, self.errors = run, phase, errors

    def __call__(self, _: Any, case: Any, response: Any) -> None:
        self.run.cases += 1
        self.run.by_phase[self.phase] += 1
        self.run.by_status[response.status_code] += 1
        problem = status_problem(response.status_code, response.content)
        traceback_text = self.errors.take()
        if problem is not None:
            self.run.findings.append(Finding(
                f"{case.method.upper()} {case.path}", problem, response.status_code, case.as_curl_command()[:600],
                response.content[:300].decode(errors="replace"), traceback_text))


def _without_watch(case: Any) -> Any:
    if case.query:
        case.query.pop("watch", None)
    return case


def _fuzz_operation(operation: Any, judge: _Judge, base_url: str, session: requests.Session, plan: FuzzPlan) -> None:
    """The fuzzing phase of one operation: `plan.examples_for` it Hypothesis cases in each generation mode."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        @seed(plan.seed)
        @settings(max_examples=plan.examples_for(operation.method, operation.path), deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy(generation_mode=mode).map(_without_watch))
        def send(case: Any) -> None:
            try:
                response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
            except requests.RequestException as error:
                judge.run.findings.append(Finding(f"{operation.method.upper()} {operation.path}",
                                                  f"no answer: {type(error).__name__}", 0,
                                                  case.as_curl_command()[:600], str(error)[:300]))
                return
            judge(None, case, response)

        send()


def _cover(run: FuzzRun, schema: Any, errors: ServerErrors) -> None:
    """The coverage phase, by schemathesis' engine: boundary and type-breaking values for each input."""
    schema.hook("after_call")(_Judge(run, "coverage", errors))
    for event in from_schema(schema).execute():
        if isinstance(event, events.NonFatalError) and event.related_to_operation:
            run.findings.append(Finding(event.label, f"no answer: {type(event.value).__name__}", 0, event.label,
                                        str(event.value)[:300]))
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished) and event.stop_reason.value == "max_time":
            run.cut_short.append(f"coverage of {schema.location}")


def fuzz_apiserver(base_url: str, plan: FuzzPlan | None = None) -> FuzzRun:
    """Fuzz the operations of every group-version document the apiserver at `base_url` serves."""
    plan = plan or FuzzPlan()
    run, started = FuzzRun(seed=plan.seed), time.monotonic()
    index = httpx.get(f"{base_url}/openapi/v3", timeout=REQUEST_TIMEOUT).json()["paths"]
    urls = [f"{base_url}{entry['serverRelativeURL']}" for entry in index.values()]
    with server_errors() as errors, requests.Session() as session:
        judge = _Judge(run, "fuzzing", errors)
        for url in urls:
            for result in schemathesis.openapi.from_url(url).exclude(path_regex=EXCLUDED_PATHS).get_all_operations():
                if isinstance(result, Err):
                    raise result.err()  # an operation schemathesis cannot read: the document is wrong
                operation = result.ok()
                if time.monotonic() - started > plan.deadline_seconds:
                    run.cut_short.append(f"{operation.method.upper()} {operation.path}")
                    continue
                run.operations += 1
                _fuzz_operation(operation, judge, base_url, session, plan)
        run.seconds_by_phase["fuzzing"] = time.monotonic() - started
        for url in urls:
            config = plan.coverage_config(plan.deadline_seconds - (time.monotonic() - started))
            schema = schemathesis.openapi.from_url(url, config=config).exclude(path_regex=EXCLUDED_PATHS)
            if not plan.coverage_pod_spec_bodies:
                schema = schema.exclude(path_regex=POD_SPEC_BODIES, method=WRITES)
            _cover(run, schema.include(path_regex=plan.coverage_paths or ".*"), errors)
    run.seconds = time.monotonic() - started
    run.seconds_by_phase["coverage"] = run.seconds - run.seconds_by_phase["fuzzing"]
    return run
