"""The autoscaling/v1 Scale view of a Deployment or ReplicaSet, shared by the handlers and the operations."""

from __future__ import annotations

from minik8s.api.meta import JsonObject, spec_of, status_of
from minik8s.api.selectors import SelectorError, label_selector_from_object


def scale_of(obj: JsonObject) -> JsonObject:
    """The autoscaling/v1 Scale view of a Deployment or ReplicaSet."""
    metadata = obj["metadata"]
    spec, status = spec_of(obj), status_of(obj)
    try:
        selector = str(label_selector_from_object(spec.get("selector")))
    except SelectorError:
        selector = ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {key: metadata[key] for key in ("name", "namespace", "uid", "resourceVersion",
                                                   "creationTimestamp") if key in metadata},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector},
    }
