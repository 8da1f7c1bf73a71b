"""`minik8s snapshot restore FILE --home DIR`: a new cluster home whose store starts as the snapshot's.

Only into a new (absent or empty) folder: restoring over a cluster would mix two histories, so a folder
holding anything is refused. The snapshot is checked whole first; nothing is made when it is damaged.
Then the home is made as `minik8s up` makes a new one (cluster.json, secret, PKI, kubeconfigs: a new
CA, so old client certificates and ServiceAccount tokens signed by the old cluster's keys are not
accepted) and each apiserver replica's data directory gets the snapshot as `seed.snapshot`, its header
naming a NEW cluster id. The first `minik8s up --home DIR` loads it through Raft before the apiservers
serve (store/seeding.py): every object comes back with its resourceVersion, and new writes get higher ones.

Values sealed at rest stay sealed in a snapshot: restoring them needs the keys they were sealed with. A
snapshot holding sealed values is refused unless `--encryption-provider-config` names an
EncryptionConfiguration with those keys (the old home's `encryption.yaml`), which the new home then uses.
A failure part-way removes what was made, leaving the folder as it was found.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minik8s.api.snapshot_format import (
    SEED_FILE_NAME,
    SnapshotError,
    SnapshotReader,
    SnapshotSummary,
    check_file,
    encode_snapshot,
    write_file,
)
from minik8s.cli.cluster import Reporter, UpOptions, prepare_home
from minik8s.cli.cluster_config import ClusterConfig, ClusterHome
from minik8s.cli.errors import CliError
from minik8s.pki.files import PRIVATE_MODE, write_atomically


@dataclass(frozen=True)
class Restored:
    snapshot: SnapshotSummary
    cluster_id: str
    config: ClusterConfig


def restore_snapshot(source: Path, home: ClusterHome, options: UpOptions, *, encryption_config: Path | None,
                     report: Reporter) -> Restored:
    """Make the cluster home `home` from the snapshot `source` (see the module docstring)."""
    summary = checked_snapshot(source)
    _refuse_used_home(home)
    _check_encryption(summary, encryption_config)
    existed = home.root.exists()
    try:
        if encryption_config is not None:
            home.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(home.encryption_config_file, encryption_config.read_bytes(), mode=PRIVATE_MODE)
        config = prepare_home(home, options, report)
        cluster_id = str(uuid.uuid4())
        for layout in config.apiservers:
            write_file(home.root / layout.data_dir / SEED_FILE_NAME, reheaded(source, cluster_id))
    except BaseException as error:
        _remove_made(home, keep_root=existed)
        if isinstance(error, SnapshotError):
            raise CliError(str(error)) from None
        if isinstance(error, OSError):
            raise CliError(f"cannot make the cluster home {home.root}: {error}") from None
        raise
    return Restored(summary, cluster_id, config)


def checked_snapshot(source: Path) -> SnapshotSummary:
    try:
        return check_file(str(source))
    except SnapshotError as error:
        raise CliError(str(error)) from None


def reheaded(source: Path, cluster_id: str) -> Iterator[bytes]:
    """The snapshot's entries under a header naming `cluster_id` (read, and checked, once more)."""
    with source.open("rb") as stream:
        reader = SnapshotReader(stream, name=str(source), size=source.stat().st_size)
        yield from encode_snapshot(dataclasses.replace(reader.header, cluster_id=cluster_id), reader.entries())


def _refuse_used_home(home: ClusterHome) -> None:
    if home.root.exists() and not home.root.is_dir():
        raise CliError(f"{home.root} is not a folder")
    if home.root.is_dir() and any(home.root.iterdir()):
        what = "a cluster" if home.config_file.exists() else "files"
        raise CliError(f"{home.root} already holds {what}: a snapshot is restored into a new cluster home, "
                       "so give --home a new or empty folder")


def _check_encryption(summary: SnapshotSummary, config: Path | None) -> None:
    """Sealed values need their keys: the named config must hold every aesgcm key that sealed one."""
    if summary.sealed_values and config is None:
        raise CliError(f"the snapshot holds {summary.sealed_values} value(s) encrypted at rest (Secrets); restoring "
                       "needs the encryption config of the cluster it was taken from: pass "
                       "--encryption-provider-config OLD_HOME/encryption.yaml")
    if config is None:
        return
    names = aesgcm_key_names(config)
    missing = sorted(name for name in summary.sealing_keys if name and name not in names)
    if missing:
        raise CliError(f"{config} lacks the key(s) {', '.join(missing)} that sealed values in the snapshot")


def aesgcm_key_names(config: Path) -> set[str]:
    """The names of the aesgcm keys an EncryptionConfiguration file lists (CliError when unreadable)."""
    try:
        document = yaml.safe_load(config.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CliError(f"cannot read the encryption config {config}: {error}") from None
    if not isinstance(document, dict) or document.get("kind") != "EncryptionConfiguration":
        raise CliError(f"{config} is not an EncryptionConfiguration")
    return {str(key.get("name")) for key in _aesgcm_keys(document) if isinstance(key, dict)}


def _aesgcm_keys(document: dict[str, Any]) -> Iterator[Any]:
    for rule in document.get("resources") or []:
        for provider in (rule.get("providers") or []) if isinstance(rule, dict) else []:
            aesgcm = provider.get("aesgcm") if isinstance(provider, dict) else None
            if isinstance(aesgcm, dict):
                yield from aesgcm.get("keys") or []


def _remove_made(home: ClusterHome, *, keep_root: bool) -> None:
    """Undo a restore that failed: the folder was absent or empty before, so everything in it is ours."""
    if not home.root.exists():
        return
    if not keep_root:
        shutil.rmtree(home.root, ignore_errors=True)
        return
    for path in home.root.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
