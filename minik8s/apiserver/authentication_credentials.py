"""Users from credentials that need no store: x509 client certificates and the static token file.

Both are pure: a certificate the TLS handshake verified becomes a user by its subject (Kubernetes'
CommonNameUserConversion: CN is the name, each O a group), and a token file is Kubernetes' CSV
(`token,user,uid,"group1,group2"`, k8s.io/apiserver plugin/pkg/authenticator/token/tokenfile).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minik8s.api.user import UserInfo, authenticated

log = logging.getLogger(__name__)


class InvalidCredentials(Exception):
    """Credentials were presented and are not valid: the request is refused (401), never anonymous."""


def user_from_certificate(pem: str) -> UserInfo | None:
    """The user a verified client certificate names, or None when its subject has no CN.

    A certificate whose extended key usage excludes client authentication is refused, as Go's chain
    verification with `ExtKeyUsageClientAuth` refuses it; one without the extension is allowed.
    """
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usages \
            and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        raise InvalidCredentials("x509: certificate specifies an incompatible key usage")
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[0]:
        return None
    groups = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return authenticated(names[0], groups)


def parse_token_file(text: str, source: str = "token file") -> dict[str, UserInfo]:
    """token → user from Kubernetes' token CSV; ValueError for a record with fewer than 3 columns.

    An empty token is skipped and a repeated token replaces the earlier one, each with a warning, as
    Kubernetes does; the quoted fourth column lists groups separated by commas.
    """
    tokens: dict[str, UserInfo] = {}
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    for number, record in enumerate(reader, start=1):
        if not record:
            continue
        if len(record) < 3:
            raise ValueError(f"token file '{source}' must have at least 3 columns (token, user name, user uid), "
                             f"found {len(record)}")
        token, name, uid = record[0], record[1], record[2]
        if not token:
            log.warning("empty token has been found in token file '%s', record number '%d'", source, number)
            continue
        if token in tokens:
            log.warning("duplicate token has been found in token file '%s', record number '%d'", source, number)
        groups = tuple(group for group in record[3].split(",") if group) if len(record) > 3 else ()
        tokens[token] = authenticated(name, groups, uid=uid)
    return tokens


def load_token_file(path: str) -> dict[str, UserInfo]:
    return parse_token_file(Path(path).read_text(), path)


class StaticTokens:
    """`--token-auth-file`: a token names its user, or is not one of these tokens (None)."""

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self.tokens = dict(tokens)

    async def __call__(self, token: str) -> UserInfo | None:
        return self.tokens.get(token)
