"""The ServiceAccount admission plugin: a new pod's account must exist, and the pod gets its token volume.

A new pod's ServiceAccount must exist — looked up again for a short while when it is `default`,
which the ServiceAccount controller may not have made yet in a new namespace — else 403 (`pods
"web" is forbidden: error looking up service account ns/name: serviceaccount "name" not found`);
then the token volume (api/service_account_admission.py). Mirror pods are never changed and may
reference no account. Opt-in here, unlike Kubernetes: its pods start only where the node agents
can get tokens (`--service-account-signing-key-file`) and the controller-manager publishes
`kube-root-ca.crt` (`--root-ca-file`), which `minik8s up` sets up.
"""

from __future__ import annotations

import asyncio
import random

from minik8s.api.kinds import PODS, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject, metadata_of, spec_of
from minik8s.api.service_account_admission import VOLUME_PREFIX, admit_pod, is_mirror_pod, mirror_pod_refusal
from minik8s.apiserver import errors, strategy
from minik8s.apiserver.admission_interface import CREATE, AdmissionPlugin, AdmissionRequest, PluginContext

SERVICE_ACCOUNT = "ServiceAccount"
DEFAULT_SERVICE_ACCOUNT_ATTEMPTS = 10  # the plugin's retries for `default`, 100 to 200 ms apart


class ServiceAccountPlugin(AdmissionPlugin):
    name = SERVICE_ACCOUNT

    def __init__(self, context: PluginContext, *, retry_interval: tuple[float, float] = (0.1, 0.2),
                 attempts_for_default: int = DEFAULT_SERVICE_ACCOUNT_ATTEMPTS) -> None:
        super().__init__(context)
        self.retry_interval = retry_interval
        self.attempts_for_default = attempts_for_default

    async def admit(self, request: AdmissionRequest) -> None:
        if not request.is_pod() or request.subresource or request.operation != CREATE or request.obj is None:
            return
        pod = request.obj
        if is_mirror_pod(pod):
            refusal = mirror_pod_refusal(pod)
            if refusal is not None:
                raise errors.forbidden(PODS, request.shown_name, refusal)
            return
        namespace = str(metadata_of(pod).get("namespace") or "")
        name = str(spec_of(pod).get("serviceAccountName") or "default")
        account = await self._service_account_named(namespace, name)
        if account is None:
            raise errors.forbidden(PODS, request.shown_name, f"error looking up service account {namespace}/{name}: "
                                                             f'serviceaccount "{name}" not found')
        admit_pod(pod, account, new_volume_name=strategy.generate_name(VOLUME_PREFIX))

    async def _service_account_named(self, namespace: str, name: str) -> JsonObject | None:
        attempts = self.attempts_for_default if name == "default" else 1
        pause = random.uniform(*self.retry_interval)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(pause)
            found = await self.context.fetch(SERVICE_ACCOUNTS, namespace, name)
            if found is not None:
                return found
        return None
