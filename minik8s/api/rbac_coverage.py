"""Escalation prevention and ClusterRole aggregation: what RBAC decides about RBAC objects.

A user may write a Role or ClusterRole only with rules they already hold (or with the `escalate`
verb on it), and bind a role only if they hold its rules (or have `bind` on it): Kubernetes'
ConfirmNoEscalation, which breaks every rule into one-verb/one-resource pieces and asks whether
some rule the user holds covers each (pkg/registry/rbac/validation/policy_comparator.go).
Aggregation is the union, without repeats, of the rules of the ClusterRoles whose labels match an
aggregationRule's selectors, taken in name order and never including the role itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.meta import labels_of, name_of
from minik8s.api.rbac import ALL, PolicyRule, rules_of
from minik8s.api.selectors import SelectorError, label_selector_from_object
from minik8s.api.user import UserInfo


def breakdown(rule: PolicyRule) -> list[PolicyRule]:
    """BreakdownRule: one rule per (group, resource, verb[, name]) or per (url, verb)."""
    pieces: list[PolicyRule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    pieces.extend(PolicyRule((verb,), (group,), (resource,), (name,))
                                  for name in rule.resource_names)
                else:
                    pieces.append(PolicyRule((verb,), (group,), (resource,)))
    for url in rule.non_resource_urls:
        pieces.extend(PolicyRule((verb,), non_resource_urls=(url,)) for verb in rule.verbs)
    return pieces


def _covers_all(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    return ALL in owned or set(wanted) <= set(owned)


def _resources_cover(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    if ALL in owned:
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or "*/" + resource.split("/", 1)[1] not in owned:
            return False
    return True


def _urls_cover(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    return all(any(url == path or (url.endswith("*") and path.startswith(url.rstrip("*"))) for url in owned)
               for path in wanted)


def rule_covers(owner: PolicyRule, sub: PolicyRule) -> bool:
    if sub.resource_names:
        names = not owner.resource_names or set(sub.resource_names) <= set(owner.resource_names)
    else:
        names = not owner.resource_names
    return (_covers_all(owner.verbs, sub.verbs) and _covers_all(owner.api_groups, sub.api_groups)
            and _resources_cover(owner.resources, sub.resources)
            and _urls_cover(owner.non_resource_urls, sub.non_resource_urls) and names)


def uncovered(owned: Iterable[PolicyRule], wanted: Iterable[PolicyRule]) -> list[PolicyRule]:
    """The one-verb pieces of `wanted` that no rule in `owned` covers (empty: no escalation)."""
    owned = list(owned)
    return [piece for rule in wanted for piece in breakdown(rule) if not any(rule_covers(o, piece) for o in owned)]


def _go_list(values: tuple[str, ...]) -> str:
    return "[" + " ".join(f'"{value}"' for value in values) + "]"


def compact_rule(rule: PolicyRule) -> str:
    """A rule as Kubernetes' CompactString prints it: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`."""
    parts = []
    for label, values in (("APIGroups", rule.api_groups), ("Resources", rule.resources),
                          ("ResourceNames", rule.resource_names), ("NonResourceURLs", rule.non_resource_urls),
                          ("Verbs", rule.verbs)):
        if values:
            parts.append(f"{label}:{_go_list(values)}")
    return "{" + ", ".join(parts) + "}"


def compact(rules: list[PolicyRule]) -> list[PolicyRule]:
    """CompactRules: one-resource pieces that differ only in verb become one rule with all their verbs."""
    merged: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    others: list[PolicyRule] = []
    for rule in rules:
        if rule.non_resource_urls or len(rule.resource_names) > 1:
            others.append(rule)
            continue
        verbs = merged.setdefault((rule.api_groups, rule.resources, rule.resource_names), [])
        verbs.extend(verb for verb in rule.verbs if verb not in verbs)
    return [PolicyRule(tuple(verbs), *key) for key, verbs in merged.items()] + others


def escalation_message(user: UserInfo, missing: list[PolicyRule], errors: list[str]) -> str:
    """ConfirmNoEscalation's error: the user, their groups and every rule they do not hold (compacted, sorted)."""
    groups = _go_list(user.groups)
    lines = "\n".join(sorted(compact_rule(rule) for rule in compact(missing)))
    text = f'user "{user.name}" (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{lines}'
    if errors:
        text += "; resolution errors: [" + " ".join(errors) + "]"
    return text


def aggregate(cluster_role: Mapping[str, Any], cluster_roles: Iterable[Mapping[str, Any]]) -> list[PolicyRule] | None:
    """The rules an aggregated ClusterRole should have; None when it has no aggregationRule."""
    rule = cluster_role.get("aggregationRule")
    if not isinstance(rule, Mapping):
        return None
    name = name_of(cluster_role)
    by_name = sorted(cluster_roles, key=name_of)
    rules: list[PolicyRule] = []
    for selector_object in rule.get("clusterRoleSelectors") or []:
        try:
            selector = label_selector_from_object(selector_object)
        except SelectorError:
            continue
        for other in by_name:
            if name_of(other) == name or not selector.matches(labels_of(other)):
                continue
            rules.extend(r for r in rules_of(other) if r not in rules)
    return rules
