"""Server-side Tables: what the apiserver answers when kubectl asks for `as=Table`.

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever columns
the server returns; without them it shows only NAME and AGE. To look like Kubernetes to its users,
minik8s answers with the same columns, descriptions and cells as Kubernetes' own printers
(pkg/printers/internalversion/printers.go, v1.32). The apiserver always prints in wide mode: columns
with priority 1 are sent too, and kubectl shows them only with `-o wide`.

This module is the public face; the column definitions live in `table_columns`, the per-kind cell
printers in `table_printers`, and HumanDuration with the field readers in `table_values`. All pure:
the clock is passed in as `now`. Where Kubernetes' defaulting guarantees a field (service type, port
protocol, secret type, replicas, namespace phase), an absent value is read as that default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api.registry import REGISTRY
from minik8s.api.table_columns import column_definitions
from minik8s.api.table_printers import row_cells, row_conditions
from minik8s.api.table_values import as_map, human_duration

__all__ = ["build_table", "column_definitions", "human_duration", "row_cells"]

_INCLUDE_OBJECT_POLICIES = ("Metadata", "Object", "None", "")


def _row_object(kind: str, obj: Mapping[str, Any], include_object: str) -> dict[str, Any]:
    if include_object == "Object":
        full = dict(obj)
        resource = next((r for r in REGISTRY.kinds if r.kind == kind), None)
        if resource is not None:
            full.setdefault("apiVersion", resource.api_version)
            full.setdefault("kind", kind)
        return full
    metadata = dict(as_map(obj.get("metadata")))
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}


def build_table(
    kind: str,
    objects: Sequence[Mapping[str, Any]],
    *,
    resource_version: str,
    now: datetime,
    include_object: str = "Metadata",
    continue_token: str = "",
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects`, as the apiserver answers an `as=Table` request.

    `include_object` is the `includeObject` query parameter: "Metadata" (or "") puts each object's
    metadata in its row as a PartialObjectMetadata, "Object" the whole object, "None" nothing.
    Raises ValueError for any other value (Kubernetes answers 400 BadRequest).
    """
    if include_object not in _INCLUDE_OBJECT_POLICIES:
        raise ValueError(f"unrecognized includeObject value: {include_object!r}")
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_cells(kind, obj, now=now)}
        if conditions := row_conditions(kind, obj):
            row["conditions"] = conditions
        if include_object != "None":
            row["object"] = _row_object(kind, obj, include_object)
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(kind),
        "rows": rows,
    }
