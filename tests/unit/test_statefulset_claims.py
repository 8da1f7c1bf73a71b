"""A StatefulSet's claims: made before their pod, kept across pod replacement, owned as the retention policy says."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.controllers.statefulset.claims import missing_claims, owner_updates, wanted_owner_references
from minik8s.controllers.statefulset.identity import claims_for
from minik8s.controllers.statefulset.plan import CreatePod, plan_stateful_set
from tests.unit.statefulset_builders import SET_UID, claim, inputs, pod, revision, stateful_set, summary


def set_ref(uid: str = SET_UID, *, controller: bool = True) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": uid, "controller": controller,
            "blockOwnerDeletion": True}


def pod_ref(name: str, uid: str | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid or f"uid-{name}", "controller": True,
            "blockOwnerDeletion": True}


def test_a_new_pod_is_created_with_its_claims() -> None:
    web = stateful_set(claims=["www"])
    plan = plan_stateful_set(inputs(web, []))
    assert summary(plan) == [("create", "web-0", "www-web-0")]


def test_an_existing_claim_is_reused_by_the_replacement_pod() -> None:
    web = stateful_set(claims=["www"], replicas=1)
    plan = plan_stateful_set(inputs(web, [], claims=[claim("www-web-0")]))
    assert summary(plan) == [("create", "web-0")]
    created = plan.phases[0].works[0][0]
    assert isinstance(created, CreatePod)
    assert created.pod["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]


def test_a_claim_being_deleted_is_named_so_the_pod_waits_for_it() -> None:
    web = stateful_set(claims=["www"], replicas=1)
    wanted = claims_for(web, 0).values()
    assert [c["metadata"]["name"] for c in missing_claims(wanted, {"www-web-0": claim("www-web-0", deleting=True)})] \
        == ["www-web-0"]


def test_a_pending_pod_gets_its_missing_claims() -> None:
    web = stateful_set(claims=["www"], replicas=1)
    rev = revision(web)
    pending = pod(web, 0, rev["metadata"]["name"], phase="Pending", ready=False)
    assert summary(plan_stateful_set(inputs(web, [pending], update=rev))) == [("claims", "web-0", "www-web-0")]


@pytest.mark.parametrize(("case", "retention", "replicas", "owners"), [
    ("Retain, Retain: no owner", {"whenDeleted": "Retain", "whenScaled": "Retain"}, 1, []),
    ("whenDeleted Delete: the set", {"whenDeleted": "Delete", "whenScaled": "Retain"}, 1, ["StatefulSet"]),
    ("whenScaled Delete, pod kept: no owner", {"whenDeleted": "Retain", "whenScaled": "Delete"}, 1, []),
    ("whenScaled Delete, pod scaled away: the pod", {"whenDeleted": "Retain", "whenScaled": "Delete"}, 0, ["Pod"]),
    ("both Delete, pod kept: the set", {"whenDeleted": "Delete", "whenScaled": "Delete"}, 1, ["StatefulSet"]),
    ("both Delete, pod scaled away: the pod only", {"whenDeleted": "Delete", "whenScaled": "Delete"}, 0, ["Pod"]),
])
def test_the_retention_policy_decides_who_owns_a_claim(case: str, retention: dict[str, str], replicas: int,
                                                       owners: list[str]) -> None:
    web = stateful_set(claims=["www"], retention=retention, replicas=replicas)
    web_0 = pod(web, 0, "r")
    references = wanted_owner_references(claim("www-web-0", owners=[set_ref()]), web, web_0)
    assert [r["kind"] for r in references] == owners, case
    assert all(r["controller"] is True for r in references)


def test_a_claim_another_controller_controls_is_left_alone_with_a_warning() -> None:
    web = stateful_set(claims=["www"], retention={"whenDeleted": "Delete", "whenScaled": "Retain"}, replicas=1)
    foreign = {"apiVersion": "example.com/v1", "kind": "Backup", "name": "b", "uid": "u", "controller": True}
    web_0 = pod(web, 0, "r")
    claims = {"www-web-0": claim("www-web-0", owners=[foreign])}
    assert owner_updates(web, web_0, claims) == []
    claims = {"www-web-0": claim("www-web-0", owners=[foreign, set_ref()])}
    [update] = owner_updates(web, web_0, claims)
    assert update.conflicting_controller and list(update.owner_references) == [foreign]


def test_when_deleted_delete_makes_the_set_own_the_claims_of_its_pods() -> None:
    policy = {"whenDeleted": "Delete", "whenScaled": "Retain"}
    web = stateful_set(claims=["www"], retention=policy, replicas=1)
    rev = revision(web)
    plan = plan_stateful_set(inputs(web, [pod(web, 0, rev["metadata"]["name"])], update=rev,
                                    claims=[claim("www-web-0")]))
    assert summary(plan) == [("update", "web-0", "www-web-0")]


def test_when_scaled_delete_makes_the_condemned_pod_own_its_claim_before_it_goes() -> None:
    policy = {"whenDeleted": "Retain", "whenScaled": "Delete"}
    web = stateful_set(claims=["www"], retention=policy, replicas=1)
    rev = revision(web)
    name = rev["metadata"]["name"]
    plan = plan_stateful_set(inputs(web, [pod(web, 0, name), pod(web, 1, name)], update=rev,
                                    claims=[claim("www-web-0"), claim("www-web-1")]))
    assert summary(plan) == [("owners", "web-1", "www-web-1"), ("delete", "web-1")]


def test_a_claim_still_owned_by_an_earlier_pod_of_the_name_blocks_the_new_pod() -> None:
    policy = {"whenDeleted": "Retain", "whenScaled": "Delete"}
    web = stateful_set(claims=["www"], retention=policy, replicas=1)
    stale = claim("www-web-0", owners=[pod_ref("web-0", "uid-of-the-old-web-0")])
    assert summary(plan_stateful_set(inputs(web, [], claims=[stale]))) == []
    retained = stateful_set(claims=["www"], replicas=1)
    assert summary(plan_stateful_set(inputs(retained, [], claims=[stale]))) == [("create", "web-0")]
