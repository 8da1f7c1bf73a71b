"""The Deployment controller's pure decisions, driven step by step against an in-memory cluster.

`Cluster` plays the apiserver (it applies plans), the ReplicaSet controller (status follows
spec) and the kubelet (pods become available, terminating pods go away), so a rollout can be
watched at every step and its bounds checked the way a user would observe them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.controllers.common.workload_objects import MalformedObject
from minik8s.controllers.deployment.plan import DeploymentPlan, plan_deployment
from minik8s.controllers.deployment.spec import read_spec, resolve_fenceposts
from minik8s.controllers.deployment.template import (
    POD_TEMPLATE_HASH_LABEL,
    REVISION,
    REVISION_HISTORY,
    equal_ignore_hash,
    pod_template_hash,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def template(image: str = "nginx:1") -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}], "restartPolicy": "Always"}}


def deployment(replicas: int = 3, *, image: str = "nginx:1", strategy: dict | None = None, paused: bool = False,
               history: int = 10, deadline: int | None = 600, min_ready: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template(image),
        "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "revisionHistoryLimit": history, "minReadySeconds": min_ready, "paused": paused,
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "deploy-uid", "generation": 1,
                         "annotations": {"kubernetes.io/change-cause": "first"}},
            "spec": spec, "status": {}}


def rolling(surge: int | str, unavailable: int | str) -> dict[str, Any]:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


class Cluster:
    def __init__(self, deploy: dict[str, Any]) -> None:
        self.deployment = deploy
        self.replica_sets: dict[str, dict[str, Any]] = {}
        self.terminating: dict[str, int] = {}  # pods of a ReplicaSet (by uid) still shutting down
        self.now = NOW
        self.serial = 0
        self.plans: list[DeploymentPlan] = []

    # -- the apiserver --------------------------------------------------------------------------

    def sync(self) -> DeploymentPlan:
        self.now += timedelta(seconds=1)
        plan = plan_deployment(self.deployment, list(self.replica_sets.values()),
                               pods_by_owner=self.pods_by_owner(), now=self.now)
        self.apply(plan)
        self.plans.append(plan)
        return plan

    def apply(self, plan: DeploymentPlan) -> None:
        body = plan.replica_set_body()
        if body is not None:
            self.serial += 1
            body["metadata"].update(uid=f"rs-{self.serial}", generation=1,
                                    creationTimestamp=stamp(self.now + timedelta(seconds=self.serial)))
            body["status"] = {}
            assert body["metadata"]["name"] not in self.replica_sets
            self.replica_sets[body["metadata"]["name"]] = body
        for state in plan.updates:
            replica_set = self.replica_sets[state.name]
            before = copy.deepcopy(replica_set["spec"])
            replica_set["spec"]["replicas"] = state.replicas
            replica_set["spec"]["minReadySeconds"] = state.min_ready_seconds
            replica_set["metadata"]["annotations"] = dict(state.annotations)
            if replica_set["spec"] != before:
                replica_set["metadata"]["generation"] += 1
        for gone in plan.deletes:
            del self.replica_sets[gone["metadata"]["name"]]
        if plan.status is not None:
            self.deployment["status"] = copy.deepcopy(plan.status)
        if plan.revision is not None:
            self.deployment["metadata"]["annotations"][REVISION] = plan.revision

    def edit(self, **spec: Any) -> None:
        self.deployment["spec"].update(spec)
        self.deployment["metadata"]["generation"] += 1

    # -- the ReplicaSet controller and the kubelet ----------------------------------------------

    def run_replica_sets(self) -> None:
        """Pods are created (not yet available) or deleted (terminating) to match each spec."""
        for replica_set in self.replica_sets.values():
            wanted, status = replica_set["spec"]["replicas"], replica_set["status"]
            had = status.get("replicas", 0)
            if wanted < had:
                uid = replica_set["metadata"]["uid"]
                self.terminating[uid] = self.terminating.get(uid, 0) + had - wanted
            status.update(replicas=wanted, readyReplicas=min(status.get("readyReplicas", 0), wanted),
                          availableReplicas=min(status.get("availableReplicas", 0), wanted),
                          observedGeneration=replica_set["metadata"]["generation"])

    def kubelet(self) -> None:
        """Every pod becomes ready and available; terminating pods are gone."""
        self.terminating.clear()
        for replica_set in self.replica_sets.values():
            status = replica_set["status"]
            status.update(readyReplicas=status.get("replicas", 0), availableReplicas=status.get("replicas", 0))

    def pods_by_owner(self) -> dict[str, list[dict[str, Any]]]:
        pods: dict[str, list[dict[str, Any]]] = {}
        for replica_set in self.replica_sets.values():
            uid = replica_set["metadata"]["uid"]
            count = replica_set["status"].get("replicas", 0) + self.terminating.get(uid, 0)
            pods[uid] = [{"status": {"phase": "Running"}} for _ in range(count)]
        return pods

    # -- what a user sees -----------------------------------------------------------------------

    def sizes(self) -> dict[str, int]:
        return {name: rs["spec"]["replicas"] for name, rs in sorted(self.replica_sets.items())}

    def available(self) -> int:
        return sum(rs["status"].get("availableReplicas", 0) for rs in self.replica_sets.values())

    def total(self) -> int:
        return sum(rs["spec"]["replicas"] for rs in self.replica_sets.values())

    def rollout_done(self) -> bool:
        """`kubectl rollout status`'s test."""
        status, spec = self.deployment["status"], self.deployment["spec"]
        return bool(self.deployment["metadata"]["generation"] <= status.get("observedGeneration", 0)
                and status.get("updatedReplicas", 0) == spec["replicas"]
                and status.get("replicas", 0) == status.get("updatedReplicas", 0)
                and status.get("availableReplicas", 0) == status.get("updatedReplicas", 0))

    def converge(self, *, limit: int = 60) -> None:
        for _ in range(limit):
            self.sync()
            self.run_replica_sets()
            self.kubelet()
            self.sync()
            last = self.plans[-1]
            if self.rollout_done() and (last.create, last.updates, last.deletes, last.status) == (None, [], [], None):
                return
        raise AssertionError(f"no convergence: {self.sizes()} {self.deployment['status']}")

    def condition(self, kind: str) -> dict[str, Any]:
        return next(c for c in self.deployment["status"]["conditions"] if c["type"] == kind)


# -- spec arithmetic --------------------------------------------------------------------------


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable rounds down
    ("25%", "25%", 1, (1, 0)),
    (0, "1%", 2, (0, 1)),  # both resolve to zero: one may be unavailable
    ("0%", "0%", 5, (0, 1)),
    (2, 1, 5, (2, 1)),
    ("100%", "100%", 3, (3, 3)),
    (None, None, 4, (0, 1)),
])
def test_fenceposts_round_as_kubernetes(surge, unavailable, desired, expected):
    assert resolve_fenceposts(surge, unavailable, desired) == expected


def test_max_unavailable_is_capped_by_replicas_and_zero_without_replicas():
    assert read_spec(deployment(2, strategy=rolling(0, 5))).max_unavailable == 2
    assert read_spec(deployment(0, strategy=rolling(0, 5))).max_unavailable == 0
    assert read_spec(deployment(4, strategy={"type": "Recreate"})).max_surge == 0


@pytest.mark.parametrize("bad", [rolling("ten", 1), rolling("5", 1), {"type": "Blue"}])
def test_malformed_strategies_are_refused_with_a_message(bad):
    with pytest.raises(MalformedObject):
        plan_deployment(deployment(strategy=bad), [], pods_by_owner={}, now=NOW)


# -- template identity ------------------------------------------------------------------------


def test_template_hash_ignores_nulls_empties_and_the_hash_label():
    plain = template()
    as_undo_sends = copy.deepcopy(plain)
    as_undo_sends["metadata"].update(creationTimestamp=None, labels={"app": "web", POD_TEMPLATE_HASH_LABEL: "x"})
    as_undo_sends["spec"]["containers"][0]["resources"] = {}
    as_undo_sends["spec"]["volumes"] = []
    assert equal_ignore_hash(plain, as_undo_sends)
    assert pod_template_hash(plain) == pod_template_hash(as_undo_sends)
    assert pod_template_hash(plain) != pod_template_hash(template("nginx:2"))
    assert pod_template_hash(plain) != pod_template_hash(plain, 1), "collisionCount changes the hash"
    assert set(pod_template_hash(plain)) <= set("bcdfghjklmnpqrstvwxz2456789")


# -- creating and scaling ---------------------------------------------------------------------


def test_a_new_deployment_creates_its_replica_set_at_full_size():
    cluster = Cluster(deployment(3))
    plan = cluster.sync()
    assert plan.create is not None
    created = next(iter(cluster.replica_sets.values()))
    template_hash = pod_template_hash(template())
    assert created["metadata"]["name"] == f"web-{template_hash}"
    assert created["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH_LABEL: template_hash}
    assert created["spec"]["selector"] == {"matchLabels": {"app": "web", POD_TEMPLATE_HASH_LABEL: template_hash}}
    assert created["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == template_hash
    assert created["spec"]["replicas"] == 3
    assert created["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "deploy-uid",
        "controller": True, "blockOwnerDeletion": True}]
    assert created["metadata"]["annotations"] == {
        REVISION: "1", "deployment.kubernetes.io/desired-replicas": "3",
        "deployment.kubernetes.io/max-replicas": "4", "kubernetes.io/change-cause": "first"}
    assert plan.revision == "1"
    assert cluster.condition("Progressing")["reason"] == "NewReplicaSetCreated"
    assert cluster.condition("Available")["status"] == "False"
    assert [e.message for e in plan.events] == [f"Scaled up replica set web-{template_hash} to 3"]


def test_status_reaches_what_rollout_status_waits_for():
    cluster = Cluster(deployment(3))
    cluster.converge()
    status = cluster.deployment["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Available", "True", "MinimumReplicasAvailable"), ("Progressing", "True", "NewReplicaSetAvailable")]
    assert cluster.condition("Progressing")["message"] == f'ReplicaSet "web-{pod_template_hash(template())}" ' \
                                                          "has successfully progressed."


@pytest.mark.parametrize("sizes", [(3, 5), (5, 2), (3, 0), (0, 4)])
def test_scaling_a_settled_deployment_resizes_its_only_replica_set(sizes):
    before, after = sizes
    cluster = Cluster(deployment(before))
    cluster.converge()
    cluster.edit(replicas=after)
    plan = cluster.sync()
    assert plan.create is None
    assert list(cluster.sizes().values()) == [after]
    cluster.converge()
    assert cluster.deployment["status"].get("availableReplicas", 0) == after


def test_proportional_scaling_mid_rollout_keeps_the_ratio():
    cluster = Cluster(deployment(10, strategy=rolling(3, 2)))
    cluster.converge()
    cluster.edit(template=template("nginx:2"))
    cluster.sync()  # new ReplicaSet at 3 (13 = 10 + maxSurge), old down by the 2 that may be unavailable
    old, new = sorted(cluster.replica_sets.values(), key=lambda rs: rs["metadata"]["uid"])
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 3)
    cluster.run_replica_sets()
    cluster.sync()  # room for two more new pods
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)
    cluster.edit(replicas=20)
    cluster.sync()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (14, 9), "10 more split 8:5, rounded"
    assert cluster.total() == 23


# -- rolling update ---------------------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [
    (3, "25%", "25%"), (10, 3, 2), (4, 0, 1), (5, 1, 0), (10, "50%", "10%"), (1, 1, 0)])
def test_rolling_update_stays_within_surge_and_availability_at_every_step(replicas, surge, unavailable):
    cluster = Cluster(deployment(replicas, strategy=rolling(surge, unavailable)))
    cluster.converge()
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, replicas)
    cluster.edit(template=template("nginx:2"))

    def check() -> None:
        assert cluster.total() <= replicas + max_surge, cluster.sizes()
        assert cluster.available() >= replicas - max_unavailable, cluster.sizes()

    for _ in range(100):
        cluster.sync()
        check()
        cluster.run_replica_sets()
        check()
        cluster.sync()
        check()
        cluster.kubelet()
        check()
        if cluster.rollout_done():
            break
    assert cluster.rollout_done()
    new_name = f"web-{pod_template_hash(template('nginx:2'))}"
    assert cluster.sizes() == {new_name: replicas, f"web-{pod_template_hash(template())}": 0}
    assert cluster.replica_sets[new_name]["metadata"]["annotations"][REVISION] == "2"
    assert cluster.deployment["metadata"]["annotations"][REVISION] == "2"


def test_unavailable_old_pods_are_removed_first():
    cluster = Cluster(deployment(4, strategy=rolling(0, 1)))
    cluster.converge()
    old = next(iter(cluster.replica_sets.values()))
    old["status"]["availableReplicas"] = 2  # two old pods crashed: below the minimum of 3 already
    cluster.edit(template=template("nginx:2"))
    cluster.sync()
    assert old["spec"]["replicas"] == 3, "an unhealthy replica goes; the rollout is not stuck"


def test_rollout_restart_rolls_on_a_template_annotation():
    cluster = Cluster(deployment(2))
    cluster.converge()
    restarted = template()
    restarted["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2024-05-01T12:00:00Z"}
    cluster.edit(template=restarted)
    assert cluster.sync().create is not None


def test_rollback_reuses_the_old_replica_set_and_moves_its_revision():
    cluster = Cluster(deployment(3))
    cluster.converge()
    cluster.edit(template=template("nginx:2"))
    cluster.converge()
    first = cluster.replica_sets[f"web-{pod_template_hash(template())}"]
    undo = copy.deepcopy(first["spec"]["template"])  # what `kubectl rollout undo` sends back
    del undo["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL]
    undo["metadata"]["creationTimestamp"] = None
    undo["spec"]["containers"][0]["resources"] = {}
    cluster.edit(template=undo)
    assert cluster.sync().create is None
    assert first["metadata"]["annotations"][REVISION] == "3"
    assert first["metadata"]["annotations"][REVISION_HISTORY] == "1"
    cluster.converge()
    assert len(cluster.replica_sets) == 2
    assert first["spec"]["replicas"] == 3
    assert cluster.deployment["metadata"]["annotations"][REVISION] == "3"


def test_history_beyond_the_limit_is_deleted_oldest_revision_first():
    cluster = Cluster(deployment(2, history=1))
    cluster.converge()
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        cluster.edit(template=template(image))
        cluster.converge()
    remaining = {rs["metadata"]["annotations"][REVISION] for rs in cluster.replica_sets.values()}
    assert remaining == {"3", "4"}
    deleted = [rs["metadata"]["annotations"][REVISION] for plan in cluster.plans for rs in plan.deletes]
    assert deleted == ["1", "2"]


# -- recreate, paused, deadline ---------------------------------------------------------------


def test_recreate_waits_for_old_pods_to_be_gone_before_creating_the_new_replica_set():
    cluster = Cluster(deployment(3, strategy={"type": "Recreate"}))
    cluster.converge()
    cluster.edit(template=template("nginx:2"))
    plan = cluster.sync()
    assert plan.create is None and list(cluster.sizes().values()) == [0]
    cluster.run_replica_sets()  # old pods now terminating
    assert cluster.sync().create is None
    cluster.kubelet()  # ...and gone
    plan = cluster.sync()
    assert plan.create is not None and plan.create.replicas == 3
    cluster.converge()
    assert cluster.rollout_done()


def test_a_paused_deployment_scales_but_does_not_roll():
    cluster = Cluster(deployment(3))
    cluster.converge()
    cluster.edit(paused=True, template=template("nginx:2"))
    assert cluster.sync().create is None
    assert cluster.condition("Progressing")["reason"] == "DeploymentPaused"
    assert cluster.condition("Progressing")["status"] == "Unknown"
    cluster.edit(replicas=5)
    cluster.sync()
    assert list(cluster.sizes().values()) == [5]
    cluster.edit(paused=False)
    assert cluster.sync().create is not None


def test_no_progress_within_the_deadline_marks_the_rollout_failed():
    cluster = Cluster(deployment(2, deadline=60))
    cluster.converge()
    cluster.edit(template=template("nginx:2"))
    cluster.sync()
    cluster.run_replica_sets()  # new pods never become available
    cluster.sync()
    plan = cluster.sync()
    assert plan.requeue_after is not None and 0 < plan.requeue_after <= 61
    assert cluster.condition("Progressing")["reason"] == "ReplicaSetUpdated"
    cluster.now += timedelta(seconds=61)
    cluster.sync()
    progressing = cluster.condition("Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert "has timed out progressing" in progressing["message"]


def test_without_a_deadline_there_is_no_progressing_condition():
    cluster = Cluster(deployment(2, deadline=None))
    cluster.converge()
    assert [c["type"] for c in cluster.deployment["status"]["conditions"]] == ["Available"]


def test_min_ready_seconds_updates_the_current_replica_set_in_place():
    cluster = Cluster(deployment(2))
    cluster.converge()
    cluster.edit(minReadySeconds=15)
    plan = cluster.sync()
    assert plan.create is None
    assert [rs["spec"]["minReadySeconds"] for rs in cluster.replica_sets.values()] == [15]


def test_an_unchanged_settled_deployment_plans_nothing():
    cluster = Cluster(deployment(3))
    cluster.converge()
    plan = cluster.sync()
    assert (plan.create, plan.updates, plan.deletes, plan.status, plan.revision) == (None, [], [], None, None)


def test_a_deployment_selecting_everything_only_warns():
    selecting_all = deployment()
    selecting_all["spec"]["selector"] = {}
    plan = plan_deployment(selecting_all, [], pods_by_owner={}, now=NOW)
    assert [e.reason for e in plan.events] == ["SelectingAll"]
    assert plan.create is None and plan.status == {"observedGeneration": 1}
