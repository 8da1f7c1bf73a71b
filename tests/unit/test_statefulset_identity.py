"""A StatefulSet pod's identity and history: ordinal names, labels, DNS hostname, claims, ControllerRevisions."""

from __future__ import annotations

import pytest

from minik8s.controllers.statefulset.identity import (
    claims_for,
    identity_matches,
    new_pod,
    parent_and_ordinal,
    storage_matches,
)
from minik8s.controllers.statefulset.revisions import (
    HASH_LABEL,
    apply_revision,
    choose_update_revision,
    fnv32,
    renamed,
    revisions_to_forget,
)
from tests.unit.statefulset_builders import SET_UID, pod, revision, stateful_set


@pytest.mark.parametrize(("name", "expected"), [
    ("web-0", ("web", 0)), ("my-web-12", ("my-web", 12)), ("web", ("", -1)), ("web-abc", ("", -1)),
    ("web-99999999999", ("web", -1)),
])
def test_the_ordinal_comes_from_the_name(name: str, expected: tuple[str, int]) -> None:
    assert parent_and_ordinal({"metadata": {"name": name}}) == expected


def test_a_new_pod_has_its_ordinal_identity_dns_name_claims_and_revision() -> None:
    web = stateful_set(claims=["www"])
    web["spec"]["template"]["spec"]["volumes"] = [{"name": "www", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
    made = new_pod(web, 1, "web-abc")
    metadata, spec = made["metadata"], made["spec"]
    assert (metadata["name"], metadata["generateName"], metadata["namespace"]) == ("web-1", "web-", "default")
    assert metadata["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
                                  "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": "web-abc"}
    assert metadata["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                            "uid": SET_UID, "controller": True, "blockOwnerDeletion": True}]
    assert (spec["hostname"], spec["subdomain"]) == ("web-1", "web")
    assert spec["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}},
                               {"name": "cache", "emptyDir": {}}]
    assert identity_matches(web, made) and storage_matches(web, made)


def test_identity_and_storage_mismatches_are_seen() -> None:
    web = stateful_set(claims=["www"])
    unlabeled = new_pod(web, 0, "r")
    del unlabeled["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"]
    assert not identity_matches(web, unlabeled)
    wrong_claim = new_pod(web, 0, "r")
    wrong_claim["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "www-web-1"
    assert not storage_matches(web, wrong_claim)


def test_each_ordinal_gets_its_own_claim_named_after_template_set_and_ordinal() -> None:
    web = stateful_set(claims=["www", "logs"])
    claims = claims_for(web, 2)
    assert list(claims) == ["www", "logs"]
    www = claims["www"]
    assert www["metadata"] == {"name": "www-web-2", "namespace": "default", "labels": {"app": "web"}}
    assert (www["apiVersion"], www["kind"]) == ("v1", "PersistentVolumeClaim")
    assert www["spec"]["resources"] == {"requests": {"storage": "1Gi"}} and "status" not in www


def test_fnv32_is_fnv_1_as_kubernetes_history_hashes() -> None:
    assert fnv32(b"") == 0x811C9DC5
    assert fnv32(b"a") == 0x050C5D7E


def test_a_revision_stores_the_template_as_the_patch_rollout_undo_sends_back() -> None:
    web = stateful_set()
    web["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
    made = revision(web, 1)
    digest = made["metadata"]["labels"][HASH_LABEL]
    assert made["metadata"]["name"] == f"web-{digest}" and made["revision"] == 1
    assert made["metadata"]["labels"]["app"] == "web"
    assert made["metadata"]["annotations"] == {"kubernetes.io/change-cause": "first"}
    assert made["data"]["spec"]["template"]["$patch"] == "replace"
    assert made["metadata"]["ownerReferences"][0]["uid"] == SET_UID
    restored = apply_revision(stateful_set(image="web:9"), made)
    assert restored["spec"]["template"] == web["spec"]["template"]


def test_the_update_revision_is_reused_created_or_renumbered_for_a_rollback() -> None:
    one, two = stateful_set(), stateful_set(image="web:2")
    first = choose_update_revision(one, [])
    assert (first.action, first.revision["revision"]) == ("create", 1)
    rev1 = revision(one, 1)
    assert choose_update_revision(one, [rev1]).action == "use"
    second = choose_update_revision(two, [rev1])
    assert (second.action, second.revision["revision"]) == ("create", 2)
    rev2 = revision(two, 2)
    back = choose_update_revision(one, [rev1, rev2])
    assert (back.action, back.revision["metadata"]["name"], back.number) == ("renumber", rev1["metadata"]["name"], 3)


def test_a_name_collision_moves_the_name_but_not_the_data() -> None:
    web = stateful_set()
    made = revision(web, 1)
    moved = renamed(made, web, 1)
    assert moved["metadata"]["name"] != made["metadata"]["name"] and moved["data"] == made["data"]


def test_history_beyond_the_limit_is_forgotten_oldest_first_but_never_a_live_revision() -> None:
    limited = stateful_set()
    limited["spec"]["revisionHistoryLimit"] = 1
    revisions = [revision(stateful_set(image=f"web:{n}"), n) for n in range(1, 6)]
    names = [r["metadata"]["name"] for r in revisions]
    running = [pod(limited, 0, names[1])]  # a pod still runs revision 2
    forgotten = revisions_to_forget(limited, revisions, running, live=[names[3], names[4]])
    assert forgotten == [names[0]]  # history is 1 and 3 (2 runs, 4 and 5 are live): keep the newest one
    limited["spec"]["revisionHistoryLimit"] = -1
    assert revisions_to_forget(limited, revisions, running, live=[names[4]]) == []
