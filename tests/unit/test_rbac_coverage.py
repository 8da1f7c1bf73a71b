"""Escalation prevention and aggregation decide as Kubernetes' policy comparator and aggregation controller."""

from __future__ import annotations

import pytest

from minik8s.api.rbac import PolicyRule
from minik8s.api.rbac_coverage import aggregate, breakdown, compact_rule, escalation_message, uncovered
from minik8s.api.user import authenticated


def r(verbs: tuple[str, ...], resources: tuple[str, ...] = (), groups: tuple[str, ...] = ("",),
      names: tuple[str, ...] = (), urls: tuple[str, ...] = ()) -> PolicyRule:
    return PolicyRule(verbs, groups if resources else (), resources, names, urls)


def test_breakdown_is_one_piece_per_verb_resource_and_name() -> None:
    pieces = breakdown(r(("get", "list"), ("pods", "secrets"), names=("a",)))
    assert len(pieces) == 4 and pieces[0] == PolicyRule(("get",), ("",), ("pods",), ("a",))
    assert breakdown(r(("get",), urls=("/a", "/b"))) == [r(("get",), urls=("/a",)), r(("get",), urls=("/b",))]


@pytest.mark.parametrize(("owned", "wanted", "escalates"), [
    ([r(("*",), ("*",), ("*",))], [r(("get",), ("secrets",))], False),
    ([r(("get", "list"), ("pods",))], [r(("get",), ("pods",))], False),
    ([r(("get",), ("pods",))], [r(("get", "list"), ("pods",))], True),
    ([r(("get",), ("pods",))], [r(("get",), ("pods/log",))], True),
    ([r(("get",), ("*/log",))], [r(("get",), ("pods/log",))], False),
    ([r(("get",), ("pods",), names=("a",))], [r(("get",), ("pods",))], True),
    ([r(("get",), ("pods",), names=("a", "b"))], [r(("get",), ("pods",), names=("a",))], False),
    ([r(("get",), ("pods",))], [r(("get",), ("pods",), names=("a",))], False),
    ([r(("get",), ("deployments",), groups=("apps",))], [r(("get",), ("deployments",), groups=("",))], True),
    ([r(("get",), urls=("/healthz*",))], [r(("get",), urls=("/healthz/ready",))], False),
    ([r(("get",), urls=("/healthz",))], [r(("get",), urls=("/livez",))], True),
    ([], [], False),
])
def test_escalation(owned: list[PolicyRule], wanted: list[PolicyRule], escalates: bool) -> None:
    assert bool(uncovered(owned, wanted)) is escalates


def test_escalation_message_lists_missing_rules_compactly() -> None:
    missing = uncovered([], [r(("get",), ("secrets",))])
    assert compact_rule(missing[0]) == '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
    message = escalation_message(authenticated("alice"), missing, [])
    assert message == ('user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions '
                       'not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


def test_escalation_message_merges_verbs_of_one_resource_and_sorts() -> None:
    missing = uncovered([], [r(("get", "list"), ("secrets", "configmaps")), r(("get",), urls=("/x",))])
    message = escalation_message(authenticated("a", ("g",)), missing, ["role.rbac.authorization.k8s.io \"r\" not found"])
    assert message.split("\n")[1:] == ['{APIGroups:[""], Resources:["configmaps"], Verbs:["get" "list"]}',
                                        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}',
                                        '{NonResourceURLs:["/x"], Verbs:["get"]}; resolution errors: '
                                        '[role.rbac.authorization.k8s.io "r" not found]']
    assert message.startswith('user "a" (groups=["g" "system:authenticated"]) is attempting')


def _cluster_role(name: str, labels: dict[str, str], rules: list[PolicyRule], selectors: list | None = None) -> dict:
    role: dict = {"metadata": {"name": name, "labels": labels}, "rules": [x.to_json() for x in rules]}
    if selectors is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return role


def test_aggregate_is_the_union_of_matching_roles_in_name_order() -> None:
    view = _cluster_role("view", {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}, [],
                         [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}])
    b = _cluster_role("b-extra", {"rbac.authorization.k8s.io/aggregate-to-view": "true"}, [r(("get",), ("b",))])
    a = _cluster_role("a-extra", {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
                      [r(("get",), ("a",)), r(("get",), ("b",))])
    other = _cluster_role("other", {}, [r(("*",), ("*",))])
    assert aggregate(view, [view, b, a, other]) == [r(("get",), ("a",)), r(("get",), ("b",))]
    assert aggregate(other, [view, b, a, other]) is None
