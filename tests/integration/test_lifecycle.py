"""`minik8s up | status | down` as a user runs them: real processes in a temporary home.

Each call runs the CLI as a subprocess (the console script when installed, else
`python -m minik8s.cli.main`), so these tests see exactly what a user sees: exit codes,
the one-line errors, and processes that outlive the command that started them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from minik8s.api.kinds import CONFIG_MAPS
from minik8s.client.api import ApiClient
from tests.support.waiting import wait_for

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("minik8s")
MINIK8S = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "minik8s.cli.main"]
ENVIRONMENT = {key: value for key, value in os.environ.items() if key not in ("MINIK8S_HOME", "KUBECONFIG")}
ENVIRONMENT["PYTHONPATH"] = str(REPO)
STATUS_KEYS = {"name", "kind", "pid", "url", "healthy", "raft_role", "revision", "cluster_id", "journal_bytes",
               "last_snapshot"}

pytestmark = pytest.mark.timeout(240)


def minik8s(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MINIK8S, *args, "--home", str(home)], capture_output=True, text=True,
                          timeout=timeout, env=ENVIRONMENT, cwd=REPO, check=False)


def succeed(home: Path, *args: str) -> str:
    result = minik8s(home, *args)
    assert result.returncode == 0, f"minik8s {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def components(home: Path) -> dict[str, dict[str, Any]]:
    document = json.loads(succeed(home, "status", "-o", "json"))
    return {component["name"]: component for component in document["components"] if component["kind"] == "apiserver"}


def healthy_with_one_leader(home: Path) -> dict[str, dict[str, Any]] | None:
    status = components(home)
    roles = [c["raft_role"] for c in status.values()]
    all_healthy = all(c["healthy"] and isinstance(c["pid"], int) for c in status.values())
    return status if all_healthy and roles.count("leader") == 1 else None


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base(replicas: int) -> int:
    """A base whose HTTP ports (base+i) and Raft ports (base+100+i) are all free now."""
    for _ in range(100):
        base = random.randrange(20_000, 30_000)
        ports = [*range(base, base + replicas), *range(base + 100, base + 100 + replicas)]
        if all(port_is_free(port) for port in ports):
            return base
    raise AssertionError("no free port range")


def processes_mentioning(home: Path) -> list[int]:
    """Pids of live processes whose command line names this home (only ours do)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if str(home) in arguments:
            pids.append(int(entry.name))
    return pids


def clean_up(home: Path) -> None:
    """Best-effort `down`, then SIGKILL whatever this test's home still runs."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        minik8s(home, "down", "--timeout", "5", timeout=30)
    for pid in processes_mentioning(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 3-replica cluster shared by the tests of this module; each leaves it up and healthy."""
    home = tmp_path_factory.mktemp("lifecycle") / "home"
    try:
        succeed(home, "up", "--replicas", "3", "--nodes", "0", "--port-base", str(free_port_base(3)))
        yield home
    finally:
        clean_up(home)


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    """A home for a one-replica cluster of its own, cleaned up even when the test fails."""
    home = tmp_path / "home"
    try:
        yield home
    finally:
        clean_up(home)


async def create_configmap(kubeconfig: Path, name: str, data: dict[str, str]) -> None:
    async with ApiClient.from_kubeconfig(str(kubeconfig)) as client:
        await client.create(CONFIG_MAPS, {"metadata": {"name": name}, "data": data}, namespace="default")


async def read_configmap(kubeconfig: Path, name: str) -> dict[str, Any]:
    async with ApiClient.from_kubeconfig(str(kubeconfig)) as client:
        return await client.get(CONFIG_MAPS, name, namespace="default")


def test_up_starts_three_healthy_replicas_with_exactly_one_leader(cluster: Path) -> None:
    status = wait_for("3 healthy replicas, 1 leader", lambda: healthy_with_one_leader(cluster), timeout=15)
    assert sorted(status) == ["apiserver-1", "apiserver-2", "apiserver-3"]
    for component in status.values():
        assert set(component) == STATUS_KEYS
        assert component["kind"] == "apiserver"
        assert component["url"].startswith("https://127.0.0.1:")
        assert component["raft_role"] in ("leader", "follower")
        assert component["revision"] > 0 and component["journal_bytes"] > 0
    assert len({component["cluster_id"] for component in status.values()} - {None, ""}) == 1
    assert (cluster / "secret").stat().st_mode & 0o777 == 0o600
    kubeconfig = (cluster / "kubeconfig").read_text()
    assert all(component["url"] in kubeconfig for component in status.values())


def test_up_on_a_running_cluster_changes_nothing(cluster: Path) -> None:
    pids = {name: c["pid"] for name, c in components(cluster).items()}
    layout = (cluster / "cluster.json").read_bytes()
    output = succeed(cluster, "up")
    assert "started" not in output
    assert {name: c["pid"] for name, c in components(cluster).items()} == pids
    assert (cluster / "cluster.json").read_bytes() == layout


def test_killed_replica_is_unhealthy_until_up_restarts_only_it(cluster: Path) -> None:
    before = wait_for("a healthy cluster", lambda: healthy_with_one_leader(cluster), timeout=15)
    victim = next(name for name, c in before.items() if c["raft_role"] == "leader")
    os.kill(before[victim]["pid"], signal.SIGKILL)

    def victim_gone() -> dict[str, dict[str, Any]] | None:
        status = components(cluster)
        return status if status[victim]["pid"] is None else None

    killed = wait_for(f"{victim} to show as not running", victim_gone, timeout=10)
    assert killed[victim]["healthy"] is False
    assert killed[victim]["raft_role"] is None

    succeed(cluster, "up")
    after = wait_for("the cluster to heal", lambda: healthy_with_one_leader(cluster), timeout=15)
    assert after[victim]["pid"] != before[victim]["pid"]
    for name in before.keys() - {victim}:
        assert after[name]["pid"] == before[name]["pid"], f"{name} was restarted"


def test_up_with_another_replica_count_is_refused_in_one_line(cluster: Path) -> None:
    pids = {name: c["pid"] for name, c in components(cluster).items()}
    result = minik8s(cluster, "up", "--replicas", "1")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "--replicas 3" in result.stderr and "Traceback" not in result.stderr
    assert {name: c["pid"] for name, c in components(cluster).items()} == pids


def test_objects_survive_down_and_up(cluster: Path) -> None:
    kubeconfig = cluster / "kubeconfig"
    asyncio.run(create_configmap(kubeconfig, "survivor", {"answer": "42"}))

    succeed(cluster, "down")
    assert all(c["pid"] is None and c["healthy"] is False for c in components(cluster).values())
    assert processes_mentioning(cluster) == []

    succeed(cluster, "up")
    assert asyncio.run(read_configmap(kubeconfig, "survivor"))["data"] == {"answer": "42"}


def test_down_purge_leaves_no_process_and_no_files(small_home: Path) -> None:
    succeed(small_home, "up", "--replicas", "1", "--nodes", "0", "--port-base", str(free_port_base(1)))
    every = json.loads(succeed(small_home, "status", "-o", "json"))["components"]
    assert sorted(processes_mentioning(small_home)) == sorted(component["pid"] for component in every)

    succeed(small_home, "down", "--purge")
    assert processes_mentioning(small_home) == []
    assert not small_home.exists() or list(small_home.iterdir()) == []


def test_replica_dying_while_starting_shows_its_log_and_fails(small_home: Path) -> None:
    succeed(small_home, "up", "--replicas", "1", "--nodes", "0", "--port-base", str(free_port_base(1)))
    http_port = components(small_home)["apiserver-1"]["url"].rsplit(":", 1)[1]
    succeed(small_home, "down")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", int(http_port)))
        squatter.listen()
        result = minik8s(small_home, "up")
    assert result.returncode == 1
    assert "apiserver-1 exited" in result.stderr.splitlines()[-1]
    assert "address already in use" in result.stderr  # the tail of the replica's log
    assert components(small_home)["apiserver-1"]["pid"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["up", "--replicas", "2"], "1, 3 or 5"),
    (["up", "--nodes", "-1"], "--nodes"),
    (["status"], "no cluster"),
    (["status", "-o", "yaml"], "output format"),
    (["up", "--no-such-flag"], "--no-such-flag"),
    (["up", "--replicas", "three"], "--replicas"),
])
def test_bad_input_is_one_line_on_stderr(tmp_path: Path, args: list[str], message: str) -> None:
    home = tmp_path / "home"
    result = minik8s(home, *args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "unexpected error" not in result.stderr
    assert not home.exists()
