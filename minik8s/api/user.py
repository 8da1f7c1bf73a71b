"""Who a request comes from: the user every authenticator produces and every authorizer reads.

Kubernetes' `user.Info`: a name, a uid, groups and extra attributes. Authentication (client
certificates, bearer tokens, impersonation) turns a request into one `UserInfo`; authorization
(RBAC, the Node authorizer) and admission only ever read it, so they stay pure. The well-known
names below are Kubernetes' own spellings, which RBAC bindings and kubectl's messages rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SYSTEM_MASTERS = "system:masters"
SYSTEM_AUTHENTICATED = "system:authenticated"
SYSTEM_UNAUTHENTICATED = "system:unauthenticated"
SYSTEM_NODES = "system:nodes"
SYSTEM_SERVICE_ACCOUNTS = "system:serviceaccounts"
ANONYMOUS_NAME = "system:anonymous"
NODE_PREFIX = "system:node:"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) user; `extra` maps a key to its values."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """authentication.k8s.io/v1 UserInfo, as SelfSubjectReview and SubjectAccessReview carry it."""
        body: dict[str, Any] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            body["uid"] = self.uid
        if self.extra:
            body["extra"] = {key: list(values) for key, values in self.extra.items()}
        return body


ANONYMOUS = UserInfo(ANONYMOUS_NAME, (SYSTEM_UNAUTHENTICATED,))


def authenticated(name: str, groups: tuple[str, ...] = (), *, uid: str = "",
                  extra: Mapping[str, tuple[str, ...]] | None = None) -> UserInfo:
    """A user who proved who they are: Kubernetes adds `system:authenticated` to their groups."""
    with_all = groups if SYSTEM_AUTHENTICATED in groups else (*groups, SYSTEM_AUTHENTICATED)
    return UserInfo(name, with_all, uid, dict(extra or {}))


def node_name_of(user: UserInfo) -> str | None:
    """The node a `system:node:<name>` user in `system:nodes` speaks for, else None."""
    if SYSTEM_NODES in user.groups and user.name.startswith(NODE_PREFIX):
        return user.name[len(NODE_PREFIX):] or None
    return None


def service_account_of(user: UserInfo) -> tuple[str, str] | None:
    """(namespace, name) of a `system:serviceaccount:<ns>:<name>` user, else None."""
    if not user.name.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = user.name[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
    return (namespace, name) if namespace and name else None
