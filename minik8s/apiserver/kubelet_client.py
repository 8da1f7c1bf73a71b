"""How the apiserver reaches node agents: plain http/ws, or verified TLS with its kubelet client certificate.

kube-apiserver's `--kubelet-client-certificate`/`--kubelet-client-key` are the identity it presents to
kubelets (kubeadm's `apiserver-kubelet-client`, in `system:masters`), `--kubelet-certificate-authority`
the CA their serving certificates must chain to. Given, every logs and exec relay uses `https://` and
`wss://`, checks the agent's certificate against that CA and the address the Node reports (an IP
address matches an IP SAN: the PKI puts each node's address in its serving certificate) and presents
the client certificate. Not given, agents are reached over plain http/ws as before. The scheme follows
this configuration for every node alike: a node cannot talk the apiserver down to plain text.
"""

from __future__ import annotations

import argparse
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class KubeletClientTls:
    """The apiserver's client pair for node agents, and the CA their serving certificates chain to."""

    cert_file: str
    key_file: str
    ca_file: str

    def ssl_context(self) -> ssl.SSLContext:
        """Verification on (chain and name), the client pair loaded; a bad file raises here (OSError, SSLError)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass(frozen=True)
class KubeletConnection:
    """The URLs of an agent's paths, and the TLS context to reach them with (None: plain text)."""

    tls: ssl.SSLContext | None = None

    @classmethod
    def of(cls, client: KubeletClientTls | None) -> KubeletConnection:
        return cls(None if client is None else client.ssl_context())

    def http_url(self, address: str, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{address}{path}"

    def websocket_url(self, address: str, path: str) -> str:
        return f"{'wss' if self.tls else 'ws'}://{address}{path}"


def add_kubelet_client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubelet-client-certificate", default="",
                        help="client certificate (PEM) presented to node agents; with --kubelet-client-key and "
                             "--kubelet-certificate-authority, agents are reached over verified HTTPS")
    parser.add_argument("--kubelet-client-key", default="", help="the kubelet client certificate's private key")
    parser.add_argument("--kubelet-certificate-authority", default="",
                        help="CA bundle the node agents' serving certificates are verified against")


def kubelet_client_from_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> KubeletClientTls | None:
    """The configured client TLS, None without the flags; all three go together (no unverified TLS)."""
    given = (args.kubelet_client_certificate, args.kubelet_client_key, args.kubelet_certificate_authority)
    if not any(given):
        return None
    if not all(given):
        parser.error("--kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority "
                     "go together")
    return KubeletClientTls(*given)
