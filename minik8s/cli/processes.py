"""Starting, finding and stopping the cluster's background processes.

The CLI exits right after `up`, so the processes it starts must outlive it: each runs in
its own session (no terminal signal reaches it), writes to its own log file, and leaves
its pid in a pid file. A pid file alone can lie (the process died and the pid was reused),
so a pid counts only while the process's command line still carries the component's
markers (its module, its name, its data directory).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import minik8s

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05
_PROC = Path("/proc")


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in a pid file, or None when absent or unreadable."""
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = pid_file.with_name(f".{pid_file.name}.tmp")
    temporary.write_text(f"{pid}\n", encoding="ascii")
    os.replace(temporary, pid_file)


def command_line(pid: int) -> list[str] | None:
    """The arguments of a live process, None when there is no such process (or a zombie)."""
    if not _PROC.is_dir():
        return _command_line_without_proc(pid)
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    arguments = [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0") if part]
    return arguments or None  # a zombie has an empty command line


def is_component_process(pid: int, markers: Sequence[str]) -> bool:
    """True while `pid` is alive and its command line holds every marker as an argument."""
    arguments = command_line(pid)
    if arguments is None:
        return False
    if not arguments:  # no /proc (not Linux): a live pid is the best evidence there is
        return True
    return all(marker in arguments for marker in markers)


def running_pid(pid_file: Path, markers: Sequence[str]) -> int | None:
    """The pid of the component if its pid file names a live process that is really it."""
    pid = read_pid(pid_file)
    if pid is None or not is_component_process(pid, markers):
        return None
    return pid


def spawn(argv: Sequence[str], *, log_file: Path, pid_file: Path) -> subprocess.Popen[bytes]:
    """Start a detached process logging to `log_file` (appended), and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"--- {stamp} minik8s up: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=child_environment(os.environ),
        )
    write_pid(pid_file, process.pid)
    logger.info("started %s as pid %d", argv, process.pid)
    return process


def child_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The environment for a component: this very minik8s importable, output unbuffered.

    The component must run the code of the CLI that started it, even when the package is
    not installed (e.g. run from a checkout), so its folder goes first on PYTHONPATH.
    """
    package_root = str(Path(minik8s.__file__).resolve().parent.parent)
    environment = dict(parent)
    paths = [package_root, *[p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p]]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def stop(targets: Mapping[int, Sequence[str]], *, grace_seconds: float, kill_seconds: float = 5.0) -> list[int]:
    """SIGTERM every pid (each with its markers), wait, SIGKILL the stragglers.

    Returns the pids still alive after SIGKILL (normally none).
    """
    for pid in targets:
        _signal(pid, signal.SIGTERM)
    remaining = wait_until_gone(targets, timeout=grace_seconds)
    if not remaining:
        return []
    logger.warning("pids %s ignored SIGTERM for %.0f s: killing them", sorted(remaining), grace_seconds)
    for pid in remaining:
        _signal(pid, signal.SIGKILL)
    return sorted(wait_until_gone({pid: targets[pid] for pid in remaining}, timeout=kill_seconds))


def wait_until_gone(targets: Mapping[int, Sequence[str]], *, timeout: float) -> set[int]:
    """Poll until none of the pids is its component any more; the ones left at the deadline."""
    deadline = time.monotonic() + timeout
    alive = {pid for pid, markers in targets.items() if is_component_process(pid, markers)}
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        alive = {pid for pid in alive if is_component_process(pid, targets[pid])}
    return alive


def log_tail(log_file: Path, *, lines: int = 20) -> list[str]:
    """The last lines of a log file (empty when there is none)."""
    try:
        with log_file.open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - 64 * 1024))
            text = stream.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:]


def remove_files(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _signal(pid: int, signal_number: signal.Signals) -> None:
    try:
        os.kill(pid, signal_number)
    except ProcessLookupError:
        pass
    except PermissionError as error:
        logger.warning("cannot signal pid %d: %s", pid, error)


def _command_line_without_proc(pid: int) -> list[str] | None:
    """Where /proc is missing: alive or not, arguments unknown (an empty list)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return []
    return []
