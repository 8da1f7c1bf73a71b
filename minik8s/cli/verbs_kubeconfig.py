"""`minik8s kubeconfig --user NAME [--group G]…`: a kubeconfig for a person, as `kubeadm kubeconfig user`;
`minik8s certs --dir DIR …`: a cluster PKI for daemons started by hand, as `kubeadm init phase certs`.

The cluster CA in the home signs a new client certificate (CN = the user, O = each group);
the kubeconfig embeds it, its key and the CA, and lists every apiserver of the cluster. It
goes to stdout, or with `--output FILE` to a file readable by its owner only (0600).
What the person may do is then RBAC's business: the certificate only says who they are.

`certs` is what `minik8s up` does for its own home, for a cluster whose daemons run elsewhere
(the compose demo's containers): DIR/pki, DIR/kubeconfigs/<component>.conf, DIR/kubeconfig.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from minik8s.cli.cluster_config import ClusterHome, load_config, resolve_home
from minik8s.cli.cluster_pki import mint_user_kubeconfig, write_cluster_pki
from minik8s.cli.errors import CliError
from minik8s.cli.flags import parse_duration
from minik8s.client.kubeconfig import write_private_text

DEFAULT_VALIDITY = "8760h"  # kubeadm's certificate validity: one year


def register(app: typer.Typer) -> None:
    app.command("kubeconfig")(kubeconfig)
    app.command("certs")(certs)


def kubeconfig(
    user: Annotated[str, typer.Option("--user", help="the user name (the certificate's CN)", show_default=False)],
    group: Annotated[list[str] | None, typer.Option(
        "--group", help="a group the user is in (the certificate's O); repeat for several", show_default=False)]
    = None,
    output: Annotated[str | None, typer.Option(
        "--output", help="write the kubeconfig to this file (mode 0600) instead of stdout", show_default=False)]
    = None,
    validity_period: Annotated[str, typer.Option(
        "--validity-period", help="how long the client certificate is valid")] = DEFAULT_VALIDITY,
    home: Annotated[str | None, typer.Option(
        "--home", help="cluster folder (default: $MINIK8S_HOME, else ~/.minik8s)", show_default=False)] = None,
) -> None:
    """Mint a client certificate from the cluster CA and print a kubeconfig for that user."""
    seconds = parse_duration(validity_period, flag="validity-period")
    text = mint_for(resolve_home(home), user=user, groups=group or [],
                    validity=datetime.timedelta(seconds=seconds))
    if output is None:
        typer.echo(text, nl=False)
        return
    write_private_text(Path(output).expanduser(), text)


def mint_for(home: ClusterHome, *, user: str, groups: list[str], validity: datetime.timedelta) -> str:
    config = load_config(home)
    if config is None:
        raise CliError(f"there is no cluster in {home.root} (start one with `minik8s up`, or pass --home)")
    return mint_user_kubeconfig(home, config, user=user, groups=groups, validity=validity)


def certs(
    directory: Annotated[str, typer.Option("--dir", help="folder to keep the PKI and kubeconfigs in",
                                           show_default=False)],
    server: Annotated[list[str], typer.Option("--server", help="an apiserver URL (https://HOST:PORT); repeat "
                                              "for each replica", show_default=False)],
    node: Annotated[list[str] | None, typer.Option("--node", help="NAME=ADDRESS of a node agent; repeat for "
                                                   "each node", show_default=False)] = None,
    apiserver_san: Annotated[list[str] | None, typer.Option(
        "--apiserver-san", help="another name or address of the apiservers for their certificate",
        show_default=False)] = None,
) -> None:
    """Make what is missing of a cluster PKI in DIR (kept when present), with a kubeconfig per component."""
    nodes = [_name_and_address(entry) for entry in node or []]
    write_cluster_pki(ClusterHome(Path(directory).expanduser().resolve()), servers=list(server), nodes=nodes,
                      extra_sans=apiserver_san or [])


def _name_and_address(entry: str) -> tuple[str, str]:
    name, separator, address = entry.partition("=")
    if not separator or not name or not address:
        raise CliError(f"--node {entry!r}: expected NAME=ADDRESS")
    return name, address
