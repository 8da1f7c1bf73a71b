"""The authentication APIs: TokenRequest (`kubectl create token`) and SelfSubjectReview (`kubectl auth whoami`).

`POST /api/v1/namespaces/NS/serviceaccounts/NAME/token` takes an authentication.k8s.io/v1 TokenRequest
and answers it (201) with `status.token` and `status.expirationTimestamp` filled in, as Kubernetes'
TokenREST does: `expirationSeconds` defaults to an hour and may not be under 10 minutes, audiences
default to the apiserver's, and `boundObjectRef` may bind the token to a Pod of the namespace.
`POST /apis/authentication.k8s.io/v1/selfsubjectreviews` answers with the caller's own user;
`POST /apis/authentication.k8s.io/v1/tokenreviews` checks someone else's token (see token_review).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from minik8s.api.kinds import PODS, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject, format_time, name_of, uid_of
from minik8s.api.user import UserInfo
from minik8s.apiserver import errors
from minik8s.apiserver.authentication import user_of
from minik8s.apiserver.node_admission import admit_node_token
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.routes import json_response, parse_object, read_body
from minik8s.apiserver.service_account_tokens import TokenIssuer
from minik8s.apiserver.token_review import TOKEN_REVIEW_PATH, TokenReviewer

GROUP_VERSION = "authentication.k8s.io/v1"
TOKEN_PATH = "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
SELF_SUBJECT_REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 1 << 32


def token_request_spec(body: Any, api_audiences: tuple[str, ...]) -> tuple[list[str], int, JsonObject | None]:
    """(audiences, expirationSeconds, boundObjectRef) of a TokenRequest, defaulted; 422 when invalid."""
    if not isinstance(body, dict) or body.get("kind", "TokenRequest") != "TokenRequest":
        raise errors.bad_request("the body of the request must be an authentication.k8s.io/v1 TokenRequest")
    spec: dict[str, Any] = body["spec"] if isinstance(body.get("spec"), dict) else {}
    audiences = spec.get("audiences") or list(api_audiences)
    seconds = spec.get("expirationSeconds") or DEFAULT_EXPIRATION_SECONDS
    causes: list[dict[str, str]] = []
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        causes.append({"field": "spec.audiences", "reason": "FieldValueInvalid",
                       "message": "Invalid value: audiences must be non-empty strings"})
    if not isinstance(seconds, int) or seconds < MIN_EXPIRATION_SECONDS:
        causes.append({"field": "spec.expirationSeconds", "reason": "FieldValueInvalid",
                       "message": f"Invalid value: {seconds}: may not specify a duration less than 10 minutes"})
    elif seconds > MAX_EXPIRATION_SECONDS:
        causes.append({"field": "spec.expirationSeconds", "reason": "FieldValueInvalid",
                       "message": f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"})
    bound = spec.get("boundObjectRef")
    if bound is not None and (not isinstance(bound, dict) or bound.get("kind") != "Pod"):
        causes.append({"field": "spec.boundObjectRef.kind", "reason": "FieldValueNotSupported",
                       "message": 'Unsupported value: supported values: "Pod"'})
    if causes:
        summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise errors.StatusError(422, "Invalid", f'TokenRequest.authentication.k8s.io "" is invalid: {summary}',
                                 details={"group": "authentication.k8s.io", "kind": "TokenRequest",
                                          "causes": causes})
    return audiences, seconds, bound


def _no_node(_: UserInfo) -> str | None:
    return None


@dataclass(frozen=True)
class AuthenticationApi:
    ops: Operations
    issuer: TokenIssuer | None
    api_audiences: tuple[str, ...]
    reviewer: TokenReviewer
    restricted_node: Callable[[UserInfo], str | None] = _no_node  # the node NodeRestriction holds a user to

    async def create_token(self, request: Request) -> Response:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        account = await self.ops.get(SERVICE_ACCOUNTS, namespace, name)
        body = parse_object(await read_body(request), request.headers.get("content-type", ""))
        audiences, seconds, bound = token_request_spec(body, self.api_audiences)
        node = self.restricted_node(user_of(request.state))
        if node is not None:
            await admit_node_token(self.ops, node, namespace, name, bound)
        if self.issuer is None:
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource: "
                                     "no --service-account-signing-key-file, so no tokens are issued")
        pod = await self._bound_pod(namespace, bound)
        now = datetime.now(UTC)
        issued = self.issuer.issue(account, audiences, timedelta(seconds=seconds), now, pod)
        reference = None if pod is None else {"kind": "Pod", "apiVersion": "v1", "name": name_of(pod),
                                              "uid": uid_of(pod)}
        return json_response({
            "kind": "TokenRequest", "apiVersion": GROUP_VERSION,
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": format_time(now)},
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": reference},
            "status": {"token": issued.token, "expirationTimestamp": format_time(issued.expires)},
        }, 201)

    async def _bound_pod(self, namespace: str, bound: JsonObject | None) -> JsonObject | None:
        if bound is None:
            return None
        pod = await self.ops.get(PODS, namespace, str(bound.get("name", "")))
        if bound.get("uid") and bound["uid"] != uid_of(pod):
            raise errors.conflict(PODS, name_of(pod), f"the UID in the bound object reference ({bound['uid']}) "
                                  f"does not match the UID in record. The object might have been deleted "
                                  f"and then recreated")
        return pod

    async def self_subject_review(self, request: Request) -> Response:
        body = parse_object(await read_body(request), request.headers.get("content-type", "") or "json")
        version = body.get("apiVersion", GROUP_VERSION) if isinstance(body, dict) else GROUP_VERSION
        return json_response({"kind": "SelfSubjectReview", "apiVersion": version,
                              "metadata": {"creationTimestamp": None},
                              "status": {"userInfo": user_of(request.state).to_json()}}, 201)


    async def token_review(self, request: Request) -> Response:
        body = parse_object(await read_body(request), request.headers.get("content-type", ""))
        return json_response(await self.reviewer.review(body), 201)


def _create_only(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """These resources only take POST; any other method is 405, not the catch-all's reading of the path."""
    async def create_only(request: Request) -> Response:
        if request.method != "POST":
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        return await handler(request)
    return create_only


def add_authentication_routes(app: FastAPI, api: AuthenticationApi) -> None:
    """Before the catch-all API routes, so these paths reach their own handlers."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_route(TOKEN_PATH, _create_only(api.create_token), methods=methods)
    app.add_route(SELF_SUBJECT_REVIEW_PATH, _create_only(api.self_subject_review), methods=methods)
    app.add_route(TOKEN_REVIEW_PATH, _create_only(api.token_review), methods=methods)
