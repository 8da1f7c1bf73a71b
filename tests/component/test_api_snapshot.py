"""`GET /snapshot`: the whole store at one revision, for administrators only, Secrets still sealed."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx

from minik8s.api.snapshot_format import SnapshotReader
from minik8s.apiserver.encryption_config import load_encryption_config
from minik8s.apiserver.snapshot_schedule import PeriodicSnapshots, SnapshotSchedule
from minik8s.apiserver.snapshots import REVISION_HEADER
from minik8s.store.base import LocalStore
from tests.support.encryption import aesgcm, write_config
from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user
from tests.support.waiting import eventually

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
SECRETS = "/api/v1/namespaces/default/secrets"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SECRET_VALUE = "hunter2-in-the-clear"


def read_snapshot(body: bytes) -> tuple[int, str, dict[str, tuple[bytes, int]]]:
    reader = SnapshotReader(io.BytesIO(body), size=len(body))
    entries = {entry.key: (entry.value, entry.mod_revision) for entry in reader.entries()}
    return reader.header.revision, reader.header.cluster_id, entries


async def test_the_snapshot_holds_every_acknowledged_write_at_its_revision(tmp_path: Path) -> None:
    store = LocalStore(transformers=load_encryption_config(write_config(tmp_path / "enc.yaml", aesgcm("key1"))))
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        created = [(await api.post(CONFIGMAPS, json={"metadata": {"name": f"cm{n}"}, "data": {"n": str(n)}})).json()
                   for n in range(20)]
        await api.post(SECRETS, json={"metadata": {"name": "s"}, "stringData": {"password": SECRET_VALUE}})
        response = await api.get("/snapshot")
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    revision, cluster_id, entries = read_snapshot(response.content)
    assert revision == store.revision == int(response.headers[REVISION_HEADER])
    assert cluster_id == store.cluster_id != ""
    for item in created:
        _, mod_revision = entries[f"/registry/configmaps/default/{item['metadata']['name']}"]
        assert str(mod_revision) == item["metadata"]["resourceVersion"]
    sealed, _ = entries["/registry/secrets/default/s"]
    assert sealed.startswith(b"k8s:enc:aesgcm:v1:key1:") and SECRET_VALUE.encode() not in response.content
    assert len(entries) == store.core.count()


async def test_only_administrators_may_take_a_snapshot() -> None:
    async with apiserver_serving(authorization_mode="RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=10, headers={TEST_USER_HEADER: ADMIN}) as api:
        refused = await api.get("/snapshot", headers=as_user("alice", "dev"))
        assert refused.status_code == 403
        assert refused.json()["message"] == 'forbidden: User "alice" cannot get path "/snapshot"'
        node = await api.get("/snapshot", headers=as_user("system:node:node-1", "system:nodes"))
        assert node.status_code == 403
        assert (await api.get("/snapshot")).status_code == 200  # system:masters
        role = {"metadata": {"name": "backup"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/snapshot"]}]}
        binding = {"metadata": {"name": "backup"}, "subjects": [{"kind": "User", "name": "backup-bot"}],
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "backup"}}
        assert (await api.post(f"{RBAC}/clusterroles", json=role)).status_code == 201
        assert (await api.post(f"{RBAC}/clusterrolebindings", json=binding)).status_code == 201
        assert (await api.get("/snapshot", headers=as_user("backup-bot"))).status_code == 200


async def test_periodic_snapshots_keep_the_newest_and_report_the_last(tmp_path: Path) -> None:
    store = LocalStore()
    now = [1_740_830_400.0]  # 2025-03-01T12:00:00Z
    snapshots = PeriodicSnapshots(store, SnapshotSchedule(tmp_path / "snaps", 3600.0, 2), clock=lambda: now[0])
    for _ in range(3):
        await store.apply({"op": "create", "key": f"/registry/configmaps/default/c{store.revision}", "value": b"{}"})
        taken = await snapshots.take()
        now[0] += 3600
    assert sorted(path.name for path in (tmp_path / "snaps").iterdir()) == [
        "snapshot-20250301T130000Z-rev2.snap", "snapshot-20250301T140000Z-rev3.snap"]
    assert snapshots.status()["last_snapshot"] == taken.to_json() == {
        "time": "2025-03-01T14:00:00Z", "revision": 3, "file": str(taken.path)}
    _, _, entries = read_snapshot(taken.path.read_bytes())
    assert len(entries) == 3


async def test_a_failed_periodic_snapshot_is_reported_and_retried(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    snapshots = PeriodicSnapshots(LocalStore(), SnapshotSchedule(blocker, 0.05, 2), clock=lambda: 3600.0 * 5)
    snapshots.started = 0.0  # a slot has passed since the start: due at once
    task = asyncio.create_task(snapshots.run())
    try:
        await eventually("the failure to be reported", lambda: snapshots.status().get("snapshot_error"), timeout=10)
    finally:
        task.cancel()
    assert "FileExistsError" in str(snapshots.status()["snapshot_error"])
