"""The options of list, watch and delete requests, parsed and checked once, and list paging.

Query parameters (and a DELETE's body) arrive as strings from HTTP; the verbs in `operations`
and the watch stream want typed, validated values, and every mistake in them is the caller's
400 BadRequest with Kubernetes' wording — decided here, before any store access.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from minik8s.api.fields import object_fields, supported_fields
from minik8s.api.meta import JsonObject, metadata_of
from minik8s.api.registry import ResourceKind
from minik8s.api.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from minik8s.apiserver import errors


@dataclass(frozen=True)
class ListOptions:
    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    resource_version: str | None = None
    limit: int | None = None
    continue_token: str | None = None

    @staticmethod
    def parse(resource: ResourceKind, params: dict[str, str]) -> ListOptions:
        try:
            labels = parse_label_selector(params["labelSelector"]) if params.get("labelSelector") else None
            fields = parse_field_selector(params["fieldSelector"]) if params.get("fieldSelector") else None
        except SelectorError as error:
            raise errors.bad_request(f"unable to parse requirement: {error}") from None
        if fields is not None:
            allowed = supported_fields(resource.kind)
            for requirement in fields.requirements:
                if requirement.field not in allowed:
                    raise errors.bad_request(
                        f'field label not supported: {requirement.field}'
                    )
        limit = params.get("limit")
        try:
            limit_value = int(limit) if limit else None
        except ValueError:
            raise errors.bad_request(f"invalid limit {limit!r}") from None
        return ListOptions(labels, fields, params.get("resourceVersion"), limit_value or None,
                           params.get("continue") or None)

    def matches(self, resource: ResourceKind, obj: JsonObject, fields: dict[str, str] | None = None) -> bool:
        """Does `obj` pass both selectors? `fields` may be given when already computed."""
        if self.label_selector is not None and not self.label_selector.matches(
            metadata_of(obj).get("labels") or {}
        ):
            return False
        if self.field_selector is None:
            return True
        return self.field_selector.matches(fields if fields is not None else object_fields(resource.kind, obj))


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None
    dry_run: bool = False

    @staticmethod
    def parse(params: dict[str, str], body: JsonObject | None) -> DeleteOptions:
        body = body or {}
        grace = body.get("gracePeriodSeconds", params.get("gracePeriodSeconds"))
        policy = body.get("propagationPolicy", params.get("propagationPolicy"))
        if body.get("orphanDependents") is True or params.get("orphanDependents") == "true":
            policy = policy or "Orphan"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.bad_request(f"unsupported propagationPolicy {policy!r}")
        preconditions = body.get("preconditions") or {}
        try:
            grace_value = int(grace) if grace is not None else None
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid gracePeriodSeconds {grace!r}") from None
        dry_run = bool(body.get("dryRun")) or bool(params.get("dryRun"))
        return DeleteOptions(grace_value, policy, preconditions.get("uid"),
                             preconditions.get("resourceVersion"), dry_run)


def page(items: list[JsonObject], options: ListOptions, *, revision: int) -> tuple[list[JsonObject], dict[str, Any]]:
    """The page of `items` (sorted by namespace/name) that `limit` and `continue` ask for, and the list's
    metadata: its resourceVersion, and a continue token with the remaining count when more follow."""
    metadata: dict[str, Any] = {"resourceVersion": str(revision)}
    if options.continue_token:
        start = _decode_continue(options.continue_token)
        items = [obj for obj in items if _sort_key(obj) > start]
    if options.limit and len(items) > options.limit:
        remaining = len(items) - options.limit
        items = items[: options.limit]
        metadata["continue"] = _encode_continue(_sort_key(items[-1]), revision)
        metadata["remainingItemCount"] = remaining
    return items, metadata


def _sort_key(obj: JsonObject) -> str:
    metadata = obj["metadata"]
    return f"{metadata.get('namespace', '')}/{metadata['name']}"


def _encode_continue(start: str, revision: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"rv": revision, "start": start})).decode()


def _decode_continue(token: str) -> str:
    try:
        start = orjson.loads(base64.urlsafe_b64decode(token.encode()))["start"]
    except Exception:
        raise errors.bad_request("invalid continue token") from None
    if not isinstance(start, str):
        raise errors.bad_request("invalid continue token")
    return start
