"""The one daemon entry: logging flags, JSON lines, exit codes, and a graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from collections.abc import Iterator

import pytest

from minik8s.daemon.entry import EXIT_FAILED, EXIT_STOPPED, StartupError, run_daemon, until_stopped
from minik8s.daemon.logs import JsonLines, add_logging_flags, library_level, project_level


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_logging_flags(parser)
    return parser.parse_args(argv)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_threshold in libraries.items():
        logging.getLogger(name).setLevel(library_threshold)


@pytest.mark.parametrize(("argv", "project", "libraries"), [
    ((), logging.INFO, logging.WARNING),
    (("--v", "2"), logging.INFO, logging.INFO),
    (("--v", "4"), logging.DEBUG, logging.INFO),
    (("--v", "6"), logging.DEBUG, logging.DEBUG),
    (("--log-level", "warning"), logging.WARNING, logging.WARNING),
    (("--v", "5", "--log-level", "error"), logging.ERROR, logging.INFO),
])
def test_verbosity_and_log_level_set_the_thresholds(argv: tuple[str, ...], project: int, libraries: int) -> None:
    args = parse(*argv)
    assert (project_level(args), library_level(args.v)) == (project, libraries)


def test_bad_logging_flags_are_usage_errors() -> None:
    for argv in (("--log-format", "xml"), ("--v", "many"), ("--log-level", "loud")):
        with pytest.raises(SystemExit) as exit_info:
            parse(*argv)
        assert exit_info.value.code == 2


def test_json_lines_carry_time_level_logger_and_message() -> None:
    record = logging.LogRecord("minik8s.node", logging.WARNING, __file__, 1, "pod %s failed", ("web",), None)
    line = json.loads(JsonLines().format(record))
    assert {key: line[key] for key in ("level", "logger", "message")} == {
        "level": "WARNING", "logger": "minik8s.node", "message": "pod web failed"}
    assert line["time"].endswith("+00:00")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_cancels_serve_which_cleans_up(signum: signal.Signals) -> None:
    cleaned = asyncio.Event()

    async def serve() -> None:
        try:
            os.kill(os.getpid(), signum)
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    await asyncio.wait_for(until_stopped(serve, name="test"), 5)
    assert cleaned.is_set()


async def test_a_cancellation_that_is_no_signal_propagates() -> None:
    async def serve() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await until_stopped(serve, name="test")


class Fatal(Exception):
    pass


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(("failure", "traceback"), [
    (StartupError("port 53 is taken"), False),
    (Fatal("disk full"), False),
    (ExceptionGroup("tasks", [Fatal("disk full"), StartupError("no tool")]), False),
    (RuntimeError("a bug"), True),
])
def test_failures_exit_1_expected_ones_in_one_line(failure: Exception, traceback: bool,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    async def serve() -> None:
        raise failure

    assert run_daemon(serve, parse("--log-format", "json"), name="demo", fatal=(Fatal,)) == EXIT_FAILED
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines and all(line["level"] == "ERROR" and line["message"].startswith("demo") for line in lines)
    assert any("exception" in line for line in lines) == traceback


@pytest.mark.usefixtures("restored_logging")
def test_serve_returning_or_signalled_exits_0() -> None:
    async def done() -> None:
        return None

    async def until_sigterm() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.Event().wait()

    assert run_daemon(done, parse(), name="demo") == EXIT_STOPPED
    assert run_daemon(until_sigterm, parse(), name="demo") == EXIT_STOPPED
