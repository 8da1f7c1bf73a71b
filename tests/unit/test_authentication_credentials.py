"""Static token files (Kubernetes' CSV) and client certificates as users, the bearer header, the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from minik8s.api.credentials import InvalidCredentials, user_from_certificate
from minik8s.api.user import ANONYMOUS, SYSTEM_AUTHENTICATED, UserInfo, authenticated
from minik8s.apiserver.authentication import Authentication
from minik8s.apiserver.authentication_credentials import StaticTokens, parse_token_file
from minik8s.daemon.credentials import bearer_token_of
from tests.support.certs import TestCa


@pytest.mark.parametrize(("text", "expected"), [
    ('abc,alice,1001,"devs,ops"\n', {"abc": authenticated("alice", ("devs", "ops"), uid="1001")}),
    ("abc,alice,1001\n", {"abc": authenticated("alice", uid="1001")}),
    ('abc,alice,1001,"devs"\n\nxyz, bob, 7\n', {"abc": authenticated("alice", ("devs",), uid="1001"),
                                                 "xyz": authenticated("bob", uid="7")}),
    (",nobody,0\nabc,alice,1\n", {"abc": authenticated("alice", uid="1")}),  # empty token: skipped
    ("abc,alice,1\nabc,bob,2\n", {"abc": authenticated("bob", uid="2")}),  # duplicate: the last wins
    ("", {}),
])
def test_token_file_parses_like_kubernetes(text: str, expected: dict[str, UserInfo]) -> None:
    assert parse_token_file(text) == expected


def test_token_file_with_too_few_columns_is_refused() -> None:
    with pytest.raises(ValueError, match=r"must have at least 3 columns \(token, user name, user uid\), found 2"):
        parse_token_file("abc,alice\n", "tokens.csv")


async def test_static_tokens_know_their_users_only() -> None:
    tokens = StaticTokens(parse_token_file("abc,alice,1\n"))
    assert (await tokens("abc")) == authenticated("alice", uid="1")
    assert (await tokens("nope")) is None


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Bearer", None), ("Bearer ", None), ("Basic dXNlcg==", None),
    ("", None),
])
def test_bearer_token_of_the_authorization_header(header: str, token: str | None) -> None:
    assert bearer_token_of(header) == token


def test_certificate_subject_names_the_user_and_groups(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    user = user_from_certificate(ca.client("alice", "devs", "system:masters").cert_file.read_text())
    assert user == UserInfo("alice", ("devs", "system:masters", SYSTEM_AUTHENTICATED))


def test_certificate_without_client_auth_usage_is_refused(tmp_path: Path) -> None:
    cert = TestCa(tmp_path).client("alice", usage=ExtendedKeyUsageOID.SERVER_AUTH).cert_file.read_text()
    with pytest.raises(InvalidCredentials, match="incompatible key usage"):
        user_from_certificate(cert)


def test_certificate_without_common_name_authenticates_nobody(tmp_path: Path) -> None:
    assert user_from_certificate(TestCa(tmp_path).client("", "devs", stem="nameless").cert_file.read_text()) is None


async def _never(token: str) -> UserInfo | None:
    raise InvalidCredentials("bad signature")


async def test_chain_certificate_then_tokens_then_anonymous(tmp_path: Path) -> None:
    cert = TestCa(tmp_path).client("alice").cert_file.read_text()
    chain = Authentication((_never, StaticTokens(parse_token_file("abc,bob,1\n"))))
    assert (await chain.authenticate(cert, "abc")).name == "alice"
    assert (await chain.authenticate(None, "abc")).name == "bob"  # one failure, then a match: authenticated
    assert (await chain.authenticate(None, None)) == ANONYMOUS
    with pytest.raises(InvalidCredentials, match="bad signature"):
        await chain.authenticate(None, "wrong")  # presented but invalid: never anonymous
    with pytest.raises(InvalidCredentials):
        await Authentication(anonymous=False).authenticate(None, None)


async def test_without_token_authenticators_a_bearer_header_is_no_credential() -> None:
    """The apiserver without flags: a kubeconfig's token is ignored, as today (Kubernetes has no bearer
    authenticator in its chain then), and the request is anonymous."""
    assert await Authentication().authenticate(None, "anything") == ANONYMOUS
