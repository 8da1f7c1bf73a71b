"""Keeping a cluster's PKI folder complete: make what is missing, re-issue what no longer fits.

`minik8s up` runs on an existing cluster as often as on a new one, so every step here is
idempotent: an existing CA is kept (replacing it would orphan every certificate and
kubeconfig handed out), and a leaf is issued again only when `leaf_problem` finds a reason:
it is missing or unreadable, the CA did not sign it, it expires within `RENEW_BEFORE`, or
its names (SANs, CN, O) or usage differ from what is wanted now (a node added, say).
The decision is a pure function; the ensure functions only read and write files.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from minik8s.pki.certificates import (
    KeyPair,
    SubjectAltNames,
    facts_of,
    is_signed_by,
    issue_client,
    issue_serving,
    load_private_key,
    make_ca,
    new_private_key,
)
from minik8s.pki.files import PRIVATE_MODE, PUBLIC_MODE, PairFiles, read_pair, write_atomically, write_pair
from minik8s.pki.identities import Identity, apiserver_sans, component_identities

RENEW_BEFORE = datetime.timedelta(days=7)
CA_NAME = "ca"
APISERVER_NAME = "apiserver"
SERVICE_ACCOUNT_KEY_NAME = "sa"  # kubeadm's sa.key / sa.pub: signs and verifies ServiceAccount tokens


class PkiError(RuntimeError):
    """The PKI folder holds something this module will not silently replace."""


@dataclass(frozen=True)
class Wanted:
    """The leaf certificate wanted: serving (with SANs) or client (with a subject)."""

    common_name: str
    organizations: tuple[str, ...] = ()
    sans: SubjectAltNames | None = None  # None: a client certificate

    @property
    def serving(self) -> bool:
        return self.sans is not None


@dataclass(frozen=True)
class ClusterPki:
    """The files `ensure_cluster_pki` keeps: the CA, the apiserver's serving pair, each identity's pair."""

    folder: Path
    ca: PairFiles
    apiserver: PairFiles
    clients: dict[str, PairFiles] = field(default_factory=dict)  # by user name
    node_serving: dict[str, PairFiles] = field(default_factory=dict)  # by node name

    @property
    def service_account_key(self) -> Path:
        return self.folder / f"{SERVICE_ACCOUNT_KEY_NAME}.key"

    @property
    def service_account_public_key(self) -> Path:
        return self.folder / f"{SERVICE_ACCOUNT_KEY_NAME}.pub"


def leaf_problem(existing: KeyPair | None, *, ca: KeyPair, wanted: Wanted, now: datetime.datetime) -> str | None:
    """Why the leaf must be issued again, or None when it still fits."""
    if existing is None:
        return "missing"
    if not is_signed_by(existing.certificate, ca.certificate):
        return "not signed by the cluster CA"
    if not _key_matches(existing):
        return "the key does not match the certificate"
    facts = facts_of(existing.certificate)
    if facts.not_after - RENEW_BEFORE <= now:
        return "expired or about to expire"
    if facts.common_name != wanted.common_name or set(facts.organizations) != set(wanted.organizations):
        return "its subject changed"
    if wanted.sans is not None and not (facts.server_auth and facts.sans.same_as(wanted.sans)):
        return "its SANs changed"
    if wanted.sans is None and not facts.client_auth:
        return "not a client certificate"
    return None


def ensure_ca(folder: Path, *, now: datetime.datetime | None = None) -> KeyPair:
    """The CA in `folder` (`ca.crt`, `ca.key`), made when absent; an existing one is always kept."""
    files = PairFiles(folder, CA_NAME)
    if files.exists():
        pair = read_pair(files)
        if not facts_of(pair.certificate).is_ca:
            raise PkiError(f"{files.certificate} is not a CA certificate")
        return pair
    if files.certificate.exists() or files.key.exists():
        raise PkiError(f"{folder} holds only half of the cluster CA ({CA_NAME}.crt/{CA_NAME}.key): restore "
                       "the other half, or remove both to make a new CA")
    pair = make_ca(now=now)
    write_pair(files, pair)
    return pair


def load_ca(folder: Path) -> KeyPair | None:
    """The CA in `folder`, or None when it has none yet."""
    files = PairFiles(folder, CA_NAME)
    return read_pair(files) if files.exists() else None


def ensure_leaf(files: PairFiles, *, ca: KeyPair, wanted: Wanted, now: datetime.datetime | None = None) -> KeyPair:
    """The leaf at `files`, issued again when `leaf_problem` says so."""
    moment = now or datetime.datetime.now(datetime.UTC)
    existing = _read_if_usable(files)
    if leaf_problem(existing, ca=ca, wanted=wanted, now=moment) is None and existing is not None:
        return existing
    if wanted.sans is not None:
        pair = issue_serving(ca, common_name=wanted.common_name, sans=wanted.sans, now=moment)
    else:
        pair = issue_client(ca, user=wanted.common_name, groups=wanted.organizations, now=moment)
    write_pair(files, pair)
    return pair


def ensure_client(folder: Path, identity: Identity, *, ca: KeyPair, now: datetime.datetime | None = None) -> KeyPair:
    return ensure_leaf(PairFiles(folder, identity.file_name), ca=ca,
                       wanted=Wanted(identity.user, identity.groups), now=now)


def ensure_cluster_pki(folder: Path, *, apiserver_addresses: Iterable[str] = (), nodes: Sequence[tuple[str, str]] = (),
                       now: datetime.datetime | None = None) -> ClusterPki:
    """CA, apiserver serving pair, every component's client pair, each node agent's serving pair and
    the ServiceAccount token key.

    `apiserver_addresses`: names clients use beyond `apiserver_sans`' defaults (node addresses).
    `nodes`: (name, address) of each node agent.
    """
    ca = ensure_ca(folder, now=now)
    addresses = list(apiserver_addresses)
    apiserver = PairFiles(folder, APISERVER_NAME)
    ensure_leaf(apiserver, ca=ca, wanted=Wanted("kube-apiserver", sans=apiserver_sans(addresses)), now=now)
    clients: dict[str, PairFiles] = {}
    for identity in component_identities([name for name, _ in nodes]):
        ensure_client(folder, identity, ca=ca, now=now)
        clients[identity.user] = PairFiles(folder, identity.file_name)
    node_serving: dict[str, PairFiles] = {}
    for name, address in nodes:
        files = node_serving_files(folder, name)
        sans = SubjectAltNames.of([address, name, "127.0.0.1", "localhost"])
        ensure_leaf(files, ca=ca, wanted=Wanted(name, sans=sans), now=now)
        node_serving[name] = files
    ensure_service_account_key(folder)
    return ClusterPki(folder, PairFiles(folder, CA_NAME), apiserver, clients, node_serving)


def node_serving_files(folder: Path, node_name: str) -> PairFiles:
    """Where a node agent's serving pair lives (SANs: the node's address and name, loopback)."""
    return PairFiles(folder, f"kubelet-serving-{node_name}")


def ensure_service_account_key(folder: Path) -> None:
    """`sa.key` (0600) and its public half `sa.pub`: made once and kept, or every token handed out
    (in pods' volumes, in kubeconfigs) would stop verifying."""
    key_file, public_file = folder / f"{SERVICE_ACCOUNT_KEY_NAME}.key", folder / f"{SERVICE_ACCOUNT_KEY_NAME}.pub"
    if key_file.exists():
        key = load_private_key(key_file.read_bytes())
    else:
        key = new_private_key()
        write_atomically(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()), mode=PRIVATE_MODE)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    if not public_file.exists() or public_file.read_bytes() != public_pem:
        write_atomically(public_file, public_pem, mode=PUBLIC_MODE)


def _read_if_usable(files: PairFiles) -> KeyPair | None:
    try:
        return read_pair(files)
    except (OSError, ValueError):
        return None


def _key_matches(pair: KeyPair) -> bool:
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(pair.certificate.public_key().public_bytes(encoding, form)
                == pair.key.public_key().public_bytes(encoding, form))
