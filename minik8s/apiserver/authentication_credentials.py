"""Users from the static token file (`--token-auth-file`): credentials that need no store.

A token file is Kubernetes' CSV (`token,user,uid,"group1,group2"`, k8s.io/apiserver
plugin/pkg/authenticator/token/tokenfile). Client certificates, the other store-free credential, are
read in `minik8s.api.credentials`, which node agents share.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from pathlib import Path

from minik8s.api.user import UserInfo, authenticated

log = logging.getLogger(__name__)


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
