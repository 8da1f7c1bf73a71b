"""DeleteOptions from a DELETE's body or query: decoded, typed and validated as Kubernetes does.

The body is a meta/v1 DeleteOptions. Kubernetes' decoder refuses one of the wrong shape (`[1]`,
`5`, `{"preconditions": 5}`, a gracePeriodSeconds beyond int64) and ValidateDeleteOptions refuses
an unknown propagationPolicy, orphanDependents together with a policy, or a dryRun other than
`All` (422 on `DeleteOptions.meta.k8s.io ""`). Query parameters are read with Go's integer and
boolean rules (query_values). Every mistake is answered before anything is looked up; a value
that passes is one the delete path can use without another check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.field_errors import NOT_SUPPORTED, FieldError
from minik8s.apiserver import errors
from minik8s.apiserver.query_values import (
    INT64_MAX,
    INT64_MIN,
    go_quote,
    int64_param,
    parse_flag,
)

POLICIES = ("Foreground", "Background", "Orphan")
DRY_RUN_ALL = "All"
# field → (Go type named in decode errors, check of the JSON value)
_Check = tuple[str, Any]
_FIELDS: dict[str, _Check] = {
    "kind": ("string", lambda v: isinstance(v, str)),
    "apiVersion": ("string", lambda v: isinstance(v, str)),
    "gracePeriodSeconds": ("int64", lambda v: _is_int(v) and INT64_MIN <= v <= INT64_MAX),
    "propagationPolicy": ("v1.DeletionPropagation", lambda v: isinstance(v, str)),
    "orphanDependents": ("bool", lambda v: isinstance(v, bool)),
    "dryRun": ("[]string", lambda v: isinstance(v, list)),
    "preconditions": ("v1.Preconditions", lambda v: isinstance(v, dict)),
}
_PRECONDITIONS: dict[str, _Check] = {
    "uid": ("types.UID", lambda v: isinstance(v, str)),
    "resourceVersion": ("string", lambda v: isinstance(v, str)),
}


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None
    dry_run: bool = False

    @staticmethod
    def parse(params: Mapping[str, str], body: Any) -> DeleteOptions:
        """The options of a delete: the body's fields, and the query's where the body has none."""
        fields = decode_body(body)
        grace = fields["gracePeriodSeconds"] if "gracePeriodSeconds" in fields else int64_param(params, "gracePeriodSeconds")
        policy = fields.get("propagationPolicy", params.get("propagationPolicy"))
        orphan = fields["orphanDependents"] if "orphanDependents" in fields else (
            parse_flag(params["orphanDependents"]) if "orphanDependents" in params else None)
        dry_run = fields["dryRun"] if "dryRun" in fields else ([params["dryRun"]] if "dryRun" in params else [])
        problems = validate(policy, orphan, dry_run)
        if problems:
            raise invalid_options("DeleteOptions", problems)
        preconditions = fields.get("preconditions") or {}
        if orphan and policy is None:
            policy = "Orphan"
        grace = 1 if grace is not None and grace < 0 else grace  # Kubernetes' BeforeDelete: never a forced delete
        return DeleteOptions(grace, policy, preconditions.get("uid"), preconditions.get("resourceVersion"),
                             bool(dry_run))


def decode_body(body: Any) -> dict[str, Any]:
    """The body's DeleteOptions fields that are set (nulls dropped); 400 for one of the wrong shape."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _undecodable(f"json: cannot unmarshal {_json_kind(body)} into Go value of type v1.DeleteOptions")
    fields = _typed(body, _FIELDS, "DeleteOptions")
    if fields.get("kind", "DeleteOptions") != "DeleteOptions":
        raise errors.bad_request(f'the body of a delete must be a DeleteOptions, not a {fields["kind"]}')
    for position, value in enumerate(fields.get("dryRun") or []):
        if not isinstance(value, str):
            raise _undecodable(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                               f"DeleteOptions.dryRun of type string (element {position})")
    if "preconditions" in fields:
        fields["preconditions"] = _typed(fields["preconditions"], _PRECONDITIONS, "DeleteOptions.preconditions")
    return fields


def validate(policy: Any, orphan: bool | None, dry_run: list[str]) -> list[FieldError]:
    """Kubernetes' ValidateDeleteOptions."""
    problems = []
    if orphan is not None and policy is not None:
        problems.append(FieldError.invalid("propagationPolicy", policy,
                                           "orphanDependents and deletionPropagation cannot be both set"))
    if policy is not None and policy not in POLICIES:
        problems.append(FieldError.not_supported("propagationPolicy", policy, [*POLICIES, "nil"]))
    problems += validate_dry_run(dry_run)
    return problems


def validate_dry_run(values: list[str]) -> list[FieldError]:
    """Kubernetes' ValidateDryRun: every value is `All`; the bad list shown as Go shows a []string."""
    if all(value == DRY_RUN_ALL for value in values):
        return []
    shown = "[]string{" + ", ".join(go_quote(value) for value in values) + "}"
    return [FieldError("dryRun", NOT_SUPPORTED, f'Unsupported value: {shown}: supported values: "{DRY_RUN_ALL}"')]


def invalid_options(kind: str, problems: list[FieldError]) -> errors.StatusError:
    """422 on the options object itself: `DeleteOptions.meta.k8s.io "" is invalid: ...`."""
    causes = [{"reason": p.reason, "message": p.message, "field": p.field} for p in problems]
    summary = problems[0] if len(problems) == 1 else "[" + ", ".join(str(p) for p in problems) + "]"
    return errors.StatusError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {summary}',
                              details={"group": "meta.k8s.io", "kind": kind, "causes": causes})


def _typed(obj: dict[str, Any], fields: dict[str, _Check], struct: str) -> dict[str, Any]:
    """The known fields of `obj` that are set, each of its Go type (unknown fields are ignored, as the
    non-strict decoder ignores them)."""
    typed = {}
    for name, (go_type, check) in fields.items():
        value = obj.get(name)
        if value is None:
            continue
        if not check(value):
            shown = f"number {value}" if go_type == "int64" and _is_number(value) else _json_kind(value)
            raise _undecodable(f"json: cannot unmarshal {shown} into Go struct field {struct}.{name} of type {go_type}")
        typed[name] = value
    return typed


def _undecodable(why: str) -> errors.StatusError:
    return errors.bad_request(f'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: {why}')


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
