"""The options of list, watch and delete requests, parsed and checked once, and list paging.

Query parameters (and a DELETE's body, in delete_options) arrive as strings from HTTP; the verbs
in `operations` and the watch stream want typed, validated values, and every mistake in them is the
caller's 400 BadRequest (422 for options Kubernetes validates as objects) with Kubernetes' wording —
decided here, before any store access. Numbers and booleans are read by Go's rules (query_values):
`limit=-1` is no limit, as in Kubernetes, never a page that drops the last item.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from minik8s.api.field_errors import FieldError
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
from minik8s.apiserver.delete_options import DeleteOptions, invalid_options, validate_dry_run
from minik8s.apiserver.query_values import int64_param, parse_flag, parse_resource_version

EXACT, NOT_OLDER_THAN = "Exact", "NotOlderThan"
__all__ = ["DeleteOptions", "ListOptions", "check_resource_version", "dry_run", "int64_param", "page"]


@dataclass(frozen=True)
class ListOptions:
    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    resource_version: str | None = None
    limit: int | None = None  # None: the whole list (a negative or zero limit means that too, as in Kubernetes)
    continue_token: str | None = None
    timeout_seconds: int | None = None
    watch: bool = False
    allow_bookmarks: bool = False
    exact: bool = False  # resourceVersionMatch=Exact: the list at that very resourceVersion

    @staticmethod
    def parse(resource: ResourceKind, params: Mapping[str, str]) -> ListOptions:
        labels, fields = _selectors(resource, params)
        limit = int64_param(params, "limit")
        version = params.get("resourceVersion")
        check_resource_version(version)
        watch = parse_flag(params.get("watch"))
        problems = list_option_problems(params, watch=watch)
        if problems:
            raise invalid_options("ListOptions", problems)
        return ListOptions(labels, fields, version or None, limit if limit is not None and limit > 0 else None,
                           params.get("continue") or None, int64_param(params, "timeoutSeconds"), watch,
                           parse_flag(params.get("allowWatchBookmarks")), params.get("resourceVersionMatch") == EXACT)

    def check_exact(self, revision: int) -> None:
        """An Exact list is served only at the current revision: minik8s keeps no older lists (410)."""
        if self.exact and str(revision) != self.resource_version:
            raise errors.expired("The resourceVersion for the provided list is too old.")

    def matches(self, resource: ResourceKind, obj: JsonObject, fields: dict[str, str] | None = None) -> bool:
        """Does `obj` pass both selectors? `fields` may be given when already computed."""
        if self.label_selector is not None and not self.label_selector.matches(
            metadata_of(obj).get("labels") or {}
        ):
            return False
        if self.field_selector is None:
            return True
        return self.field_selector.matches(fields if fields is not None else object_fields(resource.kind, obj))


def _selectors(resource: ResourceKind, params: Mapping[str, str]) -> tuple[LabelSelector | None, FieldSelector | None]:
    try:
        labels = parse_label_selector(params["labelSelector"]) if params.get("labelSelector") else None
        fields = parse_field_selector(params["fieldSelector"]) if params.get("fieldSelector") else None
    except SelectorError as error:
        raise errors.bad_request(f"unable to parse requirement: {error}") from None
    if fields is not None:
        allowed = supported_fields(resource.kind)
        for requirement in fields.requirements:
            if requirement.field not in allowed:
                raise errors.bad_request(f'field label not supported: {requirement.field}')
    return labels, fields


def list_option_problems(params: Mapping[str, str], *, watch: bool) -> list[FieldError]:
    """Kubernetes' ValidateListOptions (the WatchList feature is not served: sendInitialEvents is refused,
    and client-go falls back to list and watch)."""
    if watch:
        return _watch_option_problems(params)
    match, version = params.get("resourceVersionMatch", ""), params.get("resourceVersion", "")
    problems = []
    if match:
        if not version:
            problems.append(_forbidden_match("resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if params.get("continue"):
            problems.append(_forbidden_match("resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            problems.append(FieldError.not_supported("resourceVersionMatch", match, [EXACT, NOT_OLDER_THAN, ""]))
        if match == EXACT and version == "0":
            problems.append(_forbidden_match('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if "sendInitialEvents" in params:
        problems.append(FieldError.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    return problems


def _watch_option_problems(params: Mapping[str, str]) -> list[FieldError]:
    match, initial = params.get("resourceVersionMatch", ""), "sendInitialEvents" in params
    problems = []
    if initial:
        if match != NOT_OLDER_THAN:
            problems.append(_forbidden_match(f"sendInitialEvents requires setting resourceVersionMatch to "
                                             f"{NOT_OLDER_THAN}"))
        problems.append(FieldError.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for watch unless "
                                                                  "the WatchList feature gate is enabled"))
    if match:
        if not initial:
            problems.append(_forbidden_match("resourceVersionMatch is forbidden for watch unless sendInitialEvents "
                                             "is provided"))
        if match != NOT_OLDER_THAN:
            problems.append(FieldError.not_supported("resourceVersionMatch", match, [NOT_OLDER_THAN]))
        if params.get("continue"):
            problems.append(_forbidden_match("resourceVersionMatch is forbidden when continue is provided"))
    return problems


def _forbidden_match(detail: str) -> FieldError:
    return FieldError.forbidden("resourceVersionMatch", detail)


def check_resource_version(text: str | None) -> None:
    """A resourceVersion query parameter is "", "0" or a uint64; else 400 (Kubernetes' storage answers
    500 here, a bug its own issues call for fixing as 400)."""
    try:
        parse_resource_version(text)
    except ValueError as error:
        raise errors.bad_request(str(error)) from None


def dry_run(params: Mapping[str, str], kind: str) -> bool:
    """`?dryRun=All` (the only value Kubernetes knows); anything else is a 422 on the `kind` options."""
    if "dryRun" not in params:
        return False
    problems = validate_dry_run([params["dryRun"]])
    if problems:
        raise invalid_options(kind, problems)
    return True


def page(items: list[JsonObject], options: ListOptions, *, revision: int) -> tuple[list[JsonObject], dict[str, Any]]:
    """The page of `items` (sorted by namespace/name) that `limit` and `continue` ask for, and the list's
    metadata: its resourceVersion, and a continue token with the remaining count when more follow."""
    metadata: dict[str, Any] = {"resourceVersion": str(revision)}
    if options.continue_token:
        start = _decode_continue(options.continue_token)
        items = [obj for obj in items if _sort_key(obj) > start]
    if options.limit is not None and len(items) > options.limit:
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
