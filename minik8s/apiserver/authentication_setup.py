"""Assembling authentication for one apiserver: its options, from flags or a test, into the app.

`AuthenticationOptions()` — no tokens, no keys, anonymous allowed — is the apiserver without any
authentication flag: every request is `system:anonymous`, exactly what the app saw before.
`install_authentication` adds the TokenRequest and SelfSubjectReview routes and the middleware that
sets `request.state.user`; ServiceAccount tokens are checked against the ServiceAccounts and pods
this apiserver's store holds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI

from minik8s.api.credentials import TokenAuthenticator
from minik8s.api.kinds import PODS, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject
from minik8s.api.user import UserInfo
from minik8s.apiserver.authentication import Authentication, AuthenticationMiddleware
from minik8s.apiserver.authentication_credentials import StaticTokens, load_token_file
from minik8s.apiserver.authentication_routes import AuthenticationApi, add_authentication_routes
from minik8s.apiserver.impersonation import ImpersonationCheck, masters_only
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.service_account_tokens import (
    DEFAULT_ISSUER,
    PrivateKey,
    PublicKey,
    TokenIssuer,
    TokenVerifier,
    load_private_key,
    load_public_keys,
)
from minik8s.apiserver.token_review import TokenReviewer

_KINDS = {"ServiceAccount": SERVICE_ACCOUNTS, "Pod": PODS}


@dataclass(frozen=True)
class AuthenticationOptions:
    static_tokens: Mapping[str, UserInfo] = field(default_factory=dict)
    service_account_keys: tuple[PublicKey, ...] = ()
    signing_key: PrivateKey | None = None
    issuers: tuple[str, ...] = (DEFAULT_ISSUER,)
    api_audiences: tuple[str, ...] = ()  # default: the issuers, as Kubernetes defaults --api-audiences
    anonymous: bool = True
    impersonation: ImpersonationCheck = masters_only
    token_authenticators: tuple[TokenAuthenticator, ...] = ()  # more bearer-token checks, asked last

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.api_audiences or self.issuers

    @property
    def verification_keys(self) -> tuple[PublicKey, ...]:
        """--service-account-key-file, defaulting to the signing key's public half."""
        if self.service_account_keys or self.signing_key is None:
            return self.service_account_keys
        return (self.signing_key.public_key(),)


def add_authentication_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token-auth-file", default="", help="static bearer tokens: CSV token,user,uid,\"groups\"")
    parser.add_argument("--service-account-key-file", action="append", default=[],
                        help="PEM file of keys verifying ServiceAccount tokens (repeatable)")
    parser.add_argument("--service-account-signing-key-file", default="",
                        help="PEM private key signing ServiceAccount tokens (TokenRequest)")
    parser.add_argument("--service-account-issuer", action="append", default=[],
                        help=f"issuer of ServiceAccount tokens; the first signs (default {DEFAULT_ISSUER})")
    parser.add_argument("--api-audiences", default="", help="comma-separated audiences tokens must name "
                        "(default: the issuers)")
    parser.add_argument("--anonymous-auth", default="true", choices=("true", "false"),
                        help="serve requests without credentials as system:anonymous")


def options_from_flags(args: argparse.Namespace) -> AuthenticationOptions:
    """The options the flags name, with every file read now (a bad file stops the apiserver starting)."""
    keys = tuple(key for path in args.service_account_key_file for key in load_public_keys(path))
    return AuthenticationOptions(
        static_tokens=load_token_file(args.token_auth_file) if args.token_auth_file else {},
        service_account_keys=keys,
        signing_key=load_private_key(args.service_account_signing_key_file)
        if args.service_account_signing_key_file else None,
        issuers=tuple(args.service_account_issuer) or (DEFAULT_ISSUER,),
        api_audiences=tuple(a for a in args.api_audiences.split(",") if a),
        anonymous=args.anonymous_auth == "true",
    )


def install_authentication(app: FastAPI, ops: Operations, options: AuthenticationOptions, *,
                           restricted_node: Callable[[UserInfo], str | None] = lambda _: None) -> None:
    """The authentication routes and middleware; `restricted_node` names the node whose NodeRestriction a
    user's TokenRequests must pass (under the Node authorizer)."""
    async def lookup(kind: str, namespace: str, name: str) -> JsonObject | None:
        return ops.objects.get(_KINDS[kind], namespace, name)

    tokens: list[TokenAuthenticator] = []
    if options.static_tokens:
        tokens.append(StaticTokens(options.static_tokens))
    verifier = None
    if options.verification_keys:
        verifier = TokenVerifier(options.verification_keys, lookup, options.issuers, options.audiences)

        async def service_account_token(token: str) -> UserInfo | None:
            assert verifier is not None
            return await verifier.authenticate(token, datetime.now(UTC))

        tokens.append(service_account_token)
    issuer = None if options.signing_key is None else TokenIssuer(options.signing_key, options.issuers[0])
    reviewer = TokenReviewer(options.static_tokens, verifier, options.audiences)
    add_authentication_routes(app, AuthenticationApi(ops, issuer, options.audiences, reviewer, restricted_node))
    app.add_middleware(AuthenticationMiddleware,  # type: ignore[arg-type]
                       authentication=Authentication((*tokens, *options.token_authenticators), options.anonymous,
                                                     options.impersonation))
