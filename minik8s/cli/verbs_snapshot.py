"""`minik8s snapshot save|status|restore`: back up the cluster store, check a backup, make a cluster from one.

etcdctl's `snapshot save/status/restore` for minik8s's own store and file format (api/snapshot_format.py).
This module is the terminal side: flags in, lines (or `-o json`) out; snapshot_save.py and
snapshot_restore.py do the work. Every failure — a damaged file, a folder that already holds a cluster,
a refused request — is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from minik8s.api.snapshot_format import SnapshotSummary
from minik8s.cli.cluster import Reporter, UpOptions
from minik8s.cli.cluster_config import HOME_ENV, ClusterHome, resolve_home
from minik8s.cli.errors import CliError
from minik8s.cli.kubeconfig_context import Connection
from minik8s.cli.snapshot_restore import checked_snapshot, restore_snapshot
from minik8s.cli.snapshot_save import save_snapshot
from minik8s.cli.store_status import human_bytes

snapshot_app = typer.Typer(help="Save the cluster store to a file, check such a file, make a new cluster from one.",
                           no_args_is_help=True)

HomeOption = Annotated[str | None, typer.Option(
    "--home", help=f"cluster folder (default: ${HOME_ENV}, else ~/.minik8s)", show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("save")
def save(
    file: Annotated[str, typer.Argument(help="where to write the snapshot (replaced when it exists)")],
    home: HomeOption = None,
    kubeconfig: Annotated[str | None, typer.Option(
        "--kubeconfig", help="reach the cluster with this kubeconfig instead of HOME/kubeconfig",
        show_default=False)] = None,
) -> None:
    """Save every object of the running cluster, as of one revision, to FILE (a cluster administrator's job)."""
    cluster_home = resolve_home(home)
    summary = save_snapshot(Connection(kubeconfig=kubeconfig or str(cluster_home.kubeconfig_file)), Path(file))
    header = summary.header
    typer.echo(f"Snapshot saved at {file}: revision {header.revision}, {header.keys} keys, "
               f"{human_bytes(summary.size)}, sha256 {summary.sha256}")
    if summary.sealed_values:
        typer.echo(f"{summary.sealed_values} value(s) in it are encrypted at rest: restoring them needs this "
                   f"cluster's encryption config ({cluster_home.encryption_config_file}); keep a copy of it, apart "
                   "from the snapshot")


@snapshot_app.command("status")
def status(
    file: Annotated[str, typer.Argument(help="a snapshot file (or the name of one in HOME/snapshots)")],
    home: HomeOption = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="json, or lines when omitted",
                                               show_default=False)] = None,
) -> None:
    """Check a snapshot file whole (format, sha256) and show what it holds."""
    if output not in (None, "json"):
        raise CliError(f"unknown output format {output!r} (only `-o json`, or no -o)")
    path = snapshot_path(file, resolve_home(home))
    document = status_document(path, checked_snapshot(path))
    if output == "json":
        typer.echo(json.dumps(document, indent=2))
        return
    for label, value in status_lines(document):
        typer.echo(f"{label + ':':<12} {value}")


@snapshot_app.command("restore")
def restore(
    file: Annotated[str, typer.Argument(help="the snapshot to restore")],
    home: Annotated[str | None, typer.Option(
        "--home", help=f"the NEW cluster's folder: absent or empty (default: ${HOME_ENV}, else ~/.minik8s)",
        show_default=False)] = None,
    encryption_provider_config: Annotated[str | None, typer.Option(
        "--encryption-provider-config", help="the EncryptionConfiguration of the cluster the snapshot comes from "
        "(its HOME/encryption.yaml): needed when the snapshot holds values encrypted at rest; the new cluster "
        "keeps using it", show_default=False)] = None,
    replicas: Annotated[int | None, typer.Option("--replicas", help="apiserver replicas: 1, 3 or 5 (default: 3)",
                                                 show_default=False)] = None,
    nodes: Annotated[int | None, typer.Option("--nodes", help="node agents node-1…node-N (default: 2)",
                                              show_default=False)] = None,
    port_base: Annotated[int | None, typer.Option("--port-base", help="as `minik8s up --port-base`",
                                                  show_default=False)] = None,
) -> None:
    """Make a new cluster home from a snapshot: `minik8s up --home DIR` then starts with every object."""
    cluster_home = resolve_home(home)
    report = Reporter(progress=lambda _: None, warning=lambda line: typer.echo(line, err=True))
    restored = restore_snapshot(Path(file), cluster_home, UpOptions(replicas=replicas, nodes=nodes, port_base=port_base),
                                encryption_config=Path(encryption_provider_config) if encryption_provider_config else None,
                                report=report)
    header = restored.snapshot.header
    typer.echo(f"restored {file} (revision {header.revision}, {header.keys} keys, cluster "
               f"{header.cluster_id or 'unnamed'}) into a new cluster in {cluster_home.root}")
    typer.echo(f"new cluster id: {restored.cluster_id}; {restored.config.replicas} apiserver replica(s), "
               f"{restored.config.nodes} node(s)")
    typer.echo(f"start it with: minik8s up --home {cluster_home.root}  (its apiservers load the snapshot before "
               "they serve)")


def snapshot_path(file: str, home: ClusterHome) -> Path:
    """FILE as given, or a file of that name among the periodic snapshots of HOME."""
    given = Path(file)
    periodic = home.snapshots_dir / file
    return periodic if not given.exists() and given.name == file and periodic.exists() else given


def status_document(path: Path, summary: SnapshotSummary) -> dict[str, Any]:
    header = summary.header
    created = datetime.fromtimestamp(header.created_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"file": str(path), "format_version": header.version, "cluster_id": header.cluster_id,
            "revision": header.revision, "keys": header.keys, "size_bytes": summary.size, "created": created,
            "sha256": summary.sha256, "checksum_ok": True, "encrypted_values": summary.sealed_values,
            "encryption_keys": list(summary.sealing_keys)}


def status_lines(document: dict[str, Any]) -> list[tuple[str, str]]:
    encrypted = (f"{document['encrypted_values']} value(s), key(s) {', '.join(document['encryption_keys']) or '?'}"
                 if document["encrypted_values"] else "none")
    return [("File", document["file"]), ("Format", f"minik8s snapshot, version {document['format_version']}"),
            ("Cluster id", document["cluster_id"] or "-"), ("Revision", str(document["revision"])),
            ("Keys", str(document["keys"])),
            ("Size", f"{human_bytes(document['size_bytes'])} ({document['size_bytes']} bytes)"),
            ("Created", document["created"]), ("Checksum", f"ok (sha256 {document['sha256']})"),
            ("Encrypted", encrypted)]
