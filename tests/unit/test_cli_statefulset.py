"""What `rollout status|history|undo` and `describe` say about a StatefulSet, as kubectl says it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.cli.describers import Evidence, describe
from minik8s.cli.errors import CliError
from minik8s.cli.rollout_statefulset import choose_revision, history_table, status_message, template_matches

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def sts(*, generation: int = 2, strategy: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "generation": generation},
            "spec": {"replicas": 3, "updateStrategy": strategy or {"type": "RollingUpdate",
                                                                    "rollingUpdate": {"partition": 0}}},
            "status": {"observedGeneration": 2, **status}}


@pytest.mark.parametrize(("case", "obj", "message", "done"), [
    ("new generation", sts(generation=3, readyReplicas=3), "Waiting for statefulset spec update to be observed...",
     False),
    ("pods not ready", sts(readyReplicas=1), "Waiting for 2 pods to be ready...", False),
    ("partition 1: two to update", sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
                                       readyReplicas=3, updatedReplicas=1),
     "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", False),
    ("all updated", sts(readyReplicas=3, updatedReplicas=3),
     "partitioned roll out complete: 3 new pods have been updated...", True),
    ("no rollingUpdate: revisions compared", sts(strategy={"type": "RollingUpdate"}, readyReplicas=3,
                                                 updatedReplicas=1, currentRevision="web-a", updateRevision="web-b"),
     "waiting for statefulset rolling update to complete 1 pods at revision web-b...", False),
])
def test_rollout_status_words_each_stage_as_kubectl(case: str, obj: dict[str, Any], message: str, done: bool) -> None:
    assert status_message(obj) == (message, done), case


def test_rollout_status_refuses_an_on_delete_set() -> None:
    with pytest.raises(CliError, match="only available for RollingUpdate strategy type"):
        status_message(sts(strategy={"type": "OnDelete"}))


def revision(number: int, image: str, cause: str = "") -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}
    metadata: dict[str, Any] = {"name": f"web-{number}"}
    if cause:
        metadata["annotations"] = {"kubernetes.io/change-cause": cause}
    return {"metadata": metadata, "revision": number, "data": {"spec": {"template": {**template, "$patch": "replace"}}}}


def test_history_lists_revisions_with_their_change_cause() -> None:
    table = history_table([revision(2, "web:2", "kubectl set image"), revision(1, "web:1")])
    assert table.splitlines() == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         kubectl set image"]
    assert history_table([]) == "No rollout history found."


def test_undo_goes_to_the_previous_revision_or_the_one_asked_for() -> None:
    revisions = [revision(1, "web:1"), revision(2, "web:2"), revision(3, "web:3")]
    assert choose_revision(revisions, 0)[1] == 2
    assert choose_revision(revisions, 1)[1] == 1
    with pytest.raises(CliError, match="unable to find specified revision 7 in history"):
        choose_revision(revisions, 7)
    with pytest.raises(CliError, match="no last revision to roll back to"):
        choose_revision(revisions[:1], 0)
    live = {"spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}
    assert template_matches(live, revisions[0]) and not template_matches(live, revisions[1])


def test_describe_shows_replicas_strategy_pods_and_claim_templates() -> None:
    stateful_set = {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T10:00:00Z"},
                    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
                             "template": {"metadata": {"labels": {"app": "web"}},
                                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
                             "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                                 "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                                 "resources": {"requests": {"storage": "1Gi"}}}}]},
                    "status": {"replicas": 2}}
    pods = [{"status": {"phase": "Running"}}, {"status": {"phase": "Pending"}}]
    lines = describe("StatefulSet", Evidence(stateful_set, [], pods=pods), now=NOW).splitlines()
    for expected in ("Selector:           app=web", "Replicas:           3 desired | 2 total",
                     "Update Strategy:    RollingUpdate", "  Partition:        1",
                     "Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed", "Volume Claims:",
                     "  Name:          www", "  StorageClass:  standard", "  Capacity:      1Gi",
                     "  Access Modes:  [ReadWriteOnce]"):
        assert expected in lines, (expected, lines)
