"""The ResourceQuota admission plugin: charge the namespace's quotas, atomically with the write itself.

Last in the chain, as in Kubernetes. For a create or update of anything in a namespace that has
ResourceQuotas (events aside), the pure evaluator (api/quota_admission.py) either refuses — 403
`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2` — or returns the quotas with
their new `status.used`. Kubernetes' evaluator writes those with a compare-and-set on each quota's
resourceVersion before it admits the object; here the same guarded writes ride in the object's own
store transaction (`request.companions`), so a quota is charged exactly when the object is stored.
Two creates racing for the last unit both read `used: 1`: the first commits, the second's guard
fails, Operations reads the quotas again and asks this plugin anew, which now refuses. A dry run
is judged but charges nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from minik8s.api.kinds import RESOURCE_QUOTAS
from minik8s.api.quota_admission import QuotaRefused, QuotaWrite, charge
from minik8s.api.quota_usage import IGNORED
from minik8s.apiserver import errors
from minik8s.apiserver.admission_interface import CREATE, UPDATE, AdmissionPlugin, AdmissionRequest
from minik8s.apiserver.storage import replace_command

RESOURCE_QUOTA = "ResourceQuota"


class ResourceQuota(AdmissionPlugin):
    name = RESOURCE_QUOTA

    async def validate(self, request: AdmissionRequest) -> None:
        resource = request.resource
        if request.subresource or not request.namespace or request.obj is None:
            return
        if request.operation not in (CREATE, UPDATE) or (resource.group == "" and resource.plural in IGNORED):
            return
        _, quotas = self.context.objects.list(RESOURCE_QUOTAS, request.namespace)
        if not quotas:
            return
        write = QuotaWrite(request.operation, resource.plural, resource.group, request.obj, request.old)
        try:
            charged = charge(quotas, write, datetime.now(UTC))
        except QuotaRefused as refused:
            raise errors.forbidden(resource, request.shown_name, refused.message) from None
        if not request.dry_run:
            request.companions.extend(replace_command(RESOURCE_QUOTAS, quota) for quota in charged)
