"""`minik8s snapshot save FILE`: a running cluster's store, as of one revision, into a file whole or absent.

The apiserver streams the snapshot (`GET /snapshot`, after a read barrier: every write acknowledged before
the request is in it); it goes straight into a temporary file beside FILE, which is synced, read back whole
(format and sha256) and only then renamed to FILE. An interrupted download, a refusal (403 for users
RBAC does not let take one) or a damaged stream leaves no FILE and says why in one line.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from minik8s.api.snapshot_format import SNAPSHOT_PATH, PendingFile, SnapshotError, SnapshotSummary
from minik8s.cli.errors import CliError
from minik8s.cli.kubeconfig_context import Connection, Session, run_verb

DOWNLOAD_READ_TIMEOUT = 120.0  # seconds the stream may pause (a large store takes its barrier, then flows)


def save_snapshot(connection: Connection, target: Path) -> SnapshotSummary:
    """Download the snapshot the cluster `connection` names into `target`; CliError on any failure."""
    if not target.parent.is_dir():
        raise CliError(f"cannot save the snapshot as {target}: the folder {target.parent} does not exist")
    if target.is_dir():
        raise CliError(f"cannot save the snapshot as {target}: it is a folder")
    saved: list[SnapshotSummary] = []

    async def download(session: Session) -> None:
        pending = PendingFile(target)
        try:
            async with session.client.stream("GET", SNAPSHOT_PATH, read_timeout=DOWNLOAD_READ_TIMEOUT) as response:
                async for chunk in response.aiter_bytes():
                    pending.write(chunk)
        except BaseException:
            pending.discard()
            raise
        saved.append(pending.commit())

    try:
        run_verb(connection, download)
    except SnapshotError as error:
        raise CliError(f"the snapshot the cluster sent is not intact: {error}") from None
    except httpx.HTTPError as error:
        raise CliError(f"the snapshot download broke off: {error or type(error).__name__}") from None
    except OSError as error:
        raise CliError(f"cannot write {target}: {error.strerror or error}") from None
    return saved[0]
