"""Periodic snapshots (when one is due, which are kept), their `up` flags, and what `minik8s status` shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from minik8s.apiserver.snapshot_schedule import beyond_retention, is_due, parse_interval, snapshots_in
from minik8s.apiserver.snapshots import snapshot_file_name
from minik8s.cli.cluster import ComponentStatus, UpOptions, with_snapshot_settings
from minik8s.cli.cluster_config import ClusterConfig, ClusterHome, plan_config
from minik8s.cli.components import APISERVER, apiserver_spec
from minik8s.cli.probes import Health
from minik8s.cli.store_status import StoreStatus, human_bytes, store_status, store_table

HOUR = 3600.0
NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "seconds"), [("12h", 12 * HOUR), ("1h30m", 5400.0), ("90", 90.0), ("0", 0.0),
                                               ("500ms", 0.5)])
def test_intervals_read_as_go_durations(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1d", "-5", "5 m"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_snapshots_are_due_at_multiples_of_the_interval_in_utc() -> None:
    started = NOON - 5 * HOUR  # 07:00
    assert not is_due(NOON - 1, interval=12 * HOUR, last_taken=None, started=started)
    assert is_due(NOON + 1, interval=12 * HOUR, last_taken=None, started=started)  # the 12:00 slot
    assert not is_due(NOON + 60, interval=12 * HOUR, last_taken=NOON, started=started)  # taken for this slot
    assert is_due(NOON + 60, interval=12 * HOUR, last_taken=NOON - 30 * HOUR, started=NOON)  # a missed slot


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    taken = [datetime(2025, 3, day, 12, tzinfo=UTC) for day in (3, 1, 2)]
    for moment, revision in zip(taken, (30, 10, 20), strict=True):
        (tmp_path / snapshot_file_name(moment, revision)).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not ours")
    found = snapshots_in(tmp_path)
    assert [file.revision for file in found] == [10, 20, 30]
    assert found[-1].to_json() == {"time": "2025-03-03T12:00:00Z", "revision": 30,
                                   "file": str(tmp_path / "snapshot-20250303T120000Z-rev30.snap")}
    assert [file.revision for file in beyond_retention(found, 2)] == [10]
    assert beyond_retention(found, 5) == []


def test_up_records_snapshot_settings_and_hands_them_to_every_apiserver(tmp_path: Path) -> None:
    config = plan_config(replicas=1, nodes=0, port_base=None, is_free=lambda _: True)
    assert (config.snapshot_interval, config.snapshot_retention) == (12 * HOUR, 5)  # k3s's defaults
    changed = with_snapshot_settings(config, UpOptions(snapshot_interval=6 * HOUR))
    assert (changed.snapshot_interval, changed.snapshot_retention) == (6 * HOUR, 5)
    assert ClusterConfig.from_json(changed.to_json()) == changed
    older = changed.to_json()
    del older["snapshots"]
    assert ClusterConfig.from_json(older).snapshot_interval == 12 * HOUR
    home = ClusterHome(tmp_path)
    argv = apiserver_spec(changed.apiservers[0], config=changed, home=home).argv
    at = argv.index("--snapshot-dir")
    assert argv[at:at + 6] == ("--snapshot-dir", str(tmp_path / "snapshots"), "--snapshot-interval", "21600s",
                               "--snapshot-retention", "5")
    off = with_snapshot_settings(config, UpOptions(snapshot_interval=0))
    assert "--snapshot-dir" not in apiserver_spec(off.apiservers[0], config=off, home=home).argv


def test_store_status_prefers_what_the_replica_reports(tmp_path: Path) -> None:
    (tmp_path / "raft.wal").write_bytes(b"x" * 2048)
    snapshot = {"time": "2025-03-01T12:00:00Z", "revision": 40, "file": "/h/snapshots/s.snap"}
    reported = store_status({"revision": 42, "cluster_id": "c1", "journal_bytes": 4096, "last_snapshot": snapshot},
                            tmp_path)
    assert reported == StoreStatus(42, "c1", 4096, snapshot)
    assert store_status({}, tmp_path) == StoreStatus(None, None, 2048, None)  # not running: the file's size
    assert store_status({}, tmp_path / "absent") == StoreStatus(None, None, None, None)
    assert store_table([("apiserver-1", reported), ("apiserver-2", StoreStatus(None, None, None, None))]) == [
        "REPLICA      REVISION  JOURNAL  LAST SNAPSHOT",
        "apiserver-1  42        4.0 KiB  2025-03-01T12:00:00Z revision 40 /h/snapshots/s.snap",
        "apiserver-2  -         -        none",
        "cluster id: c1",
    ]
    assert (human_bytes(10), human_bytes(3 * 1024 * 1024)) == ("10 B", "3.0 MiB")


def test_status_json_of_an_apiserver_has_its_store_fields(tmp_path: Path) -> None:
    config = plan_config(replicas=1, nodes=0, port_base=None, is_free=lambda _: True)
    spec = apiserver_spec(config.apiservers[0], config=config, home=ClusterHome(tmp_path))
    assert spec.kind == APISERVER
    entry = ComponentStatus(spec, 123, Health(healthy=True, raft_role="leader"), StoreStatus(7, "c", 99, None))
    assert entry.to_json() | {"url": None} == {"name": "apiserver-1", "kind": APISERVER, "pid": 123, "url": None,
                                               "healthy": True, "raft_role": "leader", "revision": 7,
                                               "cluster_id": "c", "journal_bytes": 99, "last_snapshot": None}
