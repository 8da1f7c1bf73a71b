"""The `minik8s` command: flags in, one clear line out on every failure.

This module is only the terminal side of the CLI: it declares the commands and their
flags with typer, hands the work to `cluster.py`, and turns results into text. `run`
wraps the whole app so that a user never sees a traceback: a known failure is one line on
stderr and a non-zero exit code, and so is an unexpected one (a bug, reported as such;
`MINIK8S_DEBUG=1` shows the traceback).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Annotated

import click
import typer

from minik8s.cli import exec as exec_verb
from minik8s.cli import (
    verbs_edit,
    verbs_get,
    verbs_kubeconfig,
    verbs_node,
    verbs_read,
    verbs_rollout,
    verbs_snapshot,
    verbs_write,
)
from minik8s.cli.cluster import (
    ComponentStatus,
    Reporter,
    UpOptions,
    UpSummary,
    bring_down,
    bring_up,
    cluster_status,
)
from minik8s.cli.cluster_config import HOME_ENV, ClusterHome, resolve_home
from minik8s.cli.errors import CliError
from minik8s.cli.flags import normalize_bool_flags, parse_duration
from minik8s.cli.store_status import store_table

DEBUG_ENV = "MINIK8S_DEBUG"

def _usage_error_classes() -> tuple[type[Exception], ...]:
    """What typer raises for bad flags: click's errors, or (typer >= 0.20, which vendors click) its own."""
    classes: list[type[Exception]] = [click.ClickException]
    typer_base = getattr(typer, "TyperException", None)
    if isinstance(typer_base, type) and issubclass(typer_base, Exception):
        classes.append(typer_base)
    return tuple(classes)


_USAGE_ERRORS = _usage_error_classes()

app = typer.Typer(
    name="minik8s",
    help="A Kubernetes-shaped orchestrator on this machine: start, inspect and stop a local cluster.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

HomeOption = Annotated[
    str | None,
    typer.Option("--home", help=f"cluster folder (default: ${HOME_ENV}, else ~/.minik8s)", show_default=False),
]


@app.command()
def up(
    home: HomeOption = None,
    replicas: Annotated[int | None, typer.Option(
        "--replicas", help="apiserver replicas: 1, 3 or 5 (default: 3; fixed once the cluster exists)",
        show_default=False)] = None,
    nodes: Annotated[int | None, typer.Option(
        "--nodes", help="node agents node-1…node-N (default: 2; fixed once the cluster exists)",
        show_default=False)] = None,
    port_base: Annotated[int | None, typer.Option(
        "--port-base", help="HTTP ports P, P+1…, Raft ports P+100, P+101… "
        "(default: 6443… and 7001…, or any free port)", show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds to wait until everything serves")] = 30.0,
    node_monitor_grace_period: Annotated[str | None, typer.Option(
        "--node-monitor-grace-period", help="controller-manager: a node without heartbeat for this long is "
        "NotReady (default 40s)", show_default=False)] = None,
    not_ready_toleration: Annotated[int | None, typer.Option(
        "--default-not-ready-toleration-seconds", help="apiserver and controller-manager (default 300)",
        show_default=False)] = None,
    unreachable_toleration: Annotated[int | None, typer.Option(
        "--default-unreachable-toleration-seconds", help="apiserver and controller-manager (default 300)",
        show_default=False)] = None,
    lease_duration: Annotated[str | None, typer.Option(
        "--leader-elect-lease-duration", help="scheduler and controller-manager (default 15s)",
        show_default=False)] = None,
    renew_deadline: Annotated[str | None, typer.Option(
        "--leader-elect-renew-deadline", help="scheduler and controller-manager (default 10s)",
        show_default=False)] = None,
    retry_period: Annotated[str | None, typer.Option(
        "--leader-elect-retry-period", help="scheduler and controller-manager (default 2s)",
        show_default=False)] = None,
    daemon_arg: Annotated[list[str] | None, typer.Option(
        "--daemon-arg", help="extra flag for a kind of daemon, DAEMON=FLAG (e.g. node=--sync-frequency=2); "
        "recorded when the cluster is created", show_default=False)] = None,
    snapshot_interval: Annotated[str | None, typer.Option(
        "--snapshot-interval", help="take a snapshot of the store into HOME/snapshots at every multiple of this "
        "duration (UTC), e.g. 6h; 0: none (default 12h, as k3s; recorded)", show_default=False)] = None,
    snapshot_retention: Annotated[int | None, typer.Option(
        "--snapshot-retention", help="periodic snapshots kept, the newest (default 5; recorded)",
        show_default=False)] = None,
) -> None:
    """Start the cluster (or the parts of it that are not running) and write its kubeconfig."""
    cluster_home = resolve_home(home)
    passed = [*(daemon_arg or []), *kubernetes_flag_args({
        "--node-monitor-grace-period": node_monitor_grace_period,
        "--default-not-ready-toleration-seconds": not_ready_toleration,
        "--default-unreachable-toleration-seconds": unreachable_toleration,
        "--leader-elect-lease-duration": lease_duration,
        "--leader-elect-renew-deadline": renew_deadline,
        "--leader-elect-retry-period": retry_period,
    })]
    interval = None if snapshot_interval is None else parse_duration(snapshot_interval, flag="--snapshot-interval")
    if interval is not None and interval < 0:
        raise CliError(f"--snapshot-interval cannot be negative, not {snapshot_interval}")
    if snapshot_retention is not None and snapshot_retention < 1:
        raise CliError(f"--snapshot-retention must be at least 1, not {snapshot_retention}")
    options = UpOptions(replicas=replicas, nodes=nodes, port_base=port_base, timeout=timeout,
                        daemon_args=parse_daemon_args(passed), snapshot_interval=interval,
                        snapshot_retention=snapshot_retention)
    summary = bring_up(cluster_home, options, _terminal_reporter())
    for line in usage_lines(summary, cluster_home, explicit_home=home is not None):
        typer.echo(line)


@app.command()
def status(
    home: HomeOption = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="json, or a table when omitted",
                                               show_default=False)] = None,
) -> None:
    """Show every component (pid, URL, health, Raft role) and each apiserver's store (revision, journal size,
    last periodic snapshot) with the cluster id."""
    if output not in (None, "json"):
        raise CliError(f"unknown output format {output!r} (only `-o json`, or no -o for a table)")
    statuses = cluster_status(resolve_home(home))
    if output == "json":
        typer.echo(json.dumps({"components": [entry.to_json() for entry in statuses]}, indent=2))
        return
    for line in status_table(statuses):
        typer.echo(line)
    stores = [(entry.spec.name, entry.store) for entry in statuses if entry.store is not None]
    if stores:
        typer.echo("")
        for line in store_table(stores):
            typer.echo(line)


@app.command()
def down(
    home: HomeOption = None,
    purge: Annotated[bool, typer.Option("--purge", help="also remove data, logs, secret, kubeconfig, cluster.json")]
    = False,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds between SIGTERM and SIGKILL")] = 10.0,
) -> None:
    """Stop every component of the cluster (its objects are kept unless --purge)."""
    bring_down(resolve_home(home), purge=purge, grace_seconds=timeout, report=_terminal_reporter())


# The kubectl-like verbs live in their own modules; each adds its commands to the app.
for _verbs in (verbs_get, verbs_read, verbs_write, verbs_edit, verbs_rollout, verbs_node, exec_verb,
               verbs_kubeconfig, verbs_snapshot):
    _verbs.register(app)


# The Kubernetes flags `up` takes itself, and the daemons each one is passed to.
KUBERNETES_FLAG_DAEMONS: dict[str, tuple[str, ...]] = {
    "--node-monitor-grace-period": ("controller-manager",),
    "--default-not-ready-toleration-seconds": ("apiserver", "controller-manager"),
    "--default-unreachable-toleration-seconds": ("apiserver", "controller-manager"),
    "--leader-elect-lease-duration": ("scheduler", "controller-manager"),
    "--leader-elect-renew-deadline": ("scheduler", "controller-manager"),
    "--leader-elect-retry-period": ("scheduler", "controller-manager"),
}


def kubernetes_flag_args(values: dict[str, object]) -> list[str]:
    """The given Kubernetes flags as `DAEMON=FLAG=VALUE` daemon arguments, one per daemon taking it."""
    return [f"{daemon}={flag}={value}" for flag, value in values.items() if value is not None
            for daemon in KUBERNETES_FLAG_DAEMONS[flag]]


def parse_daemon_args(values: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    grouped: dict[str, list[str]] = {}
    for value in values:
        daemon, separator, flag = value.partition("=")
        if not separator or not flag.startswith("-") or not daemon:
            raise CliError(f"--daemon-arg wants DAEMON=FLAG, e.g. node=--sync-frequency=2, not {value!r}")
        grouped.setdefault(daemon, []).append(flag)
    return tuple((daemon, tuple(flags)) for daemon, flags in grouped.items())


def usage_lines(summary: UpSummary, home: ClusterHome, *, explicit_home: bool) -> list[str]:
    """The closing lines of `up`: what runs and how to use it."""
    leader = f", Raft leader {summary.leader}" if summary.leader else ""
    home_flag = f" --home {home.root}" if explicit_home else ""
    return [
        f"cluster is up: {summary.ready}/{summary.total} component(s) serving{leader}",
        "",
        "use it with:",
        f"  export KUBECONFIG={summary.kubeconfig}",
        "  kubectl get ns",
        f"  minik8s status{home_flag}",
        f"  minik8s down{home_flag}",
    ]


def status_table(statuses: list[ComponentStatus]) -> list[str]:
    """A plain aligned table, one row per component."""
    header = ("NAME", "KIND", "PID", "URL", "HEALTHY", "ROLE")
    rows = [header] + [
        (entry.spec.name, entry.spec.kind, "-" if entry.pid is None else str(entry.pid), entry.spec.url or "-",
         "yes" if entry.healthy else "no", str(entry.to_json().get("raft_role") or "-"))
        for entry in statuses
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; never lets an exception escape."""
    logging.basicConfig(level=logging.WARNING, format="minik8s: %(levelname)s %(name)s: %(message)s")
    try:
        arguments = normalize_bool_flags(sys.argv[1:] if argv is None else argv)
        result = app(args=arguments, prog_name="minik8s", standalone_mode=False)
    except CliError as error:
        typer.echo(error.message if error.verbatim else f"minik8s: error: {error.message}", err=True)
        return error.exit_code
    except _USAGE_ERRORS as error:  # a flag or command typer could not parse
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        typer.echo(f"minik8s: error: {message} (see `minik8s --help`)", err=True)
        exit_code = getattr(error, "exit_code", 2)
        return exit_code if isinstance(exit_code, int) else 2
    except (click.Abort, typer.Abort):
        typer.echo("minik8s: aborted", err=True)
        return 130
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        typer.echo(f"minik8s: unexpected error ({type(error).__name__}: {error}); this is a bug, "
                   f"run again with {DEBUG_ENV}=1 for the traceback", err=True)
        return 1
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point (`minik8s`)."""
    raise SystemExit(main())


def _terminal_reporter() -> Reporter:
    return Reporter(progress=typer.echo, warning=lambda line: typer.echo(line, err=True))


if __name__ == "__main__":
    run()
