"""MINIK8S_FAILPOINTS, as the fault-injection suite sets it for a replica (minik8s/store/failpoints.py)."""

from __future__ import annotations

import pytest

from minik8s.store.failpoints import Failpoints, failpoints_from_environment, parse_failpoints


def test_unset_means_no_failpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINIK8S_FAILPOINTS", raising=False)
    assert failpoints_from_environment() == Failpoints(journal_sync_delay=0.0)


def test_a_slow_disk_is_a_delay_before_every_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIK8S_FAILPOINTS", " journal-sync-delay=0.2 ,")
    assert failpoints_from_environment().journal_sync_delay == 0.2


@pytest.mark.parametrize("text", ["journal-sync-dely=0.2", "journal-sync-delay", "journal-sync-delay=soon",
                                  "journal-sync-delay=-1"])
def test_a_failpoint_that_is_not_understood_stops_the_start(text: str) -> None:
    with pytest.raises(ValueError, match="MINIK8S_FAILPOINTS"):
        parse_failpoints(text)
