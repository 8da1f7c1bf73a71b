"""How a node agent serves its port: HTTPS with its own certificate, and who may call it — kubelet's flags.

`--tls-cert-file`/`--tls-private-key-file` make the agent serve HTTPS (the cluster PKI issues each
node `kubelet-serving-<node>`, whose SANs hold the node's address); `--client-ca-file` is the CA
client certificates are verified against (the cluster CA, which signed the apiserver's
`apiserver-kubelet-client`). With TLS, `--anonymous-auth` defaults to false and
`--authorization-mode` to Webhook, as kubeadm configures kubelets; bearer tokens are then reviewed by
the apiserver. Without `--tls-cert-file` the agent serves plain HTTP as before (tests, simulated
nodes) and lets everyone in unless those two flags say otherwise — with a warning, since anyone who
reaches the port may then exec into its pods.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from minik8s.api.meta import JsonObject
from minik8s.api.registry import AUTHENTICATION_GROUP, AUTHORIZATION_GROUP, REGISTRY, ResourceKind
from minik8s.client.api import ApiClient
from minik8s.daemon.tls import ServerTls
from minik8s.node.access import AgentAccess
from minik8s.node.authorization_webhook import SubjectAccessReviewAuthorizer
from minik8s.node.token_webhook import PostReview, TokenReviewAuthenticator

log = logging.getLogger(__name__)

WEBHOOK, ALWAYS_ALLOW = "Webhook", "AlwaysAllow"


def add_serving_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-cert-file", default="", help="serving certificate (PEM); with "
                        "--tls-private-key-file, serve HTTPS instead of plain HTTP")
    parser.add_argument("--tls-private-key-file", default="", help="the serving certificate's private key (PEM)")
    parser.add_argument("--client-ca-file", default="", help="CA bundle client certificates are verified against; "
                        "a verified certificate authenticates its CN as user, its Os as groups")
    parser.add_argument("--anonymous-auth", default=None, choices=("true", "false"),
                        help="serve requests without credentials as system:anonymous (default: false with TLS, "
                             "true without)")
    parser.add_argument("--authorization-mode", default=None, choices=(WEBHOOK, ALWAYS_ALLOW),
                        help="Webhook: ask the apiserver (SubjectAccessReview) whether each request is allowed; "
                             "AlwaysAllow: allow every authenticated request (default: Webhook with TLS, "
                             "AlwaysAllow without)")


def check_serving_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        parser.error("--tls-cert-file and --tls-private-key-file go together")
    if args.client_ca_file and not args.tls_cert_file:
        parser.error("--client-ca-file needs --tls-cert-file and --tls-private-key-file")


@dataclass(frozen=True)
class ServingOptions:
    """The flags, with their defaults resolved."""

    tls: ServerTls | None
    anonymous: bool
    webhook: bool

    @property
    def guarded(self) -> bool:
        """Whether requests are checked at all (plain HTTP with the defaults lets everyone in, as before)."""
        return self.tls is not None or not self.anonymous or self.webhook


def serving_options(args: argparse.Namespace) -> ServingOptions:
    tls = ServerTls(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file) \
        if args.tls_cert_file else None
    anonymous = args.anonymous_auth == "true" if args.anonymous_auth is not None else tls is None
    mode = args.authorization_mode or (WEBHOOK if tls is not None else ALWAYS_ALLOW)
    return ServingOptions(tls, anonymous, mode == WEBHOOK)


def _review_kind(group: str, plural: str) -> ResourceKind:
    kind = REGISTRY.virtual_kind(group, "v1", plural)
    if kind is None:
        raise LookupError(f"{group}/v1 {plural} is not in the registry")
    return kind


def review_poster(client: ApiClient, group: str, plural: str) -> PostReview:
    """Posts a review with the agent's own client (its identity needs `create` on the review kind)."""
    kind = _review_kind(group, plural)

    async def post(review: JsonObject) -> JsonObject:
        return await client.create(kind, review)

    return post


def agent_access(options: ServingOptions, node_name: str, client: ApiClient) -> AgentAccess | None:
    """Who may call the agent, or None when nobody is checked (a warning says so)."""
    if options.tls is None:
        log.warning("node %s: no --tls-cert-file: the logs/exec endpoint serves plain HTTP%s", node_name,
                    "" if options.guarded else ", to anyone who reaches it")
    if not options.guarded:
        return None
    tokens = TokenReviewAuthenticator(review_poster(client, AUTHENTICATION_GROUP, "tokenreviews"))
    authorizer = SubjectAccessReviewAuthorizer(review_poster(client, AUTHORIZATION_GROUP, "subjectaccessreviews")) \
        if options.webhook else None
    return AgentAccess(node_name, (tokens,), options.anonymous, authorizer)
