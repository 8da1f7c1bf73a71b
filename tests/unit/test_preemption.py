"""Preemption's choices, as kube-scheduler's default_preemption_test.go checks them: the fewest and least
important victims on a node, budgets spared where another choice exists, the node picked by kube-scheduler's
criteria in order, nodes where preemption cannot help, and pods that may not preempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.meta import format_time
from minik8s.scheduler.decision import Unschedulable, schedule_pod
from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import pod_facts
from minik8s.scheduler.preemption import (
    NEVER_MESSAGE,
    TERMINATING_MESSAGE,
    Candidate,
    NoPreemption,
    Preempt,
    pick_candidate,
    plan_preemption,
    split_by_budget,
)
from tests.unit.scheduler_builders import cluster, info, node, pod

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def running(name: str, *, priority: int, cpu: str = "1", started: int = 0, labels: dict[str, str] | None = None,
            node_name: str = "n1", **options: Any) -> dict[str, Any]:
    """A pod of `priority` running on `node_name`, started `started` minutes after START."""
    obj = pod(name, cpu=cpu, labels=labels, node_name=node_name, **options)
    obj["spec"]["priority"] = priority
    obj["status"] = {"phase": "Running", "startTime": format_time(START + timedelta(minutes=started))}
    return obj


def pending(name: str = "urgent", *, priority: int = 1000, cpu: str = "2", **spec: Any) -> dict[str, Any]:
    obj = pod(name, cpu=cpu)
    obj["spec"].update(priority=priority, **spec)
    return obj


def plan(preemptor: dict[str, Any], view: ClusterView, pods: list[dict[str, Any]],
         budgets: list[dict[str, Any]] | None = None) -> Preempt | NoPreemption:
    facts = pod_facts(preemptor)
    decision = schedule_pod(facts, view)
    assert isinstance(decision, Unschedulable)
    lookup = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in pods}
    return plan_preemption(facts, policy=str(preemptor["spec"].get("preemptionPolicy") or ""),
                           nominated=str(preemptor.get("status", {}).get("nominatedNodeName") or ""),
                           cluster=view, refused=decision.reasons, budgets=budgets or [], pods=lookup)


def on(name: str, pods: list[dict[str, Any]], **node_options: Any) -> NodeInfo:
    return info(node(name, **node_options), *(p for p in pods if p["spec"].get("nodeName") == name))


def budget(allowed: int, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "pdb", "namespace": "default"}, "spec": {"selector": {"matchLabels": labels}},
            "status": {"disruptionsAllowed": allowed}}


def victims(outcome: Preempt | NoPreemption) -> tuple[str, list[str]]:
    assert isinstance(outcome, Preempt), outcome
    return outcome.node_name, [victim.name for victim in outcome.victims]


def test_the_fewest_least_important_pods_are_evicted() -> None:
    pods = [running("a", priority=10), running("d", priority=5), running("b", priority=0, started=1),
            running("c", priority=0, started=2)]
    view = cluster(on("n1", pods))  # 4 CPUs, all taken; the preemptor needs 2
    assert victims(plan(pending(), view, pods)) == ("n1", ["b", "c"])
    # one CPU needed: only the least important pod, the latest started of the lowest priority, goes
    assert victims(plan(pending(cpu="1"), view, pods)) == ("n1", ["c"])


def test_pods_of_equal_or_higher_priority_are_never_victims() -> None:
    pods = [running("peer", priority=1000, cpu="4")]
    outcome = plan(pending(), cluster(on("n1", pods)), pods)
    assert outcome == NoPreemption("0/1 nodes are available: 1 No preemption victims found for incoming pod.",
                                   clear_nomination=True)


def test_a_node_that_stays_too_small_without_every_lower_pod_is_no_candidate() -> None:
    pods = [running("low", priority=0, cpu="1"), running("high", priority=2000, cpu="3")]
    outcome = plan(pending(cpu="2"), cluster(on("n1", pods)), pods)
    assert outcome == NoPreemption("0/1 nodes are available: 1 Insufficient cpu.", clear_nomination=True)


def test_preemption_does_not_help_a_pod_refused_for_taints_or_selectors() -> None:
    pods = [running("low", priority=0, cpu="4"), running("other", priority=0, cpu="4", node_name="n2")]
    view = cluster(on("n1", pods, unschedulable=True), on("n2", pods, labels={"disk": "hdd"}))
    outcome = plan(pending(nodeSelector={"disk": "ssd"}), view, pods)
    assert outcome == NoPreemption("0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
                                   clear_nomination=True)


def test_a_pod_with_preemption_policy_never_preempts_nobody() -> None:
    pods = [running("low", priority=0, cpu="4")]
    outcome = plan(pending(preemptionPolicy="Never"), cluster(on("n1", pods)), pods)
    assert outcome == NoPreemption(NEVER_MESSAGE) == NoPreemption("not eligible due to preemptionPolicy=Never.")


def test_a_nominated_pod_waits_for_its_victims_to_terminate() -> None:
    victim = running("low", priority=0, cpu="4")
    victim["metadata"]["deletionTimestamp"] = format_time(START)
    victim["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True",
                                       "reason": "PreemptionByScheduler"}]
    preemptor = pending()
    preemptor["status"] = {"nominatedNodeName": "n1"}
    assert plan(preemptor, cluster(on("n1", [victim])), [victim]) == NoPreemption(TERMINATING_MESSAGE)
    # a pod being deleted for another reason does not hold the preemptor back
    victim["status"]["conditions"] = []
    assert victims(plan(preemptor, cluster(on("n1", [victim])), [victim])) == ("n1", ["low"])


def test_a_budget_is_spared_on_the_node_when_another_victim_will_do() -> None:
    pods = [running("guarded", priority=0, cpu="2", labels={"app": "db"}),
            running("free", priority=5, cpu="2", labels={"app": "batch"})]
    view = cluster(on("n1", pods))
    # the least important pod would be `guarded`, but its budget allows no disruption: `free` goes instead
    assert victims(plan(pending(), view, pods, [budget(0, app="db")])) == ("n1", ["free"])
    assert victims(plan(pending(), view, pods, [budget(1, app="db")])) == ("n1", ["guarded"])
    # when nothing else frees enough room, the budget is broken after all
    assert victims(plan(pending(cpu="4"), view, pods, [budget(0, app="db")])) == ("n1", ["guarded", "free"])


def test_the_node_whose_victims_break_no_budget_is_chosen() -> None:
    pods = [running("guarded", priority=0, cpu="4", labels={"app": "db"}),
            running("batch", priority=500, cpu="4", node_name="n2", labels={"app": "batch"})]
    view = cluster(on("n1", pods), on("n2", pods))
    assert victims(plan(pending(), view, pods, [budget(0, app="db")])) == ("n2", ["batch"])
    assert victims(plan(pending(), view, pods)) == ("n1", ["guarded"])  # no budget: the lower priority goes


def test_budgets_count_each_victim_they_cover_and_skip_pods_already_evicted() -> None:
    pods = [running(name, priority=0, labels={"app": "web"}) for name in ("w1", "w2", "w3")]
    facts = [pod_facts(p) for p in pods]
    pdb = budget(1, app="web")
    violating, others = split_by_budget(facts, [pdb])
    assert ([v.name for v in violating], [o.name for o in others]) == (["w2", "w3"], ["w1"])
    pdb["status"]["disruptedPods"] = {"w1": format_time(START)}
    violating, others = split_by_budget(facts, [pdb])
    assert ([v.name for v in violating], [o.name for o in others]) == (["w3"], ["w1", "w2"])
    assert split_by_budget(facts, [{**pdb, "spec": {"selector": {}}}]) == ([], facts)  # empty selector: nothing


def candidate(node_name: str, *victim_specs: tuple[int, int], violations: int = 0) -> tuple[Candidate, list[Any]]:
    pods = [running(f"{node_name}-{index}", priority=priority, started=started, node_name=node_name)
            for index, (priority, started) in enumerate(victim_specs)]
    return Candidate(node_name, tuple(pod_facts(p) for p in pods), violations), pods


@pytest.mark.parametrize(("case", "specs", "chosen"), [
    ("fewest budget violations", {"a": ([(0, 0)], 1), "b": ([(100, 0)], 0)}, "b"),
    ("lowest highest-priority victim", {"a": ([(50, 0)], 0), "b": ([(10, 0), (5, 0)], 0)}, "b"),
    ("smallest sum of priorities", {"a": ([(10, 0), (10, 0)], 0), "b": ([(10, 0), (0, 0)], 0)}, "b"),
    ("fewest victims", {"a": ([(10, 0), (0, 0), (0, 0)], 0), "b": ([(10, 0), (0, 0)], 0)}, "b"),
    ("latest start of the highest-priority victims", {"a": ([(10, 1)], 0), "b": ([(10, 5)], 0)}, "b"),
    ("then the first", {"a": ([(10, 1)], 0), "b": ([(10, 1)], 0)}, "a"),
])
def test_the_node_is_picked_by_kube_schedulers_criteria_in_order(case: str, specs: dict[str, Any],
                                                                 chosen: str) -> None:
    candidates, lookup = [], {}
    for name, (victim_specs, violations) in specs.items():
        made, pods = candidate(name, *victim_specs, violations=violations)
        candidates.append(made)
        lookup.update({f"default/{p['metadata']['name']}": p for p in pods})
    assert pick_candidate(candidates, lookup).node_name == chosen
