"""The cluster's certificates in its home: the PKI `up` keeps, and kubeconfigs minted from its CA.

`HOME/pki/` holds the cluster CA and every certificate it signed (kubeadm's
/etc/kubernetes/pki). `ensure_cluster_pki` makes what is missing and keeps the rest, so
`up` may call it every time; `mint_user_kubeconfig` is `kubeadm kubeconfig user`: a new
client certificate for a person (CN = user, O = groups) in a kubeconfig that trusts the CA
and lists every apiserver. Component kubeconfigs (`component_kubeconfigs`) are the same
thing for each daemon's identity, written under `HOME/kubeconfigs/`.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from minik8s.cli.cluster_config import ClusterConfig, ClusterHome
from minik8s.cli.errors import CliError
from minik8s.client.kubeconfig import (
    Credentials,
    load_kubeconfig,
    render_kubeconfig,
    write_kubeconfig,
)
from minik8s.client.tls import ssl_context_for
from minik8s.pki.certificates import LEAF_VALIDITY, issue_client
from minik8s.pki.encryption import ensure_encryption_config
from minik8s.pki.ensure import CA_NAME, ClusterPki, PkiError, load_ca
from minik8s.pki.ensure import ensure_cluster_pki as ensure_pki_folder
from minik8s.pki.files import PairFiles, read_pair
from minik8s.pki.identities import ADMIN, Identity, component_identities

CLUSTER_NAME = "minik8s"


def ensure_cluster_pki(home: ClusterHome, config: ClusterConfig, *, now: datetime.datetime | None = None) -> ClusterPki:
    """The PKI of a local cluster: its nodes at their gateways, the apiservers on loopback."""
    return ensure_pki_for(home, nodes=[(layout.name, layout.node_ip) for layout in config.node_layouts], now=now)


def ensure_pki_for(home: ClusterHome, *, nodes: Sequence[tuple[str, str]], extra_sans: Sequence[str] = (),
                   now: datetime.datetime | None = None) -> ClusterPki:
    """The cluster CA, the apiserver's serving pair (SANs: loopback, the `kubernetes` Service, every
    node's address, `extra_sans`), each component's client pair, each node agent's serving pair and
    the ServiceAccount key. `nodes`: (name, address)."""
    try:
        return ensure_pki_folder(home.pki_dir, apiserver_addresses=[*(ip for _, ip in nodes), *extra_sans],
                                 nodes=nodes, now=now)
    except (PkiError, ValueError) as error:
        raise CliError(f"the cluster PKI in {home.pki_dir} cannot be used: {error}") from error


def write_cluster_pki(home: ClusterHome, *, servers: list[str], nodes: Sequence[tuple[str, str]],
                      extra_sans: Sequence[str] = ()) -> None:
    """Everything daemons started by hand need (`minik8s certs`): the PKI, the at-rest encryption key,
    each component's kubeconfig and the admin's (`home.kubeconfig_file`), all naming `servers`, whose
    hosts the apiserver's certificate names too."""
    hosts = [urlsplit(server).hostname or server for server in servers]
    pki = ensure_pki_for(home, nodes=nodes, extra_sans=[*hosts, *extra_sans])
    ensure_encryption_config(home.encryption_config_file)
    component_kubeconfigs(home, pki, servers)
    write_kubeconfig(home.kubeconfig_file, servers=servers, cluster_name=CLUSTER_NAME,
                     credentials=admin_credentials(home))


def component_kubeconfigs(home: ClusterHome, pki: ClusterPki, servers: list[str]) -> dict[str, Path]:
    """One kubeconfig (0600) per component identity, `HOME/kubeconfigs/<name>.conf`, by user name."""
    written: dict[str, Path] = {}
    node_names = [user.removeprefix("system:node:") for user in pki.clients if user.startswith("system:node:")]
    for identity in component_identities(node_names):
        path = kubeconfig_path(home, identity)
        write_kubeconfig(path, servers=servers, cluster_name=CLUSTER_NAME,
                         credentials=credentials_of(home, identity))
        written[identity.user] = path
    return written


def kubeconfig_path(home: ClusterHome, identity: Identity) -> Path:
    return home.kubeconfigs_dir / f"{identity.file_name}.conf"


def credentials_of(home: ClusterHome, identity: Identity) -> Credentials:
    """The identity's client pair from the cluster PKI, with the CA to trust."""
    pair = read_pair(PairFiles(home.pki_dir, identity.file_name))
    return Credentials(certificate_authority_pem=PairFiles(home.pki_dir, CA_NAME).certificate.read_bytes(),
                       client_certificate_pem=pair.certificate_pem, client_key_pem=pair.key_pem,
                       user_name=identity.user)


def admin_credentials(home: ClusterHome) -> Credentials:
    """What the cluster's kubeconfig embeds: the admin (group system:masters) and the cluster CA."""
    return credentials_of(home, ADMIN)


def prober_tls(home: ClusterHome) -> ssl.SSLContext | bool:
    """How `up` and `status` reach components: as the admin, trusting only the cluster CA (True, the
    system's trust, when the home has no admin kubeconfig yet: then nothing answers over TLS anyway)."""
    try:
        return ssl_context_for(load_kubeconfig(kubeconfig_path(home, ADMIN)))
    except FileNotFoundError:
        return True
    except (OSError, ValueError, ssl.SSLError) as error:
        raise CliError(f"{kubeconfig_path(home, ADMIN)} cannot be used: {error}") from error


def mint_user_kubeconfig(home: ClusterHome, config: ClusterConfig, *, user: str, groups: Sequence[str] = (),
                         validity: datetime.timedelta = LEAF_VALIDITY, now: datetime.datetime | None = None) -> str:
    """A kubeconfig (YAML) for `user` in `groups` with a new client certificate from the cluster CA."""
    if not user.strip():
        raise CliError("--user must name someone (it becomes the certificate's CN, the user name)")
    if validity <= datetime.timedelta(0):
        raise CliError("--validity-period must be positive")
    try:
        ca = load_ca(home.pki_dir)
    except (OSError, ValueError) as error:
        raise CliError(f"the cluster CA in {home.pki_dir} cannot be read: {error}") from error
    if ca is None:
        raise CliError(f"the cluster in {home.root} has no certificate authority yet ({home.pki_dir / 'ca.crt'} "
                       "is missing): a cluster started with TLS makes one")
    pair = issue_client(ca, user=user, groups=tuple(groups), now=now, validity=validity)
    servers = [apiserver.url for apiserver in config.apiservers]
    return render_kubeconfig(servers=servers, cluster_name=CLUSTER_NAME, credentials=Credentials(
        certificate_authority_pem=ca.certificate_pem, client_certificate_pem=pair.certificate_pem,
        client_key_pem=pair.key_pem, user_name=user))
