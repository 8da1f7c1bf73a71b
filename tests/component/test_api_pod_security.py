"""The PodSecurity admission plugin through the API: refusals in Kubernetes' words, `Warning:` headers.

The apiserver runs as `minik8s up` starts it (`--pod-security-default baseline`): a pod mounting the
host's `/` is refused unless its namespace is labelled privileged; kube-system is; workloads and
namespace label changes get warnings, as a Kubernetes apiserver sends them (kubectl prints each as
`Warning: ...`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.api.kinds import NAMESPACES as NAMESPACE_KIND
from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.pod_security.levels import BASELINE, Policy
from minik8s.apiserver.bootstrap import label_for_pod_security
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore
from tests.support.serving import apiserver_serving
from tests.support.slow_store import SlowCommits
from tests.support.waiting import eventually

NAMESPACES = "/api/v1/namespaces"
ROOT_REFUSAL = ('hostPath volumes (volume "root"), '
                'privileged (container "c" must not set securityContext.privileged=true)')
MERGE = {"Content-Type": "application/merge-patch+json"}
AUDIT_LOGGER = "minik8s.apiserver.admission_pod_security"


def root_pod(name: str = "root") -> dict[str, Any]:
    """The attack of the issue: a privileged container with the host's / mounted."""
    return {"metadata": {"name": name}, "spec": {
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True},
                        "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}


def plain_pod(name: str = "web") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def labelled(name: str, **modes: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {f"pod-security.kubernetes.io/{mode.replace('_', '-')}": level
                                                  for mode, level in modes.items()}}}


def warnings_of(response: httpx.Response) -> list[str]:
    return response.headers.get_list("warning")


def warning(text: str) -> str:
    return '299 - "' + text.replace('"', '\\"') + '"'


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    config = PodSecurityConfig(Policy.uniform(BASELINE))
    async with apiserver_serving(pod_security=config) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def test_a_pod_mounting_the_hosts_root_is_refused_with_kubernetes_message(api: httpx.AsyncClient) -> None:
    refused = await api.post(f"{NAMESPACES}/default/pods", json=root_pod())
    assert refused.status_code == 403
    assert refused.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": f'pods "root" is forbidden: violates PodSecurity "baseline:latest": {ROOT_REFUSAL}',
        "details": {"name": "root", "kind": "pods"}}
    assert warnings_of(refused) == []  # a refused request gets no warnings on top
    assert (await api.get(f"{NAMESPACES}/default/pods/root")).status_code == 404


async def test_a_namespace_labelled_privileged_runs_it(api: httpx.AsyncClient) -> None:
    assert (await api.post(NAMESPACES, json=labelled("tools", enforce="privileged"))).status_code == 201
    created = await api.post(f"{NAMESPACES}/tools/pods", json=root_pod())
    assert created.status_code == 201, created.text
    assert warnings_of(created) == [warning(f'would violate PodSecurity "baseline:latest": {ROOT_REFUSAL}')]
    assert (await api.post(NAMESPACES, json=labelled("host", enforce="privileged", warn="privileged",
                                                     audit="privileged"))).status_code == 201
    quiet = await api.post(f"{NAMESPACES}/host/pods", json=root_pod())
    assert quiet.status_code == 201 and warnings_of(quiet) == []


async def test_kube_system_is_labelled_privileged_and_takes_host_pods(api: httpx.AsyncClient) -> None:
    labels = (await api.get(f"{NAMESPACES}/kube-system")).json()["metadata"]["labels"]
    assert {key: value for key, value in labels.items() if key.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/audit": "privileged",
        "pod-security.kubernetes.io/warn": "privileged"}
    created = await api.post(f"{NAMESPACES}/kube-system/pods", json=root_pod())
    assert created.status_code == 201 and warnings_of(created) == []


async def test_a_stricter_warn_level_sends_warning_headers(api: httpx.AsyncClient) -> None:
    assert (await api.post(NAMESPACES, json=labelled("team", warn="restricted"))).status_code == 201
    created = await api.post(f"{NAMESPACES}/team/pods", json=plain_pod())
    assert created.status_code == 201
    assert warnings_of(created) == [warning(
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')]


@pytest.mark.parametrize(("path", "body"), [
    ("deployments", {"spec": {"replicas": 0}}),
    ("replicasets", {"spec": {"replicas": 0}}),
    ("daemonsets", {"spec": {}}),
])
async def test_workloads_get_warnings_not_refusals(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    template = {"metadata": {"labels": {"app": "host"}}, "spec": root_pod()["spec"]}
    workload = {"metadata": {"name": "host"},
                "spec": {**body["spec"], "selector": {"matchLabels": {"app": "host"}}, "template": template}}
    created = await api.post(f"/apis/apps/v1/namespaces/default/{path}", json=workload)
    assert created.status_code == 201, created.text
    assert warnings_of(created) == [warning(f'would violate PodSecurity "baseline:latest": {ROOT_REFUSAL}')]
    relabelled = await api.patch(f"/apis/apps/v1/namespaces/default/{path}/host", headers=MERGE,
                                 json={"metadata": {"labels": {"team": "ops"}}})
    assert relabelled.status_code == 200 and len(warnings_of(relabelled)) == 1


async def test_tightening_a_namespace_warns_about_its_pods_and_checks_their_updates(api: httpx.AsyncClient) -> None:
    assert (await api.post(NAMESPACES, json=labelled("legacy", enforce="privileged", warn="privileged",
                                                     audit="privileged"))).status_code == 201
    assert (await api.post(f"{NAMESPACES}/legacy/pods", json=root_pod())).status_code == 201
    assert (await api.post(f"{NAMESPACES}/legacy/pods", json=plain_pod())).status_code == 201
    tightened = await api.patch(f"{NAMESPACES}/legacy", headers=MERGE, json={"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "baseline"}}})
    assert tightened.status_code == 200
    assert warnings_of(tightened) == [
        warning('existing pods in namespace "legacy" violate the new PodSecurity enforce level "baseline:latest"'),
        warning("root: hostPath volumes, privileged")]
    relabelled = await api.patch(f"{NAMESPACES}/legacy/pods/root", headers=MERGE,
                                 json={"metadata": {"labels": {"still": "running"}}})
    assert relabelled.status_code == 200  # the running pod stays manageable
    new_image = await api.patch(f"{NAMESPACES}/legacy/pods/root",
                                headers={"Content-Type": "application/strategic-merge-patch+json"},
                                json={"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
    assert new_image.status_code == 403
    assert new_image.json()["message"] == f'pods "root" is forbidden: violates PodSecurity "baseline:latest": ' \
                                          f"{ROOT_REFUSAL}"


async def test_invalid_pod_security_labels_are_refused(api: httpx.AsyncClient) -> None:
    refused = await api.post(NAMESPACES, json=labelled("bad", enforce="strict"))
    assert refused.status_code == 422
    body = refused.json()
    assert body["reason"] == "Invalid"
    assert body["message"] == ('Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
                               'Invalid value: "strict": must be one of privileged, baseline, restricted')
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid",
                                          "field": "metadata.labels[pod-security.kubernetes.io/enforce]",
                                          "message": 'Invalid value: "strict": must be one of privileged, baseline, '
                                                     "restricted"}]
    changed = await api.patch(f"{NAMESPACES}/default", headers=MERGE, json={"metadata": {"labels": {
        "pod-security.kubernetes.io/warn-version": "1.30"}}})
    assert changed.status_code == 422
    assert changed.json()["message"].endswith('warn-version]: Invalid value: "1.30": must be "latest" or "v1.x"')


async def test_a_field_the_node_agent_cannot_honour_is_refused_not_ignored(api: httpx.AsyncClient) -> None:
    pod = plain_pod("labelled")
    pod["spec"]["securityContext"] = {"seLinuxOptions": {"level": "s0:c123,c456"}}  # baseline allows it
    refused = await api.post(f"{NAMESPACES}/default/pods", json=pod)
    assert refused.status_code == 422
    message = ('Unsupported value: {"level":"s0:c123,c456"}: not supported by minik8s: its node agent applies no '
               "SELinux labels")
    assert refused.json()["message"] == f'Pod "labelled" is invalid: spec.securityContext.seLinuxOptions: {message}'
    assert refused.json()["details"]["causes"] == [
        {"reason": "FieldValueNotSupported", "field": "spec.securityContext.seLinuxOptions", "message": message}]


async def test_a_hand_started_apiserver_leaves_every_namespace_privileged() -> None:
    async with apiserver_serving() as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        created = await client.post(f"{NAMESPACES}/default/pods", json=root_pod())
        assert created.status_code == 201 and warnings_of(created) == []
        system = (await client.get(f"{NAMESPACES}/kube-system")).json()["metadata"]
        assert "pod-security.kubernetes.io/enforce" not in system.get("labels", {})


async def test_a_restart_with_the_stricter_default_labels_an_existing_kube_system() -> None:
    store = LocalStore(history=50)
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        labels = (await client.get(f"{NAMESPACES}/kube-system")).json()["metadata"]["labels"]
        assert labels == {"kubernetes.io/metadata.name": "kube-system"}
    async with apiserver_serving(store=store, pod_security=PodSecurityConfig(Policy.uniform(BASELINE))) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        async def enforced() -> str | None:
            labels = (await client.get(f"{NAMESPACES}/kube-system")).json()["metadata"].get("labels", {})
            level: str | None = labels.get("pod-security.kubernetes.io/enforce")
            return level

        # the system namespaces exist already: the restarted apiserver labels kube-system a moment later
        assert await eventually("kube-system to be labelled", enforced, timeout=10) == "privileged"


async def test_the_bootstrap_keeps_pod_security_labels_someone_chose() -> None:
    ops = Operations(ObjectStore(LocalStore(history=10)))
    chosen = {"pod-security.kubernetes.io/enforce": "baseline"}
    await ops.create(NAMESPACE_KIND, None, {"metadata": {"name": "kube-system", "labels": chosen}})
    await ops.create(NAMESPACE_KIND, None, {"metadata": {"name": "other", "labels": {"team": "a"}}})
    privileged = {"pod-security.kubernetes.io/enforce": "privileged"}
    for name in ("kube-system", "other"):
        await label_for_pod_security(ops, name, privileged)
    name_label = {"kubernetes.io/metadata.name": "kube-system"}
    assert (await ops.get(NAMESPACE_KIND, None, "kube-system"))["metadata"]["labels"] == {**name_label, **chosen}
    assert (await ops.get(NAMESPACE_KIND, None, "other"))["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "other", "team": "a", **privileged}


async def test_the_audit_level_is_logged_as_minik8s_keeps_no_audit_log(api: httpx.AsyncClient,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    assert (await api.post(NAMESPACES, json=labelled("watched", enforce="privileged", warn="privileged",
                                                     audit="baseline"))).status_code == 201
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        created = await api.post(f"{NAMESPACES}/watched/pods", json=root_pod())
    assert created.status_code == 201 and warnings_of(created) == []
    assert [record.getMessage() for record in caplog.records if record.name == AUDIT_LOGGER] == [
        f"audit pods watched/root: pod-security.kubernetes.io/audit-violations='would violate PodSecurity "
        f'"baseline:latest": {ROOT_REFUSAL}\'']


async def test_the_pod_is_judged_as_it_will_be_stored_after_validation(api: httpx.AsyncClient) -> None:
    """A validating plugin, as in Kubernetes: an invalid pod is 422 whatever its level, never 403."""
    pod = root_pod("bad")
    pod["spec"]["containers"][0]["name"] = "Not_A_Name"
    pod["spec"]["containers"][0]["volumeMounts"] = []
    refused = await api.post(f"{NAMESPACES}/default/pods", json=pod)
    assert refused.status_code == 422 and refused.json()["reason"] == "Invalid"


async def test_status_writes_of_a_pod_the_namespace_now_refuses_are_not_judged(api: httpx.AsyncClient) -> None:
    """Subresources are not PodSecurity's business: the node agent must still report a grandfathered pod."""
    assert (await api.post(NAMESPACES, json=labelled("old", enforce="privileged", warn="privileged",
                                                     audit="privileged"))).status_code == 201
    assert (await api.post(f"{NAMESPACES}/old/pods", json=root_pod())).status_code == 201
    assert (await api.patch(f"{NAMESPACES}/old", headers=MERGE, json={"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "baseline"}}})
            ).status_code == 200
    reported = await api.patch(f"{NAMESPACES}/old/pods/root/status", headers=MERGE,
                               json={"status": {"phase": "Running"}})
    assert reported.status_code == 200 and warnings_of(reported) == []


async def test_a_create_judged_again_after_a_lost_quota_race_warns_and_audits_once(
        caplog: pytest.LogCaptureFixture) -> None:
    """Creates racing for a quota's last units: each loser is judged again on the new count, and still
    gets PodSecurity's warning once and one audit line."""
    async with apiserver_serving(history=500, store=SlowCommits(history=500)) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as api:
        assert (await api.post(NAMESPACES, json=labelled("racing", warn="restricted", audit="restricted"))
                ).status_code == 201
        quotas = f"{NAMESPACES}/racing/resourcequotas"
        assert (await api.post(quotas, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "3"}}})
                ).status_code == 201
        quota = (await api.get(f"{quotas}/q")).json()
        quota["status"] = {"hard": {"pods": "3"}, "used": {"pods": "0"}}  # as the quota controller writes it
        assert (await api.put(f"{quotas}/q/status", json=quota)).status_code == 200
        with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
            answers = await asyncio.gather(*(api.post(f"{NAMESPACES}/racing/pods", json=plain_pod(f"racer-{n}"))
                                             for n in range(8)))
    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [403] * 5
    assert all(len(warnings_of(answer)) == 1 for answer in answers)
    audited = [record.getMessage().split(":")[0] for record in caplog.records if record.name == AUDIT_LOGGER]
    assert sorted(audited) == sorted(f"audit pods racing/racer-{n}" for n in range(8))
