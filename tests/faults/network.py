"""Network partitions between replicas on one machine: iptables rules on loopback, by address.

Each replica has its own loopback address (127.0.0.11, .12, ...) for its HTTP and Raft listeners and
its outgoing Raft connections (raft_transport.py binds them to it). Dropping packets between one
replica's address and the others' cuts it off from them whichever side opened a connection, while the
test's clients (on 127.0.0.1) still reach every replica: a cut-off replica keeps being asked, which is
what must not yield stale reads or acknowledged writes. Blocking a Raft port alone is not enough: a
replica keeps the connections it opened itself, from ephemeral ports.

All rules live in a chain of the suite's own, `MINIK8S-FAULTS` in the filter table, jumped to from
INPUT and OUTPUT; `remove` takes the jumps and the chain away again. Nothing else is touched, and
every call waits for the xtables lock (`-w`).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence

CHAIN = "MINIK8S-FAULTS"
ATTEMPTS = 3
HOOKS = ("INPUT", "OUTPUT")


def _iptables(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run iptables; with `check`, a failure is retried (other programs change nf_tables at the same time)
    and then raised with what iptables said."""
    for attempt in range(ATTEMPTS):
        done = subprocess.run(["iptables", "-w", *arguments], capture_output=True, text=True, timeout=30)
        if done.returncode == 0 or not check:
            return done
        if attempt < ATTEMPTS - 1:
            time.sleep(0.2)  # a concurrent ruleset change: try again
    raise RuntimeError(f"iptables {' '.join(arguments)} failed: {done.stderr.strip()}")


def available() -> str | None:
    """Why partitions cannot be made here (None when they can)."""
    if shutil.which("iptables") is None:
        return "iptables is not installed"
    probe = _iptables("-S", "OUTPUT", check=False)
    return None if probe.returncode == 0 else f"iptables cannot be used: {probe.stderr.strip()}"


def partition_rules(isolated: str, others: Sequence[str]) -> list[list[str]]:
    """The rules (arguments after `-A CHAIN`) that drop all traffic between `isolated` and each of `others`."""
    rules = []
    for other in others:
        rules.append(["-s", isolated, "-d", other, "-j", "DROP"])
        rules.append(["-s", other, "-d", isolated, "-j", "DROP"])
    return rules


class Firewall:
    """The suite's chain: installed on first use, emptied by `heal`, removed by `remove`."""

    def __init__(self) -> None:
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        if _iptables("-S", CHAIN, check=False).returncode != 0:
            _iptables("-N", CHAIN)
        _iptables("-F", CHAIN)  # left over by a run that was killed: start clean
        for hook in HOOKS:
            if _iptables("-C", hook, "-j", CHAIN, check=False).returncode != 0:
                _iptables("-I", hook, "1", "-j", CHAIN)
        self.installed = True

    def isolate(self, isolated: str, others: Sequence[str]) -> None:
        self.install()
        for rule in partition_rules(isolated, others):
            _iptables("-A", CHAIN, *rule)

    def heal(self) -> None:
        if self.installed:
            _iptables("-F", CHAIN)

    def remove(self) -> None:
        """Take the jumps and the chain away (also what a killed earlier run left behind)."""
        for hook in HOOKS:
            while _iptables("-C", hook, "-j", CHAIN, check=False).returncode == 0:
                _iptables("-D", hook, "-j", CHAIN)
        if _iptables("-S", CHAIN, check=False).returncode == 0:
            _iptables("-F", CHAIN)
            _iptables("-X", CHAIN)
        self.installed = False
