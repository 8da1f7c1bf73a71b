"""The user model authorizers read: Kubernetes' implicit group and the node and ServiceAccount names."""

from __future__ import annotations

import pytest

from minik8s.api.user import (
    ANONYMOUS,
    SYSTEM_AUTHENTICATED,
    UserInfo,
    authenticated,
    node_name_of,
    service_account_of,
)


def test_an_authenticated_user_is_in_system_authenticated_once() -> None:
    assert authenticated("alice", ("dev",)).groups == ("dev", SYSTEM_AUTHENTICATED)
    assert authenticated("bob", (SYSTEM_AUTHENTICATED,)).groups == (SYSTEM_AUTHENTICATED,)
    assert SYSTEM_AUTHENTICATED not in ANONYMOUS.groups


@pytest.mark.parametrize(("user", "node"), [
    (UserInfo("system:node:node-1", ("system:nodes",)), "node-1"),
    (UserInfo("system:node:node-1", ()), None),  # the name alone proves nothing
    (UserInfo("system:node:", ("system:nodes",)), None),
    (UserInfo("alice", ("system:nodes",)), None),
])
def test_node_name_of(user: UserInfo, node: str | None) -> None:
    assert node_name_of(user) == node


@pytest.mark.parametrize(("name", "expected"), [
    ("system:serviceaccount:prod:builder", ("prod", "builder")),
    ("system:serviceaccount:prod:", None),
    ("system:serviceaccount:prod", None),
    ("alice", None),
])
def test_service_account_of(name: str, expected: tuple[str, str] | None) -> None:
    assert service_account_of(UserInfo(name)) == expected


def test_user_info_json_is_the_authentication_api_shape() -> None:
    user = authenticated("alice", ("dev",), uid="42", extra={"scopes": ("a", "b")})
    assert user.to_json() == {"username": "alice", "uid": "42", "groups": ["dev", SYSTEM_AUTHENTICATED],
                              "extra": {"scopes": ["a", "b"]}}
    assert ANONYMOUS.to_json() == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
