"""Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-*` headers (`kubectl --as`, `--as-group`).

As Kubernetes' WithImpersonation filter (k8s.io/apiserver pkg/endpoints/filters/impersonation.go):
each requested attribute is a separate authorization check of verb `impersonate` — `users` (or
`serviceaccounts` in the account's namespace for `system:serviceaccount:` names), `groups`,
`uids.authentication.k8s.io`, `userextras.authentication.k8s.io/<key>` — and the first refusal is a
403 in Kubernetes' words. The request then runs as the impersonated user, who is in
`system:authenticated` (`system:unauthenticated` for `system:anonymous`), plus the ServiceAccount
groups when impersonating one without naming groups. Who may impersonate is the authorizer's call;
it is a parameter here so authentication does not depend on RBAC.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from minik8s.api.user import (
    ANONYMOUS_NAME,
    SERVICE_ACCOUNT_PREFIX,
    SYSTEM_AUTHENTICATED,
    SYSTEM_MASTERS,
    SYSTEM_SERVICE_ACCOUNTS,
    SYSTEM_UNAUTHENTICATED,
    UserInfo,
)
from minik8s.apiserver.errors import StatusError

USER_HEADER = "impersonate-user"
GROUP_HEADER = "impersonate-group"
UID_HEADER = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"


@dataclass(frozen=True)
class ImpersonationTarget:
    """The authorization attributes of one `impersonate` check."""

    resource: str
    name: str
    api_group: str = ""
    subresource: str = ""
    namespace: str = ""
    verb: str = "impersonate"


# May this user impersonate this target? helper R's authorizer fills it in; see `masters_only`.
ImpersonationCheck = Callable[[UserInfo, ImpersonationTarget], Awaitable[bool]]


async def masters_only(user: UserInfo, _: ImpersonationTarget) -> bool:
    """The check used when no authorizer is given: only `system:masters` may impersonate."""
    return SYSTEM_MASTERS in user.groups


@dataclass(frozen=True)
class Impersonation:
    user: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


def is_impersonation_header(name: str) -> bool:
    return name in (USER_HEADER, GROUP_HEADER, UID_HEADER) or name.startswith(EXTRA_PREFIX)


def requested(headers: Sequence[tuple[str, str]]) -> Impersonation | None:
    """What the headers (lower-cased names) ask for; None when they ask nothing. 500 for groups,
    extras or a uid without a user, as Kubernetes answers (an InternalError)."""
    users = [value for name, value in headers if name == USER_HEADER]
    groups = tuple(value for name, value in headers if name == GROUP_HEADER)
    uids = [value for name, value in headers if name == UID_HEADER]
    extra: dict[str, list[str]] = {}
    for name, value in headers:
        if name.startswith(EXTRA_PREFIX):
            extra.setdefault(unquote(name[len(EXTRA_PREFIX):]).lower(), []).append(value)
    if not users or not users[0]:
        if groups or uids or extra:
            raise StatusError(500, "InternalError", "Internal error occurred: requested impersonation of "
                              "groups, extra or uid without impersonating a user")
        return None
    return Impersonation(users[0], groups, uids[0] if uids else "",
                         tuple((key, tuple(values)) for key, values in extra.items()))


def targets(wanted: Impersonation) -> list[ImpersonationTarget]:
    """One check per impersonated attribute, in Kubernetes' order: user, groups, extras, uid."""
    checks: list[ImpersonationTarget] = []
    namespace, _, account = wanted.user.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
    if wanted.user.startswith(SERVICE_ACCOUNT_PREFIX) and namespace and account:
        checks.append(ImpersonationTarget("serviceaccounts", account, namespace=namespace))
    else:
        checks.append(ImpersonationTarget("users", wanted.user))
    checks.extend(ImpersonationTarget("groups", group) for group in wanted.groups)
    for key, values in wanted.extra:
        checks.extend(ImpersonationTarget("userextras", value, AUTHENTICATION_GROUP, key) for value in values)
    if wanted.uid:
        checks.append(ImpersonationTarget("uids", wanted.uid, AUTHENTICATION_GROUP))
    return checks


def impersonated_user(wanted: Impersonation) -> UserInfo:
    groups = list(wanted.groups)
    namespace, _, account = wanted.user.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
    if wanted.user.startswith(SERVICE_ACCOUNT_PREFIX) and namespace and account and not groups:
        groups = [SYSTEM_SERVICE_ACCOUNTS, f"{SYSTEM_SERVICE_ACCOUNTS}:{namespace}"]
    implied = SYSTEM_UNAUTHENTICATED if wanted.user == ANONYMOUS_NAME else SYSTEM_AUTHENTICATED
    if implied not in groups:
        groups.append(implied)
    return UserInfo(wanted.user, tuple(groups), wanted.uid, dict(wanted.extra))


def forbidden(user: UserInfo, target: ImpersonationTarget) -> StatusError:
    """Kubernetes' 403: `users "bob" is forbidden: User "alice" cannot impersonate resource "users" …`."""
    resource = f"{target.resource}/{target.subresource}" if target.subresource else target.resource
    qualified = f"{target.resource}.{target.api_group}" if target.api_group else target.resource
    scope = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
    details: dict[str, str] = {"name": target.name, "kind": target.resource}
    if target.api_group:
        details["group"] = target.api_group
    return StatusError(403, "Forbidden", f'{qualified} "{target.name}" is forbidden: User "{user.name}" cannot '
                       f'impersonate resource "{resource}" in API group "{target.api_group}" {scope}',
                       details=details)


async def impersonate(user: UserInfo, headers: Sequence[tuple[str, str]], allowed: ImpersonationCheck) -> UserInfo:
    """The user the request runs as: `user` itself, or whom it may and does impersonate (else 403)."""
    wanted = requested(headers)
    if wanted is None:
        return user
    for target in targets(wanted):
        if not await allowed(user, target):
            raise forbidden(user, target)
    return impersonated_user(wanted)
