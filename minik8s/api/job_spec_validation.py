"""Validation of a JobSpec, shared by Jobs and CronJobs' Job templates (pkg/apis/batch/validation, v1.32).

Both a Job and the Job template of a CronJob are checked here: counts never negative, the
completion mode and what it allows (an Indexed Job needs `completions`; per-index backoff only for
Indexed Jobs), the pod failure policy's rules, the success policy (Indexed only),
podReplacementPolicy, managedBy, and the pod template, whose restartPolicy must be OnFailure or
Never (Never alone with a pod failure policy). Messages are Kubernetes' own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import OMITTED, FieldError, join_index, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_dns1123_subdomain, check_qualified_name
from minik8s.api.job_indexes import IndexesError, parse_indexes
from minik8s.api.meta_validation import validate_annotations, validate_labels, validate_nonnegative
from minik8s.api.pod_validation import validate_pod_spec

MAX_PARALLELISM_INDEXED = 100_000
MAX_FAILED_INDEXES = 100_000
COMPLETIONS_SOFT_LIMIT = 100_000
PARALLELISM_LIMIT_HIGH_COMPLETIONS = 10_000
MAX_POD_FAILURE_POLICY_RULES = 20
MAX_EXIT_CODE_VALUES = 255
MAX_CONDITION_PATTERNS = 20
MAX_MANAGED_BY_LENGTH = 63
MAX_SUCCESS_POLICY_RULES = 20
MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024
ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
OPERATORS = ("In", "NotIn")
CONDITION_STATUSES = ("False", "True", "Unknown")
REPLACEMENT_POLICIES = ("Failed", "TerminatingOrFailed")
_PATH_PART = re.compile(r"^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
_COUNTS = ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
           "backoffLimitPerIndex", "maxFailedIndexes")


def too_many(path: str, count: int, limit: int) -> FieldError:
    return FieldError(path, "FieldValueTooMany", f"Too many: {count}: must have at most {limit} items")


def validate_job_spec(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    """validateJobSpec: everything of a JobSpec but its selector."""
    counts = {name: reader.integer(spec, name, path) for name in _COUNTS}
    for name, value in counts.items():
        validate_nonnegative(reader, value, join_path(path, name))
    if counts["maxFailedIndexes"] is not None and counts["backoffLimitPerIndex"] is None:
        reader.add(FieldError.required(join_path(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
    _validate_managed_by(reader, reader.optional_string(spec, "managedBy", path), join_path(path, "managedBy"))
    mode = reader.optional_string(spec, "completionMode", path)
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        reader.add(FieldError.not_supported(join_path(path, "completionMode"), mode, ("NonIndexed", "Indexed")))
    if mode == "Indexed":
        _validate_indexed(reader, counts, path)
    else:
        for name in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if counts[name] is not None:
                reader.add(FieldError.invalid(join_path(path, name), counts[name], "requires indexed completion mode"))
    policy = reader.optional_mapping(spec, "podFailurePolicy", path)
    if policy is not None:
        _validate_pod_failure_policy(reader, spec, policy, join_path(path, "podFailurePolicy"))
    success = reader.optional_mapping(spec, "successPolicy", path)
    if success is not None:
        if mode != "Indexed":
            reader.add(FieldError.invalid(join_path(path, "successPolicy"), dict(success),
                                          "requires indexed completion mode"))
        else:
            _validate_success_policy(reader, success, counts["completions"] or 0, join_path(path, "successPolicy"))
    _validate_replacement_policy(reader, spec, policy is not None, path)
    template = reader.mapping(spec, "template", path)
    validate_pod_template(reader, template, join_path(path, "template"))
    _validate_restart_policy(reader, reader.mapping(template, "spec", join_path(path, "template")),
                             policy is not None, join_path(path, "template", "spec", "restartPolicy"))


def validate_pod_template(reader: FieldReader, template: Mapping[str, Any], path: str) -> None:
    """ValidatePodTemplateSpec: the template's labels, annotations and pod spec."""
    metadata = reader.mapping(template, "metadata", path)
    metadata_path = join_path(path, "metadata")
    validate_labels(reader, reader.string_map(metadata, "labels", metadata_path), join_path(metadata_path, "labels"))
    validate_annotations(reader, reader.string_map(metadata, "annotations", metadata_path),
                         join_path(metadata_path, "annotations"))
    validate_pod_spec(reader, reader.mapping(template, "spec", path), join_path(path, "spec"))


def _validate_indexed(reader: FieldReader, counts: Mapping[str, int | None], path: str) -> None:
    completions, parallelism, max_failed = counts["completions"], counts["parallelism"], counts["maxFailedIndexes"]
    if completions is None:
        reader.add(FieldError.required(join_path(path, "completions"), "when completion mode is Indexed"))
    if parallelism is not None and parallelism > MAX_PARALLELISM_INDEXED:
        reader.add(FieldError.invalid(join_path(path, "parallelism"), parallelism,
                                      f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion "
                                      "mode is Indexed"))
    if completions is not None and max_failed is not None and max_failed > completions:
        reader.add(FieldError.invalid(join_path(path, "maxFailedIndexes"), max_failed,
                                      "must be less than or equal to completions"))
    if max_failed is not None and max_failed > MAX_FAILED_INDEXES:
        reader.add(FieldError.invalid(join_path(path, "maxFailedIndexes"), max_failed,
                                      f"must be less than or equal to {MAX_FAILED_INDEXES}"))
    if completions is not None and completions > COMPLETIONS_SOFT_LIMIT and counts["backoffLimitPerIndex"] is not None:
        if max_failed is None:
            reader.add(FieldError.required(join_path(path, "maxFailedIndexes"),
                                           f"must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"))
        high = f"when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
        for name, value in (("parallelism", parallelism), ("maxFailedIndexes", max_failed)):
            if value is not None and value > PARALLELISM_LIMIT_HIGH_COMPLETIONS:
                reader.add(FieldError.invalid(join_path(path, name), value,
                                              f"must be less than or equal to {PARALLELISM_LIMIT_HIGH_COMPLETIONS} {high}"))


def _validate_managed_by(reader: FieldReader, managed_by: str | None, path: str) -> None:
    """IsDomainPrefixedPath, at most 63 characters."""
    if managed_by is None:
        return
    host, slash, rest = managed_by.partition("/")
    if not slash:
        reader.add(FieldError.invalid(path, managed_by, 'must be a domain-prefixed path (such as "acme.io/foo")'))
    else:
        reader.extend(FieldError.invalid(path, host, problem) for problem in check_dns1123_subdomain(host))
        if not _PATH_PART.match(rest):
            reader.add(FieldError.invalid(path, rest, "Invalid path"))
    if len(managed_by) > MAX_MANAGED_BY_LENGTH:
        reader.add(FieldError(path, "FieldValueTooLong", f"Too long: may not be more than {MAX_MANAGED_BY_LENGTH} bytes"))


def _validate_replacement_policy(reader: FieldReader, spec: Mapping[str, Any], has_failure_policy: bool,
                                 path: str) -> None:
    policy = reader.optional_string(spec, "podReplacementPolicy", path)
    if policy is None:
        return
    if has_failure_policy and policy != "Failed":
        reader.add(FieldError.not_supported(join_path(path, "podReplacementPolicy"), policy, ("Failed",)))
    elif policy not in REPLACEMENT_POLICIES:
        reader.add(FieldError.not_supported(join_path(path, "podReplacementPolicy"), policy, REPLACEMENT_POLICIES))


def _validate_restart_policy(reader: FieldReader, pod_spec: Mapping[str, Any], has_failure_policy: bool,
                             path: str) -> None:
    policy = pod_spec.get("restartPolicy")
    if policy in ("Always", "", None):
        reader.add(FieldError.required(path, 'valid values: "OnFailure", "Never"'))
    elif policy not in ("OnFailure", "Never"):
        reader.add(FieldError.not_supported(path, policy, ("OnFailure", "Never")))
    elif has_failure_policy and policy != "Never":
        reader.add(FieldError.invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified'))


def _validate_pod_failure_policy(reader: FieldReader, spec: Mapping[str, Any], policy: Mapping[str, Any],
                                 path: str) -> None:
    rules_path = join_path(path, "rules")
    rules = reader.objects(policy, "rules", path)
    if len(rules) > MAX_POD_FAILURE_POLICY_RULES:
        reader.add(too_many(rules_path, len(rules), MAX_POD_FAILURE_POLICY_RULES))
    pod_spec = reader.mapping(reader.mapping(spec, "template", ""), "spec", "")
    names = {str(c.get("name")) for field in ("containers", "initContainers")
             for c in _list(pod_spec.get(field)) if isinstance(c, Mapping)}
    per_index = spec.get("backoffLimitPerIndex") is not None
    for rule_path, rule in rules:
        _validate_rule(reader, rule, rule_path, names, per_index)


def _validate_rule(reader: FieldReader, rule: Mapping[str, Any], path: str, names: set[str], per_index: bool) -> None:
    action = reader.string(rule, "action", path)
    action_path = join_path(path, "action")
    if not action:
        reader.add(FieldError.required(action_path, 'valid values: ["Count" "FailIndex" "FailJob" "Ignore"]'))
    elif action == "FailIndex":
        if not per_index:
            reader.add(FieldError.invalid(action_path, action, "requires the backoffLimitPerIndex to be set"))
    elif action not in ACTIONS:
        reader.add(FieldError.not_supported(action_path, action, ACTIONS))
    exit_codes = reader.optional_mapping(rule, "onExitCodes", path)
    conditions = reader.objects(rule, "onPodConditions", path)
    if exit_codes is not None:
        _validate_exit_codes(reader, exit_codes, join_path(path, "onExitCodes"), names)
    if conditions:
        _validate_conditions(reader, conditions, join_path(path, "onPodConditions"))
    if exit_codes is not None and conditions:
        reader.add(FieldError.invalid(path, OMITTED, "specifying both OnExitCodes and OnPodConditions is not supported"))
    if exit_codes is None and not conditions:
        reader.add(FieldError.invalid(path, OMITTED, "specifying one of OnExitCodes and OnPodConditions is required"))


def _validate_conditions(reader: FieldReader, patterns: list[tuple[str, Mapping[str, Any]]], path: str) -> None:
    if len(patterns) > MAX_CONDITION_PATTERNS:
        reader.add(too_many(path, len(patterns), MAX_CONDITION_PATTERNS))
    for pattern_path, pattern in patterns:
        condition_type = reader.string(pattern, "type", pattern_path)
        type_path = join_path(pattern_path, "type")
        if not condition_type:
            reader.add(FieldError.required(type_path, "name part must be non-empty"))
        reader.extend(FieldError.invalid(type_path, condition_type, problem)
                      for problem in check_qualified_name(condition_type) if condition_type)
        status = reader.string(pattern, "status", pattern_path)
        status_path = join_path(pattern_path, "status")
        if not status:
            reader.add(FieldError.required(status_path, 'valid values: ["False" "True" "Unknown"]'))
        elif status not in CONDITION_STATUSES:
            reader.add(FieldError.not_supported(status_path, status, CONDITION_STATUSES))


def _validate_exit_codes(reader: FieldReader, requirement: Mapping[str, Any], path: str, names: set[str]) -> None:
    operator = reader.string(requirement, "operator", path)
    if not operator:
        reader.add(FieldError.required(join_path(path, "operator"), 'valid values: ["In" "NotIn"]'))
    elif operator not in OPERATORS:
        reader.add(FieldError.not_supported(join_path(path, "operator"), operator, OPERATORS))
    container = reader.optional_string(requirement, "containerName", path)
    if container is not None and container not in names:
        reader.add(FieldError.invalid(join_path(path, "containerName"), container,
                                      "must be one of the container or initContainer names in the pod template"))
    values_path = join_path(path, "values")
    values = [value for value in reader.items(requirement, "values", path) if isinstance(value, int)]
    if not values:
        reader.add(FieldError.invalid(values_path, values, "at least one value is required"))
    elif len(values) > MAX_EXIT_CODE_VALUES:
        reader.add(too_many(values_path, len(values), MAX_EXIT_CODE_VALUES))
    seen: set[int] = set()
    for position, value in enumerate(values):
        if operator == "In" and value == 0:
            reader.add(FieldError.invalid(join_index(values_path, position), value, "must not be 0 for the In operator"))
        if value in seen:
            reader.add(FieldError.duplicate(join_index(values_path, position), value))
        seen.add(value)
    if values != sorted(values):
        reader.add(FieldError.invalid(values_path, values, "must be ordered"))


def _validate_success_policy(reader: FieldReader, policy: Mapping[str, Any], completions: int, path: str) -> None:
    rules_path = join_path(path, "rules")
    rules = reader.objects(policy, "rules", path)
    if not rules:
        reader.add(FieldError.required(rules_path, "at least one rules must be specified when the successPolicy is "
                                                   "specified"))
    if len(rules) > MAX_SUCCESS_POLICY_RULES:
        reader.add(too_many(rules_path, len(rules), MAX_SUCCESS_POLICY_RULES))
    for rule_path, rule in rules:
        indexes = reader.optional_string(rule, "succeededIndexes", rule_path)
        count = reader.integer(rule, "succeededCount", rule_path)
        if indexes is None and count is None:
            reader.add(FieldError.required(rule_path, "at least one of succeededCount or succeededIndexes must be "
                                                      "specified"))
        total = 0
        if indexes is not None:
            indexes_path = join_path(rule_path, "succeededIndexes")
            if len(indexes) > MAX_SUCCEEDED_INDEXES_LENGTH:
                reader.add(FieldError(indexes_path, "FieldValueTooLong",
                                      f"Too long: may not be more than {MAX_SUCCEEDED_INDEXES_LENGTH} bytes"))
            try:
                total = len(parse_indexes(indexes, completions))
            except IndexesError as error:
                reader.add(FieldError.invalid(indexes_path, indexes, f"error parsing succeededIndexes: {error}"))
        if count is not None:
            count_path = join_path(rule_path, "succeededCount")
            validate_nonnegative(reader, count, count_path)
            if count > completions:
                reader.add(FieldError.invalid(count_path, count, f"must be less than or equal to {completions} "
                                                                 "(the number of specified completions)"))
            if indexes is not None and count > total:
                reader.add(FieldError.invalid(count_path, count, f"must be less than or equal to {total} (the number "
                                                                 "of indexes in the specified succeededIndexes field)"))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
