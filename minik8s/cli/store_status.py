"""What `minik8s status` shows of each apiserver's store: revision, journal size, last snapshot, cluster id.

The replica tells most of it in `/debug/raft` (its revision, the cluster id, the newest periodic snapshot
in its folder and, where the replica reports it, `journal_bytes`). A replica that does not report its
journal's size — or is not running — is measured here: `status` runs beside the data directories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minik8s.cli.tabwriter import DESCRIBE_PADDING, align

JOURNAL_FILE = "raft.wal"  # the replica's journal (store/raft_durability.py)
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


@dataclass(frozen=True)
class StoreStatus:
    revision: int | None
    cluster_id: str | None
    journal_bytes: int | None
    last_snapshot: Mapping[str, Any] | None  # {"time", "revision", "file"}

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "cluster_id": self.cluster_id, "journal_bytes": self.journal_bytes,
                "last_snapshot": dict(self.last_snapshot) if self.last_snapshot else None}


def store_status(raft: Mapping[str, Any], data_dir: Path) -> StoreStatus:
    """From a replica's `/debug/raft` (empty when it does not answer) and its data directory."""
    journal = raft.get("journal_bytes")
    snapshot = raft.get("last_snapshot")
    return StoreStatus(revision=_int_or_none(raft.get("revision")),
                       cluster_id=str(raft["cluster_id"]) if raft.get("cluster_id") else None,
                       journal_bytes=journal if isinstance(journal, int) else journal_file_size(data_dir),
                       last_snapshot=snapshot if isinstance(snapshot, dict) else None)


def journal_file_size(data_dir: Path) -> int | None:
    try:
        return (data_dir / JOURNAL_FILE).stat().st_size
    except OSError:
        return None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def human_bytes(count: int) -> str:
    size, unit = float(count), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{count} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def store_table(rows: Sequence[tuple[str, StoreStatus]]) -> list[str]:
    """One line per replica, and the cluster id(s) they report."""
    lines = ["REPLICA\tREVISION\tJOURNAL\tLAST SNAPSHOT"]
    for name, status in rows:
        snapshot = status.last_snapshot
        shown = (f"{snapshot.get('time')} revision {snapshot.get('revision')} {snapshot.get('file')}"
                 if snapshot else "none")
        lines.append("\t".join([name, "-" if status.revision is None else str(status.revision),
                                "-" if status.journal_bytes is None else human_bytes(status.journal_bytes), shown]))
    ids = sorted({status.cluster_id for _, status in rows if status.cluster_id})
    table = align("\n".join(lines), min_width=0, padding=DESCRIBE_PADDING).splitlines()
    return [*table, f"cluster id: {', '.join(ids) if ids else 'unknown (no replica answers)'}"]
