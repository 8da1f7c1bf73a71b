"""Validation of a Node's status: the shape its readers rely on, checked before it is stored.

A node agent writes its Node's status; the scheduler, the node lifecycle controller, kubectl and the
apiserver's log and exec relay read it. Kubernetes' decoder refuses a status of the wrong shape
(`status: [1]`, a string where a list of conditions belongs) and ValidateNodeResources refuses a
malformed or negative capacity; minik8s checks the same before storing — wrong types become
FieldValueTypeInvalid causes, as in every validator — so no reader ever meets a poison Node. The
agent's own endpoint must be a port number: the apiserver dials it for logs and exec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_key, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import describe_inclusive_range
from minik8s.api.meta import parse_time
from minik8s.api.quantity import FORMAT_MESSAGE, parse_quantity

_INTEGER_RESOURCES = frozenset({"pods"})  # Kubernetes' IsIntegerResourceName among a node's resources
_CONDITION_TIMES = ("lastHeartbeatTime", "lastTransitionTime")
_NODE_INFO_FIELDS = ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
                     "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture")
MAX_PORT = 65535


def validate_node_status(reader: FieldReader, node: Mapping[str, Any]) -> None:
    status = reader.mapping(node, "status", "")
    for name in ("capacity", "allocatable"):
        _validate_resources(reader, status, name)
    _validate_addresses(reader, status)
    _validate_conditions(reader, status)
    _validate_daemon_endpoints(reader, status)
    node_info = reader.mapping(status, "nodeInfo", "status")
    for name in _NODE_INFO_FIELDS:
        reader.string(node_info, name, "status.nodeInfo")
    for image_path, image in reader.objects(status, "images", "status"):
        reader.strings(image, "names", image_path)
        reader.integer(image, "sizeBytes", image_path)
    reader.strings(status, "volumesInUse", "status")
    reader.string(status, "phase", "status")


def _validate_resources(reader: FieldReader, status: Mapping[str, Any], name: str) -> None:
    """Kubernetes' ValidateResourceQuantityValue on each quantity of capacity or allocatable."""
    path = join_path("status", name)
    for resource, raw in reader.mapping(status, name, "status").items():
        quantity_path = join_key(path, str(resource))
        try:
            quantity = parse_quantity(raw)
        except ValueError:
            reader.add(FieldError.invalid(quantity_path, raw, FORMAT_MESSAGE))
            continue
        if quantity < 0:
            reader.add(FieldError.invalid(quantity_path, raw, "must be greater than or equal to 0"))
        elif resource in _INTEGER_RESOURCES and quantity != quantity.to_integral_value():
            reader.add(FieldError.invalid(quantity_path, raw, "must be an integer"))


def _validate_addresses(reader: FieldReader, status: Mapping[str, Any]) -> None:
    seen: set[tuple[str, str]] = set()
    for address_path, address in reader.objects(status, "addresses", "status"):
        pair = (reader.string(address, "type", address_path), reader.string(address, "address", address_path))
        if pair in seen:
            reader.add(FieldError.duplicate(address_path, {"type": pair[0], "address": pair[1]}))
        seen.add(pair)


def _validate_conditions(reader: FieldReader, status: Mapping[str, Any]) -> None:
    for condition_path, condition in reader.objects(status, "conditions", "status"):
        for name in ("type", "status", "reason", "message"):
            reader.string(condition, name, condition_path)
        for name in _CONDITION_TIMES:
            moment = reader.string(condition, name, condition_path)
            if moment and parse_time(moment) is None:
                reader.add(FieldError.invalid(join_path(condition_path, name), moment, "must be an RFC 3339 time"))


def _validate_daemon_endpoints(reader: FieldReader, status: Mapping[str, Any]) -> None:
    endpoints = reader.mapping(status, "daemonEndpoints", "status")
    kubelet = reader.mapping(endpoints, "kubeletEndpoint", "status.daemonEndpoints")
    path = "status.daemonEndpoints.kubeletEndpoint"
    port = reader.integer(kubelet, "Port", path)
    if port is not None and not 0 <= port <= MAX_PORT:
        reader.add(FieldError.invalid(join_path(path, "Port"), port, describe_inclusive_range(0, MAX_PORT)))
