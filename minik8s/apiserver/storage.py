"""Objects in and out of the store: JSON encoding, resourceVersion, and store results as Status errors.

Objects are stored as JSON without `metadata.resourceVersion`; the store's mod revision of the
key *is* the resourceVersion and is put back on every read, so the two can never disagree.
What is written fits the store's limits (`limits`): at most `MAX_OBJECT_BYTES` once encoded — a
413, where etcd would say "request is too large" — and nested at most `MAX_NESTING_DEPTH` deep,
the cap request bodies are decoded with, so everything stored decodes and encodes again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from minik8s.api.meta import JsonObject, metadata_of
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors
from minik8s.apiserver.limits import (
    MAX_DEPTH_MESSAGE,
    MAX_OBJECT_BYTES,
    nesting_depth_exceeds,
    too_large_message,
)
from minik8s.apiserver.query_values import parse_resource_version
from minik8s.apiserver.resource_versions import wait_for_revision
from minik8s.store.base import Store, StoreBusy, StoreUnavailable
from minik8s.store.state import Command, Entry, Result


class AllocationTaken(Exception):
    """A write's companion key (a Service's address) already exists: someone else holds it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class CompanionChanged(Exception):
    """A companion key guarded by its mod revision (a quota admission charged) changed first: nothing was written."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def encode(obj: JsonObject) -> bytes:
    metadata = metadata_of(obj)
    if "resourceVersion" in metadata:
        metadata = dict(metadata)
        del metadata["resourceVersion"]
        obj = {**obj, "metadata": metadata}
    return orjson.dumps(obj)


def encode_within_limits(resource: ResourceKind, obj: JsonObject) -> bytes:
    """`encode(obj)`, refused with a Status when the store must not take it."""
    described = f'{resource.kind} "{metadata_of(obj).get("name", "")}"'
    if nesting_depth_exceeds(obj):
        raise errors.bad_request(f"{described} is nested too deeply: {MAX_DEPTH_MESSAGE}")
    value = encode(obj)
    if len(value) > MAX_OBJECT_BYTES:
        raise errors.too_large(too_large_message(described, len(value), MAX_OBJECT_BYTES))
    return value


def clone(obj: JsonObject) -> JsonObject:
    """A deep copy of a JSON object (orjson round trip: several times faster than copy.deepcopy)."""
    copied: JsonObject = orjson.loads(orjson.dumps(obj))
    return copied


def decode(entry: Entry) -> JsonObject:
    obj: JsonObject = orjson.loads(entry.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(entry.mod_revision)
    return obj


def decode_value(value: bytes, revision: int) -> JsonObject:
    obj: JsonObject = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


class ObjectStore:
    """Typed access to one replica's store for the generic handlers."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def sync(self, resource_version: str | None) -> None:
        """Make reads linearizable (no resourceVersion) or at least as new as the one asked for: 400 for a
        version that is no uint64, 504 for one this replica does not reach in a bounded wait."""
        if resource_version == "0":
            return
        try:
            wanted = parse_resource_version(resource_version)
        except ValueError as error:
            raise errors.bad_request(str(error)) from None
        if wanted and self.store.revision >= wanted:
            return
        await self.run(self.store.barrier())
        if wanted:
            await wait_for_revision(lambda: self.store.revision, wanted)

    async def run(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except StoreUnavailable as error:
            raise errors.unavailable(str(error), error.retry_after) from None
        except StoreBusy as error:
            raise errors.too_many_requests(str(error)) from None

    def get(self, resource: ResourceKind, namespace: str | None, name: str) -> JsonObject | None:
        entry = self.store.get(resource.storage_key(namespace, name))
        return decode(entry) if entry else None

    def is_stale(self, resource: ResourceKind, obj: JsonObject) -> bool:
        """The stored object is encrypted with an older key (or not yet): rewriting it unchanged still writes."""
        metadata = metadata_of(obj)
        return self.store.is_stale(resource.storage_key(metadata.get("namespace"), str(metadata.get("name", ""))))

    def must_get(self, resource: ResourceKind, namespace: str | None, name: str) -> JsonObject:
        obj = self.get(resource, namespace, name)
        if obj is None:
            raise errors.not_found(resource, name)
        return obj

    def list(self, resource: ResourceKind, namespace: str | None) -> tuple[int, list[JsonObject]]:
        revision, items = self.store.list(resource.storage_prefix(namespace))
        items.sort(key=lambda item: item[0])
        return revision, [decode(entry) for _, entry in items]

    async def apply(self, command: Command, resource: ResourceKind, name: str, *, own_key: str = "") -> Result:
        result: Result = await self.run(self.store.apply(command))
        if result.status == "ok":
            return result
        if result.status == "exists":
            if own_key and result.key != own_key:
                raise AllocationTaken(result.key)
            raise errors.already_exists(resource, name)
        if result.status in ("conflict", "not_found") and own_key and result.key and result.key != own_key:
            raise CompanionChanged(result.key)
        if result.status == "conflict":
            raise errors.stale_conflict(resource, name)
        if result.status == "not_found":
            raise errors.not_found(resource, name)
        raise errors.internal(f"store: {result.message}")

    async def create(self, resource: ResourceKind, obj: JsonObject, *, extra: Sequence[Command] | None = None) -> JsonObject:
        metadata = obj["metadata"]
        key = resource.storage_key(metadata.get("namespace"), metadata["name"])
        command = _with_extra({"op": "create", "key": key, "value": encode_within_limits(resource, obj)}, extra)
        result = await self.apply(command, resource, metadata["name"], own_key=key)
        metadata["resourceVersion"] = str(result.revision)
        return obj

    async def replace(self, resource: ResourceKind, obj: JsonObject, *, mod_revision: int,
                      extra: Sequence[Command] | None = None) -> JsonObject:
        metadata = obj["metadata"]
        key = resource.storage_key(metadata.get("namespace"), metadata["name"])
        command = _with_extra({"op": "update", "key": key, "value": encode_within_limits(resource, obj),
                               "mod_revision": mod_revision}, extra)
        result = await self.apply(command, resource, metadata["name"], own_key=key)
        metadata["resourceVersion"] = str(result.revision)
        return obj

    async def remove(self, resource: ResourceKind, obj: JsonObject, *, extra: Sequence[Command] | None = None) -> None:
        metadata = obj["metadata"]
        key = resource.storage_key(metadata.get("namespace"), metadata["name"])
        command = _with_extra({"op": "delete", "key": key, "mod_revision": int(metadata["resourceVersion"])}, extra)
        await self.apply(command, resource, metadata["name"], own_key=key)


def replace_command(resource: ResourceKind, obj: JsonObject) -> Command:
    """A companion write of `obj`, guarded by the resourceVersion it was read at."""
    metadata = obj["metadata"]
    return {"op": "update", "key": resource.storage_key(metadata.get("namespace"), metadata["name"]),
            "value": encode(obj), "mod_revision": int(metadata["resourceVersion"])}


def _with_extra(command: Command, extra: Sequence[Command] | None) -> Command:
    """The object's own write, plus companion keys in one transaction when there are any."""
    return {"op": "txn", "ops": [command, *extra]} if extra else command
