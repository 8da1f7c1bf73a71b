"""ServiceAccount JWTs: Kubernetes' claims, audience, expiry, signature, and the ServiceAccount still existing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from minik8s.api.credentials import InvalidCredentials
from minik8s.api.meta import JsonObject
from minik8s.apiserver.service_account_tokens import (
    CREDENTIAL_ID,
    DEFAULT_ISSUER,
    POD_NAME,
    TokenIssuer,
    TokenVerifier,
    key_id,
    load_private_key,
    load_public_keys,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ACCOUNT: dict[str, Any] = {"kind": "ServiceAccount", "metadata": {"name": "robot", "namespace": "shop", "uid": "sa-uid"}}
POD: dict[str, Any] = {"kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "uid": "pod-uid"}}
KEY = ec.generate_private_key(ec.SECP256R1())


def _store(*objects: JsonObject) -> Any:
    by_key = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}

    async def lookup(kind: str, namespace: str, name: str) -> JsonObject | None:
        return by_key.get((kind, namespace, name))

    return lookup


def _token(audiences: tuple[str, ...] = (DEFAULT_ISSUER,), lifetime: timedelta = timedelta(hours=1),
           key: Any = KEY, pod: JsonObject | None = None) -> str:
    return TokenIssuer(key).issue(ACCOUNT, audiences, lifetime, NOW, pod).token


def test_claims_are_kubernetes_claims() -> None:
    token = _token()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == DEFAULT_ISSUER and claims["aud"] == [DEFAULT_ISSUER]
    assert claims["sub"] == "system:serviceaccount:shop:robot"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["kubernetes.io"] == {"namespace": "shop", "serviceaccount": {"name": "robot", "uid": "sa-uid"}}
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == key_id(KEY.public_key())


async def test_a_valid_token_is_the_service_account_user() -> None:
    user = await TokenVerifier((KEY.public_key(),), _store(ACCOUNT)).authenticate(_token(), NOW)
    assert user is not None
    assert user.name == "system:serviceaccount:shop:robot" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated")
    assert user.extra[CREDENTIAL_ID][0].startswith("JTI=")


async def test_rsa_keys_sign_rs256() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _token(key=rsa_key)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert await TokenVerifier((rsa_key.public_key(),), _store(ACCOUNT)).authenticate(token, NOW) is not None


@pytest.mark.parametrize(("token", "objects", "at", "message"), [
    (_token(), (), NOW, "ServiceAccount shop/robot has been deleted"),
    (_token(), ({**ACCOUNT, "metadata": {**ACCOUNT["metadata"], "uid": "new"}},), NOW, "does not match claim"),
    (_token(), (ACCOUNT,), NOW + timedelta(hours=1), "has expired"),
    (_token(audiences=("vault",)), (ACCOUNT,), NOW, "Audience doesn't match"),
    (_token(key=ec.generate_private_key(ec.SECP256R1())), (ACCOUNT,), NOW, "invalid signature"),
    (_token(pod=POD), (ACCOUNT,), NOW, "Pod shop/web has been deleted"),
])
async def test_invalid_tokens_are_refused(token: str, objects: tuple[JsonObject, ...], at: datetime,
                                          message: str) -> None:
    with pytest.raises(InvalidCredentials, match=message):
        await TokenVerifier((KEY.public_key(),), _store(*objects)).authenticate(token, at)


async def test_a_pod_bound_token_names_its_pod() -> None:
    user = await TokenVerifier((KEY.public_key(),), _store(ACCOUNT, POD)).authenticate(_token(pod=POD), NOW)
    assert user is not None and user.extra[POD_NAME] == ("web",)


@pytest.mark.parametrize("token", ["not-a-jwt", jwt.encode({"iss": "https://other", "sub": "x"}, "k" * 32)])
async def test_tokens_of_other_kinds_are_not_ours(token: str) -> None:
    assert await TokenVerifier((KEY.public_key(),), _store(ACCOUNT)).authenticate(token, NOW) is None


def test_key_files_hold_private_or_public_keys(tmp_path: Path) -> None:
    private = tmp_path / "sa.key"
    private.write_bytes(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    public = tmp_path / "sa.pub"
    public.write_bytes(KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
                       + other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert [key_id(k) for k in load_public_keys(str(public))] == [key_id(KEY.public_key()), key_id(other)]
    assert [key_id(k) for k in load_public_keys(str(private))] == [key_id(KEY.public_key())]
    assert key_id(load_private_key(str(private)).public_key()) == key_id(KEY.public_key())
