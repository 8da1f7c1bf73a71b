"""Validation of StatefulSets and ControllerRevisions, as pkg/apis/apps/validation words it (v1.32).

A StatefulSet's name becomes its pods' names and hostnames (`web-0`), so it must be a DNS label;
its selector must be non-empty and match the template; only replicas, ordinals, template,
updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and minReadySeconds
may change after creation. Its status is checked as a status write is (no count above
`replicas`, collisionCount never decremented).

One deliberate addition: Kubernetes leaves a StatefulSet's pod template unchecked (its pods then
fail to be created, one FailedCreate event after another); here the template's pod spec is
validated as the pods made from it will be — with each volumeClaimTemplate mounted as the
`persistentVolumeClaim` volume the controller adds — so a mistake is refused when it is made.

A ControllerRevision (the stored history of a StatefulSet's template) needs `data` and a
non-negative `revision`, and its data never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader, drop_nulls
from minik8s.api.formats import check_dns1123_label, check_percent
from minik8s.api.meta_validation import (
    IMMUTABLE_MESSAGE,
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.pod_validation import validate_pod_spec

POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
UPDATE_STRATEGIES = ("RollingUpdate", "OnDelete")
RETENTION_POLICIES = ("Retain", "Delete")
MUTABLE_SPEC_FIELDS = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
SPEC_UPDATE_MESSAGE = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                       "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                       "'minReadySeconds' are forbidden")
_STATUS_COUNTS = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")


def validate_stateful_set(reader: FieldReader, stateful_set: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, stateful_set, "StatefulSet")
    spec = reader.mapping(stateful_set, "spec", "")
    _validate_policies(reader, spec)
    _validate_counts(reader, spec)
    _validate_selector_and_template(reader, spec)
    _validate_claim_templates(reader, spec)
    _validate_status(reader, reader.mapping(stateful_set, "status", ""), old)
    if old is not None:
        validate_object_meta_update(reader, stateful_set, old)
        old_spec = old.get("spec") if isinstance(old.get("spec"), Mapping) else {}
        if _fixed_part(spec) != _fixed_part(old_spec if isinstance(old_spec, Mapping) else {}):
            reader.add(FieldError.forbidden("spec", SPEC_UPDATE_MESSAGE))


def validate_controller_revision(reader: FieldReader, revision: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, revision, "ControllerRevision")
    if revision.get("data") is None:
        reader.add(FieldError.required("data", "data is mandatory"))
    validate_nonnegative(reader, reader.integer(revision, "revision", ""), "revision")
    if old is not None:
        validate_object_meta_update(reader, revision, old)
        if drop_nulls(revision.get("data")) != drop_nulls(old.get("data")):
            reader.add(FieldError.invalid("data", revision.get("data"), IMMUTABLE_MESSAGE))


def _fixed_part(spec: Mapping[str, Any]) -> Any:
    return drop_nulls({key: value for key, value in spec.items() if key not in MUTABLE_SPEC_FIELDS})


def _validate_policies(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    policy = reader.string(spec, "podManagementPolicy", "spec")
    if not policy:
        reader.add(FieldError.required("spec.podManagementPolicy"))
    elif policy not in POD_MANAGEMENT_POLICIES:
        reader.add(FieldError.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    _validate_update_strategy(reader, spec)
    retention = reader.optional_mapping(spec, "persistentVolumeClaimRetentionPolicy", "spec")
    if retention is not None:
        path = "spec.persistentVolumeClaimRetentionPolicy"
        for field in ("whenDeleted", "whenScaled"):
            value = reader.string(retention, field, path)
            if value not in RETENTION_POLICIES:
                reader.add(FieldError.not_supported(join_path(path, field), value, RETENTION_POLICIES))


def _validate_update_strategy(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    strategy = reader.mapping(spec, "updateStrategy", "spec")
    strategy_type = reader.string(strategy, "type", "spec.updateStrategy")
    rolling_update = reader.optional_mapping(strategy, "rollingUpdate", "spec.updateStrategy")
    path = "spec.updateStrategy.rollingUpdate"
    if not strategy_type:
        reader.add(FieldError.required("spec.updateStrategy"))
    elif strategy_type == "OnDelete":
        if rolling_update is not None:
            reader.add(FieldError.invalid(path, dict(rolling_update), "only allowed for updateStrategy 'RollingUpdate'"))
    elif strategy_type == "RollingUpdate":
        if rolling_update is not None:
            validate_nonnegative(reader, reader.integer(rolling_update, "partition", path), join_path(path, "partition"))
            _validate_max_unavailable(reader, reader.int_or_string(rolling_update, "maxUnavailable", path),
                                      join_path(path, "maxUnavailable"))
    else:
        reader.add(FieldError.invalid("spec.updateStrategy", dict(strategy), "must be 'RollingUpdate' or 'OnDelete'"))


def _validate_max_unavailable(reader: FieldReader, value: int | str | None, path: str) -> None:
    """ValidatePositiveIntOrPercent, then neither 0 nor more than 100%."""
    if value is None:
        return
    if isinstance(value, str):
        problems = check_percent(value)
        reader.extend(FieldError.invalid(path, value, problem) for problem in problems)
        amount = None if problems else int(value[:-1])
        if amount is not None and amount > 100:
            reader.add(FieldError.invalid(path, value, "must not be greater than 100%"))
    else:
        validate_nonnegative(reader, value, path)
        amount = value
    if amount == 0:
        reader.add(FieldError.invalid(path, value, "cannot be 0"))


def _validate_counts(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    for field in ("replicas", "minReadySeconds"):
        validate_nonnegative(reader, reader.integer(spec, field, "spec"), join_path("spec", field))
    reader.integer(spec, "revisionHistoryLimit", "spec")  # a negative limit keeps every revision (allowed)
    reader.string(spec, "serviceName", "spec")
    ordinals = reader.optional_mapping(spec, "ordinals", "spec")
    if ordinals is not None:
        validate_nonnegative(reader, reader.integer(ordinals, "start", "spec.ordinals"), "spec.ordinals.start")


def _validate_selector_and_template(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    selector = validate_label_selector(reader, spec, "selector", "spec")
    if spec.get("selector") is None:
        reader.add(FieldError.required("spec.selector"))
    elif selector is not None and selector.is_empty():
        reader.add(FieldError.invalid("spec.selector", spec.get("selector"), "empty selector is invalid for statefulset"))
    template = reader.mapping(spec, "template", "spec")
    template_metadata = reader.mapping(template, "metadata", "spec.template")
    labels = reader.string_map(template_metadata, "labels", "spec.template.metadata")
    if selector is not None and not selector.is_empty() and not selector.matches(labels):
        reader.add(FieldError.invalid("spec.template.metadata.labels", labels,
                                      "`selector` does not match template `labels`"))
    validate_labels(reader, labels, "spec.template.labels")
    annotations = reader.string_map(template_metadata, "annotations", "spec.template.metadata")
    validate_annotations(reader, annotations, "spec.template.annotations")
    template_spec = reader.mapping(template, "spec", "spec.template")
    validate_pod_spec(reader, _with_claim_volumes(template_spec, spec), "spec.template.spec")
    restart_policy = template_spec.get("restartPolicy")
    if isinstance(restart_policy, str) and restart_policy != "Always":
        reader.add(FieldError.not_supported("spec.template.spec.restartPolicy", restart_policy, ("Always",)))
    if template_spec.get("activeDeadlineSeconds") is not None:
        reader.add(FieldError.forbidden("spec.template.spec.activeDeadlineSeconds",
                                        "activeDeadlineSeconds in StatefulSet is not Supported"))


def _with_claim_volumes(template_spec: Mapping[str, Any], spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The template's pod spec with a `persistentVolumeClaim` volume per claim template, as its pods get."""
    claims = [claim for claim in spec.get("volumeClaimTemplates") or [] if isinstance(claim, Mapping)]
    names = [str((claim.get("metadata") or {}).get("name") or "") for claim in claims
             if isinstance(claim.get("metadata") or {}, Mapping)]
    if not names:
        return template_spec
    volumes = template_spec.get("volumes") or []
    if not isinstance(volumes, list):
        return template_spec  # a malformed volumes field: reported as it is
    kept = [volume for volume in volumes if not (isinstance(volume, Mapping) and volume.get("name") in names)]
    claim_volumes = [{"name": name, "persistentVolumeClaim": {"claimName": name}} for name in names if name]
    return {**template_spec, "volumes": [*kept, *claim_volumes]}


def _validate_claim_templates(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    """Each claim template names the pods' volume and its claims (`<name>-<set>-<ordinal>`): a DNS label."""
    seen: set[str] = set()
    for path, claim in reader.objects(spec, "volumeClaimTemplates", "spec"):
        name_path = join_path(path, "metadata", "name")
        name = reader.string(reader.mapping(claim, "metadata", path), "name", join_path(path, "metadata"))
        if not name:
            reader.add(FieldError.required(name_path))
            continue
        reader.extend(FieldError.invalid(name_path, name, problem) for problem in check_dns1123_label(name))
        if name in seen:
            reader.add(FieldError.duplicate(name_path, name))
        seen.add(name)


def _validate_status(reader: FieldReader, status: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    """ValidateStatefulSetStatus, and a collisionCount that only grows."""
    counts = {field: reader.integer(status, field, "status") for field in _STATUS_COUNTS}
    for field, value in counts.items():
        validate_nonnegative(reader, value, join_path("status", field))
    for field in ("observedGeneration", "collisionCount"):
        validate_nonnegative(reader, reader.integer(status, field, "status"), join_path("status", field))
    replicas = counts["replicas"] or 0
    for field in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        value = counts[field]
        if value is not None and value > replicas:
            reader.add(FieldError.invalid(join_path("status", field), value, "cannot be greater than status.replicas"))
    available, ready = counts["availableReplicas"], counts["readyReplicas"] or 0
    if available is not None and available > ready:
        reader.add(FieldError.invalid("status.availableReplicas", available,
                                      "cannot be greater than status.readyReplicas"))
    if old is None:
        return
    old_status = old.get("status") if isinstance(old.get("status"), Mapping) else {}
    previous = old_status.get("collisionCount") if isinstance(old_status, Mapping) else None
    current = status.get("collisionCount")
    if isinstance(previous, int) and (not isinstance(current, int) or current < previous):
        reader.add(FieldError.invalid("status.collisionCount", current if isinstance(current, int) else 0,
                                      "cannot be decremented"))
