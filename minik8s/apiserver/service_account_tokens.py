"""ServiceAccount tokens: bound JWTs the apiserver signs (TokenRequest) and later verifies.

The claims are Kubernetes' (pkg/serviceaccount/claims.go): `iss`, `sub`
(`system:serviceaccount:<ns>:<name>`), `aud`, `exp`, `iat`, `nbf`, `jti` and a private
`kubernetes.io` claim naming the namespace, the ServiceAccount (name and uid) and, when bound, the
pod. Signing uses `--service-account-signing-key-file` (RS256 for RSA, ES256 for P-256 keys), the
`kid` header is the key's id as Kubernetes derives it (base64url SHA-256 of the public key's DER).
Verification needs a key of `--service-account-key-file`, one of the issuers, an audience the
apiserver accepts and an unexpired token; then the ServiceAccount (and the bound pod) must still
exist with the uid the token names — a deleted ServiceAccount's tokens stop working at once.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from minik8s.api.credentials import InvalidCredentials
from minik8s.api.meta import JsonObject, name_of, namespace_of, uid_of
from minik8s.api.user import SERVICE_ACCOUNT_PREFIX, SYSTEM_SERVICE_ACCOUNTS, UserInfo, authenticated

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
CLAIM = "kubernetes.io"
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
POD_NAME = "authentication.kubernetes.io/pod-name"
POD_UID = "authentication.kubernetes.io/pod-uid"

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
# (kind, namespace, name) → the object, or None when it does not exist.
Lookup = Callable[[str, str, str], Awaitable[JsonObject | None]]


def key_id(public_key: PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def _algorithm(key: PublicKey | PrivateKey) -> str:
    return "RS256" if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) else "ES256"


def load_private_key(path: str) -> PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: the service account signing key must be an RSA or ECDSA key")
    return key


def load_public_keys(path: str) -> list[PublicKey]:
    """Every public key in a PEM file; private keys count by their public half, as in Kubernetes."""
    keys: list[PublicKey] = []
    for match in _PEM_BLOCK.finditer(Path(path).read_bytes()):
        pem = match.group(0)
        key: Any = (serialization.load_pem_private_key(pem, password=None).public_key()
                    if match.group(1).endswith(b"PRIVATE KEY") else serialization.load_pem_public_key(pem))
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            keys.append(key)
    if not keys:
        raise ValueError(f"{path}: no RSA or ECDSA keys found")
    return keys


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires: datetime


@dataclass(frozen=True)
class TokenIssuer:
    """Signs bound ServiceAccount tokens."""

    key: PrivateKey
    issuer: str = DEFAULT_ISSUER

    def issue(self, service_account: JsonObject, audiences: Sequence[str], lifetime: timedelta, now: datetime,
              pod: JsonObject | None = None) -> IssuedToken:
        namespace, name = namespace_of(service_account), name_of(service_account)
        private: dict[str, Any] = {"namespace": namespace,
                                   "serviceaccount": {"name": name, "uid": uid_of(service_account)}}
        if pod is not None:
            private["pod"] = {"name": name_of(pod), "uid": uid_of(pod)}
        expires = datetime.fromtimestamp(int((now + lifetime).timestamp()), now.tzinfo)
        claims: dict[str, Any] = {"iss": self.issuer, "sub": f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}", "aud": list(audiences),
                  "exp": int(expires.timestamp()), "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
                  "jti": str(uuid.uuid4()), CLAIM: private}
        token = jwt.encode(claims, self.key, algorithm=_algorithm(self.key),
                           headers={"kid": key_id(self.key.public_key())})
        return IssuedToken(token, expires)


def service_account_user(claims: dict[str, Any]) -> UserInfo:
    """The user a verified token speaks for, with Kubernetes' groups and extras."""
    private = claims[CLAIM]
    namespace, account = private["namespace"], private["serviceaccount"]
    extra: dict[str, tuple[str, ...]] = {CREDENTIAL_ID: (f"JTI={claims['jti']}",)} if claims.get("jti") else {}
    if "pod" in private:
        extra[POD_NAME], extra[POD_UID] = (private["pod"]["name"],), (private["pod"]["uid"],)
    return authenticated(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{account['name']}",
                         (SYSTEM_SERVICE_ACCOUNTS, f"{SYSTEM_SERVICE_ACCOUNTS}:{namespace}"),
                         uid=account["uid"], extra=extra)


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies ServiceAccount tokens; `lookup` reads the ServiceAccount and pod a token is bound to."""

    keys: tuple[PublicKey, ...]
    lookup: Lookup
    issuers: tuple[str, ...] = (DEFAULT_ISSUER,)
    audiences: tuple[str, ...] = (DEFAULT_ISSUER,)

    def claims(self, token: str, now: datetime, audiences: Sequence[str] = ()) -> dict[str, Any] | None:
        """The verified claims; None when this is no token of ours (not a JWT, another issuer).

        The token must name one of `audiences` (default: the apiserver's)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return None
        if unverified.get("iss") not in self.issuers or not isinstance(unverified.get(CLAIM), dict):
            return None
        for key in self.keys:
            try:
                return self._decode(token, key, now, audiences or self.audiences)
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError as error:
                raise InvalidCredentials(str(error)) from None
        raise InvalidCredentials("invalid signature")

    def _decode(self, token: str, key: PublicKey, now: datetime, audiences: Sequence[str]) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[_algorithm(key)], audience=list(audiences), issuer=list(self.issuers),
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        if claims["exp"] <= now.timestamp():
            raise InvalidCredentials("service account token has expired")
        if claims.get("nbf", 0) > now.timestamp() + 60:
            raise InvalidCredentials("service account token is not valid yet")
        return claims

    async def authenticate(self, token: str, now: datetime, audiences: Sequence[str] = ()) -> UserInfo | None:
        claims = self.claims(token, now, audiences)
        if claims is None:
            return None
        user = service_account_user(claims)
        private = claims[CLAIM]
        await self._still_exists("ServiceAccount", private["namespace"], private["serviceaccount"])
        if "pod" in private:
            await self._still_exists("Pod", private["namespace"], private["pod"])
        return user

    async def _still_exists(self, kind: str, namespace: str, reference: dict[str, str]) -> None:
        found = await self.lookup(kind, namespace, reference["name"])
        if found is None or found.get("metadata", {}).get("deletionTimestamp"):
            raise InvalidCredentials(f"{kind} {namespace}/{reference['name']} has been deleted")
        if uid_of(found) != reference["uid"]:
            raise InvalidCredentials(f"{kind} UID ({uid_of(found)}) does not match claim ({reference['uid']})")
