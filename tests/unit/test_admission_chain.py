"""The admission chain: kube-apiserver's plugin order, its default set, and every mutating half before any
validating one — the slot a PodSecurity plugin takes."""

from __future__ import annotations

import pytest

from minik8s.api.kinds import PODS
from minik8s.apiserver.admission import (
    DEFAULT_PLUGINS,
    FACTORIES,
    ORDER,
    PLUGINS,
    POD_SECURITY,
    Admission,
    enabled_plugins,
)
from minik8s.apiserver.admission_interface import (
    CREATE,
    AdmissionPlugin,
    AdmissionRequest,
    PluginContext,
)
from minik8s.apiserver.response_warnings import collecting_warnings
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore


def test_the_order_is_kube_apiservers() -> None:
    assert ORDER == ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity",
                     "Priority", "DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection",
                     "PersistentVolumeClaimResize", "ResourceQuota")
    on_by_default = {"NamespaceLifecycle", "LimitRanger", "NodeRestriction", "Priority", "DefaultTolerationSeconds",
                     "ResourceQuota", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize"}
    assert DEFAULT_PLUGINS - {POD_SECURITY} == on_by_default
    # PodSecurity is known, and on by default as in Kubernetes, once its plugin is registered in its slot
    assert (POD_SECURITY in PLUGINS) == (POD_SECURITY in DEFAULT_PLUGINS) == (POD_SECURITY in FACTORIES)
    with pytest.raises(ValueError, match='enable-admission-plugins plugin "AlwaysPullImages" is unknown'):
        enabled_plugins(["AlwaysPullImages"])


async def context() -> PluginContext:
    async def nothing(*_: object) -> None:
        return None

    return PluginContext(ObjectStore(LocalStore(history=10)), nothing)


async def test_plugins_run_in_kubernetes_order_whatever_order_they_are_named_in() -> None:
    admission = Admission(["ResourceQuota", "DefaultTolerationSeconds", "ServiceAccount", "NodeRestriction",
                           "LimitRanger", "NamespaceLifecycle"], await context())
    assert [plugin.name for plugin in admission.chain] == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds", "ResourceQuota"]
    assert admission.runs("NodeRestriction")  # enforced by the HTTP layer, not by this chain


async def test_every_mutating_half_runs_before_any_validating_half(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Recorder(AdmissionPlugin):
        name = POD_SECURITY

        async def admit(self, request: AdmissionRequest) -> None:
            calls.append(f"{self.name}.admit")

        async def validate(self, request: AdmissionRequest) -> None:
            calls.append(f"{self.name}.validate")
            request.warn("would violate PodSecurity")

    monkeypatch.setitem(FACTORIES, POD_SECURITY, Recorder)
    admission = Admission([POD_SECURITY, "DefaultTolerationSeconds"], await context())
    assert [plugin.name for plugin in admission.chain] == [POD_SECURITY, "DefaultTolerationSeconds"]
    request = AdmissionRequest(CREATE, PODS, "default", {"metadata": {"name": "p"}, "spec": {"containers": []}})
    await admission.admit(request)
    assert "tolerations" in request.obj["spec"]  # type: ignore[index]
    with collecting_warnings() as warnings:
        await admission.validate(request)
        await admission.validate(request)  # judged again after a lost quota race: said once
    assert calls == ["PodSecurity.admit", "PodSecurity.validate", "PodSecurity.validate"]
    assert warnings == request.warnings == ["would violate PodSecurity"]
    assert request.shown_name == "p"
