"""`GET /snapshot`: the whole store at one revision, streamed as a snapshot file (`minik8s snapshot save`).

etcd serves its snapshot on the maintenance API, which only its root may call; here it is a non-resource
path of the apiserver, so RBAC decides who may take one exactly as it decides `/metrics`: rules with
`nonResourceURLs: ["/snapshot"]` (or `*`, as cluster-admin's, bound to `system:masters`) and verb `get`.
Under AlwaysAllow everyone may — as everyone may read every Secret there.

The snapshot is taken after a read barrier (a replicated no-op), so it holds every write acknowledged before
the request, on whichever replica answers. The state is copied by reference under the replica's lock (one
list of immutable entries; no value is copied) and encoded while it is sent, from a worker thread, so a
large store is never held twice in memory and the event loop keeps serving. Values sealed at rest
(store/encryption.py) stay sealed: restoring the file needs the cluster's EncryptionConfiguration.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from minik8s.api.snapshot_format import SnapshotEntry, SnapshotHeader, encode_snapshot
from minik8s.apiserver import errors
from minik8s.store.base import Store, StoreBusy, StoreSnapshot, StoreUnavailable

SNAPSHOT_MEDIA_TYPE = "application/octet-stream"
REVISION_HEADER = "X-Minik8s-Snapshot-Revision"


def snapshot_file_name(taken: datetime, revision: int) -> str:
    """`snapshot-20250101T120000Z-rev1234.snap`: names sort by time, and say which revision they hold."""
    return f"snapshot-{taken.astimezone(UTC):%Y%m%dT%H%M%SZ}-rev{revision}.snap"


def snapshot_chunks(view: StoreSnapshot, *, created: float) -> Iterator[bytes]:
    """The snapshot file of `view`, keys in order (the same state gives the same entries), as chunks."""
    header = SnapshotHeader(view.cluster_id, view.revision, len(view.items), int(created * 1000))
    return encode_snapshot(header, _entries(view))


def _entries(view: StoreSnapshot) -> Iterator[SnapshotEntry]:
    for key, entry in sorted(view.items, key=lambda item: item[0]):  # sorted lazily: in the sending thread
        yield SnapshotEntry(key, entry.value, entry.create_revision, entry.mod_revision)


async def consistent_view(store: Store) -> StoreSnapshot:
    """The replica's state once it has applied everything acknowledged before the call."""
    try:
        await store.barrier()
    except StoreUnavailable as error:
        raise errors.unavailable(str(error), error.retry_after) from None
    except StoreBusy as error:
        raise errors.too_many_requests(str(error)) from None
    return store.snapshot()


def snapshot_endpoint(store: Store, *, clock: Callable[[], float] = time.time
                      ) -> Callable[[Request], Awaitable[Response]]:
    async def snapshot(_: Request) -> Response:
        view = await consistent_view(store)
        created = clock()
        name = snapshot_file_name(datetime.fromtimestamp(created, UTC), view.revision)
        # A sync iterator: Starlette runs each step in its thread pool, so encoding never holds the loop.
        return StreamingResponse(snapshot_chunks(view, created=created), media_type=SNAPSHOT_MEDIA_TYPE,
                                 headers={REVISION_HEADER: str(view.revision),
                                          "Content-Disposition": f'attachment; filename="{name}"'})

    return snapshot
