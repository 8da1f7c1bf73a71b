"""PATCH bodies applied to stored objects: the four content types kubectl and controllers send.

kubectl never sends whole objects to change them: `label` and `scale` send JSON merge patches,
`apply`, `set image` and `cordon` send strategic merge patches, `rollout undo` sends a JSON patch
and `apply --server-side` sends an apply configuration. The apiserver turns each into the new
object with the pure functions here (`apply_patch_by_content_type` parses and dispatches), then
validates and stores the result like an update. This module is the one entry point; JSON patch
and strategic merge live in `json_patch` and `strategic_merge`.

Errors are `PatchError`, whose `status_code` mirrors the apiserver's: 400 for a malformed patch,
422 for a well-formed patch that does not apply (a failed JSON-patch `test`, a missing path),
404 for patching an absent object, 413 for too many operations, 415 for an unknown content type.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import yaml

from minik8s.api.meta import JsonObject
from minik8s.apiserver.json_patch import MAX_JSON_PATCH_OPERATIONS, json_patch
from minik8s.apiserver.json_values import PatchError, clone_json
from minik8s.apiserver.limits import MAX_DEPTH_MESSAGE, nesting_depth_exceeds
from minik8s.apiserver.strategic_merge import list_merge_keys, strategic_merge_patch
from minik8s.apiserver.yaml_loader import JsonCompatibleLoader, YamlTooLarge

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MAX_JSON_PATCH_OPERATIONS",
    "MERGE_PATCH",
    "PATCH_CONTENT_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "PatchError",
    "apply_patch",
    "apply_patch_by_content_type",
    "json_patch",
    "list_merge_keys",
    "merge_patch",
    "strategic_merge_patch",
]

JSON_PATCH: Final = "application/json-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
PATCH_CONTENT_TYPES: Final = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)



def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces."""
    return _merge_patch_into(clone_json(target), patch)


def _merge_patch_into(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return clone_json(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch_into(result.get(key), value)
    return result


def apply_patch(live: JsonObject | None, applied: JsonObject, *, kind: str) -> JsonObject:
    """Server-side apply without managed fields: create from, or merge in, an apply configuration.

    Simplification: no field ownership is tracked, so a field left out of the configuration is
    kept, never removed, and nothing conflicts. Fields present in `applied` are set; lists with
    a merge key are merged by key (as in strategic merge), other lists are replaced. `null`
    values mean "not specified" (as in Kubernetes, where they decode to unset fields), and
    `$`-directives are refused since an apply configuration is not a patch.
    """
    if not isinstance(applied, dict):
        raise PatchError("an apply configuration must be a JSON object")
    configuration = _apply_configuration(applied, "")
    if live is None:
        return configuration
    return strategic_merge_patch(live, configuration, kind=kind)


def _apply_configuration(value: JsonObject, path: str) -> JsonObject:
    """`value` without nulls (at any depth); directives are an error."""
    configuration: JsonObject = {}
    for key, child in value.items():
        if key.startswith("$"):
            raise PatchError(f"{path}{key}: directives are not allowed in an apply configuration")
        if child is not None:
            configuration[key] = _configured_value(child, f"{path}{key}.")
    return configuration


def _configured_value(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return _apply_configuration(value, path)
    if isinstance(value, list):
        return [_configured_value(item, path) for item in value]
    return value


def apply_patch_by_content_type(content_type: str, live: JsonObject | None, body: bytes, *, kind: str) -> JsonObject:
    """Parse a PATCH body of `content_type` and apply it to `live` (None: the object does not exist)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in PATCH_CONTENT_TYPES:
        raise PatchError(f"unsupported patch content type {content_type!r}", status_code=415)
    document = _parse_body(body, yaml_allowed=media_type == APPLY_PATCH)
    if media_type == APPLY_PATCH:
        return apply_patch(live, _require_object(document, "an apply configuration"), kind=kind)
    if live is None:
        raise PatchError("the object to patch does not exist", status_code=404)
    if media_type == JSON_PATCH:
        result = json_patch(live, document)
    elif media_type == MERGE_PATCH:
        result = merge_patch(live, _require_object(document, "a merge patch"))
    else:
        result = strategic_merge_patch(live, _require_object(document, "a strategic merge patch"), kind=kind)
    if not isinstance(result, dict):
        raise PatchError("the patched object is not a JSON object", status_code=422)
    return result


def _parse_body(body: bytes, *, yaml_allowed: bool) -> Any:
    """The patch document; nested past `MAX_NESTING_DEPTH` it is a 400, as Kubernetes answers."""
    if not body.strip():
        raise PatchError("the patch body is empty")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if not yaml_allowed:
            raise PatchError(f"the patch body is not valid JSON: {error}") from error
        document = _parse_yaml(body)
    if nesting_depth_exceeds(document):
        raise PatchError(f"the patch body is not valid: {MAX_DEPTH_MESSAGE}")
    return document


def _parse_yaml(body: bytes) -> Any:
    try:
        documents = list(yaml.load_all(body, Loader=JsonCompatibleLoader))  # bounded, plain data only
    except YamlTooLarge as error:
        raise PatchError(f"Request entity too large: {error.problem}", status_code=413) from error
    except yaml.YAMLError as error:
        raise PatchError(f"the patch body is neither JSON nor YAML: {error}") from error
    if len(documents) != 1:
        raise PatchError(f"an apply configuration is one YAML document, got {len(documents)}")
    try:
        orjson.dumps(documents[0])  # YAML has values JSON has not: integers beyond 64 bits, !!binary
    except orjson.JSONEncodeError as error:
        raise PatchError(f"the patch body is not valid JSON or YAML: {error}") from error
    return documents[0]


def _require_object(document: Any, what: str) -> JsonObject:
    if not isinstance(document, dict):
        raise PatchError(f"{what} must be a JSON object")
    return document
