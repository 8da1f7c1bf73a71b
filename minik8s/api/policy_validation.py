"""Validation of the namespace policy kinds: LimitRange and ResourceQuota.

Kubernetes' ValidateLimitRange and ValidateResourceQuota (pkg/apis/core/validation): resource
names must be standard (`cpu`, `requests.memory`, `pods`, ...) or fully qualified (`count/jobs.batch`,
`example.com/gpu`); amounts are quantities, never negative, whole where the resource is counted
(`pods: 1.5` → `must be an integer`); a LimitRange's min ≤ defaultRequest ≤ default ≤ max with a
ratio of at least 1; a quota's scopes must be known, bound only pod resources and not contradict
each other, and may not change after creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_key, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_qualified_name
from minik8s.api.limit_ranger import CONTAINER, POD
from minik8s.api.meta_validation import IMMUTABLE_MESSAGE, validate_object_meta, validate_object_meta_update
from minik8s.api.pod_resources import milli_value
from minik8s.api.quantity import FORMAT_MESSAGE
from minik8s.api.quota_names import (
    CONFLICTING_SCOPES,
    DOES_NOT_EXIST,
    EXISTS,
    IN,
    NOT_IN,
    STANDARD_CONTAINER_RESOURCES,
    STANDARD_SCOPES,
    STORAGE,
    is_huge_pages,
    is_integer_resource,
    is_native,
    is_standard_quota_resource,
    is_standard_resource,
    scope_bounds,
)
from minik8s.api.resource_lists import Quantity

PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"
LIMIT_TYPES = (POD, CONTAINER, PERSISTENT_VOLUME_CLAIM)
_POD_SCOPE_ONLY = "must be 'Exist' only operator when scope is any of ResourceQuotaScopeTerminating, " \
                  "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort and ResourceQuotaScopeNotBestEffort"


def quantities(reader: FieldReader, obj: Mapping[str, Any], name: str, path: str) -> dict[str, Quantity]:
    """A resource list field, each amount parsed; one that does not parse is reported."""
    found: dict[str, Quantity] = {}
    list_path = join_path(path, name)
    for resource, raw in reader.mapping(obj, name, path).items():
        try:
            found[str(resource)] = Quantity.parse(raw)
        except ValueError:
            reader.add(FieldError.invalid(join_key(list_path, str(resource)), raw, FORMAT_MESSAGE))
    return found


def resource_name_problems(name: str, *, standard: str = "") -> list[str]:
    """validateResourceName, then the stricter check of quotas (`quota`) or containers (`container`)."""
    problems = check_qualified_name(name)
    if not problems and "/" not in name and not is_standard_resource(name):
        problems.append("must be a standard resource type or fully qualified")
    if standard == "quota" and "/" not in name and not is_standard_quota_resource(name):
        problems.append("must be a standard resource for quota")
    if standard == "container":
        if "/" not in name and name not in STANDARD_CONTAINER_RESOURCES and not is_huge_pages(name):
            problems.append("must be a standard resource for containers")
        elif "/" in name and not is_native(name) and check_qualified_name("requests." + name):
            problems.append("doesn't follow extended resource name standard")
    return problems


def validate_amount(reader: FieldReader, name: str, amount: Quantity, path: str) -> None:
    """ValidateResourceQuantityValue: never negative; whole for counted resources."""
    if amount.value < 0:
        reader.add(FieldError.invalid(path, str(amount), "must be greater than or equal to 0"))
    if is_integer_resource(name) and milli_value(amount) % 1000:
        reader.add(FieldError.invalid(path, str(amount), "must be an integer"))


def _resource_list(reader: FieldReader, obj: Mapping[str, Any], name: str, path: str,
                   standard: str) -> dict[str, Quantity]:
    """A quota's ResourceList: named as `standard` allows, each amount valid for its resource."""
    amounts = _limit_list(reader, obj, name, path, standard)
    for resource in sorted(amounts):
        validate_amount(reader, resource, amounts[resource], join_key(join_path(path, name), resource))
    return amounts


def validate_limit_range(reader: FieldReader, limit_range: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, limit_range, "LimitRange")
    spec = reader.mapping(limit_range, "spec", "")
    seen: set[str] = set()
    for item_path, item in reader.objects(spec, "limits", "spec"):
        _validate_limit_item(reader, item, item_path, seen)
    if old is not None:
        validate_object_meta_update(reader, limit_range, old)


def _validate_limit_item(reader: FieldReader, item: Mapping[str, Any], path: str, seen: set[str]) -> None:
    limit_type = reader.string(item, "type", path)
    type_path = join_path(path, "type")
    type_problems = check_qualified_name(limit_type)
    if not type_problems and "/" not in limit_type and limit_type not in LIMIT_TYPES:
        type_problems.append("must be a standard limit type or fully qualified")
    reader.extend(FieldError.invalid(type_path, limit_type, problem) for problem in type_problems)
    if limit_type in seen:
        reader.add(FieldError.duplicate(type_path, limit_type))
    seen.add(limit_type)
    standard = "container" if limit_type in (POD, CONTAINER) else ""
    bounds = {field: _limit_list(reader, item, field, path, standard) for field in ("max", "min")}
    for field in ("default", "defaultRequest"):
        if limit_type == POD and item.get(field):
            reader.add(FieldError.forbidden(join_path(path, field), "may not be specified when `type` is 'Pod'"))
            bounds[field] = {}
        else:
            bounds[field] = _limit_list(reader, item, field, path, standard)
    if limit_type == PERSISTENT_VOLUME_CLAIM and STORAGE not in bounds["min"] and STORAGE not in bounds["max"]:
        reader.add(FieldError.required(join_path(path, "limits"), "either minimum or maximum storage value is "
                                                                  "required, but neither was provided"))
    bounds["maxLimitRequestRatio"] = _limit_list(reader, item, "maxLimitRequestRatio", path, standard)
    for resource in sorted(set().union(*bounds.values())):
        _validate_limit_order(reader, {field: found.get(resource) for field, found in bounds.items()}, resource, path)


def _limit_list(reader: FieldReader, item: Mapping[str, Any], field: str, path: str,
                standard: str) -> dict[str, Quantity]:
    """A ResourceList whose resource names are checked (as `standard` allows), not their amounts."""
    amounts = quantities(reader, item, field, path)
    for resource in sorted(amounts):
        entry_path = join_key(join_path(path, field), resource)
        reader.extend(FieldError.invalid(entry_path, resource, p) for p in resource_name_problems(resource, standard=standard))
    return amounts


def _validate_limit_order(reader: FieldReader, found: dict[str, Quantity | None], resource: str, path: str) -> None:
    low, high = found["min"], found["max"]
    default, default_request, ratio = found["default"], found["defaultRequest"], found["maxLimitRequestRatio"]

    def invalid(field: str, value: Quantity, detail: str) -> None:
        reader.add(FieldError.invalid(join_key(join_path(path, field), resource), str(value), detail))

    if low is not None and high is not None and low > high:
        invalid("min", low, f"min value {low} is greater than max value {high}")
    if default_request is not None and low is not None and low > default_request:
        invalid("defaultRequest", default_request, f"min value {low} is greater than default request value {default_request}")
    if default_request is not None and high is not None and default_request > high:
        invalid("defaultRequest", default_request, f"default request value {default_request} is greater than max value {high}")
    if default_request is not None and default is not None and default_request > default:
        invalid("defaultRequest", default_request,
                f"default request value {default_request} is greater than default limit value {default}")
    if default is not None and low is not None and low > default:
        invalid("default", low, f"min value {low} is greater than default value {default}")
    if default is not None and high is not None and default > high:
        invalid("default", high, f"default value {default} is greater than max value {high}")
    if ratio is not None and ratio < Quantity.of(1):
        invalid("maxLimitRequestRatio", ratio, f"ratio {ratio} is less than 1")
    if ratio is not None and low is not None and high is not None and milli_value(low):
        bound = milli_value(high) / milli_value(low)
        if milli_value(ratio) / 1000 > bound:
            invalid("maxLimitRequestRatio", ratio, f"ratio {ratio} is greater than max/min = {bound:f}")
    overcommit = is_native(resource) and not is_huge_pages(resource)
    if not overcommit and default is not None and default_request is not None and default.value != default_request.value:
        invalid("defaultRequest", default_request,
                f"default value {default} must equal to defaultRequest value {default_request} in {resource}")


def validate_resource_quota(reader: FieldReader, quota: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, quota, "ResourceQuota")
    spec = reader.mapping(quota, "spec", "")
    hard = _resource_list(reader, spec, "hard", "spec", "quota")
    _validate_scopes(reader, spec, sorted(hard))
    status = reader.mapping(quota, "status", "")
    for field in ("hard", "used"):
        _resource_list(reader, status, field, "status", "quota")
    if old is not None:
        validate_object_meta_update(reader, quota, old)
        old_spec = old.get("spec")
        old_spec = old_spec if isinstance(old_spec, Mapping) else {}
        if set(spec.get("scopes") or []) != set(old_spec.get("scopes") or []):
            reader.add(FieldError.invalid("spec.scopes", spec.get("scopes"), IMMUTABLE_MESSAGE))


def _validate_scopes(reader: FieldReader, spec: Mapping[str, Any], hard: list[str]) -> None:
    scopes = [scope for _, scope in reader.strings(spec, "scopes", "spec")]
    if scopes:
        _check_scope_set(reader, scopes, hard, "spec.scopes", spec.get("scopes"))
    selector = reader.optional_mapping(spec, "scopeSelector", "spec")
    if selector is None:
        return
    path = "spec.scopeSelector.matchExpressions"
    names = []
    for expression_path, expression in reader.objects(selector, "matchExpressions", "spec.scopeSelector"):
        scope, operator = reader.string(expression, "scopeName", expression_path), reader.string(
            expression, "operator", expression_path)
        values = [value for _, value in reader.strings(expression, "values", expression_path)]
        if scope not in STANDARD_SCOPES:
            reader.add(FieldError.invalid(join_path(path, "scopeName"), scope, "unsupported scope"))
        if any(is_standard_quota_resource(name) and not scope_bounds(scope, name) for name in hard):
            reader.add(FieldError.invalid(path, selector, "unsupported scope applied to resource"))
        if scope in ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort") and operator != EXISTS:
            reader.add(FieldError.invalid(join_path(path, "operator"), operator, _POD_SCOPE_ONLY))
        if operator in (IN, NOT_IN) and not values:
            reader.add(FieldError.required(join_path(path, "values"), "must be at least one value when `operator` "
                                                                      "is 'In' or 'NotIn' for scope selector"))
        elif operator in (EXISTS, DOES_NOT_EXIST) and values:
            reader.add(FieldError.invalid(join_path(path, "values"), values, "must be no value when `operator` is "
                                                                             "'Exist' or 'DoesNotExist' for scope selector"))
        elif operator not in (IN, NOT_IN, EXISTS, DOES_NOT_EXIST):
            reader.add(FieldError.invalid(join_path(path, "operator"), operator, "not a valid selector operator"))
        names.append(scope)
    if any(set(pair) <= set(names) for pair in CONFLICTING_SCOPES):
        reader.add(FieldError.invalid(path, spec.get("scopes"), "conflicting scopes"))


def _check_scope_set(reader: FieldReader, scopes: list[str], hard: list[str], path: str, shown: Any) -> None:
    for scope in scopes:
        if scope not in STANDARD_SCOPES:
            reader.add(FieldError.invalid(path, shown, "unsupported scope"))
        if any(is_standard_quota_resource(name) and not scope_bounds(scope, name) for name in hard):
            reader.add(FieldError.invalid(path, shown, "unsupported scope applied to resource"))
    if any(set(pair) <= set(scopes) for pair in CONFLICTING_SCOPES):
        reader.add(FieldError.invalid(path, shown, "conflicting scopes"))

