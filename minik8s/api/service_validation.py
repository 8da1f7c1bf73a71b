"""Validation of Services and Endpoints.

A Service's type decides what else is allowed (node ports only for NodePort and
LoadBalancer, no ports needed when headless or ExternalName); its ports must be unique
and named when there are several; its cluster IP never changes once allocated. Endpoint
addresses and external IPs must be addresses a proxy may send traffic to: never this host
(loopback, unspecified) nor a node-local service (link-local: the cloud metadata server). The
apiserver must copy allocated values (clusterIP, nodePorts) from the stored object into
an update that omits them before validating, as Kubernetes does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.container_validation import SUPPORTED_PROTOCOLS, validate_port_or_name
from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import (
    check_dns1123_label,
    check_dns1123_subdomain,
    check_ip_address,
    check_non_special_ip,
    check_port_number,
)
from minik8s.api.meta_validation import (
    IMMUTABLE_MESSAGE,
    validate_enum,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)
MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400
_TRAFFIC_POLICIES = ("Cluster", "Local")


def validate_service(reader: FieldReader, service: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, service, "Service")
    spec = reader.mapping(service, "spec", "")
    service_type = reader.string(spec, "type", "spec")
    if service_type not in SERVICE_TYPES:
        reader.add(FieldError.not_supported("spec.type", service_type, SERVICE_TYPES))
    cluster_ip = reader.string(spec, "clusterIP", "spec")
    _validate_cluster_ip(reader, cluster_ip, service_type)
    if service_type == "ExternalName":
        external_name = reader.string(spec, "externalName", "spec")
        if not external_name:
            reader.add(FieldError.required("spec.externalName"))
        else:
            problems = check_dns1123_subdomain(external_name.rstrip("."))
            reader.extend(FieldError.invalid("spec.externalName", external_name, p) for p in problems)
    for ip_path, ip in reader.strings(spec, "externalIPs", "spec"):
        _validate_backend_ip(reader, ip, ip_path)
    ports = reader.objects(spec, "ports", "spec")
    if not spec.get("ports") and cluster_ip != "None" and service_type != "ExternalName":
        reader.add(FieldError.required("spec.ports"))
    _validate_service_ports(reader, ports, service_type)
    validate_labels(reader, reader.string_map(spec, "selector", "spec"), "spec.selector")
    _validate_session_affinity(reader, spec)
    _validate_traffic_policies(reader, spec, service_type)
    if old is not None:
        validate_object_meta_update(reader, service, old)
        _validate_cluster_ip_update(reader, spec, old)


def validate_endpoints(reader: FieldReader, endpoints: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, endpoints, "Endpoints")
    for subset_path, subset in reader.objects(endpoints, "subsets", ""):
        ready = reader.objects(subset, "addresses", subset_path)
        not_ready = reader.objects(subset, "notReadyAddresses", subset_path)
        if not ready and not not_ready:
            reader.add(FieldError.required(subset_path, "must specify `addresses` or `notReadyAddresses`"))
        for address_path, address in [*ready, *not_ready]:
            ip = reader.string(address, "ip", address_path)
            if not ip:
                reader.add(FieldError.required(join_path(address_path, "ip")))
            else:
                _validate_backend_ip(reader, ip, join_path(address_path, "ip"))
        ports = reader.objects(subset, "ports", subset_path)
        for port_path, port in ports:
            _validate_port_name(reader, port, port_path, required=len(ports) > 1)
            number = reader.integer(port, "port", port_path) or 0
            reader.extend(
                FieldError.invalid(join_path(port_path, "port"), number, p) for p in check_port_number(number)
            )
            protocol = reader.string(port, "protocol", port_path)
            validate_enum(reader, protocol, join_path(port_path, "protocol"), SUPPORTED_PROTOCOLS)
    if old is not None:
        validate_object_meta_update(reader, endpoints, old)


def _validate_backend_ip(reader: FieldReader, ip: str, path: str) -> None:
    """An address traffic is sent to (an endpoint, an external IP): a valid IP, and no special one."""
    problems = check_ip_address(ip) or check_non_special_ip(ip)
    reader.extend(FieldError.invalid(path, ip, problem) for problem in problems)


def _validate_cluster_ip(reader: FieldReader, cluster_ip: str, service_type: str) -> None:
    if not cluster_ip:
        return
    if service_type == "ExternalName":
        reader.add(FieldError.forbidden("spec.clusterIP", "may not be set for ExternalName services"))
    elif cluster_ip == "None":
        if service_type in ("NodePort", "LoadBalancer"):
            detail = f"may not be set to 'None' for {service_type} services"
            reader.add(FieldError.invalid("spec.clusterIP", cluster_ip, detail))
    elif check_ip_address(cluster_ip):
        reader.add(
            FieldError.invalid("spec.clusterIP", cluster_ip, "must be empty, 'None', or a valid IP address")
        )


def _validate_service_ports(reader: FieldReader, ports: list[tuple[str, Mapping[str, Any]]], service_type: str) -> None:
    names: set[str] = set()
    port_keys: set[tuple[int, str]] = set()
    node_port_keys: set[tuple[int, str]] = set()
    for port_path, port in ports:
        name = _validate_port_name(reader, port, port_path, required=len(ports) > 1)
        if name:
            if name in names:
                reader.add(FieldError.duplicate(join_path(port_path, "name"), name))
            names.add(name)
        number = reader.integer(port, "port", port_path) or 0
        reader.extend(
            FieldError.invalid(join_path(port_path, "port"), number, p) for p in check_port_number(number)
        )
        protocol = reader.string(port, "protocol", port_path)
        validate_enum(reader, protocol, join_path(port_path, "protocol"), SUPPORTED_PROTOCOLS)
        if (number, protocol) in port_keys:
            reader.add(FieldError.duplicate(port_path, {"port": number, "protocol": protocol}))
        port_keys.add((number, protocol))
        if port.get("targetPort") is not None:
            validate_port_or_name(reader, port, "targetPort", port_path)
        node_port = reader.integer(port, "nodePort", port_path)
        if node_port:
            _validate_node_port(reader, node_port, join_path(port_path, "nodePort"), service_type)
            if (node_port, protocol) in node_port_keys:
                reader.add(FieldError.duplicate(join_path(port_path, "nodePort"), node_port))
            node_port_keys.add((node_port, protocol))


def _validate_port_name(reader: FieldReader, port: Mapping[str, Any], path: str, *, required: bool) -> str:
    name = reader.string(port, "name", path)
    if not name and required:
        reader.add(FieldError.required(join_path(path, "name")))
    elif name:
        reader.extend(FieldError.invalid(join_path(path, "name"), name, p) for p in check_dns1123_label(name))
    return name


def _validate_node_port(reader: FieldReader, node_port: int, path: str, service_type: str) -> None:
    if service_type not in ("NodePort", "LoadBalancer"):
        reader.add(FieldError.forbidden(path, f"may not be used when `type` is '{service_type}'"))
    elif not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
        low, high = NODE_PORT_RANGE
        detail = f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
        reader.add(FieldError.invalid(path, node_port, detail))


def _validate_session_affinity(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    affinity = reader.string(spec, "sessionAffinity", "spec")
    validate_enum(reader, affinity, "spec.sessionAffinity", ("ClientIP", "None"))
    config = reader.mapping(spec, "sessionAffinityConfig", "spec")
    client_ip = reader.mapping(config, "clientIP", "spec.sessionAffinityConfig")
    timeout_path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    timeout = reader.integer(client_ip, "timeoutSeconds", "spec.sessionAffinityConfig.clientIP")
    if affinity == "ClientIP" and (timeout is None or not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT_SECONDS):
        detail = f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT_SECONDS}"
        reader.add(FieldError.invalid(timeout_path, timeout, detail))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        detail = "must not be set when `sessionAffinity` is None"
        reader.add(FieldError.forbidden("spec.sessionAffinityConfig", detail))


def _validate_traffic_policies(reader: FieldReader, spec: Mapping[str, Any], service_type: str) -> None:
    external = reader.string(spec, "externalTrafficPolicy", "spec")
    if external:
        externally_accessible = service_type in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
        if not externally_accessible:
            detail = "may only be set for externally-accessible services"
            reader.add(FieldError.invalid("spec.externalTrafficPolicy", external, detail))
        elif external not in _TRAFFIC_POLICIES:
            reader.add(FieldError.not_supported("spec.externalTrafficPolicy", external, _TRAFFIC_POLICIES))
    internal = reader.string(spec, "internalTrafficPolicy", "spec")
    if internal and internal not in _TRAFFIC_POLICIES:
        reader.add(FieldError.not_supported("spec.internalTrafficPolicy", internal, _TRAFFIC_POLICIES))


def _validate_cluster_ip_update(reader: FieldReader, spec: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    old_spec = old.get("spec")
    if not isinstance(old_spec, Mapping):
        return
    old_ip, new_ip = old_spec.get("clusterIP"), spec.get("clusterIP")
    both_need_ip = "ExternalName" not in (old_spec.get("type"), spec.get("type"))
    if both_need_ip and old_ip and new_ip != old_ip:
        reader.add(
            FieldError.invalid("spec.clusterIP", new_ip if new_ip is not None else "", IMMUTABLE_MESSAGE)
        )
