"""The Job controller's pure decisions, table by table: assessing pods, managing them, counting them once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.job_indexes import format_indexes, parse_indexes
from minik8s.controllers.job.assess import SyncContext, assess, match_success_policy
from minik8s.controllers.job.backoff import BackoffRecord, BackoffSettings, next_record, remaining_seconds
from minik8s.controllers.job.failure_policy import match_pod_failure_policy
from minik8s.controllers.job.manage import build_pod, generate_name_with_index, plan_manage
from minik8s.controllers.job.pod_facts import TRACKING_FINALIZER
from minik8s.controllers.job.tracking import clean_uncounted, enact_finished, plan_tracking
from minik8s.controllers.ttl_after_finished.plan import needs_cleanup, seconds_left

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SETTINGS = BackoffSettings(base=10.0, cap=360.0)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def job(*, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    base = {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
            "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "job-uid", "resourceVersion": "3"},
            "spec": {**base, **spec}, "status": {"startTime": stamp(60), **(status or {})}}


def pod(name: str, phase: str = "Running", *, index: int | None = None, finalizer: bool = True, exit_code: int = 1,
        finished_ago: float = 30, deleting: bool = False, failures: int | None = None,
        conditions: list[dict[str, str]] | None = None) -> dict[str, Any]:
    annotations = {} if index is None else {"batch.kubernetes.io/job-completion-index": str(index)}
    if failures is not None:
        annotations["batch.kubernetes.io/job-index-failure-count"] = str(failures)
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": annotations,
                                "creationTimestamp": stamp(120),
                                "finalizers": [TRACKING_FINALIZER] if finalizer else []}
    if deleting:
        metadata["deletionTimestamp"] = stamp(1)
    state: dict[str, Any] = {"running": {}}
    if phase in ("Succeeded", "Failed"):
        state = {"terminated": {"exitCode": 0 if phase == "Succeeded" else exit_code, "finishedAt": stamp(finished_ago)}}
    return {"metadata": metadata, "spec": {"nodeName": "n1"},
            "status": {"phase": phase, "conditions": conditions or [],
                       "containerStatuses": [{"name": "work", "state": state, "restartCount": 0}]}}


def context_of(the_job: dict[str, Any], pods: list[dict[str, Any]], *, record: BackoffRecord | None = None,
               removals: frozenset[str] = frozenset()) -> SyncContext:
    return assess(the_job, pods, now=NOW, record=record or BackoffRecord(), expected_removals=removals,
                  settings=SETTINGS)


# -- assess: counting and where the Job is heading ---------------------------------------------------

@pytest.mark.parametrize(("the_job", "pods", "succeeded", "failed", "heading"), [
    (job(completions=3, parallelism=3), [pod("a", "Succeeded"), pod("b", "Running")], 1, 0, None),
    (job(backoffLimit=1), [pod("a", "Failed"), pod("b", "Failed")], 0, 2, "BackoffLimitExceeded"),
    (job(backoffLimit=1), [pod("a", "Failed")], 0, 1, None),
    (job(backoffLimit=1, status={"failed": 1}), [pod("a", "Failed", finalizer=False), pod("b", "Failed")], 0, 2,
     "BackoffLimitExceeded"),
    (job(backoffLimit=0, status={"uncountedTerminatedPods": {"failed": ["uid-a"]}}), [pod("a", "Failed")], 0, 1,
     "BackoffLimitExceeded"),
    (job(activeDeadlineSeconds=30), [pod("a")], 0, 0, "DeadlineExceeded"),
    (job(podReplacementPolicy="TerminatingOrFailed", backoffLimit=0), [pod("a", deleting=True)], 0, 1,
     "BackoffLimitExceeded"),
    (job(podReplacementPolicy="Failed", backoffLimit=0), [pod("a", deleting=True)], 0, 0, None),
], ids=["one-success", "over-backoff", "at-backoff", "counted-earlier", "uncounted", "deadline",
        "terminating-counts", "terminating-waits"])
def test_assess_counts_finished_pods_and_picks_a_failure(the_job: dict[str, Any], pods: list[dict[str, Any]],
                                                         succeeded: int, failed: int, heading: str | None) -> None:
    context = context_of(the_job, pods)
    assert (context.succeeded, context.failed) == (succeeded, failed)
    found = context.finished_condition or {}
    assert found.get("reason") == heading
    if heading is not None:
        assert found["type"] == "FailureTarget"


def test_a_deadline_not_reached_yet_requeues_for_it() -> None:
    context = context_of(job(activeDeadlineSeconds=90), [pod("a")])
    assert context.finished_condition is None and context.requeue_after == 30.0


def test_an_earlier_failure_target_becomes_failed_and_success_criteria_stay() -> None:
    target = {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}
    assert (context_of(job(status={"conditions": [target]}), []).finished_condition or {})["type"] == "Failed"
    met = {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "m"}
    assert (context_of(job(status={"conditions": [met]}), []).finished_condition or {})["type"] == "SuccessCriteriaMet"


def test_a_suspended_job_gets_no_start_time() -> None:
    fresh = job(suspend=True)
    del fresh["status"]["startTime"]
    assert "startTime" not in context_of(fresh, []).status
    del fresh["spec"]["suspend"]
    assert context_of(fresh, []).status["startTime"] == "2024-05-01T12:00:00Z"


# -- pod failure policy ---------------------------------------------------------------------------------

EXIT_RULES = {"rules": [
    {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}},
    {"action": "FailJob", "onExitCodes": {"containerName": "work", "operator": "In", "values": [42]}},
    {"action": "FailIndex", "onExitCodes": {"operator": "NotIn", "values": [1, 7, 42]}},
    {"action": "Count", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
]}
DISRUPTED = [{"type": "DisruptionTarget", "status": "True"}]


@pytest.mark.parametrize(("failed_pod", "count", "action", "message"), [
    (pod("a", "Failed", exit_code=7), False, "Ignore", None),
    (pod("a", "Failed", exit_code=42), True, "FailJob",
     "Container work for pod default/a failed with exit code 42 matching FailJob rule at index 1"),
    (pod("a", "Failed", exit_code=3), True, "FailIndex", None),
    (pod("a", "Failed", exit_code=1), True, None, None),
    (pod("a", "Failed", exit_code=1, conditions=DISRUPTED), True, "Count", None),
])
def test_the_first_matching_rule_decides(failed_pod: dict[str, Any], count: bool, action: str | None,
                                         message: str | None) -> None:
    match = match_pod_failure_policy(EXIT_RULES, failed_pod)
    assert (match.count_failed, match.action, match.fail_job_message) == (count, action, message)


def test_exit_code_zero_never_matches_and_conditions_name_the_pod() -> None:
    not_in = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [5]}}]}
    assert match_pod_failure_policy(not_in, pod("a", "Succeeded")).action is None
    on_condition = {"rules": [{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}
    message = match_pod_failure_policy(on_condition, pod("a", "Failed", conditions=DISRUPTED)).fail_job_message
    assert message == "Pod default/a has condition DisruptionTarget matching FailJob rule at index 0"


# -- backoff ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("failures", "ago", "remaining"), [
    (0, 0, 0.0), (1, 0, 10.0), (1, 4, 6.0), (1, 11, 0.0), (2, 0, 20.0), (3, 0, 40.0), (6, 0, 320.0), (7, 0, 360.0),
    (20, 100, 260.0),
])
def test_backoff_doubles_from_its_base_up_to_six_minutes(failures: int, ago: float, remaining: float) -> None:
    assert remaining_seconds(failures, NOW - timedelta(seconds=ago), NOW, SETTINGS) == remaining


def test_a_success_resets_the_failures_to_those_after_it() -> None:
    record = next_record(BackoffRecord(), [], [pod("a", "Failed", finished_ago=50), pod("b", "Failed", finished_ago=40)])
    assert record == BackoffRecord(2, NOW - timedelta(seconds=40))
    after = next_record(record, [pod("c", "Succeeded", finished_ago=30)], [pod("d", "Failed", finished_ago=20)])
    assert after == BackoffRecord(1, NOW - timedelta(seconds=20))
    assert next_record(after, [pod("e", "Succeeded")], []) == BackoffRecord()


# -- manage: what to create and delete --------------------------------------------------------------

@pytest.mark.parametrize(("spec", "pods", "create", "delete"), [
    ({"completions": 5, "parallelism": 2}, [], 2, 0),
    ({"completions": 5, "parallelism": 2}, [pod("a")], 1, 0),
    ({"completions": 5, "parallelism": 2}, [pod("a", "Succeeded")] * 4 + [pod("b")], 0, 0),
    ({"completions": 2, "parallelism": 2}, [pod("a", "Succeeded"), pod("b"), pod("c")], 0, 1),
    ({"completions": None, "parallelism": 3}, [], 3, 0),
    ({"completions": None, "parallelism": 3}, [pod("a", "Succeeded"), pod("b")], 0, 0),
    ({"suspend": True, "completions": 3, "parallelism": 3}, [pod("a"), pod("b")], 0, 2),
    ({"completions": 2, "parallelism": 2, "podReplacementPolicy": "Failed"}, [pod("a", deleting=True)], 1, 0),
    ({"completions": 2, "parallelism": 2}, [pod("a", deleting=True)], 0, 0),
], ids=["start", "fill", "last-running", "surplus", "work-queue", "work-queue-done", "suspended", "wait-terminating",
        "terminating-is-a-failure-backing-off"])
def test_manage_keeps_the_wanted_number_active(spec: dict[str, Any], pods: list[dict[str, Any]], create: int,
                                               delete: int) -> None:
    plan = plan_manage(context_of(job(**spec), pods))
    assert (len(plan.create), len(plan.delete)) == (create, delete)


def test_no_pod_is_created_before_the_backoff_has_passed() -> None:
    plan = plan_manage(context_of(job(), [pod("a", "Failed", finished_ago=4)]))
    assert plan.create == [] and plan.requeue_after == 6.0


def test_an_indexed_job_starts_the_lowest_pending_indexes_and_drops_duplicates() -> None:
    indexed = job(completions=5, parallelism=3, completionMode="Indexed")
    pods = [pod("a", "Succeeded", index=0), pod("b", index=1)]
    assert plan_manage(context_of(indexed, pods)).create == [2, 3]
    duplicated = [pod("x", index=1), pod("y", index=1), pod("z", index=9), pod("w")]
    assert sorted(p["metadata"]["name"] for p in plan_manage(context_of(indexed, duplicated)).delete) == ["w", "x", "z"]


def test_per_index_backoff_holds_only_the_failed_index() -> None:
    indexed = job(completions=3, parallelism=3, completionMode="Indexed", backoffLimitPerIndex=2, backoffLimit=2**31 - 1)
    context = context_of(indexed, [pod("a", "Failed", index=0, finished_ago=5, failures=0), pod("b", index=1)])
    assert plan_manage(context).create == [2]
    held = context_of(indexed, [pod("a", "Failed", index=0, finished_ago=5, failures=1), pod("b", index=1),
                                pod("c", index=2)])
    plan = plan_manage(held)
    assert plan.create == [] and plan.requeue_after == 15.0  # the second failure: 20 s after it


def test_an_indexed_pod_carries_its_index_everywhere() -> None:
    indexed = job(completions=5, completionMode="Indexed", backoffLimitPerIndex=1)
    reference = {"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid", "controller": True}
    built = build_pod(indexed, 3, reference, pod("old", "Failed", index=3, failures=0))
    metadata = built["metadata"]
    assert metadata["generateName"] == "pi-3-" and built["spec"]["hostname"] == "pi-3"
    assert metadata["annotations"] == {"batch.kubernetes.io/job-completion-index": "3",
                                       "batch.kubernetes.io/job-index-failure-count": "1"}
    assert metadata["labels"]["batch.kubernetes.io/job-completion-index"] == "3"
    assert metadata["finalizers"] == [TRACKING_FINALIZER] and metadata["ownerReferences"] == [reference]
    assert built["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}]
    assert generate_name_with_index("j" * 60, 12) == "j" * 54 + "-12-"


# -- tracking: each finished pod counted once ---------------------------------------------------------

def test_finished_pods_are_listed_uncounted_before_their_finalizers_go() -> None:
    context = context_of(job(completions=2, parallelism=2), [pod("a", "Succeeded"), pod("b", "Failed"), pod("c")])
    plan = plan_tracking(context, needs_flush=False)
    assert plan.needs_flush
    assert context.status["uncountedTerminatedPods"] == {"succeeded": ["uid-a"], "failed": ["uid-b"]}
    assert [p["metadata"]["name"] for p in plan.remove_finalizers] == ["a", "b"]
    assert clean_uncounted(context.status, plan.uids_with_finalizer - {"uid-a", "uid-b"})
    assert (context.status["succeeded"], context.status["failed"], context.status["uncountedTerminatedPods"]) == (
        1, 1, {})


def test_a_pod_whose_finalizer_removal_is_pending_is_not_counted_again() -> None:
    context = context_of(job(), [pod("a", "Succeeded")], removals=frozenset({"uid-a"}))
    plan = plan_tracking(context, needs_flush=False)
    assert not plan.remove_finalizers and not plan.needs_flush and context.succeeded == 0


def test_success_is_written_in_two_steps() -> None:
    context = context_of(job(), [pod("a", "Succeeded")])
    context.finished_condition = {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods"}
    plan = plan_tracking(context, needs_flush=False)
    assert [c["type"] for c in context.status["conditions"]] == ["SuccessCriteriaMet"]
    assert not enact_finished(context, plan.final_condition)  # a pod is still uncounted
    clean_uncounted(context.status, set())
    context.terminating = 1
    assert not enact_finished(context, plan.final_condition)  # a pod is still terminating
    context.terminating = 0
    assert enact_finished(context, plan.final_condition)
    assert [c["type"] for c in context.status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert context.status["completionTime"] == "2024-05-01T12:00:00Z" and context.status["succeeded"] == 1


def test_indexed_jobs_count_by_index() -> None:
    indexed = job(completions=6, parallelism=2, completionMode="Indexed", status={"completedIndexes": "0,1"})
    context = context_of(indexed, [pod("a", "Succeeded", index=2), pod("b", "Succeeded", index=4),
                                   pod("c", "Succeeded", index=2, finalizer=False)])
    plan_tracking(context, needs_flush=False)
    assert (context.status["completedIndexes"], context.status["succeeded"]) == ("0-2,4", 4)
    assert context.status["uncountedTerminatedPods"] == {}


# -- success policy, indexes, TTL --------------------------------------------------------------------

@pytest.mark.parametrize(("rules", "succeeded", "message"), [
    ([{"succeededIndexes": "0,2"}], {0, 2}, "Matched rules at index 0"),
    ([{"succeededIndexes": "0,2"}], {0}, None),
    ([{"succeededCount": 2}], {3, 4}, "Matched rules at index 0"),
    ([{"succeededIndexes": "0-3", "succeededCount": 2}, {"succeededCount": 1}], {1}, "Matched rules at index 1"),
    ([{"succeededIndexes": "0-3", "succeededCount": 2}], {1, 3}, "Matched rules at index 0"),
])
def test_a_success_policy_matches_succeeded_indexes(rules: list[dict[str, Any]], succeeded: set[int],
                                                    message: str | None) -> None:
    assert match_success_policy({"rules": rules}, 5, succeeded) == message


def test_indexes_print_as_kubernetes_prints_them() -> None:
    assert format_indexes([0, 1, 2, 4, 6, 7]) == "0-2,4,6,7"
    assert parse_indexes("0-2,4,6,7", 8) == [0, 1, 2, 4, 6, 7]


def test_a_finished_job_expires_its_ttl_after_it_finished() -> None:
    finished = job(ttlSecondsAfterFinished=100, status={"conditions": [
        {"type": "Complete", "status": "True", "lastTransitionTime": stamp(30)}]})
    assert needs_cleanup(finished) and seconds_left(finished, NOW) == 70.0
    assert not needs_cleanup(job(ttlSecondsAfterFinished=100)) and not needs_cleanup(job())
