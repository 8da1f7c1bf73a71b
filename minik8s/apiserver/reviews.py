"""The access reviews of authorization.k8s.io/v1: questions to the authorizer, answered and never stored.

`SelfSubjectAccessReview` (`kubectl auth can-i VERB RESOURCE`) asks for the requesting user,
`SubjectAccessReview` and `LocalSubjectAccessReview` for any user (they need `create` on
themselves, which RBAC checks before this runs), `SelfSubjectRulesReview` (`kubectl auth can-i
--list`) lists the rules the requesting user holds in a namespace. Each answers 201 with the
posted object and its `status`, as Kubernetes' create-only REST storage does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_key
from minik8s.api.field_reader import FieldReader
from minik8s.api.meta import JsonObject
from minik8s.api.rbac import PolicyRule, RequestAttributes
from minik8s.api.registry import AUTHORIZATION_GROUP, REGISTRY, ResourceKind
from minik8s.api.user import UserInfo
from minik8s.apiserver import errors
from minik8s.apiserver.authorization import Authorizer

VERSION = "v1"
_RESOURCE_FIELDS = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def _attributes(user: UserInfo, spec: Mapping[str, Any]) -> RequestAttributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, Mapping):
        def text(key: str) -> str:
            value = resource.get(key)
            return value if isinstance(value, str) else ""
        return RequestAttributes(user, text("verb"), text("namespace"), text("group"), text("version"),
                                 text("resource"), text("subresource"), text("name"))
    path_attributes = spec.get("nonResourceAttributes") or {}
    return RequestAttributes(user, str(path_attributes.get("verb") or ""), path=str(path_attributes.get("path") or ""),
                             resource_request=False)


def _check_types(resource: ResourceKind, spec: Mapping[str, Any]) -> None:
    """Every field of the spec has its type (Kubernetes refuses the others while decoding): 422 Invalid."""
    reader = FieldReader()
    for attributes, fields in (("resourceAttributes", _RESOURCE_FIELDS), ("nonResourceAttributes", ("path", "verb"))):
        found = reader.mapping(spec, attributes, "spec")
        for field in fields:
            reader.string(found, field, f"spec.{attributes}")
    for field in ("user", "uid", "namespace"):
        reader.string(spec, field, "spec")
    reader.strings(spec, "groups", "spec")
    for key, values in reader.mapping(spec, "extra", "spec").items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            reader.add(FieldError.type_invalid(join_key("spec.extra", str(key)), values, "must be a list of strings"))
    if reader.errors:
        raise errors.invalid(resource, "", [{"reason": e.reason, "message": e.message, "field": e.field}
                                            for e in reader.errors])


def _check_spec(resource: ResourceKind, spec: Mapping[str, Any]) -> None:
    causes = []
    has_resource, has_path = spec.get("resourceAttributes") is not None, spec.get("nonResourceAttributes") is not None
    if has_resource and has_path:
        causes.append({"reason": "FieldValueInvalid", "field": "spec.nonResourceAttributes",
                       "message": "Invalid value: cannot be specified in combination with resourceAttributes"})
    if not has_resource and not has_path:
        causes.append({"reason": "FieldValueInvalid", "field": "spec.resourceAttributes",
                       "message": "Invalid value: exactly one of nonResourceAttributes or resourceAttributes "
                                  "must be specified"})
    if resource.kind == "SubjectAccessReview" and not spec.get("user") and not spec.get("groups"):
        causes.append({"reason": "FieldValueInvalid", "field": "spec.user",
                       "message": 'Invalid value: "": at least one of user or group must be specified'})
    if causes:
        raise errors.invalid(resource, "", causes)


def _subject(spec: Mapping[str, Any]) -> UserInfo:
    """The user a SubjectAccessReview asks about, exactly as given (no groups added)."""
    groups = tuple(g for g in spec.get("groups") or [] if isinstance(g, str))
    extra = {str(k): tuple(str(v) for v in values) for k, values in (spec.get("extra") or {}).items()
             if isinstance(values, list)}
    return UserInfo(str(spec.get("user") or ""), groups, str(spec.get("uid") or ""), extra)


def _rules_status(rules: list[PolicyRule], problems: list[str]) -> JsonObject:
    resource_rules = [{k: v for k, v in rule.to_json().items() if k != "nonResourceURLs"}
                      for rule in rules if not rule.non_resource_urls]
    for rule in resource_rules:
        rule.setdefault("apiGroups", [])
        rule.setdefault("resources", [])
    path_rules = [{"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)}
                  for rule in rules if rule.non_resource_urls]
    status: JsonObject = {"resourceRules": resource_rules, "nonResourceRules": path_rules,
                          "incomplete": bool(problems)}
    if problems:
        status["evaluationError"] = ", ".join(problems)
    return status


def answer(authorizer: Authorizer, user: UserInfo, plural: str, namespace: str | None, body: Any) -> JsonObject:
    """The answered review for a POST of `body` to `plural` (in `namespace` for the local review)."""
    resource = REGISTRY.virtual_kind(AUTHORIZATION_GROUP, VERSION, plural)
    if resource is None:
        raise errors.path_not_found(f"/apis/{AUTHORIZATION_GROUP}/{VERSION}/{plural}")
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise errors.bad_request(f"a {resource.kind} needs a spec object")
    if body.get("kind") not in (None, resource.kind):
        raise errors.bad_request(f"the kind of the object ({body.get('kind')}) does not match the URL "
                                 f"({resource.kind})")
    spec = body["spec"]
    _check_types(resource, spec)
    review: JsonObject = {**body, "kind": resource.kind, "apiVersion": resource.api_version,
                          "metadata": body.get("metadata") or {"creationTimestamp": None}}
    if resource.kind == "SelfSubjectRulesReview":
        rules, problems = authorizer.rules_for(user, str(spec.get("namespace") or ""))
        review["status"] = _rules_status(rules, problems)
        return review
    _check_spec(resource, spec)
    if resource.kind == "LocalSubjectAccessReview":
        asked = (spec.get("resourceAttributes") or {}).get("namespace", "")
        if spec.get("nonResourceAttributes") is not None or asked != namespace:
            raise errors.bad_request(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
    subject = user if resource.kind == "SelfSubjectAccessReview" else _subject(spec)
    decision = authorizer.authorize(_attributes(subject, spec))
    status: JsonObject = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    review["status"] = status
    return review
