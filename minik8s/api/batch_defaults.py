"""The defaults Kubernetes fills into batch/v1 Jobs and CronJobs (pkg/apis/batch/v1/defaults.go, v1.32).

A Job that names neither completions nor parallelism runs one pod to one success; backoffLimit is 6
(the largest int32 when a per-index limit is set, since then the per-index limit governs); the
completion mode is NonIndexed; a pod failure policy's pod-condition patterns match status "True";
podReplacementPolicy is Failed with a pod failure policy (a pod is replaced once it has failed) and
TerminatingOrFailed without one (replaced as soon as it is terminating). A CronJob allows concurrent
runs and keeps 3 successful and 1 failed Job. The pod templates inside get the pod defaults. The
template of a CronJob's Job is not defaulted as a Job: Kubernetes leaves it as written, and the Job the
controller makes from it is defaulted when it is created.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject

MAX_INT32 = 2**31 - 1
DEFAULT_BACKOFF_LIMIT = 6


def default_job(job: JsonObject, on_create: bool) -> None:
    """SetDefaults_Job and the pod template's defaults."""
    spec = _object(job, "spec")
    if spec is None:
        return
    _default_template(spec)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else DEFAULT_BACKOFF_LIMIT)
    copy_template_labels(job)
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    _set(spec, "suspend", False)
    policy = _object(spec, "podFailurePolicy")
    for rule in _objects(policy.get("rules") if policy else None):
        for pattern in _objects(rule.get("onPodConditions")):
            if not pattern.get("status"):
                pattern["status"] = "True"
    if not spec.get("podReplacementPolicy"):
        spec["podReplacementPolicy"] = "Failed" if policy is not None else "TerminatingOrFailed"
    _set(spec, "manualSelector", False)


def copy_template_labels(job: JsonObject) -> None:
    """A Job without labels takes its pod template's (SetDefaults_Job; the apiserver runs it again once the
    selector's labels are generated, as Kubernetes' decoding of the stored object does)."""
    metadata = _object(job, "metadata")
    template = _object(_object(job, "spec") or {}, "template") or {}
    labels = (_object(template, "metadata") or {}).get("labels")
    if metadata is not None and isinstance(labels, dict) and labels and not metadata.get("labels"):
        metadata["labels"] = dict(labels)


def default_cron_job(cron_job: JsonObject, on_create: bool) -> None:
    """SetDefaults_CronJob and the pod template's defaults (the Job template itself is left as written)."""
    spec = _object(cron_job, "spec")
    if spec is None:
        return
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_spec = _object(_object(spec, "jobTemplate") or {}, "spec")
    if job_spec is not None:
        _default_template(job_spec)


def _default_template(spec: JsonObject) -> None:
    from minik8s.api.defaults import (
        apply_pod_spec_defaults,  # defaults.py dispatches here: import when called
    )

    template_spec = _object(_object(spec, "template") or {}, "spec")
    if template_spec is not None:
        apply_pod_spec_defaults(template_spec)


def _set(obj: JsonObject, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _object(obj: JsonObject, key: str) -> JsonObject | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def _objects(value: Any) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
