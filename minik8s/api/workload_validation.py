"""Validation of the apps/v1 workloads: Deployment, ReplicaSet, DaemonSet.

They share one shape (a non-empty selector that must match the labels of a pod template
whose restartPolicy is Always, validated as a pod spec under `spec.template.spec`), an
immutable selector, and rolling-update knobs that are integers or percentages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader, drop_nulls
from minik8s.api.formats import check_percent
from minik8s.api.meta_validation import (
    validate_annotations,
    validate_immutable,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.pod_validation import validate_pod_spec

_TEMPLATE_PATH = "spec.template"


def validate_deployment(reader: FieldReader, deployment: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    spec = _validate_workload(reader, deployment, old, kind="Deployment", noun="deployment")
    validate_nonnegative(reader, reader.integer(spec, "replicas", "spec"), "spec.replicas")
    strategy = reader.mapping(spec, "strategy", "spec")
    strategy_type = reader.string(strategy, "type", "spec.strategy")
    rolling_update = reader.optional_mapping(strategy, "rollingUpdate", "spec.strategy")
    if strategy_type == "Recreate":
        if rolling_update is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            reader.add(FieldError.forbidden("spec.strategy.rollingUpdate", detail))
    elif strategy_type == "RollingUpdate":
        if rolling_update is None:
            reader.add(
                FieldError.required(
                    "spec.strategy.rollingUpdate", "this should be defaulted and never be nil"
                )
            )
        else:
            _validate_rolling_update(reader, rolling_update, "spec.strategy.rollingUpdate")
    else:
        reader.add(
            FieldError.not_supported("spec.strategy.type", strategy_type, ("Recreate", "RollingUpdate"))
        )
    for field in ("revisionHistoryLimit", "progressDeadlineSeconds"):
        validate_nonnegative(reader, reader.integer(spec, field, "spec"), join_path("spec", field))
    deadline = reader.integer(spec, "progressDeadlineSeconds", "spec")
    min_ready = reader.integer(spec, "minReadySeconds", "spec")
    if deadline is not None and min_ready is not None and deadline <= min_ready:
        reader.add(
            FieldError.invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
        )
    reader.boolean(spec, "paused", "spec")


def validate_replica_set(reader: FieldReader, replica_set: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    # Kubernetes words the empty-selector error of a ReplicaSet as for a deployment, too.
    spec = _validate_workload(reader, replica_set, old, kind="ReplicaSet", noun="deployment")
    validate_nonnegative(reader, reader.integer(spec, "replicas", "spec"), "spec.replicas")


def validate_daemon_set(reader: FieldReader, daemon_set: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    spec = _validate_workload(reader, daemon_set, old, kind="DaemonSet", noun="daemonset")
    strategy = reader.mapping(spec, "updateStrategy", "spec")
    strategy_type = reader.string(strategy, "type", "spec.updateStrategy")
    if strategy_type == "RollingUpdate":
        rolling_update = reader.optional_mapping(strategy, "rollingUpdate", "spec.updateStrategy")
        if rolling_update is None:
            reader.add(FieldError.required("spec.updateStrategy.rollingUpdate"))
        else:
            _validate_rolling_update(reader, rolling_update, "spec.updateStrategy.rollingUpdate")
    elif strategy_type != "OnDelete":
        supported = ("RollingUpdate", "OnDelete")
        reader.add(FieldError.not_supported("spec.updateStrategy.type", strategy_type, supported))
    validate_nonnegative(
        reader, reader.integer(spec, "revisionHistoryLimit", "spec"), "spec.revisionHistoryLimit"
    )


def _validate_workload(
    reader: FieldReader, workload: Mapping[str, Any], old: Mapping[str, Any] | None, *, kind: str, noun: str
) -> Mapping[str, Any]:
    """Metadata, selector, template and (on update) the immutable selector; return the spec."""
    validate_object_meta(reader, workload, kind)
    spec = reader.mapping(workload, "spec", "")
    selector = validate_label_selector(reader, spec, "selector", "spec")
    if spec.get("selector") is None:
        reader.add(FieldError.required("spec.selector"))
    elif selector is not None and selector.is_empty():
        reader.add(
            FieldError.invalid("spec.selector", spec.get("selector"), f"empty selector is invalid for {noun}")
        )
    template = reader.mapping(spec, "template", "spec")
    template_metadata = reader.mapping(template, "metadata", _TEMPLATE_PATH)
    labels = reader.string_map(template_metadata, "labels", "spec.template.metadata")
    validate_labels(reader, labels, "spec.template.metadata.labels")
    annotations = reader.string_map(template_metadata, "annotations", "spec.template.metadata")
    validate_annotations(reader, annotations, "spec.template.metadata.annotations")
    if selector is not None and not selector.is_empty() and not selector.matches(labels):
        detail = "`selector` does not match template `labels`"
        reader.add(FieldError.invalid("spec.template.metadata.labels", labels, detail))
    _validate_template_spec(reader, reader.mapping(template, "spec", _TEMPLATE_PATH))
    validate_nonnegative(reader, reader.integer(spec, "minReadySeconds", "spec"), "spec.minReadySeconds")
    if old is not None:
        validate_object_meta_update(reader, workload, old)
        old_spec = old.get("spec") if isinstance(old.get("spec"), Mapping) else {}
        old_selector = old_spec.get("selector") if isinstance(old_spec, Mapping) else None
        if old_selector is not None:
            validate_immutable(
                reader, drop_nulls(spec.get("selector")), drop_nulls(old_selector), "spec.selector"
            )
    return spec


def _validate_template_spec(reader: FieldReader, template_spec: Mapping[str, Any]) -> None:
    path = "spec.template.spec"
    validate_pod_spec(reader, template_spec, path)
    restart_policy = template_spec.get("restartPolicy")
    if isinstance(restart_policy, str) and restart_policy and restart_policy != "Always":
        reader.add(FieldError.not_supported(join_path(path, "restartPolicy"), restart_policy, ("Always",)))
    if template_spec.get("activeDeadlineSeconds") is not None:
        detail = "activeDeadlineSeconds in ReplicaSet is not Supported"
        reader.add(FieldError.forbidden(join_path(path, "activeDeadlineSeconds"), detail))


def _validate_rolling_update(reader: FieldReader, rolling_update: Mapping[str, Any], path: str) -> None:
    max_unavailable = reader.int_or_string(rolling_update, "maxUnavailable", path)
    max_surge = reader.int_or_string(rolling_update, "maxSurge", path)
    for name, value in (("maxUnavailable", max_unavailable), ("maxSurge", max_surge)):
        _validate_int_or_percent(reader, value, join_path(path, name))
    unavailable_amount = _read_amount(max_unavailable)
    if isinstance(max_unavailable, str) and unavailable_amount is not None and unavailable_amount > 100:
        reader.add(
            FieldError.invalid(
                join_path(path, "maxUnavailable"), max_unavailable, "must not be greater than 100%"
            )
        )
    if unavailable_amount == 0 and _read_amount(max_surge) in (0, None):
        reader.add(
            FieldError.invalid(
                join_path(path, "maxUnavailable"), max_unavailable, "may not be 0 when `maxSurge` is 0"
            )
        )


def _validate_int_or_percent(reader: FieldReader, value: int | str | None, path: str) -> None:
    if isinstance(value, str):
        reader.extend(FieldError.invalid(path, value, problem) for problem in check_percent(value))
    elif isinstance(value, int):
        validate_nonnegative(reader, value, path)


def _read_amount(value: int | str | None) -> int | None:
    """The number of an int-or-percent (`25%` → 25); None when absent or malformed."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and not check_percent(value):
        return int(value[:-1])
    return None
