"""Selectable fields: what `--field-selector` can see of each kind."""

from __future__ import annotations

import pytest

from minik8s.api.fields import object_fields, supported_fields
from minik8s.api.selectors import parse_field_selector

UNSCHEDULED_POD = {
    "metadata": {"name": "p1", "namespace": "default"},
    "spec": {"restartPolicy": "Always", "schedulerName": "default-scheduler", "containers": []},
    "status": {"phase": "Pending"},
}
RUNNING_POD = {
    "metadata": {"name": "p2", "namespace": "prod"},
    "spec": {"nodeName": "n1", "hostNetwork": True, "serviceAccountName": "sa"},
    "status": {"phase": "Running", "podIP": "10.244.1.5", "nominatedNodeName": "n2"},
}
EVENT = {
    "metadata": {"name": "p1.17", "namespace": "default"},
    "involvedObject": {
        "kind": "Pod", "namespace": "default", "name": "p1", "uid": "u-1",
        "apiVersion": "v1", "resourceVersion": "42", "fieldPath": "spec.containers{c}",
    },
    "reason": "Scheduled",
    "source": {"component": "default-scheduler"},
    "reportingComponent": "default-scheduler",
    "type": "Normal",
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "obj", "expected"),
    [
        ("Pod", UNSCHEDULED_POD, {"metadata.name": "p1", "metadata.namespace": "default", "spec.nodeName": "",
                                  "status.phase": "Pending", "status.podIP": "", "spec.hostNetwork": "false"}),
        ("Pod", RUNNING_POD, {"spec.nodeName": "n1", "spec.hostNetwork": "true", "status.podIP": "10.244.1.5",
                              "status.nominatedNodeName": "n2", "spec.serviceAccountName": "sa"}),
        ("Event", EVENT, {"involvedObject.kind": "Pod", "involvedObject.uid": "u-1", "involvedObject.name": "p1",
                          "involvedObject.fieldPath": "spec.containers{c}", "involvedObject.resourceVersion": "42",
                          "reason": "Scheduled", "source": "default-scheduler", "type": "Normal",
                          "reportingComponent": "default-scheduler"}),
        ("Node", {"metadata": {"name": "n1"}}, {"metadata.name": "n1", "metadata.namespace": "",
                                               "spec.unschedulable": "false"}),
        ("Node", {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}}, {"spec.unschedulable": "true"}),
        ("Secret", {"metadata": {"name": "s"}, "type": "Opaque"}, {"type": "Opaque"}),
        ("Namespace", {"metadata": {"name": "dev"}, "status": {"phase": "Active"}},
         {"status.phase": "Active", "name": "dev"}),
        ("ReplicaSet", {"metadata": {"name": "rs"}, "status": {"replicas": 3}}, {"status.replicas": "3"}),
        ("ReplicaSet", {"metadata": {"name": "rs"}}, {"status.replicas": "0"}),
        ("ConfigMap", {"metadata": {"name": "c", "namespace": "d"}}, {"metadata.name": "c", "metadata.namespace": "d"}),
    ],
)  # fmt: skip
def test_object_fields_render_values_as_strings(kind, obj, expected):
    fields = object_fields(kind, obj)
    assert {name: fields[name] for name in expected} == expected
    assert set(fields) == supported_fields(kind)


@pytest.mark.parametrize(
    ("kind", "selector", "obj", "matches"),
    [
        ("Pod", "spec.nodeName=", UNSCHEDULED_POD, True),
        ("Pod", "spec.nodeName=", RUNNING_POD, False),
        ("Pod", "spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed", RUNNING_POD, True),
        (
            "Event",
            "involvedObject.name=p1,involvedObject.namespace=default,involvedObject.uid=u-1",
            EVENT,
            True,
        ),
        ("Event", "involvedObject.uid=other", EVENT, False),
        ("Node", "spec.unschedulable=false", {"metadata": {"name": "n"}}, True),
        ("Deployment", "metadata.name=web", {"metadata": {"name": "web", "namespace": "d"}}, True),
    ],
)
def test_kubectl_field_selectors_find_the_right_objects(kind, selector, obj, matches):
    assert parse_field_selector(selector).matches(object_fields(kind, obj)) is matches


@pytest.mark.parametrize(
    ("kind", "supported", "unsupported"),
    [
        ("Pod", {"spec.nodeName", "status.phase", "spec.restartPolicy", "status.podIP"}, {"spec.containers"}),
        ("Event", {"involvedObject.uid", "reason", "type", "source"}, {"message"}),
        ("Node", {"spec.unschedulable", "metadata.name"}, {"status.phase"}),
        ("Service", {"metadata.name", "metadata.namespace"}, {"spec.clusterIP"}),
        ("Secret", {"type"}, {"data"}),
    ],
)
def test_supported_fields_tell_the_apiserver_what_to_refuse(kind, supported, unsupported):
    assert supported <= supported_fields(kind)
    assert not unsupported & supported_fields(kind)


def test_malformed_objects_give_empty_values_instead_of_failing():
    fields = object_fields("Pod", {"metadata": "oops", "spec": {"nodeName": {"x": 1}}, "status": None})
    assert fields["metadata.name"] == ""
    assert fields["spec.nodeName"] == ""
    assert fields["status.phase"] == ""
