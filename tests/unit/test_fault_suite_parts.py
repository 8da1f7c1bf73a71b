"""The fault suite's partition rules and table, without a cluster."""

from __future__ import annotations

from tests.faults.linearizability import Anomaly
from tests.faults.network import partition_rules
from tests.faults.report import table
from tests.faults.runner import RunResult


def test_a_partition_drops_both_directions_between_the_replica_and_each_other_one() -> None:
    rules = partition_rules("127.0.0.11", ["127.0.0.12", "127.0.0.13"])
    assert sorted(rules) == sorted([
        ["-s", "127.0.0.11", "-d", "127.0.0.12", "-j", "DROP"], ["-s", "127.0.0.12", "-d", "127.0.0.11", "-j", "DROP"],
        ["-s", "127.0.0.11", "-d", "127.0.0.13", "-j", "DROP"], ["-s", "127.0.0.13", "-d", "127.0.0.11", "-j", "DROP"],
    ])


def test_the_table_has_a_row_per_run_with_its_anomalies_and_recovery_and_notes_below() -> None:
    clean = RunResult("kill-leader", faults=["SIGKILL leader"] * 2, operations=100, unknown=3,
                      recoveries=[0.5, 1.5, 1.0], first_writes=[0.4])
    broken = RunResult("disk-full", faults=["disk full"], operations=50, anomalies=[Anomaly("watch gap", "k1", "")],
                       notes=["apiserver-1 died (killed by SIGBUS); started again"])
    lines = table([clean, broken]).splitlines()
    assert lines[0].split()[:2] == ["scenario", "faults"]
    assert lines[2].split() == ["kill-leader", "2", "(SIGKILL", "leader)", "100", "3", "0", "1.00", "/", "1.50",
                                "0.40", "/", "0.40", "0"]
    assert lines[3].split()[:6] == ["disk-full", "1", "(disk", "full)", "50", "0"]
    assert lines[3].split()[6] == "1"
    assert lines[4] == "disk-full: apiserver-1 died (killed by SIGBUS); started again"
