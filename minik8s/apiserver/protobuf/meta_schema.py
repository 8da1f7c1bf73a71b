"""Field tables of the apimachinery messages every kind embeds (meta/v1, from its generated.proto).

ObjectMeta, LabelSelector and DeleteOptions are shared by all kinds, so they live apart
from the core and apps tables that use them.
"""

from __future__ import annotations

from minik8s.apiserver.protobuf.schema import boolean, int64, message, nested, string, string_map, time

OWNER_REFERENCE = message("OwnerReference", {
    5: string("apiVersion"), 1: string("kind"), 3: string("name"), 4: string("uid"),
    6: boolean("controller", keep_zero=True), 7: boolean("blockOwnerDeletion", keep_zero=True),
})

OBJECT_META = message("ObjectMeta", {
    1: string("name"), 2: string("generateName"), 3: string("namespace"), 4: string("selfLink"),
    5: string("uid"), 6: string("resourceVersion"), 7: int64("generation"), 8: time("creationTimestamp"),
    9: time("deletionTimestamp"), 10: int64("deletionGracePeriodSeconds", keep_zero=True),
    11: string_map("labels"), 12: string_map("annotations"),
    13: nested("ownerReferences", OWNER_REFERENCE, repeated=True), 14: string("finalizers", repeated=True),
})

LABEL_SELECTOR_REQUIREMENT = message("LabelSelectorRequirement", {
    1: string("key"), 2: string("operator"), 3: string("values", repeated=True),
})

LABEL_SELECTOR = message("LabelSelector", {
    1: string_map("matchLabels"), 2: nested("matchExpressions", LABEL_SELECTOR_REQUIREMENT, repeated=True),
})

PRECONDITIONS = message("Preconditions", {1: string("uid", keep_zero=True),
                                          2: string("resourceVersion", keep_zero=True)})

DELETE_OPTIONS = message("DeleteOptions", {
    1: int64("gracePeriodSeconds", keep_zero=True), 2: nested("preconditions", PRECONDITIONS),
    3: boolean("orphanDependents", keep_zero=True), 4: string("propagationPolicy", keep_zero=True),
    5: string("dryRun", repeated=True),
})
