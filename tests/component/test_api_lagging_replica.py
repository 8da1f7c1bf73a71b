"""A replica whose copy lags behind the cluster answers as if it were up to date (found by tests/faults/).

A follower applies commits a moment after the leader: a client that wrote through one replica and then
asks another must not get an answer judged on the older copy. These tests freeze a replica's reads at
an older state until its next read barrier, the way a lagging follower looks to its apiserver.
"""

from __future__ import annotations

import httpx

from minik8s.store.base import LocalStore
from minik8s.store.state import Entry
from tests.support import builders
from tests.support.serving import apiserver_serving

CM = "/api/v1/namespaces/default/configmaps"


class LaggingReplica(LocalStore):
    """Reads show the state as of `freeze()` until a read barrier catches the replica up."""

    frozen: dict[str, Entry] | None = None

    def freeze(self) -> None:
        self.frozen = dict(self.core.list("/")[1])

    def get(self, key: str) -> Entry | None:
        return self.frozen.get(key) if self.frozen is not None else super().get(key)

    async def barrier(self) -> None:
        self.frozen = None


async def test_a_delete_precondition_is_judged_on_the_newest_version_not_a_lagging_copy() -> None:
    store = LaggingReplica()
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url) as api:
        created = (await api.post(CM, json=builders.config_map("lag", v="1"))).json()
        store.freeze()
        updated = await api.put(f"{CM}/lag", json={**created, "data": {"v": "2"}})
        assert updated.status_code == 200, updated.text
        newest = updated.json()["metadata"]["resourceVersion"]
        deleted = await api.request("DELETE", f"{CM}/lag", json={"preconditions": {"resourceVersion": newest}})
        assert deleted.status_code == 200, deleted.text
        assert (await api.get(f"{CM}/lag")).status_code == 404
