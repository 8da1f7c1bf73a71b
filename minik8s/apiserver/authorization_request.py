"""What a request asks to do, in the words authorizers decide on: Kubernetes' RequestInfo.

`request_attributes(user, method, path, query)` follows k8s.io/apiserver's RequestInfoFactory:
`/api/v1/...` and `/apis/GROUP/VERSION/...` are resource requests whose verb comes from the
method (POST create, GET get — list or watch without a name, watch also with `?watch=true` —,
PUT update, PATCH patch, DELETE delete — deletecollection without a name), with
`namespaces/NS/` folded into the namespace and `NAME/SUBRESOURCE` after the resource; every
other path (`/healthz`, `/version`, `/api`, `/apis/apps`) is a non-resource request whose verb is
the lower-cased method. A refusal is a 403 worded as Kubernetes' `forbiddenMessage`.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import UserInfo
from minik8s.apiserver.errors import StatusError

_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}
_SPECIAL_VERBS = ("proxy", "watch")
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool


def _non_resource(user: UserInfo, method: str, path: str) -> RequestAttributes:
    return RequestAttributes(user, method.lower(), path=path, resource_request=False)


def request_attributes(user: UserInfo, method: str, path: str, query: dict[str, str]) -> RequestAttributes:
    """The authorizer.Attributes of one HTTP request (a WebSocket upgrade is a GET)."""
    parts = [part for part in path.split("/") if part]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return _non_resource(user, method, path)
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        if len(rest) < 3:
            return _non_resource(user, method, path)
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    special = rest[0] in _SPECIAL_VERBS and len(rest) > 1
    verb = rest[0] if special else _METHOD_VERBS.get(method.upper(), "")
    if special:
        rest = rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch") in _TRUE else "list"
        name = _exact_name(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestAttributes(user, verb, namespace, group, version, resource, subresource, name, path,
                             field_selector=query.get("fieldSelector", ""),
                             label_selector=query.get("labelSelector", ""))


def _exact_name(field_selector: str) -> str:
    """`metadata.name=NAME` (or `==`) as the only term of a field selector names the object, as in Kubernetes."""
    if "," in field_selector:
        return ""
    for operator in ("==", "="):
        key, found, value = field_selector.partition(operator)
        if found and key.strip() == "metadata.name" and "!" not in key:
            name = value.strip()
            return name if name not in (".", "..") and "/" not in name and "%" not in name else ""
    return ""


def forbidden_message(attributes: RequestAttributes) -> str:
    """Kubernetes' forbiddenMessage (apiserver/pkg/endpoints/handlers/responsewriters/errors.go)."""
    user = attributes.user.name
    if not attributes.resource_request:
        return f'User "{user}" cannot {attributes.verb} path "{attributes.path}"'
    resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
    where = (f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope")
    return f'User "{user}" cannot {attributes.verb} resource "{resource}" in API group "{attributes.api_group}" {where}'


def forbidden(attributes: RequestAttributes, reason: str = "") -> StatusError:
    """The 403 of a refused request: apierrors.NewForbidden(group resource, name, forbiddenMessage[: reason])."""
    why = forbidden_message(attributes) + (f": {reason}" if reason else "")
    if not attributes.resource_request or not attributes.resource:
        return StatusError(403, "Forbidden", f"forbidden: {why}")
    group_resource = attributes.resource + (f".{attributes.api_group}" if attributes.api_group else "")
    subject = f'{group_resource} "{attributes.name}"' if attributes.name else group_resource
    details: dict[str, Any] = {"kind": attributes.resource}
    if attributes.name:
        details["name"] = attributes.name
    if attributes.api_group:
        details["group"] = attributes.api_group
    return StatusError(403, "Forbidden", f"{subject} is forbidden: {why}", details=details)
