"""The storage admission plugins: DefaultStorageClass, StorageObjectInUseProtection, PersistentVolumeClaimResize.

Default-on in Kubernetes and here, run after DefaultTolerationSeconds in kube-apiserver's order. Each
reads the StorageClasses from this replica's store and applies a pure decision (api/storage_admission.py):
a claim created without a class gets the default one (`standard` at bootstrap), a new claim or volume
gets its protection finalizer, and a claim's request may not grow (403, Kubernetes' message).
"""

from __future__ import annotations

from minik8s.api.kinds import PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES
from minik8s.api.meta import JsonObject, name_of
from minik8s.api.persistent_volumes import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER
from minik8s.api.registry import ResourceKind
from minik8s.api.storage_admission import add_finalizer, default_class_name, resize_refusal
from minik8s.apiserver import errors
from minik8s.apiserver.admission_interface import CREATE, UPDATE, AdmissionPlugin, AdmissionRequest

DEFAULT_STORAGE_CLASS = "DefaultStorageClass"
STORAGE_OBJECT_IN_USE_PROTECTION = "StorageObjectInUseProtection"
PERSISTENT_VOLUME_CLAIM_RESIZE = "PersistentVolumeClaimResize"


def _is(request: AdmissionRequest, kind: ResourceKind) -> bool:
    return (request.resource.group, request.resource.plural) == (kind.group, kind.plural) and not request.subresource


class DefaultStorageClass(AdmissionPlugin):
    name = DEFAULT_STORAGE_CLASS

    async def admit(self, request: AdmissionRequest) -> None:
        if request.operation != CREATE or not _is(request, PERSISTENT_VOLUME_CLAIMS) or request.obj is None:
            return
        chosen = default_class_name(request.obj, self.context.objects.list(STORAGE_CLASSES, None)[1])
        spec = request.obj.get("spec")
        if chosen is not None and isinstance(spec, dict):
            spec["storageClassName"] = chosen


class StorageObjectInUseProtection(AdmissionPlugin):
    name = STORAGE_OBJECT_IN_USE_PROTECTION

    async def admit(self, request: AdmissionRequest) -> None:
        if request.operation != CREATE or request.obj is None:
            return
        if _is(request, PERSISTENT_VOLUME_CLAIMS):
            add_finalizer(request.obj, PVC_PROTECTION_FINALIZER)
        elif _is(request, PERSISTENT_VOLUMES):
            add_finalizer(request.obj, PV_PROTECTION_FINALIZER)


class PersistentVolumeClaimResize(AdmissionPlugin):
    name = PERSISTENT_VOLUME_CLAIM_RESIZE

    async def validate(self, request: AdmissionRequest) -> None:
        if request.operation != UPDATE or not _is(request, PERSISTENT_VOLUME_CLAIMS):
            return
        if request.obj is None or request.old is None:
            return
        classes: dict[str, JsonObject] = {name_of(c): c for c in self.context.objects.list(STORAGE_CLASSES, None)[1]}
        refusal = resize_refusal(request.obj, request.old, classes)
        if refusal is not None:
            raise errors.forbidden(request.resource, request.shown_name, refusal)
