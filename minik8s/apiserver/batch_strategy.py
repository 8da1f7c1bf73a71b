"""What the apiserver does to a Job as it is created, and how deleting one treats its pods.

Kubernetes' Job strategy (pkg/registry/batch/job/strategy.go) generates the selector of every Job
that does not ask for a manual one: the Job's new uid under `batch.kubernetes.io/controller-uid`
(and the legacy `controller-uid`), with `batch.kubernetes.io/job-name` and `job-name` added to the
template's labels, so that no two Jobs ever select the same pods, even two of the same name. It
needs the uid, so it runs after the uid is assigned. A Job then takes its template's labels when it
has none of its own (the Job defaulter, which Kubernetes runs again when it reads the stored Job).
Deleting a batch/v1 Job without a propagation policy orphans its pods (DefaultGarbageCollectionPolicy
keeps batch/v1's old behaviour); kubectl always asks for Background.
"""

from __future__ import annotations

from minik8s.api.batch_defaults import copy_template_labels
from minik8s.api.job_validation import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
)
from minik8s.api.meta import JsonObject
from minik8s.api.registry import ResourceKind


def prepare_job_for_create(job: JsonObject) -> None:
    """generateSelectorIfNeeded, then the template's labels onto a Job without labels; status starts empty."""
    spec = job.get("spec")
    if isinstance(spec, dict) and spec.get("manualSelector") is not True:
        _generate_selector(job, spec)
    copy_template_labels(job)
    job["status"] = {}


def _generate_selector(job: JsonObject, spec: JsonObject) -> None:
    metadata = job["metadata"]
    template = spec.setdefault("template", {})
    if not isinstance(template, dict):
        return  # validation reports it
    template_metadata = template.setdefault("metadata", {})
    if not isinstance(template_metadata, dict):
        return
    labels = template_metadata.get("labels")
    if not isinstance(labels, dict):
        labels = template_metadata["labels"] = {}
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, str(metadata.get("name") or ""))
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, str(metadata.get("uid") or ""))  # a conflicting value is the user's: validation says so
    selector = spec.get("selector")
    if selector is None:
        selector = spec["selector"] = {}
    if isinstance(selector, dict):
        match_labels = selector.get("matchLabels")
        if not isinstance(match_labels, dict):
            match_labels = selector["matchLabels"] = {}
        match_labels.setdefault(CONTROLLER_UID_LABEL, str(metadata.get("uid") or ""))


def default_propagation_policy(resource: ResourceKind) -> str | None:
    """The policy a DELETE without one gets: Orphan for batch/v1 Jobs, else None (Background)."""
    return "Orphan" if (resource.group, resource.kind) == ("batch", "Job") else None
