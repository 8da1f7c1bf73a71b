"""The TLS side of reaching an apiserver: one `ssl.SSLContext` from a kubeconfig, and its failures.

client-go builds one TLS configuration per kubeconfig context and every connection shares it
(k8s.io/client-go/transport/transport.go, TLSConfigFor): the CA from
`certificate-authority-data`, else `certificate-authority`; the client pair from
`client-certificate-data`/`client-key-data`, else the files; verification always on unless
`insecure-skip-tls-verify`. We do the same. Python's `ssl` loads a client pair only from files,
so embedded PEM goes through a private temporary folder (0700) that is removed at once.

A failed verification is not a server being down: retrying or failing over would only hide a
misconfiguration, so `tls_failure_of` names it for the fail-over loop to raise at once.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from minik8s.client.kubeconfig import KubeConfig

# OpenSSL reasons of a TLS alert the server sent: it refused our certificate (or our lack of one).
_REFUSED_CLIENT_CERTIFICATE = ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN",
                               "HANDSHAKE_FAILURE", "CERTIFICATE_EXPIRED", "ACCESS_DENIED")


def ssl_context_for(config: KubeConfig) -> ssl.SSLContext:
    """The TLS settings a kubeconfig context asks for, as one context for every connection."""
    if config.insecure_skip_tls_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif config.certificate_authority_data:
        context = ssl.create_default_context(cadata=config.certificate_authority_data)
    elif config.certificate_authority:
        context = ssl.create_default_context(cafile=config.certificate_authority)
    else:
        context = ssl.create_default_context()  # the system's trusted CAs, as client-go does
    if config.client_certificate_data or config.client_certificate:
        _load_client_pair(context, config)
    return context


def tls_failure_of(error: BaseException) -> str | None:
    """What went wrong, when `error` (or what caused it) is a TLS failure retrying cannot fix."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: {current.verify_message or current.reason}"
        if isinstance(current, ssl.SSLError) and any(alert in str(current.reason or "")
                                                      for alert in _REFUSED_CLIENT_CERTIFICATE):
            return f"tls: the server refused the client certificate ({current.reason})"
        current = current.__cause__ or current.__context__
    return None


def _load_client_pair(context: ssl.SSLContext, config: KubeConfig) -> None:
    if not (config.client_key_data or config.client_key):
        raise ValueError("the kubeconfig user has a client certificate but no client key")
    if config.client_certificate_data is None and config.client_key_data is None:
        context.load_cert_chain(str(config.client_certificate), str(config.client_key))
        return
    with tempfile.TemporaryDirectory(prefix="minik8s-tls-") as folder:  # made 0700
        certificate = _private_copy(Path(folder) / "client.crt", config.client_certificate_data,
                                    config.client_certificate)
        key = _private_copy(Path(folder) / "client.key", config.client_key_data, config.client_key)
        context.load_cert_chain(str(certificate), str(key))


def _private_copy(path: Path, data: str | None, file_name: str | None) -> Path:
    """`data`, or the file's content, in `path` (mode 0600 before any byte is written)."""
    text = data if data is not None else Path(str(file_name)).read_text(encoding="ascii")
    path.touch(mode=0o600)
    path.write_text(text, encoding="ascii")
    return path
