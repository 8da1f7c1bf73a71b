"""Certificates and keys on disk: PEM files with the modes Kubernetes uses.

A private key is created readable by its owner only (0600) from its first byte: it is
written to a temporary file that `mkstemp` makes with mode 0600 in the same folder and
renamed over the target, so no reader ever sees it world-readable or half written.
Certificates are public (0644). Folders holding keys are 0700. Names follow kubeadm's
`<name>.crt` / `<name>.key` pairs.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from minik8s.pki.certificates import KeyPair, load_certificate, load_private_key

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
FOLDER_MODE = 0o700


@dataclass(frozen=True)
class PairFiles:
    """Where one certificate and its key live: `<folder>/<name>.crt` and `<folder>/<name>.key`."""

    folder: Path
    name: str

    @property
    def certificate(self) -> Path:
        return self.folder / f"{self.name}.crt"

    @property
    def key(self) -> Path:
        return self.folder / f"{self.name}.key"

    def exists(self) -> bool:
        return self.certificate.is_file() and self.key.is_file()


def write_pair(files: PairFiles, pair: KeyPair) -> None:
    """Write the key (0600) first, then the certificate (0644): a certificate never names a missing key."""
    write_atomically(files.key, pair.key_pem, mode=PRIVATE_MODE)
    write_atomically(files.certificate, pair.certificate_pem, mode=PUBLIC_MODE)


def read_pair(files: PairFiles) -> KeyPair:
    """The pair on disk (FileNotFoundError when a file is missing, ValueError when one is not PEM)."""
    return KeyPair(load_certificate(files.certificate.read_bytes()), load_private_key(files.key.read_bytes()))


def write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Replace `path` with `data`; the file has `mode` before it has any content."""
    path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        if mode != PRIVATE_MODE:
            os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
