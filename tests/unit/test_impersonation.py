"""Impersonation headers: what they ask, the checks they need, the user they make, Kubernetes' 403."""

from __future__ import annotations

import pytest

from minik8s.api.user import UserInfo, authenticated
from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.impersonation import (
    Impersonation,
    ImpersonationTarget,
    forbidden,
    impersonate,
    impersonated_user,
    masters_only,
    requested,
    targets,
)

ADMIN = authenticated("admin", ("system:masters",))
ALICE = authenticated("alice")


def test_headers_ask_for_a_user_groups_uid_and_extras() -> None:
    headers = [("impersonate-user", "bob"), ("impersonate-group", "devs"), ("impersonate-group", "ops"),
               ("impersonate-uid", "42"), ("impersonate-extra-Scopes%2Fx", "view"), ("accept", "*/*")]
    assert requested(headers) == Impersonation("bob", ("devs", "ops"), "42", (("scopes/x", ("view",)),))
    assert requested([("accept", "*/*")]) is None


def test_groups_without_a_user_are_an_error() -> None:
    with pytest.raises(StatusError) as raised:
        requested([("impersonate-group", "devs")])
    assert raised.value.code == 500


@pytest.mark.parametrize(("wanted", "checks"), [
    (Impersonation("bob"), [ImpersonationTarget("users", "bob")]),
    (Impersonation("system:serviceaccount:shop:robot", ("devs",)),
     [ImpersonationTarget("serviceaccounts", "robot", namespace="shop"), ImpersonationTarget("groups", "devs")]),
    (Impersonation("bob", (), "42", (("scopes", ("a", "b")),)),
     [ImpersonationTarget("users", "bob"),
      ImpersonationTarget("userextras", "a", "authentication.k8s.io", "scopes"),
      ImpersonationTarget("userextras", "b", "authentication.k8s.io", "scopes"),
      ImpersonationTarget("uids", "42", "authentication.k8s.io")]),
])
def test_each_attribute_is_one_impersonate_check(wanted: Impersonation, checks: list[ImpersonationTarget]) -> None:
    assert targets(wanted) == checks


@pytest.mark.parametrize(("wanted", "user"), [
    (Impersonation("bob", ("devs",)), UserInfo("bob", ("devs", "system:authenticated"))),
    (Impersonation("system:anonymous"), UserInfo("system:anonymous", ("system:unauthenticated",))),
    (Impersonation("system:serviceaccount:shop:robot"),
     UserInfo("system:serviceaccount:shop:robot",
              ("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"))),
])
def test_the_impersonated_user(wanted: Impersonation, user: UserInfo) -> None:
    assert impersonated_user(wanted) == user


def test_forbidden_speaks_kubernetes() -> None:
    assert forbidden(ALICE, ImpersonationTarget("users", "bob")).message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" '
        "at the cluster scope")
    assert forbidden(ALICE, ImpersonationTarget("serviceaccounts", "robot", namespace="shop")).message == (
        'serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API '
        'group "" in the namespace "shop"')
    assert forbidden(ALICE, ImpersonationTarget("userextras", "a", "authentication.k8s.io", "scopes")).message == (
        'userextras.authentication.k8s.io "a" is forbidden: User "alice" cannot impersonate resource '
        '"userextras/scopes" in API group "authentication.k8s.io" at the cluster scope')


async def test_only_allowed_users_impersonate() -> None:
    headers = [("impersonate-user", "bob")]
    assert (await impersonate(ADMIN, headers, masters_only)).name == "bob"
    assert await impersonate(ALICE, [], masters_only) == ALICE
    with pytest.raises(StatusError) as raised:
        await impersonate(ALICE, headers, masters_only)
    assert raised.value.code == 403
