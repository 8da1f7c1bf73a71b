"""Kubernetes protobuf request bodies decode into the JSON kubectl would have sent; bad bytes are 400, not 500."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.protobuf import (
    ProtobufError,
    UnsupportedKindError,
    decode_object,
    parse_protobuf_body,
    supported_kinds,
)

# Bodies captured once from the real kubectl v1.32 (`-v=9`), e.g. `kubectl create namespace x`.
KUBECTL_CREATE_NAMESPACE = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a0032003800420012001a020a001a002200")
KUBECTL_CREATE_DEPLOYMENT = bytes.fromhex(  # --image=minik8s/busybox:latest --replicas=0 --port=8080
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412cd010a1f0a0377656212001a0022002a00320038004200"
    "5a0a0a036170701203776562129b010800120c0a0a0a0361707012037765621a80010a1c0a0012001a0022002a003200380042"
    "005a0a0a036170701203776562126012420a0762757379626f7812166d696e696b38732f62757379626f783a6c61746573742a"
    "00320b0a00100018903f22002a0042006a007200800100880100900100a201001a00320042004a005200580060006800820100"
    "8a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200")
KUBECTL_CREATE_SECRET = bytes.fromhex(  # secret generic s --from-literal=a=b
    "6b3873000a0c0a0276311206536563726574121d0a110a017312001a0022002a0032003800420012060a01611201621a001a002200")
KUBECTL_CREATE_NODEPORT = bytes.fromhex(  # service nodeport np --tcp=80:8080 --node-port=30080
    "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042005a090a0361707012026e70"
    "12420a1d0a0738302d38303830120354435018502207080010903f1a002880eb0112090a0361707012026e701a0022084e6f6465"
    "506f72743a00420052005a00600068001a020a001a002200")


# A tiny encoder, enough to build test messages by hand.
def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def number(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def nested(field: int, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def text(field: int, value: str) -> bytes:
    return nested(field, value.encode())


def entry(field: int, key: str, value: bytes) -> bytes:
    return nested(field, text(1, key), nested(2, value))


def envelope(api_version: str, kind: str, *parts: bytes, extra: bytes = b"") -> bytes:
    return b"k8s\x00" + nested(1, text(1, api_version), text(2, kind)) + nested(2, *parts) + extra


def metadata(name: str, *more: bytes) -> bytes:
    return nested(1, text(1, name), *more)


CAPTURED = [
    (KUBECTL_CREATE_NAMESPACE, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "x"}, "spec": {},
                                "status": {}}),
    (KUBECTL_CREATE_SECRET, {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"},
                             "data": {"a": "Yg=="}}),
    (KUBECTL_CREATE_NODEPORT, {
        "kind": "Service", "apiVersion": "v1", "metadata": {"name": "np", "labels": {"app": "np"}},
        "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}],
                 "selector": {"app": "np"}, "type": "NodePort"},
        "status": {}}),
    (KUBECTL_CREATE_DEPLOYMENT, {
        "kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "strategy": {},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "busybox", "image": "minik8s/busybox:latest", "ports": [{"containerPort": 8080}],
                      "resources": {}}]}}},
        "status": {}}),
]


@pytest.mark.parametrize(("body", "expected"), CAPTURED, ids=["namespace", "secret", "nodeport", "deployment"])
def test_real_kubectl_bodies_decode_to_the_json_kubectl_would_send(body: bytes, expected: dict[str, Any]) -> None:
    assert decode_object(body) == expected


BUILT = [
    pytest.param(  # proto2 pointers present but zero are kept; plain zero scalars are dropped (omitempty)
        envelope("apps/v1", "Deployment", metadata("d", number(7, 0), text(2, "")),
                 nested(2, number(1, 0), number(6, 0), number(5, 0), number(7, 0))),
        {"metadata": {"name": "d"}, "spec": {"replicas": 0, "revisionHistoryLimit": 0}}, id="pointer-zeros"),
    pytest.param(  # negative int64 (sign-extended varint), Time, annotations map
        envelope("v1", "ConfigMap", metadata("c", number(10, -1), nested(9, number(1, 1700000000)),
                                            entry(12, "note", b"hi")),
                 entry(2, "k", b"v"), entry(3, "bin", b"\x00\xff"), number(4, 1)),
        {"metadata": {"name": "c", "deletionGracePeriodSeconds": -1, "deletionTimestamp": "2023-11-14T22:13:20Z",
                      "annotations": {"note": "hi"}},
         "data": {"k": "v"}, "binaryData": {"bin": "AP8="}, "immutable": True}, id="scalars-time-maps"),
    pytest.param(  # IntOrString as a string, a session-affinity pointer message
        envelope("v1", "Service", metadata("s"),
                 nested(2, nested(1, text(1, "http"), number(3, 80), nested(4, number(1, 1), text(3, "web"))),
                        text(4, "ClusterIP"), nested(14, nested(1, number(1, 0))))),
        {"metadata": {"name": "s"}, "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}],
                                             "type": "ClusterIP",
                                             "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}}},
        id="int-or-string"),
]


@pytest.mark.parametrize(("body", "expected_fields"), BUILT)
def test_built_bodies_decode_field_by_field(body: bytes, expected_fields: dict[str, Any]) -> None:
    decoded = decode_object(body)
    assert {key: decoded[key] for key in expected_fields} == expected_fields
    assert set(decoded) == {"kind", "apiVersion", *expected_fields}


def test_a_pod_spec_decodes_inline_handlers_quantities_volumes_and_packed_lists() -> None:
    probe = nested(10, nested(1, nested(2, text(1, "/healthz"), nested(2, number(2, 8080)))), number(4, 5))
    container = nested(2, text(1, "app"), text(2, "nginx"), text(3, "sh"), text(3, "-c"),
                       nested(7, text(1, "MODE"), text(2, "fast")),
                       nested(8, entry(1, "cpu", text(1, "200m")), entry(2, "memory", text(1, "64Mi"))), probe)
    volumes = (nested(1, text(1, "scratch"), nested(2, nested(2))),
               nested(1, text(1, "conf"), nested(2, nested(19, nested(1, text(1, "settings"))))))
    packed_groups = nested(14, nested(4, varint(5) + varint(6)), number(4, 7))
    body = envelope("v1", "Pod", metadata("p"), nested(2, *volumes, container, text(3, "Never"),
                                                       number(11, 0), number(30, 0), packed_groups))
    spec = decode_object(body)["spec"]
    assert spec["containers"] == [{
        "name": "app", "image": "nginx", "command": ["sh", "-c"], "env": [{"name": "MODE", "value": "fast"}],
        "resources": {"limits": {"cpu": "200m"}, "requests": {"memory": "64Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}}]
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "settings"}}]
    assert spec["restartPolicy"] == "Never" and spec["enableServiceLinks"] is False and "hostNetwork" not in spec
    assert spec["securityContext"] == {"supplementalGroups": [5, 6, 7]}


def test_topology_spread_constraints_decode_so_the_scheduler_sees_them() -> None:
    selector = nested(4, entry(1, "app", b"web"))
    constraint = nested(33, number(1, 1), text(2, "kubernetes.io/hostname"), text(3, "DoNotSchedule"), selector,
                        number(5, 2), text(7, "Honor"), text(8, "pod-template-hash"))
    body = envelope("v1", "Pod", metadata("p"), nested(2, nested(2, text(1, "app"), text(2, "nginx")), constraint))
    assert decode_object(body)["spec"]["topologySpreadConstraints"] == [{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 2, "nodeTaintsPolicy": "Honor",
        "matchLabelKeys": ["pod-template-hash"]}]


def test_unknown_field_numbers_of_every_wire_type_are_skipped() -> None:
    unknown = (number(99, 7) + varint(98 << 3 | 1) + bytes(8) + varint(97 << 3 | 5) + bytes(4)
               + text(96, "future"))
    body = envelope("v1", "ConfigMap", metadata("c", unknown), unknown, entry(2, "k", b"v"),
                    extra=text(50, "outer"))
    assert decode_object(body) == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"},
                                   "data": {"k": "v"}}


MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{\"kind\":\"Pod\"}", id="json-not-protobuf"),
    pytest.param(b"k8s\x00\x0a", id="truncated-tag-payload"),
    pytest.param(b"k8s\x00" + nested(1, text(1, "v1"), text(2, "Namespace"))[:-3], id="length-past-end"),
    pytest.param(envelope("v1", "Namespace", b"\x08" + b"\xff" * 11), id="varint-too-long"),
    pytest.param(envelope("v1", "Namespace", b"\x0b"), id="group-wire-type"),
    pytest.param(envelope("v1", "Namespace", b"\x00\x01"), id="field-zero"),
    pytest.param(envelope("v1", "Namespace", number(1, 5)), id="wrong-wire-type-for-metadata"),
    pytest.param(envelope("v1", "Namespace", metadata("a", nested(7, b"x"))), id="bytes-for-an-int"),
    pytest.param(envelope("v1", "Namespace", nested(1, nested(1, b"\xff\xfe"))), id="not-utf8"),
    pytest.param(envelope("v1", "Namespace", varint(9 << 3 | 5) + b"\x01"), id="truncated-fixed32"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bytes_raise_a_protobuf_error_and_answer_400(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_object(body)
    with pytest.raises(StatusError) as raised:
        parse_protobuf_body(body)
    assert (raised.value.code, raised.value.reason) == (400, "BadRequest")


@pytest.mark.parametrize(("body", "named"), [
    (envelope("storage.k8s.io/v1", "StorageClass", metadata("s")), "storage.k8s.io/v1/StorageClass"),
    (envelope("v1", "Binding", metadata("b")), "v1/Binding"),
    (envelope("v1", "Namespace", metadata("n"), extra=text(3, "gzip")), "contentEncoding 'gzip'"),
])
def test_kinds_without_a_field_table_answer_415_naming_the_kind(body: bytes, named: str) -> None:
    with pytest.raises(UnsupportedKindError):
        decode_object(body)
    with pytest.raises(StatusError) as raised:
        parse_protobuf_body(body)
    assert (raised.value.code, raised.value.reason) == (415, "UnsupportedMediaType")
    assert named in raised.value.message and "JSON" in raised.value.message


def test_the_supported_kinds_are_the_ones_kubectl_creates_with_protobuf() -> None:
    assert {"v1/Namespace", "v1/ConfigMap", "v1/Secret", "v1/Service", "v1/Pod", "apps/v1/Deployment",
            "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
            "authorization.k8s.io/v1/SelfSubjectAccessReview"} <= set(supported_kinds())
