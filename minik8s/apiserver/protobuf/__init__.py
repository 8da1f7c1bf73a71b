"""Kubernetes protobuf request bodies, decoded into the JSON objects the rest of the apiserver handles.

kubectl v1.32's typed clients (`kubectl create deployment|namespace|configmap|secret|service`,
`kubectl drain`'s evictions) send `application/vnd.kubernetes.protobuf`. Only decoding is
needed: those clients also accept JSON answers, so responses stay JSON.
"""

from __future__ import annotations

from typing import Any

from minik8s.apiserver import errors
from minik8s.apiserver.protobuf.envelope import UnsupportedKindError, decode_object, supported_kinds
from minik8s.apiserver.protobuf.wire import ProtobufError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

__all__ = ["MEDIA_TYPE", "ProtobufError", "UnsupportedKindError", "decode_object", "parse_protobuf_body",
           "supported_kinds"]


def parse_protobuf_body(raw: bytes) -> dict[str, Any]:
    """The JSON object a protobuf body encodes; 415 for a kind without a field table, 400 for bad bytes."""
    try:
        return decode_object(raw)
    except UnsupportedKindError as error:
        raise errors.StatusError(415, "UnsupportedMediaType", error.message) from None
    except ProtobufError as error:
        raise errors.bad_request(f"the request body is not valid Kubernetes protobuf: {error}") from None
