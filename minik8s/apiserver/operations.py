"""The generic verbs (create, get, list, update, patch, delete) for every kind, without HTTP.

Every write is a compare-and-set on the key's mod revision. When the caller gave no
resourceVersion (PATCH, or PUT without one) a lost race is retried against fresh state;
when it gave one, a mismatch is the caller's 409. Reads of the local replica are made
linearizable by the store's shared read barrier, taken only when local state may be stale.
Every write passes the admission chain (admission.py): its mutating plugins after defaulting,
its validating plugins after validation; what they add to the write (a quota's new count) is
committed with it, and when one of those companion writes lost a race, the write is judged again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from minik8s.api.defaults import apply_defaults
from minik8s.api.kinds import RESOURCE_QUOTAS
from minik8s.api.meta import JsonObject, metadata_of, spec_of
from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.registry import ResourceKind
from minik8s.api.validation import validate
from minik8s.apiserver import errors, strategy
from minik8s.apiserver.admission import Admission
from minik8s.apiserver.admission_interface import CREATE, DELETE, UPDATE, AdmissionRequest, PluginContext
from minik8s.apiserver.batch_strategy import default_propagation_policy
from minik8s.apiserver.patch import APPLY_PATCH, PatchError, apply_patch_by_content_type
from minik8s.apiserver.request_options import DeleteOptions, ListOptions, page
from minik8s.apiserver.scale import scale_of
from minik8s.apiserver.service_addresses import ServiceAddresses, asked_for
from minik8s.apiserver.storage import AllocationTaken, CompanionChanged, ObjectStore, clone
from minik8s.store.state import Command

_CONFLICT_RETRIES = 8
# A companion write that lost its race lost it to a write that committed, so every retry is progress for
# someone; N writers racing for one quota need up to N - 1 retries.
_COMPANION_RETRIES = 32
# Kinds whose DELETE answers with the deleted object, not a Status (`ReturnDeletedObject` in their
# Kubernetes registries): clients decode the body as that kind (the Python client's V1Service).
_RETURNS_DELETED_OBJECT = frozenset({"Pod", "Service"})


def _causes(field_errors: list[Any]) -> list[dict[str, str]]:
    return [{"reason": e.reason, "message": e.message, "field": e.field} for e in field_errors]


class Operations:
    def __init__(self, objects: ObjectStore, *, toleration_seconds: dict[str, int] | None = None,
                 service_cidr: str = "10.96.0.0/16", admission_plugins: frozenset[str] = frozenset(),
                 pod_security: PodSecurityConfig | None = None) -> None:
        self.objects = objects
        self.addresses = ServiceAddresses(objects.store, service_cidr=service_cidr)
        self.admission = Admission(admission_plugins, PluginContext(objects, self.current, toleration_seconds or {},
                                                                    pod_security or PodSecurityConfig()))

    # ---- reads ----

    async def get(self, resource: ResourceKind, namespace: str | None, name: str,
                  resource_version: str | None = None) -> JsonObject:
        await self.objects.sync(resource_version)
        return self.objects.must_get(resource, namespace, name)

    async def list(self, resource: ResourceKind, namespace: str | None, options: ListOptions) -> JsonObject:
        await self.objects.sync(options.resource_version)
        revision, items = self.objects.list(resource, namespace)
        options.check_exact(revision)
        items, metadata = page([obj for obj in items if options.matches(resource, obj)], options, revision=revision)
        return {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": metadata,
                "items": items}

    async def current(self, resource: ResourceKind, namespace: str | None, name: str,
                      wanted_version: str | None = None) -> JsonObject | None:
        """The object, re-read after a read barrier when local state may be behind the caller."""
        obj = self.objects.get(resource, namespace, name)
        if obj is None or (wanted_version and obj["metadata"]["resourceVersion"] != wanted_version):
            await self.objects.sync(None)
            obj = self.objects.get(resource, namespace, name)
        return obj

    # ---- create ----

    def check_body(self, resource: ResourceKind, namespace: str | None, body: Any, *,
                   strict: bool, name: str | None = None) -> JsonObject:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind is not None and kind != resource.kind:
            raise errors.bad_request(f"the kind of the object ({kind}) does not match the URL ({resource.kind})")
        if api_version is not None and api_version != resource.api_version:
            raise errors.bad_request(f"the API version of the object ({api_version}) does not match the URL "
                                     f"({resource.api_version})")
        if strict:
            unknown = strategy.unknown_fields(resource, body)
            if unknown:
                raise errors.bad_request(f"{resource.kind} in version \"{resource.version}\" cannot be handled as a "
                                         f"{resource.kind}: strict decoding error: {', '.join(unknown)}")
        obj = clone(body)
        obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
        metadata = obj.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise errors.bad_request("metadata must be an object")
        if resource.namespaced:
            given = metadata.get("namespace")
            if given and given != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if name is not None and metadata.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({metadata.get('name')}) does not match the name on the URL ({name})"
            )
        if name is not None:
            metadata["name"] = name
        return obj

    async def create(self, resource: ResourceKind, namespace: str | None, body: Any, *,
                     dry_run: bool = False, strict: bool = False) -> JsonObject:
        obj = self.check_body(resource, namespace, body, strict=strict)
        metadata = obj["metadata"]
        if metadata.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        apply_defaults(resource.kind, obj)
        request = AdmissionRequest(CREATE, resource, namespace, obj, name=str(metadata.get("name") or ""),
                                   dry_run=dry_run)
        await self.admission.admit(request)  # before the name is generated, as in Kubernetes
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = strategy.generate_name(str(metadata["generateName"]))
        strategy.prepare_for_create(resource, obj)
        self.validate(resource, obj, None)
        return await self._commit(request, lambda: self._store_created(resource, obj, request))

    async def _commit(self, request: AdmissionRequest, store: Callable[[], Awaitable[JsonObject]]) -> JsonObject:
        """The validating plugins, then the write with what they added; when one of those companion writes
        lost a race (a quota changed meanwhile), the write is judged again on fresh state."""
        for _ in range(_COMPANION_RETRIES):
            await self.admission.validate(request)
            try:
                return await store()
            except CompanionChanged as changed:
                await self.objects.sync(None)
                lost_to = changed.key
        raise errors.stale_conflict(RESOURCE_QUOTAS, lost_to.rsplit("/", 1)[-1])

    async def _store_created(self, resource: ResourceKind, obj: JsonObject, request: AdmissionRequest) -> JsonObject:
        if request.dry_run:
            return obj
        if resource.kind == "Service":
            return await self._create_service(resource, obj, request.companions)
        return await self.objects.create(resource, obj, extra=request.companions)

    async def _create_service(self, resource: ResourceKind, obj: JsonObject,
                              companions: Sequence[Command]) -> JsonObject:
        """Create with fresh addresses; an automatic pick that lost a race is picked again."""
        original = clone(obj)
        key = resource.storage_key(obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for _ in range(8):
            service = clone(original)
            changes = self.addresses.assign(service, None, key=key)
            try:
                return await self.objects.create(resource, service, extra=[*changes.commands(), *companions])
            except AllocationTaken as taken:
                if asked_for(original, taken.key):
                    raise ServiceAddresses.taken_message(service, taken.key) from None
        raise errors.unavailable("could not allocate the service's addresses; try again")

    def validate(self, resource: ResourceKind, obj: JsonObject, old: JsonObject | None) -> None:
        problems = list(dict.fromkeys([*strategy.status_shape_problems(resource, obj),
                                       *validate(resource.kind, obj, old=old)]))
        if problems:
            raise errors.invalid(resource, str(obj["metadata"].get("name", "")), _causes(problems))

    # ---- update and patch ----

    async def update(self, resource: ResourceKind, namespace: str | None, name: str, body: Any, *,
                     subresource: str | None = None, dry_run: bool = False, strict: bool = False) -> JsonObject:
        obj = self.check_body(resource, namespace, body, strict=strict, name=name)
        wanted = obj["metadata"].get("resourceVersion") or None
        for _ in range(_CONFLICT_RETRIES):
            current = await self.current(resource, namespace, name, wanted)
            if current is None:
                raise errors.not_found(resource, name)
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise errors.stale_conflict(resource, name)
            try:
                return await self.write_update(resource, clone(obj), current,
                                               subresource=subresource, dry_run=dry_run)
            except errors.StatusError as error:
                if error.reason != "Conflict" or wanted:
                    raise
        raise errors.stale_conflict(resource, name)

    async def write_update(self, resource: ResourceKind, new: JsonObject, current: JsonObject, *,
                           subresource: str | None, dry_run: bool) -> JsonObject:
        if subresource == "status":
            new = strategy.prepare_for_status_update(new, current)
        elif subresource == "finalize":
            finalized = clone(current)
            finalized.setdefault("spec", {})["finalizers"] = spec_of(new).get("finalizers") or []
            new = finalized
        else:
            apply_defaults(resource.kind, new, on_create=False)
            strategy.prepare_for_update(resource, new, current)
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        request = AdmissionRequest(UPDATE, resource, current["metadata"].get("namespace"), new, old=current,
                                   name=current["metadata"]["name"], subresource=subresource or "", dry_run=dry_run)
        await self.admission.admit(request)
        if new == current and not self.objects.is_stale(resource, current):
            return current  # a no-op write does not move the resourceVersion (unless it re-encrypts, as upstream)
        self.validate(resource, new, current)
        return await self._commit(request, lambda: self._store_update(resource, new, current, request))

    async def _store_update(self, resource: ResourceKind, new: JsonObject, current: JsonObject,
                            request: AdmissionRequest) -> JsonObject:
        if request.dry_run:
            return new
        mod_revision = int(current["metadata"]["resourceVersion"])
        if strategy.ready_to_remove(resource, new):
            await self.objects.remove(resource, current, extra=_released(resource, current))
            return new
        extra = list(request.companions)
        if resource.kind == "Service" and not request.subresource:
            key = resource.storage_key(new["metadata"].get("namespace"), new["metadata"]["name"])
            extra += self.addresses.assign(new, current, key=key).commands()
        try:
            return await self.objects.replace(resource, new, mod_revision=mod_revision, extra=extra)
        except AllocationTaken as taken:
            raise ServiceAddresses.taken_message(new, taken.key) from None

    async def patch(self, resource: ResourceKind, namespace: str | None, name: str, content_type: str,
                    raw: bytes, *, subresource: str | None = None, dry_run: bool = False) -> tuple[int, JsonObject]:
        for attempt in range(_CONFLICT_RETRIES):
            current = self.objects.get(resource, namespace, name)
            if current is None or attempt:
                await self.objects.sync(None)
                current = self.objects.get(resource, namespace, name)
            if current is None:
                if content_type.startswith(APPLY_PATCH) and subresource is None:
                    applied = self._parse_patch(content_type, None, raw, resource)
                    return 201, await self.create(resource, namespace, applied, dry_run=dry_run)
                raise errors.not_found(resource, name)
            view = scale_of(current) if subresource == "scale" else current
            patched = self._parse_patch(content_type, clone(view), raw, resource)
            wanted = metadata_of(patched).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise errors.stale_conflict(resource, name)
            if subresource == "scale":
                patched = self._apply_scale(current, patched)
                subresource = None
            new = self.check_body(resource, namespace, patched, strict=False, name=name)
            try:
                result = await self.write_update(resource, new, current, subresource=subresource, dry_run=dry_run)
                return 200, result
            except errors.StatusError as error:
                if error.reason != "Conflict" or wanted:
                    raise
        raise errors.stale_conflict(resource, name)

    @staticmethod
    def _parse_patch(content_type: str, live: JsonObject | None, raw: bytes, resource: ResourceKind) -> JsonObject:
        try:
            patched = apply_patch_by_content_type(content_type, live, raw, kind=resource.kind)
        except PatchError as error:
            reasons = {400: "BadRequest", 404: "NotFound", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType",
                       422: "Invalid"}
            raise errors.StatusError(error.status_code, reasons.get(error.status_code, "BadRequest"),
                                     str(error)) from None
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        return patched

    @staticmethod
    def _apply_scale(current: JsonObject, scale: JsonObject) -> JsonObject:
        replicas = spec_of(scale).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request("spec.replicas of a Scale must be an integer")
        updated = clone(current)
        updated.setdefault("spec", {})["replicas"] = replicas
        return updated

    async def update_scale(self, resource: ResourceKind, namespace: str | None, name: str, body: Any, *,
                           dry_run: bool = False) -> JsonObject:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a Scale object")
        wanted = metadata_of(body).get("resourceVersion")
        for _ in range(_CONFLICT_RETRIES):
            current = await self.current(resource, namespace, name, wanted)
            if current is None:
                raise errors.not_found(resource, name)
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise errors.stale_conflict(resource, name)
            try:
                updated = await self.write_update(resource, self._apply_scale(current, body), current,
                                                  subresource=None, dry_run=dry_run)
                return scale_of(updated)
            except errors.StatusError as error:
                if error.reason != "Conflict" or wanted:
                    raise
        raise errors.stale_conflict(resource, name)

    # ---- delete ----

    async def delete(self, resource: ResourceKind, namespace: str | None, name: str,
                     options: DeleteOptions) -> tuple[int, JsonObject]:
        if refusal := strategy.refuse_delete(resource, name):
            raise errors.forbidden(resource, name, refusal)
        request = AdmissionRequest(DELETE, resource, namespace, None, name=name, dry_run=options.dry_run)
        await self.admission.admit(request)  # before the object is read, as Kubernetes' delete handler does
        for _ in range(_CONFLICT_RETRIES):
            # A precondition is judged on the newest version: a lagging copy that differs is re-read first.
            current = await self.current(resource, namespace, name, options.precondition_resource_version)
            if current is None:
                raise errors.not_found(resource, name)
            self._check_preconditions(resource, current, options)
            request.old = current
            await self.admission.validate(request)
            try:
                return await self._delete_once(resource, current, options)
            except errors.StatusError as error:
                if error.reason != "Conflict":
                    raise
        raise errors.stale_conflict(resource, name)

    @staticmethod
    def _check_preconditions(resource: ResourceKind, current: JsonObject, options: DeleteOptions) -> None:
        metadata = current["metadata"]
        if options.precondition_uid and options.precondition_uid != metadata.get("uid"):
            raise errors.conflict(resource, metadata["name"],
                                  f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                                  f"UID in object meta: {metadata.get('uid')}")
        wanted = options.precondition_resource_version
        if wanted and wanted != metadata.get("resourceVersion"):
            raise errors.conflict(resource, metadata["name"],
                                  f"Precondition failed: ResourceVersion in precondition: {wanted}, "
                                  f"ResourceVersion in object meta: {metadata.get('resourceVersion')}")

    async def _delete_once(self, resource: ResourceKind, current: JsonObject,
                           options: DeleteOptions) -> tuple[int, JsonObject]:
        marked = clone(current)
        metadata = marked["metadata"]
        finalizers: list[str] = list(metadata.get("finalizers") or [])
        policy = options.propagation_policy or default_propagation_policy(resource)
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if finalizers:
            metadata["finalizers"] = finalizers
        grace = 0
        if resource.kind == "Pod":
            grace = strategy.pod_grace_period(current, options.grace_period_seconds)
        graceful = grace > 0 or bool(finalizers) or (
            resource.kind == "Namespace" and bool(spec_of(current).get("finalizers"))
        )
        if not graceful:
            if not options.dry_run:
                await self.objects.remove(resource, current, extra=_released(resource, current))
            return 200, current if resource.kind in _RETURNS_DELETED_OBJECT else _success_status(resource, current)
        strategy.mark_deleting(marked, grace)
        if resource.kind == "Namespace":
            marked.setdefault("status", {})["phase"] = "Terminating"
        if marked == current or options.dry_run:
            return 200, marked
        mod_revision = int(current["metadata"]["resourceVersion"])
        updated = await self.objects.replace(resource, marked, mod_revision=mod_revision)
        return (202 if policy == "Foreground" else 200), updated

    async def delete_collection(self, resource: ResourceKind, namespace: str | None, list_options: ListOptions,
                                options: DeleteOptions) -> JsonObject:
        listing = await self.list(resource, namespace, list_options)
        deleted = []
        for obj in listing["items"]:
            try:
                _, result = await self.delete(resource, obj["metadata"].get("namespace"),
                                              obj["metadata"]["name"], options)
            except errors.StatusError as error:
                if error.code != 404:
                    raise
                continue
            deleted.append(result if result.get("kind") == resource.kind else obj)
        return {"kind": resource.list_kind, "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": listing["metadata"]["resourceVersion"]}, "items": deleted}


def _released(resource: ResourceKind, obj: JsonObject) -> list[dict[str, Any]]:
    """What goes with an object when it is removed: a Service's addresses."""
    return ServiceAddresses.release_all(obj) if resource.kind == "Service" else []


def _success_status(resource: ResourceKind, obj: JsonObject) -> JsonObject:
    details: dict[str, Any] = {"name": obj["metadata"]["name"], "kind": resource.plural,
                               "uid": obj["metadata"].get("uid")}
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
