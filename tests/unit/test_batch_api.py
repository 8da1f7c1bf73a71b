"""batch/v1 in the API layer: defaults, validation in Kubernetes' words, and the Table rows kubectl prints."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.table_columns import column_definitions
from minik8s.api.table_printers import row_cells
from minik8s.api.validation import validate

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
UID = "0c6b8f0e-0000-4000-8000-000000000001"
GENERATED = {"batch.kubernetes.io/controller-uid": UID, "batch.kubernetes.io/job-name": "pi",
             "controller-uid": UID, "job-name": "pi"}


def job(**spec: Any) -> dict[str, Any]:
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default", "uid": UID},
            "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}},
                     "template": {"metadata": {"labels": dict(GENERATED)},
                                  "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}
    apply_defaults("Job", body)
    return body


def cron_job(**spec: Any) -> dict[str, Any]:
    body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}, **spec}}
    apply_defaults("CronJob", body)
    return body


def messages(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [str(error) for error in validate(kind, obj, old=old)]


def test_job_defaults_follow_kubernetes() -> None:
    spec = job()["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"], spec["completionMode"], spec["suspend"],
            spec["manualSelector"], spec["podReplacementPolicy"]) == (1, 1, 6, "NonIndexed", False, False,
                                                                      "TerminatingOrFailed")
    work_queue = job(parallelism=3)["spec"]
    assert "completions" not in work_queue and work_queue["parallelism"] == 3
    per_index = job(completionMode="Indexed", completions=4, backoffLimitPerIndex=1,
                    podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]})
    assert per_index["spec"]["backoffLimit"] == 2**31 - 1 and per_index["spec"]["podReplacementPolicy"] == "Failed"
    assert per_index["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"] == [
        {"type": "DisruptionTarget", "status": "True"}]
    assert job()["metadata"]["labels"] == GENERATED  # a Job without labels takes its template's


def test_cronjob_defaults_leave_the_job_template_as_written() -> None:
    spec = cron_job()["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


@pytest.mark.parametrize(("spec", "message"), [
    ({"parallelism": -1}, "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"),
    ({"completionMode": "Sometimes"},
     'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"'),
    ({"completionMode": "Indexed", "completions": None, "parallelism": 2},
     "spec.completions: Required value: when completion mode is Indexed"),
    ({"backoffLimitPerIndex": 1}, "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"),
    ({"maxFailedIndexes": 1, "completionMode": "Indexed", "completions": 3},
     "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"),
    ({"podFailurePolicy": {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [1]}}]}},
     'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set'),
    ({"podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0, 2]}}]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"),
    ({"podFailurePolicy": {"rules": [{"action": "Count"}]}},
     "spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"),
    ({"successPolicy": {"rules": [{"succeededCount": 1}]}},
     'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode'),
    ({"managedBy": "nobody"}, 'spec.managedBy: Invalid value: "nobody": must be a domain-prefixed path (such as '
                              '"acme.io/foo")'),
])
def test_job_specs_are_refused_in_kubernetes_words(spec: dict[str, Any], message: str) -> None:
    assert message in messages("Job", job(**spec))


def test_the_pod_template_must_not_restart_always_and_the_selector_is_generated() -> None:
    always = job()
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' in messages(
        "Job", always)
    foreign = job()
    foreign["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    foreign["spec"]["template"]["metadata"]["labels"]["app"] = "web"
    assert any(m.startswith("spec.selector: Invalid value: ") and m.endswith("`selector` not auto-generated")
               for m in messages("Job", foreign))
    assert messages("Job", job()) == []


def test_what_may_change_after_a_job_is_created() -> None:
    old = job(completions=3, parallelism=3)
    assert "spec.completions: Invalid value: 4: field is immutable" in messages("Job", job(completions=4), old=old)
    indexed = job(completionMode="Indexed", completions=3, parallelism=3)
    assert messages("Job", job(completionMode="Indexed", completions=5, parallelism=5), old=indexed) == []
    assert ("spec.completions: Invalid value: 5: can only be modified in tandem with spec.parallelism"
            in messages("Job", job(completionMode="Indexed", completions=5, parallelism=3), old=indexed))
    moved = job()
    moved["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert any(m.startswith("spec.template: Invalid value") for m in messages("Job", moved, old=job()))
    suspended = job(suspend=True)
    assert messages("Job", {**copy.deepcopy(moved), "spec": {**moved["spec"], "suspend": True}}, old=suspended) == []


@pytest.mark.parametrize(("spec", "message"), [
    ({"schedule": "hello"}, 'spec.schedule: Invalid value: "hello": expected exactly 5 fields, found 1: [hello]'),
    ({"schedule": "TZ=UTC */5 * * * *"},
     'spec.schedule: Invalid value: "TZ=UTC */5 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field '
     'instead'),
    ({"timeZone": "Mars/Olympus"}, 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ({"timeZone": "Local"}, 'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined '
                            'in https://www.iana.org/time-zones'),
    ({"concurrencyPolicy": "Sometimes"},
     'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'),
    ({"successfulJobsHistoryLimit": -1},
     "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0"),
])
def test_cronjob_specs_are_refused_in_kubernetes_words(spec: dict[str, Any], message: str) -> None:
    assert message in messages("CronJob", cron_job(**spec))


def test_a_cronjob_template_may_not_name_a_selector_and_names_stay_short() -> None:
    selected = cron_job()
    selected["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert ('spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: `selector` will be '
            "auto-generated") in messages("CronJob", selected)
    long_name = cron_job()
    long_name["metadata"]["name"] = "c" * 53
    assert f'metadata.name: Invalid value: "{"c" * 53}": must be no more than 52 characters' in messages(
        "CronJob", long_name)
    assert messages("CronJob", cron_job(timeZone="Europe/Paris", schedule="@hourly")) == []


def finished(condition: str, *, start: str = "2024-05-01T11:58:00Z", end: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": start, "succeeded": 2,
                              "conditions": [{"type": condition, "status": "True"}]}
    if end:
        status["completionTime"] = end
    return status


@pytest.mark.parametrize(("spec", "status", "cells"), [
    ({"completions": 3}, finished("Complete", end="2024-05-01T11:59:30Z"), ["Complete", "2/3", "90s"]),
    ({"completions": 3}, finished("Failed"), ["Failed", "2/3", "2m"]),
    ({"completions": 3}, finished("Suspended"), ["Suspended", "2/3", "2m"]),
    ({"completions": 3}, finished("FailureTarget"), ["FailureTarget", "2/3", "2m"]),
    ({"completions": None, "parallelism": 3}, {}, ["Running", "0/1 of 3", ""]),
    ({"completions": None, "parallelism": 1}, {}, ["Running", "0/1", ""]),
])
def test_job_rows_read_as_kubectl_prints_them(spec: dict[str, Any], status: dict[str, Any], cells: list[str]) -> None:
    row = job(**spec)
    row["status"] = status
    row["metadata"]["creationTimestamp"] = "2024-05-01T11:57:00Z"
    printed = row_cells("Job", row, now=NOW)
    assert printed[:5] == ["pi", *cells, "3m"]
    assert [c["name"] for c in column_definitions("Job")] == [
        "Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"]


def test_cronjob_rows_read_as_kubectl_prints_them() -> None:
    row = cron_job(timeZone="Europe/Paris")
    row["metadata"]["creationTimestamp"] = "2024-05-01T11:00:00Z"
    row["status"] = {"active": [{"name": "tick-1"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}
    assert row_cells("CronJob", row, now=NOW) == ["tick", "*/5 * * * *", "Europe/Paris", "False", 1, "5m", "60m",
                                                  "c", "busybox", "<none>"]
    assert [c["name"] for c in column_definitions("CronJob")][:7] == [
        "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"]
    bare = cron_job()
    bare["metadata"]["creationTimestamp"] = "2024-05-01T11:00:00Z"
    assert row_cells("CronJob", bare, now=NOW)[2:6] == ["<none>", "False", 0, "<none>"]
