"""The flags every kubectl-like verb shares, declared once.

kubectl's global flags (`--kubeconfig`, `--server`, `-n`, `--request-timeout`) may follow the
verb (`minik8s get pods -n kube-system`), so each verb declares them; these aliases keep the
declarations identical everywhere. Durations are read as kubectl reads them (`30s`, `2m`, `1h`,
or bare seconds).
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from minik8s.cli.errors import CliError
from minik8s.cli.kubeconfig_context import Connection

KubeconfigOption = Annotated[str | None, typer.Option(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, $MINIK8S_HOME/kubeconfig, ~/.minik8s/kubeconfig)",
    show_default=False)]
ServerOption = Annotated[str | None, typer.Option(
    "--server", "-s", help="apiserver URL; skips the kubeconfig", show_default=False)]
NamespaceOption = Annotated[str | None, typer.Option(
    "--namespace", "-n", help="namespace (default: the kubeconfig context's, else default)", show_default=False)]
RequestTimeoutOption = Annotated[str | None, typer.Option(
    "--request-timeout", help="give up on a request (and on fail-over) after this long, e.g. 5s",
    show_default=False)]
SelectorOption = Annotated[str | None, typer.Option(
    "--selector", "-l", help="label selector, e.g. app=web,tier!=db", show_default=False)]
AllNamespacesOption = Annotated[bool, typer.Option("--all-namespaces", "-A", help="every namespace")]
OutputOption = Annotated[str | None, typer.Option(
    "--output", "-o", help="wide, yaml, json, name or jsonpath=TEMPLATE", show_default=False)]
FilenameOption = Annotated[list[str] | None, typer.Option(
    "--filename", "-f", help="manifest file, directory, or - for stdin (repeatable)", show_default=False)]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, *, flag: str) -> float:
    """Seconds in a Go-style duration (`1m30s`, `500ms`) or a bare number of seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise CliError(f'error: invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"',
                       verbatim=True)
    return total


def connection_of(kubeconfig: str | None, server: str | None, namespace: str | None,
                  request_timeout: str | None) -> Connection:
    """The Connection the global flags describe."""
    timeout = parse_duration(request_timeout, flag="--request-timeout") if request_timeout else None
    return Connection(kubeconfig=kubeconfig, server=server, namespace=namespace, request_timeout=timeout or None)


_BOOLEAN_VALUE = re.compile(r"^--([a-z][a-z0-9-]*)=(true|false)$", re.IGNORECASE)


def normalize_bool_flags(argv: list[str]) -> list[str]:
    """kubectl's `--wait=false` / `--overwrite=true` as click reads booleans (`--no-wait`, `--overwrite`).

    Arguments after `--` (a command for `exec`) are left alone.
    """
    normalized: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            return normalized + argv[index:]
        match = _BOOLEAN_VALUE.match(arg)
        if match is None:
            normalized.append(arg)
        else:
            name, value = match.group(1), match.group(2).lower()
            normalized.append(f"--{name}" if value == "true" else f"--no-{name}")
    return normalized
