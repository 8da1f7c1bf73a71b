"""OpenAPI schemas of batch/v1: Job, CronJob and their lists, under Kubernetes' names.

`kubectl explain job.spec.podFailurePolicy` and API fuzzers read these; they name every field the
apiserver validates and the controllers read (api/job_spec_validation.py, api/cronjob_validation.py).
"""

from __future__ import annotations

from minik8s.api.openapi_core import OBJECT_REFERENCE, POD_TEMPLATE_SPEC
from minik8s.api.openapi_schema import (
    LABEL_SELECTOR,
    OBJECT_META,
    TIME,
    Schema,
    array,
    boolean,
    integer,
    kind_object,
    list_of,
    obj,
    ref,
    string,
)

_BATCH = "io.k8s.api.batch.v1"
JOB_SPEC = f"{_BATCH}.JobSpec"
JOB_TEMPLATE_SPEC = f"{_BATCH}.JobTemplateSpec"

_POD_FAILURE_RULE = obj("A rule matching a failed pod, and what it does to the Job.", {
    "action": string("What a matching failure does.", enum=("Count", "FailIndex", "FailJob", "Ignore")),
    "onExitCodes": obj("Matches the exit codes of a container.", {
        "containerName": string("The container whose exit code is read; every container when unset."),
        "operator": string("In or NotIn the values.", enum=("In", "NotIn")),
        "values": array(integer(), "Exit codes, ordered, without repeats.")}, required=("operator", "values")),
    "onPodConditions": array(obj("Matches a condition of the pod.", {
        "type": string("The condition type, e.g. DisruptionTarget."),
        "status": string("The status the condition must have (True by default).", enum=("True", "False", "Unknown"))},
        required=("type",))),
}, required=("action",))

_JOB_SPEC = obj("What a Job runs and how it ends.", {
    "parallelism": integer("At most this many pods run at once."),
    "completions": integer("The successful pods needed; unset: any one success, once no pod runs."),
    "activeDeadlineSeconds": integer("How long the Job may be active before it fails.", format="int64"),
    "podFailurePolicy": obj("How failed pods count.", {"rules": array(_POD_FAILURE_RULE)}, required=("rules",)),
    "successPolicy": obj("When an Indexed Job succeeds before every index did.", {"rules": array(obj(
        "Succeeded indexes or a count of them.", {"succeededIndexes": string(), "succeededCount": integer()}))},
        required=("rules",)),
    "backoffLimit": integer("Failed pods tolerated before the Job fails (6 by default)."),
    "backoffLimitPerIndex": integer("Failed pods tolerated per index of an Indexed Job."),
    "maxFailedIndexes": integer("Failed indexes tolerated before the Job fails."),
    "selector": ref(LABEL_SELECTOR),
    "manualSelector": boolean("Use the given selector instead of generating one."),
    "template": ref(POD_TEMPLATE_SPEC),
    "ttlSecondsAfterFinished": integer("Delete the Job this long after it finished."),
    "completionMode": string("NonIndexed or Indexed.", enum=("NonIndexed", "Indexed")),
    "suspend": boolean("Run no pods while true."),
    "podReplacementPolicy": string("When a replacement pod is created.", enum=("TerminatingOrFailed", "Failed")),
    "managedBy": string("The controller that manages the Job; the built-in one when unset."),
}, required=("template",))

_JOB_STATUS = obj("What a Job has done.", {
    "conditions": array(obj("A condition of the Job.", {
        "type": string(enum=("Suspended", "Complete", "Failed", "FailureTarget", "SuccessCriteriaMet")),
        "status": string(enum=("True", "False", "Unknown")), "lastProbeTime": ref(TIME),
        "lastTransitionTime": ref(TIME), "reason": string(), "message": string()}, required=("type", "status"))),
    "startTime": ref(TIME), "completionTime": ref(TIME), "active": integer(), "succeeded": integer(),
    "failed": integer(), "terminating": integer(), "ready": integer(),
    "completedIndexes": string("The succeeded indexes of an Indexed Job, e.g. 1,3-5."),
    "failedIndexes": string("The failed indexes of an Indexed Job with a per-index backoff limit."),
    "uncountedTerminatedPods": obj("Finished pods not counted yet.", {
        "succeeded": array(string()), "failed": array(string())}),
})

_CRON_JOB_SPEC = obj("When a CronJob creates Jobs and what they are.", {
    "schedule": string("The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    "timeZone": string("The IANA time zone of the schedule; the controller-manager's when unset."),
    "startingDeadlineSeconds": integer("A run later than this after its time is skipped.", format="int64"),
    "concurrencyPolicy": string("What a run does when the previous one still runs.",
                                enum=("Allow", "Forbid", "Replace")),
    "suspend": boolean("Start no new runs while true."),
    "jobTemplate": ref(JOB_TEMPLATE_SPEC),
    "successfulJobsHistoryLimit": integer("Successful Jobs kept (3 by default)."),
    "failedJobsHistoryLimit": integer("Failed Jobs kept (1 by default)."),
}, required=("schedule", "jobTemplate"))

BATCH_SCHEMAS: dict[str, Schema] = {
    JOB_SPEC: _JOB_SPEC,
    JOB_TEMPLATE_SPEC: obj("The Job a CronJob creates.", {"metadata": ref(OBJECT_META), "spec": ref(JOB_SPEC)}),
    f"{_BATCH}.Job": kind_object("Runs pods to completion.", "batch", "v1", "Job", {
        "spec": ref(JOB_SPEC), "status": _JOB_STATUS}),
    f"{_BATCH}.CronJob": kind_object("Creates Jobs on a schedule.", "batch", "v1", "CronJob", {
        "spec": _CRON_JOB_SPEC,
        "status": obj("The CronJob's runs.", {
            "active": array(ref(OBJECT_REFERENCE), "The running Jobs."), "lastScheduleTime": ref(TIME),
            "lastSuccessfulTime": ref(TIME)})}),
    f"{_BATCH}.JobList": list_of(f"{_BATCH}.Job", "batch", "v1", "JobList"),
    f"{_BATCH}.CronJobList": list_of(f"{_BATCH}.CronJob", "batch", "v1", "CronJobList"),
}
