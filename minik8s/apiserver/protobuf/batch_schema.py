"""Field tables of batch/v1 (batch/v1 generated.proto): Job and CronJob, which `kubectl create job` and
`kubectl create cronjob` send as protobuf. Pointer fields keep a present zero (`parallelism: 0`,
`suspend: false`); status is never read from a create (the apiserver clears it)."""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import LABEL_SELECTOR, OBJECT_META
from minik8s.apiserver.protobuf.pod_schema import POD_TEMPLATE_SPEC
from minik8s.apiserver.protobuf.schema import boolean, int32, int64, message, nested, string

POD_FAILURE_POLICY = message("PodFailurePolicy", {
    1: nested("rules", message("PodFailurePolicyRule", {
        1: string("action"),
        2: nested("onExitCodes", message("PodFailurePolicyOnExitCodesRequirement", {
            1: string("containerName", keep_zero=True), 2: string("operator"),
            3: int32("values", repeated=True)})),
        3: nested("onPodConditions", message("PodFailurePolicyOnPodConditionsPattern", {
            1: string("type"), 2: string("status")}), repeated=True),
    }), repeated=True),
})

SUCCESS_POLICY = message("SuccessPolicy", {
    1: nested("rules", message("SuccessPolicyRule", {
        1: string("succeededIndexes", keep_zero=True), 2: int32("succeededCount", keep_zero=True)}), repeated=True),
})

JOB_SPEC = message("JobSpec", {
    1: int32("parallelism", keep_zero=True), 2: int32("completions", keep_zero=True),
    3: int64("activeDeadlineSeconds", keep_zero=True), 11: nested("podFailurePolicy", POD_FAILURE_POLICY),
    16: nested("successPolicy", SUCCESS_POLICY), 7: int32("backoffLimit", keep_zero=True),
    12: int32("backoffLimitPerIndex", keep_zero=True), 13: int32("maxFailedIndexes", keep_zero=True),
    4: nested("selector", LABEL_SELECTOR), 5: boolean("manualSelector", keep_zero=True),
    6: nested("template", POD_TEMPLATE_SPEC), 8: int32("ttlSecondsAfterFinished", keep_zero=True),
    9: string("completionMode", keep_zero=True), 10: boolean("suspend", keep_zero=True),
    14: string("podReplacementPolicy", keep_zero=True), 15: string("managedBy", keep_zero=True),
})

JOB = message("Job", {
    1: nested("metadata", OBJECT_META), 2: nested("spec", JOB_SPEC), 3: nested("status", message("JobStatus")),
})

CRON_JOB = message("CronJob", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("CronJobSpec", {
        1: string("schedule"), 8: string("timeZone", keep_zero=True), 2: int64("startingDeadlineSeconds", keep_zero=True),
        3: string("concurrencyPolicy"), 4: boolean("suspend", keep_zero=True),
        5: nested("jobTemplate", message("JobTemplateSpec", {1: nested("metadata", OBJECT_META),
                                                             2: nested("spec", JOB_SPEC)})),
        6: int32("successfulJobsHistoryLimit", keep_zero=True), 7: int32("failedJobsHistoryLimit", keep_zero=True),
    })),
    3: nested("status", message("CronJobStatus")),
})
