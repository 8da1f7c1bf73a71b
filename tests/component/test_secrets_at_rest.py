"""Secrets encrypted at rest: an apiserver over a real Raft replica, its journal and state read as an
attacker with a copy of the data folder would (issue #13: `raft.journal` held Secrets in plain text).

The ConfigMap written beside each Secret is the control: it is not encrypted, so the same search
finds its value — the search would see a Secret's value were it there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from minik8s.apiserver.encryption_config import load_encryption_config
from minik8s.store.raft import RaftSettings, RaftStore
from tests.support.encryption import aesgcm, write_config
from tests.support.ports import free_port
from tests.support.serving import apiserver_serving

SECRETS = "/api/v1/namespaces/default/secrets"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PASSWORD = "hunter2-in-the-clear"
TOKEN = "string-data-token-42"
VISIBLE = "configmap-value-in-the-clear"


@contextlib.asynccontextmanager
async def apiserver(data_dir: Path, config: Path | None) -> AsyncIterator[tuple[httpx.AsyncClient, RaftStore]]:
    """An apiserver over a lone Raft replica in `data_dir` (reopened with what an earlier one left there)."""
    settings = RaftSettings(self_address=f"127.0.0.1:{free_port()}", peers=(), data_dir=data_dir, password="s")
    store = (await RaftStore.open(settings, transformers=load_encryption_config(config)) if config
             else await RaftStore.open(settings))
    try:
        async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client, store
    finally:
        await store.close()


def at_rest(data_dir: Path) -> bytes:
    """Everything the replica wrote to disk (its journal, the journal's metadata)."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.iterdir()) if path.is_file())


def spellings(text: str) -> list[bytes]:
    return [text.encode(), base64.b64encode(text.encode())]


def stored_value(store: RaftStore, name: str) -> bytes:
    entry = store.core.state.get(f"/registry/secrets/default/{name}")
    assert entry is not None
    return entry.value


async def create_secret(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = {"metadata": {"name": name}, "data": {"password": base64.b64encode(PASSWORD.encode()).decode()},
            "stringData": {"token": TOKEN}}
    response = await client.post(SECRETS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_secret_never_reaches_the_journal_or_a_dump_in_the_clear(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with apiserver(data_dir, write_config(tmp_path / "encryption.yaml", aesgcm("key1"), {"identity": {}})) \
            as (client, store):
        before = (await client.get(SECRETS)).json()["metadata"]["resourceVersion"]
        await create_secret(client, "db")
        assert (await client.post(CONFIGMAPS, json={"metadata": {"name": "c"}, "data": {"v": VISIBLE}})).is_success
        read = (await client.get(f"{SECRETS}/db")).json()
        assert base64.b64decode(read["data"]["password"]).decode() == PASSWORD
        assert base64.b64decode(read["data"]["token"]).decode() == TOKEN
        watched = await client.get(SECRETS, params={"watch": "true", "resourceVersion": before, "timeoutSeconds": 1})
        events = [json.loads(line) for line in watched.text.splitlines() if line]
        assert [(e["type"], e["object"]["data"]["token"]) for e in events] == [("ADDED", read["data"]["token"])]
        assert stored_value(store, "db").startswith(b"k8s:enc:aesgcm:v1:key1:")
        # A dump (written after 50,000 entries or 10 minutes) and a snapshot sent to a lagging peer are
        # this state pickled: what it holds is what they would hold.
        snapshot = pickle.dumps(store.core.state)
    disk = at_rest(data_dir) + snapshot
    assert VISIBLE.encode() in disk
    for secret in (*spellings(PASSWORD), *spellings(TOKEN)):
        assert secret not in disk, f"{secret!r} is in the data folder"


async def test_without_an_encryption_config_the_journal_holds_the_secret_as_before(tmp_path: Path) -> None:
    """The finding itself, as it stands without `--encryption-provider-config`."""
    data_dir = tmp_path / "data"
    async with apiserver(data_dir, None) as (client, _):
        await create_secret(client, "db")
    assert base64.b64encode(PASSWORD.encode()) in at_rest(data_dir)


async def test_keys_rotate_by_adding_a_key_first_and_rewriting_the_secrets(tmp_path: Path) -> None:
    """Kubernetes' documented rotation: new key first (old one still listed), rewrite every Secret
    (`kubectl get secrets -A -o json | kubectl replace -f -`), then drop the old key."""
    data_dir, config = tmp_path / "data", tmp_path / "encryption.yaml"
    async with apiserver(data_dir, None) as (client, _):
        await create_secret(client, "from-before-encryption")
    async with apiserver(data_dir, write_config(config, aesgcm("key1"), {"identity": {}})) as (client, store):
        await create_secret(client, "under-key1")
        assert not stored_value(store, "from-before-encryption").startswith(b"k8s:enc:")
        assert stored_value(store, "under-key1").startswith(b"k8s:enc:aesgcm:v1:key1:")
    async with apiserver(data_dir, write_config(config, aesgcm("key2", "key1"), {"identity": {}})) as (client, store):
        secrets = (await client.get(SECRETS)).json()["items"]
        assert {s["metadata"]["name"] for s in secrets} == {"from-before-encryption", "under-key1"}
        for secret in secrets:  # what `kubectl replace` sends back
            secret.update(kind="Secret", apiVersion="v1")
            response = await client.put(f"{SECRETS}/{secret['metadata']['name']}", json=secret)
            assert response.status_code == 200, response.text
        for name in ("from-before-encryption", "under-key1"):
            assert stored_value(store, name).startswith(b"k8s:enc:aesgcm:v1:key2:")
    async with apiserver(data_dir, write_config(config, aesgcm("key2"))) as (client, _):
        for name in ("from-before-encryption", "under-key1"):
            read = (await client.get(f"{SECRETS}/{name}")).json()
            assert base64.b64decode(read["data"]["token"]).decode() == TOKEN
    async with apiserver(data_dir, write_config(config, aesgcm("key1"))) as (client, _):
        lost = await client.get(f"{SECRETS}/under-key1")
        assert lost.status_code == 500
        assert lost.json()["reason"] == "InternalError" and "no matching prefix found" in lost.json()["message"]
