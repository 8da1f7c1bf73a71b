"""The REST surface: Kubernetes paths → the generic operations, with content negotiation.

One catch-all route per API root parses the path itself: `/api/v1/namespaces/x` (a Namespace)
and `/api/v1/namespaces/x/pods` (pods in x) share a shape no path template tells apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

from minik8s.api.kinds import ENDPOINTS
from minik8s.api.meta import JsonObject
from minik8s.api.node_restriction import CREATE, DELETE, UPDATE
from minik8s.api.registry import AUTHORIZATION_GROUP, RBAC_GROUP, REGISTRY, ResourceKind
from minik8s.api.tables import build_table
from minik8s.apiserver import binding, discovery, endpoint_slices, errors, protobuf, reviews
from minik8s.apiserver.admission import NODE_RESTRICTION
from minik8s.apiserver.authorization import AlwaysAllow, Authorizer, decides_with_rbac, user_of
from minik8s.apiserver.authorization_writes import check_rbac_write
from minik8s.apiserver.eviction import evict
from minik8s.apiserver.limits import MAX_DEPTH_MESSAGE, MAX_REQUEST_BODY_BYTES, nesting_depth_exceeds
from minik8s.apiserver.node_admission import admit_node_write, judges_new_object, restricted_node
from minik8s.apiserver.node_proxy import NodeProxy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.patch import PATCH_CONTENT_TYPES
from minik8s.apiserver.query_values import parse_flag
from minik8s.apiserver.request_options import DeleteOptions, ListOptions, dry_run
from minik8s.apiserver.scale import scale_of
from minik8s.apiserver.watch import DecodedEvents, WatchStream
from minik8s.apiserver.watch_limits import WatchRegistry, WatchResponse, watch_timeout
from minik8s.apiserver.yaml_loader import JsonCompatibleLoader, YamlTooLarge
from minik8s.daemon.request_guard import from_browser

ACCEPTED_MEDIA_TYPES = ("application/json", "application/yaml", protobuf.MEDIA_TYPE)  # Kubernetes' order
INPUT_MEDIA_TYPES = frozenset({*ACCEPTED_MEDIA_TYPES, "application/x-yaml", "text/yaml", "*/*"})
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
# kubectl prints it after "error upgrading connection: " and exits at once.
PORT_FORWARD_UNSUPPORTED = ("port-forward is not supported by minik8s; reach the pod at its IP from a node, "
                            "through a Service, or with `kubectl exec`")


@dataclass(frozen=True)
class Target:
    resource: ResourceKind
    namespace: str | None
    name: str | None
    subresource: str | None


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def parse_target(group: str, version: str, segments: list[str]) -> Target | None:
    namespace: str | None = None
    if (len(segments) >= 3 and segments[0] == "namespaces" and segments[2] not in _NAMESPACE_SUBRESOURCES):
        namespace, segments = segments[1], segments[2:]
    if not segments or len(segments) > 3:
        return None
    resource = REGISTRY.get(group, version, segments[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        return None
    name = segments[1] if len(segments) > 1 else None
    subresource = segments[2] if len(segments) > 2 else None
    if subresource is not None and subresource not in resource.subresources and not (
        resource.kind == "Namespace" and subresource == "finalize"
    ):
        return None
    return Target(resource, namespace, name, subresource)


def is_port_forward(group: str, segments: list[str]) -> bool:
    """`namespaces/NS/pods/NAME/portforward`: a subresource kubectl knows and minik8s does not serve."""
    return group == "" and len(segments) == 5 and segments[0] == "namespaces" and segments[2] == "pods" \
        and segments[4] == "portforward"


def wants_table(accept: str) -> bool:
    """True when the first media type we can serve is a meta.k8s.io Table."""
    for media_range in accept.split(","):
        parts = [part.strip() for part in media_range.split(";")]
        media_type = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if media_type not in ("application/json", "*/*", "application/*"):
            continue
        if params.get("as") == "Table":
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return True
            continue
        return False
    return False


async def read_body(request: Request) -> bytes:
    """The body, refused as Kubernetes' `limitedReadBody` refuses it once past 3 MiB."""
    declared = request.headers.get("content-length")
    too_large = errors.too_large(f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}")
    if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def unsupported_media_type(accepted: tuple[str, ...]) -> errors.StatusError:
    """Kubernetes' 415 (apiserver handlers/negotiation/errors.go), worded as it words it."""
    return errors.StatusError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                              f"accepted media types include: {', '.join(accepted)}")


def body_media_type(request: Request) -> str:
    """The media type of a write's body: its Content-Type, which must be one the API decodes.

    As in Kubernetes, no Content-Type means JSON (the official Python client sends none) — except
    from a browser (`Origin`, `Sec-Fetch-*`): a page can send a body without Content-Type to any
    site with no CORS preflight, so that hole is a 415 too, as `text/plain` and the form types are."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type and not from_browser(request.headers):
        return "application/json"
    if media_type not in INPUT_MEDIA_TYPES:
        raise unsupported_media_type(ACCEPTED_MEDIA_TYPES)
    return media_type


async def read_object(request: Request) -> Any:
    """The object in a write's body; an unacceptable Content-Type is refused before the body is read."""
    media_type = body_media_type(request)
    return parse_object(await read_body(request), media_type)


def parse_object(raw: bytes, media_type: str) -> Any:
    """The body's document, nested no deeper than `MAX_NESTING_DEPTH` (past it a 400, as Kubernetes)."""
    if not raw.strip():
        raise errors.bad_request("the request body is empty")
    if media_type == protobuf.MEDIA_TYPE:
        document = protobuf.parse_protobuf_body(raw)
    else:
        document = _parse_text(raw, media_type)
    if nesting_depth_exceeds(document):
        raise errors.bad_request(f"the request body is not valid: {MAX_DEPTH_MESSAGE}")
    return document


def _parse_text(raw: bytes, media_type: str) -> Any:
    try:
        if "yaml" not in media_type:
            return orjson.loads(raw)
        document = yaml.load(raw, Loader=JsonCompatibleLoader)  # plain data, bounded depth and aliases
        orjson.dumps(document)  # e.g. !!binary values are not JSON
        return document
    except YamlTooLarge as error:
        raise errors.too_large(f"Request entity too large: {error.problem}") from None
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, yaml.YAMLError) as error:
        raise errors.bad_request(f"the request body is not valid {'YAML' if 'yaml' in media_type else 'JSON'}: "
                                 f"{_problem(error)}") from None


def _problem(error: Exception) -> str:
    """What was wrong, in one line (a YAML error's context and problem, without its marks)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        return ": ".join(part for part in (error.context, error.problem) if part)
    return str(error).splitlines()[0]


class ApiHandler:
    def __init__(self, ops: Operations, *, node_proxy: NodeProxy | None = None,
                 authorizer: Authorizer | None = None, watches: WatchRegistry | None = None,
                 min_request_timeout: float = 0) -> None:
        self.ops = ops
        self.authorizer: Authorizer = authorizer or AlwaysAllow()
        self.node_proxy = node_proxy
        self.decoded = DecodedEvents()
        self.watches = watches or WatchRegistry(total=0, per_user=0)
        self.min_request_timeout = min_request_timeout

    async def core(self, request: Request) -> Response:
        segments = [s for s in request.path_params.get("path", "").split("/") if s]
        if not segments:
            return json_response(discovery.core_versions(request.url.netloc))
        if segments[0] != "v1":
            raise errors.path_not_found(request.url.path)
        if len(segments) == 1:
            return json_response(discovery.resource_list("", "v1"))
        return await self.dispatch(request, "", "v1", segments[1:])

    async def groups(self, request: Request) -> Response:
        segments = [s for s in request.path_params.get("path", "").split("/") if s]
        if not segments:
            return json_response(discovery.group_list())
        if len(segments) == 1:
            document = discovery.group(segments[0])
        elif len(segments) == 2:
            document = discovery.resource_list(segments[0], segments[1])
        elif segments[:2] == [endpoint_slices.GROUP, endpoint_slices.VERSION]:
            return await self.endpoint_slices(request, segments[2:])
        elif segments[:2] == [AUTHORIZATION_GROUP, reviews.VERSION]:
            return await self.review(request, segments[2:])
        else:
            return await self.dispatch(request, segments[0], segments[1], segments[2:])
        if document is None:
            raise errors.path_not_found(request.url.path)
        return json_response(document)

    async def endpoint_slices(self, request: Request, segments: list[str]) -> Response:
        """GET of `[namespaces/NS/]endpointslices`: the read-only view of Endpoints (see endpoint_slices)."""
        namespace = segments[1] if len(segments) == 3 and segments[0] == "namespaces" else None
        if segments[-1:] != ["endpointslices"] or len(segments) not in (1, 3):
            raise errors.path_not_found(request.url.path)
        if request.method != "GET" or parse_flag(request.query_params.get("watch")):
            raise errors.method_not_allowed("EndpointSlices are a read-only view of Endpoints: only list is served")
        params = dict(request.query_params)
        selector = ListOptions.parse(ENDPOINTS, {"labelSelector": params.get("labelSelector", "")}).label_selector
        listing = await self.ops.list(ENDPOINTS, namespace, ListOptions.parse(ENDPOINTS, {
            key: value for key, value in params.items() if key == "resourceVersion"}))
        return json_response(endpoint_slices.slice_list(listing, selector))

    async def review(self, request: Request, segments: list[str]) -> Response:
        """POST of an access review (`[namespaces/NS/]PLURAL`): answered from the request's user, never stored."""
        namespace = segments[1] if len(segments) == 3 and segments[0] == "namespaces" else None
        if len(segments) not in (1, 3) or (len(segments) == 3 and namespace is None):
            raise errors.path_not_found(request.url.path)
        if request.method != "POST":
            raise errors.method_not_allowed(f"{request.method} is not supported: access reviews are create-only")
        body = parse_object(await read_body(request), request.headers.get("content-type", ""))
        return json_response(reviews.answer(self.authorizer, user_of(request.scope), segments[-1], namespace, body),
                             201)

    def check_write(self, request: Request, target: Target, obj: Any) -> None:
        """Escalation prevention on Role and binding writes, when RBAC decides."""
        if target.resource.group == RBAC_GROUP and decides_with_rbac(self.authorizer) and isinstance(obj, dict):
            check_rbac_write(self.authorizer, user_of(request.scope), target.resource, target.namespace, obj)

    def restricted_node(self, request: Request) -> str | None:
        return restricted_node(self.authorizer, user_of(request.scope), enabled=self.ops.admission.runs(NODE_RESTRICTION))

    async def admit_node(self, request: Request, target: Target, operation: str, new: Any = None) -> None:
        """NodeRestriction on a node's write, under the Node authorizer."""
        node = self.restricted_node(request)
        if node is not None:
            await admit_node_write(self.ops, node, target.resource, target.namespace, target.name,
                                   target.subresource, operation, new if isinstance(new, dict) else None)

    async def admit_node_patch(self, request: Request, target: Target, content_type: str, raw: bytes) -> None:
        """NodeRestriction on a node's patch, judged on what it would write where that matters."""
        if self.restricted_node(request) is None:
            return
        would_be = None
        if judges_new_object(target.resource, target.subresource):
            _, would_be = await self.ops.patch(target.resource, target.namespace, target.name or "", content_type, raw,
                                               subresource=target.subresource, dry_run=True)
        await self.admit_node(request, target, UPDATE, would_be)

    async def dispatch(self, request: Request, group: str, version: str, segments: list[str]) -> Response:
        target = parse_target(group, version, segments)
        if target is None:
            if is_port_forward(group, segments):
                raise errors.method_not_allowed(PORT_FORWARD_UNSUPPORTED)
            raise errors.path_not_found(request.url.path)
        params = dict(request.query_params)
        method = request.method
        if target.name is None:
            return await self.collection(request, target, params)
        if target.subresource in ("binding", "eviction"):
            if method != "POST":
                raise errors.method_not_allowed(f"{method} is not supported on {target.subresource}")
            body = await read_object(request)
            assert target.namespace is not None
            await self.admit_node(request, target, CREATE, body)
            if target.subresource == "eviction":
                code, status = await evict(self.ops, target.resource, target.namespace, target.name, body, params)
                return json_response(status, code)
            return json_response(await binding.bind(self.ops, target.resource, target.namespace, target.name, body),
                                 201)
        if target.subresource in ("log", "exec"):
            if self.node_proxy is None:
                raise errors.StatusError(503, "ServiceUnavailable",
                                         f"{target.subresource} is served by the node agent, which is not reachable")
            assert target.namespace is not None
            return await self.node_proxy.serve(request, target.subresource, target.namespace, target.name)
        return await self.member(request, target, params)

    async def collection(self, request: Request, target: Target, params: dict[str, str]) -> Response:
        resource, namespace, method = target.resource, target.namespace, request.method
        if resource.namespaced and namespace is None and method not in ("GET",):
            raise errors.method_not_allowed(f"{method} on all namespaces is not supported; name a namespace")
        if method == "GET":
            options = ListOptions.parse(resource, params)
            if options.watch:
                return await self.watch(request, target, options, params)
            listing = await self.ops.list(resource, namespace, options)
            if wants_table(request.headers.get("accept", "")):
                return json_response(self.table(resource, listing["items"], listing["metadata"], params))
            return json_response(listing)
        if method == "POST":
            creating = dry_run(params, "CreateOptions")
            body = await read_object(request)
            self.check_write(request, target, body)
            await self.admit_node(request, target, CREATE, body)
            created = await self.ops.create(resource, namespace, body, dry_run=creating,
                                            strict=params.get("fieldValidation") == "Strict")
            return json_response(created, 201)
        if method == "DELETE":
            if "deletecollection" not in resource.verbs:  # namespaces: never all at once, as in Kubernetes
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            raw = await read_body(request)
            body = parse_object(raw, body_media_type(request)) if raw.strip() else None
            deleted = await self.ops.delete_collection(resource, namespace, ListOptions.parse(resource, params),
                                                       DeleteOptions.parse(params, body))
            return json_response(deleted)
        raise errors.method_not_allowed(f"{method} is not supported on a collection")

    async def member(self, request: Request, target: Target, params: dict[str, str]) -> Response:
        resource, namespace, name, sub = target.resource, target.namespace, target.name, target.subresource
        assert name is not None
        method = request.method
        if method == "GET":
            obj = await self.ops.get(resource, namespace, name, params.get("resourceVersion"))
            if sub == "scale":
                return json_response(scale_of(obj))
            if wants_table(request.headers.get("accept", "")):
                return json_response(self.table(resource, [obj], {"resourceVersion": obj["metadata"]
                                                                  ["resourceVersion"]}, params))
            return json_response(obj)
        if method == "PUT":
            updating = dry_run(params, "UpdateOptions")
            body = await read_object(request)
            if sub == "scale":
                return json_response(await self.ops.update_scale(resource, namespace, name, body, dry_run=updating))
            self.check_write(request, target, body)
            await self.admit_node(request, target, UPDATE, body)
            updated = await self.ops.update(resource, namespace, name, body, subresource=sub, dry_run=updating,
                                            strict=params.get("fieldValidation") == "Strict")
            return json_response(updated)
        if method == "PATCH":
            patching = dry_run(params, "PatchOptions")
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in PATCH_CONTENT_TYPES:
                raise unsupported_media_type(PATCH_CONTENT_TYPES)
            raw = await read_body(request)
            if resource.group == RBAC_GROUP and decides_with_rbac(self.authorizer):  # check what the patch would write
                _, would_be = await self.ops.patch(resource, namespace, name, content_type, raw, dry_run=True)
                self.check_write(request, target, would_be)
            await self.admit_node_patch(request, target, content_type, raw)
            code, patched = await self.ops.patch(resource, namespace, name, content_type, raw,
                                                 subresource=sub, dry_run=patching)
            return json_response(scale_of(patched) if sub == "scale" else patched, code)
        if method == "DELETE" and sub is None:
            raw = await read_body(request)
            body = parse_object(raw, body_media_type(request)) if raw.strip() else None
            await self.admit_node(request, target, DELETE)
            code, result = await self.ops.delete(resource, namespace, name, DeleteOptions.parse(params, body))
            return json_response(result, code)
        raise errors.method_not_allowed(f"{method} is not supported here")

    async def watch(self, request: Request, target: Target, options: ListOptions,
                    params: dict[str, str]) -> Response:
        as_table = wants_table(request.headers.get("accept", ""))
        resource = target.resource

        def render(obj: JsonObject) -> JsonObject:
            if not as_table:
                return obj
            return self.table(resource, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                              params)

        lease = self.watches.acquire(user_of(request.scope).name)  # a 429 past the limits, before streaming
        stream = WatchStream(self.ops, self.decoded, resource, target.namespace, options, render=render,
                             bookmarks=options.allow_bookmarks,
                             timeout=watch_timeout(options.timeout_seconds, self.min_request_timeout))
        try:
            await stream.start()  # the start is fixed and subscribed before the 200 (watch.py): nothing is missed
            return WatchResponse(stream.stream(), lease, on_end=stream.close, media_type="application/json",
                                 headers={"Transfer-Encoding": "chunked"})
        except BaseException:
            stream.close()
            lease.release()
            raise

    @staticmethod
    def table(resource: ResourceKind, items: list[JsonObject], metadata: dict[str, Any],
              params: dict[str, str]) -> JsonObject:
        table = build_table(resource.kind, items, resource_version=metadata.get("resourceVersion", ""),
                            now=datetime.now(UTC), include_object=params.get("includeObject", "Metadata"),
                            continue_token=metadata.get("continue", ""))
        return table
