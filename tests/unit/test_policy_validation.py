"""LimitRange and ResourceQuota validation, worded as Kubernetes' ValidateLimitRange and ValidateResourceQuota."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.validation import validate


def quota(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "q", "namespace": "ns"}, "spec": spec}


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "lr", "namespace": "ns"}, "spec": {"limits": list(items)}}


def problems(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    apply_defaults(kind, obj)
    return [str(error) for error in validate(kind, obj, old=old)]


@pytest.mark.parametrize(("spec", "expected"), [
    ({"hard": {"pods": "10", "requests.cpu": "4", "count/deployments.apps": "2", "example.com/gpu": "1",
               "requests.example.com/gpu": "2", "hugepages-2Mi": "1Gi"}}, []),
    ({"hard": {"services": "0.5"}}, ['spec.hard[services]: Invalid value: "500m": must be an integer']),
    ({"hard": {"cpu": "lots"}}, ["spec.hard[cpu]: Invalid value: \"lots\": quantities must match the regular "
                                 "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
    ({"hard": {"storage": "1Gi"}}, ['spec.hard[storage]: Invalid value: "storage": must be a standard resource for quota']),
    ({"hard": {"pods": "1"}, "scopes": ["BestEffort", "NotBestEffort"]},
     ['spec.scopes: Invalid value: ["BestEffort","NotBestEffort"]: conflicting scopes']),
    ({"hard": {"requests.cpu": "1"}, "scopes": ["BestEffort"]},
     ['spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource']),
    ({"hard": {"pods": "1"}, "scopes": ["Sometimes"]}, ['spec.scopes: Invalid value: ["Sometimes"]: unsupported scope']),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}, []),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In"}]}},
     ["spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is "
      "'In' or 'NotIn' for scope selector"]),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [{"scopeName": "BestEffort", "operator": "In",
                                                                     "values": ["x"]}]}},
     ['spec.scopeSelector.matchExpressions.operator: Invalid value: "In": must be \'Exist\' only operator when scope '
      "is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort and "
      "ResourceQuotaScopeNotBestEffort"]),
])  # fmt: skip
def test_quota_specs(spec: dict[str, Any], expected: list[str]) -> None:
    assert problems("ResourceQuota", quota(**spec)) == expected


def test_a_quotas_scopes_may_not_change() -> None:
    old = quota(hard={"pods": "1"}, scopes=["BestEffort"])
    assert problems("ResourceQuota", quota(hard={"pods": "2"}, scopes=["BestEffort"]), old) == []
    assert problems("ResourceQuota", quota(hard={"pods": "1"}, scopes=["NotBestEffort"]), old) == [
        'spec.scopes: Invalid value: ["NotBestEffort"]: field is immutable']


@pytest.mark.parametrize(("items", "expected"), [
    ([{"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "2"}, "maxLimitRequestRatio": {"cpu": "4"}},
      {"type": "Pod", "max": {"memory": "4Gi"}}], []),
    ([{"type": "Container", "max": {"cpu": "1"}, "default": {"cpu": "2"}}],  # defaulted first: defaultRequest is 2
     ['spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2 is greater than max value 1',
      'spec.limits[0].default[cpu]: Invalid value: "1": default value 2 is greater than max value 1']),
    ([{"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"cpu": "2"}}],
     ['spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2 is greater than default '
      "limit value 1"]),
    ([{"type": "Container", "maxLimitRequestRatio": {"cpu": "0.5"}}],
     ['spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1']),
    ([{"type": "Container", "min": {"cpu": "1"}, "max": {"cpu": "2"}, "maxLimitRequestRatio": {"cpu": "3"}}],
     ['spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 2.000000']),
    ([{"type": "Pod", "default": {"cpu": "1"}}],
     ["spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"]),
    ([{"type": "Container"}, {"type": "Container"}], ['spec.limits[1].type: Duplicate value: "Container"']),
    ([{"type": "Pod", "max": {"bananas": "1"}}],
     ['spec.limits[0].max[bananas]: Invalid value: "bananas": must be a standard resource type or fully qualified',
      'spec.limits[0].max[bananas]: Invalid value: "bananas": must be a standard resource for containers']),
    ([{"type": "PersistentVolumeClaim"}],
     ["spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was "
      "provided"]),
])  # fmt: skip
def test_limit_ranges(items: list[dict[str, Any]], expected: list[str]) -> None:
    assert problems("LimitRange", limit_range(*items)) == expected
