"""EndpointSlices as a read-only view of Endpoints, for clients that read only slices.

minik8s keeps a Service's addresses in one `Endpoints` object (what its proxy and DNS read). kubectl
1.32's `describe service` no longer reads Endpoints: it lists `discovery.k8s.io/v1` EndpointSlices
by the label `kubernetes.io/service-name`, and prints `Endpoints: <none>` when that list is missing.
Kubernetes mirrors between the two; here each subset of an Endpoints object is shown as one slice,
computed on every read and never stored. The view is not advertised in discovery (it serves only
GET of a namespace's list), so `kubectl get endpointslices` still says the type is not served.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.formats import check_non_special_ip
from minik8s.api.meta import JsonObject, metadata_of
from minik8s.api.selectors import LabelSelector

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
GROUP, VERSION = "discovery.k8s.io", "v1"


def _endpoint(address: JsonObject, *, ready: bool) -> JsonObject:
    endpoint: JsonObject = {"addresses": [address.get("ip", "")],
                        "conditions": {"ready": ready, "serving": ready, "terminating": False}}
    for field in ("nodeName", "targetRef", "hostname"):
        if address.get(field):
            endpoint[field] = address[field]
    return endpoint


def _port(port: JsonObject) -> JsonObject:
    """A slice port always has its name ("" for the one unnamed port), number and protocol: kubectl reads
    them through pointers it does not check."""
    sliced: JsonObject = {"name": port.get("name") or "", "port": port.get("port", 0),
                      "protocol": port.get("protocol") or "TCP"}
    if port.get("appProtocol"):
        sliced["appProtocol"] = port["appProtocol"]
    return sliced


def _mirrored(addresses: Any) -> list[JsonObject]:
    """The addresses a slice may hold: as Kubernetes' mirroring skips invalid ones, an address an older
    object still holds that validation now refuses (loopback, link-local, …) is left out."""
    return [address for address in addresses if isinstance(address, dict)
            and not check_non_special_ip(str(address.get("ip")))] if isinstance(addresses, list) else []


def slices_of(endpoints: JsonObject) -> list[JsonObject]:
    """The EndpointSlices mirroring one Endpoints object: one per subset, named `<service>-<index>`."""
    metadata = metadata_of(endpoints)
    name = metadata.get("name", "")
    labels = {**(metadata.get("labels") or {}), SERVICE_NAME_LABEL: name,
              MANAGED_BY_LABEL: "endpointslicemirroring-controller.k8s.io"}
    slices = []
    for index, subset in enumerate(endpoints.get("subsets") or []):
        ready = [_endpoint(address, ready=True) for address in _mirrored(subset.get("addresses"))]
        not_ready = [_endpoint(address, ready=False) for address in _mirrored(subset.get("notReadyAddresses"))]
        ports = [_port(port) for port in subset.get("ports") or []]
        slice_metadata = {"name": f"{name}-{index}", "namespace": metadata.get("namespace", ""),
                          "labels": labels, "resourceVersion": metadata.get("resourceVersion", ""),
                          "creationTimestamp": metadata.get("creationTimestamp"),
                          "ownerReferences": [{"apiVersion": "v1", "kind": "Endpoints", "name": name,
                                               "uid": metadata.get("uid", ""), "controller": True}]}
        slices.append({"kind": "EndpointSlice", "apiVersion": f"{GROUP}/{VERSION}", "metadata": slice_metadata,
                       "addressType": "IPv4", "endpoints": ready + not_ready, "ports": ports})
    return slices


def slice_list(endpoints_list: JsonObject, selector: LabelSelector | None) -> JsonObject:
    """An EndpointSliceList of every slice of these Endpoints that the label selector matches."""
    items = [endpoint_slice for endpoints in endpoints_list.get("items") or []
             for endpoint_slice in slices_of(endpoints)
             if selector is None or selector.matches(endpoint_slice["metadata"]["labels"])]
    metadata = {"resourceVersion": metadata_of(endpoints_list).get("resourceVersion", "")}
    return {"kind": "EndpointSliceList", "apiVersion": f"{GROUP}/{VERSION}", "metadata": metadata, "items": items}
