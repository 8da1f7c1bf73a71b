"""Every query parameter and DeleteOptions body is read as Kubernetes reads it: a mistake is the caller's 4xx.

Each case was a finding: `limit=-99` answered 500 and `limit=-1` dropped the last item; a watch with
`resourceVersion=abc` answered 200 and then broke its stream; a resourceVersion from the future answered
an older state; `timeoutSeconds=x` was ignored; DELETE bodies of the wrong shape and a huge
gracePeriodSeconds answered 500; a negative gracePeriodSeconds force-deleted a bound pod at once.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from minik8s.api.kinds import NAMESPACES
from minik8s.api.kinds import PODS as PODS_KIND
from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore
from tests.support import builders

PODS = "/api/v1/namespaces/default/pods"
CONFIG_MAPS = "/api/v1/namespaces/default/configmaps"
FUTURE = str(10**15)


def status_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["kind"] == "Status", body
    return response.status_code, body["reason"], body["message"]


async def config_maps(api: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        assert (await api.post(CONFIG_MAPS, json={"metadata": {"name": name}})).status_code == 201


async def bound_pod(api: httpx.AsyncClient, name: str = "web") -> None:
    assert (await api.post(PODS, json=builders.pod(name, node_name="node-1"))).status_code == 201


# -- limit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["-1", "-99", "0"])
async def test_a_limit_below_one_lists_everything_as_kubernetes_does(api: httpx.AsyncClient, limit: str) -> None:
    empty = await api.get(CONFIG_MAPS, params={"limit": limit})
    assert (empty.status_code, empty.json()["items"]) == (200, [])
    await config_maps(api, "a", "b", "c")
    listed = await api.get(CONFIG_MAPS, params={"limit": limit})
    assert listed.status_code == 200
    assert [item["metadata"]["name"] for item in listed.json()["items"]] == ["a", "b", "c"]
    assert "continue" not in listed.json()["metadata"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("limit", "abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("limit", "1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
    ("limit", " 2", 'strconv.ParseInt: parsing " 2": invalid syntax'),
    ("limit", str(2**63), f'strconv.ParseInt: parsing "{2**63}": value out of range'),
    ("timeoutSeconds", "0.1s", 'strconv.ParseInt: parsing "0.1s": invalid syntax'),
    ("resourceVersion", "abc", 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": '
                               "invalid syntax"),
    ("resourceVersion", "-5", 'resourceVersion: Invalid value: "-5": strconv.ParseUint: parsing "-5": invalid syntax'),
    ("resourceVersion", "1e9", 'resourceVersion: Invalid value: "1e9": strconv.ParseUint: parsing "1e9": '
                               "invalid syntax"),
    ("resourceVersion", str(2**64), f'resourceVersion: Invalid value: "{2**64}": strconv.ParseUint: parsing '
                                    f'"{2**64}": value out of range'),
])
@pytest.mark.parametrize("watch", [False, True])
async def test_a_malformed_number_is_a_400_in_gos_words(api: httpx.AsyncClient, name: str, value: str, message: str,
                                                        watch: bool) -> None:
    params = {name: value, **({"watch": "true"} if watch else {})}
    response = await api.get(PODS, params=params)  # a watch is refused before its stream starts
    assert status_of(response) == (400, "BadRequest", message)


@pytest.mark.parametrize(("name", "value", "problem"), [("tailLines", "1_0", "invalid syntax"),
                                                        ("limitBytes", str(2**70), "value out of range"),
                                                        ("sinceSeconds", "١٢", "invalid syntax")])
async def test_log_options_are_int64_too(api: httpx.AsyncClient, name: str, value: str, problem: str) -> None:
    await bound_pod(api)
    response = await api.get(f"{PODS}/web/log", params={name: value})
    quoted = json.dumps(value, ensure_ascii=False)
    assert status_of(response) == (400, "BadRequest", f"strconv.ParseInt: parsing {quoted}: {problem}")


async def test_a_malformed_resource_version_on_get_is_a_400(api: httpx.AsyncClient) -> None:
    await bound_pod(api)
    response = await api.get(f"{PODS}/web", params={"resourceVersion": "abc"})
    assert status_of(response)[:2] == (400, "BadRequest")


@pytest.mark.parametrize(("params", "message"), [
    ({"resourceVersionMatch": "Exact"}, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
                                        "resourceVersion is provided"),
    ({"resourceVersionMatch": "Sometimes", "resourceVersion": "1"},
     'resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""'),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "0"},
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ({"sendInitialEvents": "true"}, "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
    ({"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"},
     "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is "
     "enabled"),
])
async def test_list_options_are_validated_as_kubernetes_validates_them(api: httpx.AsyncClient,
                                                                       params: dict[str, str], message: str) -> None:
    response = await api.get(CONFIG_MAPS, params=params)
    assert status_of(response) == (422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: {message}')


async def test_an_exact_list_is_served_at_the_current_version_only(api: httpx.AsyncClient) -> None:
    await config_maps(api, "a")
    older = (await api.get(CONFIG_MAPS)).json()["metadata"]["resourceVersion"]
    await config_maps(api, "b")
    current = (await api.get(CONFIG_MAPS)).json()["metadata"]["resourceVersion"]
    exact = await api.get(CONFIG_MAPS, params={"resourceVersion": current, "resourceVersionMatch": "Exact"})
    assert exact.status_code == 200 and len(exact.json()["items"]) == 2
    gone = await api.get(CONFIG_MAPS, params={"resourceVersion": older, "resourceVersionMatch": "Exact"})
    assert status_of(gone) == (410, "Expired", "The resourceVersion for the provided list is too old.")
    newer = await api.get(CONFIG_MAPS, params={"resourceVersion": older, "resourceVersionMatch": "NotOlderThan"})
    assert newer.status_code == 200 and len(newer.json()["items"]) == 2


# -- a resourceVersion from the future -------------------------------------------------------------


@pytest.mark.parametrize("path", [PODS, "/api/v1/namespaces/default", f"{PODS}?watch=true"])
async def test_a_resource_version_from_the_future_times_out_as_too_large(api: httpx.AsyncClient, path: str) -> None:
    started = time.monotonic()
    response = await api.get(path, params={"resourceVersion": FUTURE}, timeout=10)
    assert time.monotonic() - started < 8  # a bounded wait (Kubernetes waits 3 s), never a hang
    code, reason, message = status_of(response)
    assert (code, reason) == (504, "Timeout") and message.startswith(f"Timeout: Too large resource version: {FUTURE}, "
                                                                     "current: ")
    details = response.json()["details"]
    assert details["causes"] == [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    assert details["retryAfterSeconds"] == 1 and response.headers["retry-after"] == "1"


async def test_a_watch_from_a_written_resource_version_still_streams(api: httpx.AsyncClient) -> None:
    await config_maps(api, "a")
    version = (await api.get(CONFIG_MAPS)).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": "1"}
    async with api.stream("GET", CONFIG_MAPS, params=params) as response:
        assert response.status_code == 200
        await config_maps(api, "b")
        lines = [line async for line in response.aiter_lines() if line]
    assert len(lines) == 1 and '"name":"b"' in lines[0]


# -- gracePeriodSeconds ----------------------------------------------------------------------------


async def test_a_negative_grace_period_means_one_second_never_a_forced_delete(api: httpx.AsyncClient) -> None:
    await bound_pod(api)
    response = await api.delete(f"{PODS}/web", params={"gracePeriodSeconds": "-5"})
    assert response.status_code == 200
    assert response.json()["metadata"]["deletionGracePeriodSeconds"] == 1
    assert (await api.get(f"{PODS}/web")).status_code == 200  # the node agent still gets to stop it
    again = await api.request("DELETE", f"{PODS}/web", json={"gracePeriodSeconds": -1})
    assert again.json()["metadata"]["deletionGracePeriodSeconds"] == 1


async def test_any_int64_grace_period_is_taken_and_anything_larger_is_a_400(api: httpx.AsyncClient) -> None:
    await bound_pod(api)
    too_large = await api.delete(f"{PODS}/web", params={"gracePeriodSeconds": str(2**70)})
    assert status_of(too_large) == (400, "BadRequest", f'strconv.ParseInt: parsing "{2**70}": value out of range')
    in_body = await api.request("DELETE", f"{PODS}/web", json={"gracePeriodSeconds": 2**70})
    assert status_of(in_body)[:2] == (400, "BadRequest")
    longest = await api.delete(f"{PODS}/web", params={"gracePeriodSeconds": str(2**63 - 1)})
    assert longest.status_code == 200, longest.text
    assert longest.json()["metadata"]["deletionGracePeriodSeconds"] == 2**63 - 1


# -- DeleteOptions -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "why"), [
    ("[1]", "json: cannot unmarshal array into Go value of type v1.DeleteOptions"),
    ("5", "json: cannot unmarshal number into Go value of type v1.DeleteOptions"),
    ('"all"', "json: cannot unmarshal string into Go value of type v1.DeleteOptions"),
    ('{"preconditions": 5}', "json: cannot unmarshal number into Go struct field DeleteOptions.preconditions of "
                             "type v1.Preconditions"),
    ('{"preconditions": {"uid": 5}}', "json: cannot unmarshal number into Go struct field "
                                      "DeleteOptions.preconditions.uid of type types.UID"),
    ('{"gracePeriodSeconds": "30"}', "json: cannot unmarshal string into Go struct field "
                                     "DeleteOptions.gracePeriodSeconds of type int64"),
    ('{"gracePeriodSeconds": 1.5}', "json: cannot unmarshal number 1.5 into Go struct field "
                                    "DeleteOptions.gracePeriodSeconds of type int64"),
    ('{"orphanDependents": "yes"}', "json: cannot unmarshal string into Go struct field "
                                    "DeleteOptions.orphanDependents of type bool"),
    ('{"propagationPolicy": 5}', "json: cannot unmarshal number into Go struct field "
                                 "DeleteOptions.propagationPolicy of type v1.DeletionPropagation"),
    ('{"dryRun": "All"}', "json: cannot unmarshal string into Go struct field DeleteOptions.dryRun of type []string"),
])
async def test_a_delete_body_of_the_wrong_shape_is_a_400(api: httpx.AsyncClient, body: str, why: str) -> None:
    await bound_pod(api)
    response = await api.request("DELETE", f"{PODS}/web", content=body, headers={"content-type": "application/json"})
    assert status_of(response) == (
        400, "BadRequest", f'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: {why}')
    assert "deletionTimestamp" not in (await api.get(f"{PODS}/web")).json()["metadata"]


@pytest.mark.parametrize(("body", "params", "message"), [
    ({"propagationPolicy": "Sideways"}, {}, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported '
                                            'value: "Sideways": supported values: "Foreground", "Background", '
                                            '"Orphan", "nil"'),
    ({"orphanDependents": True, "propagationPolicy": "Background"}, {},
     'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": orphanDependents '
     "and deletionPropagation cannot be both set"),
    (None, {"dryRun": "true"}, 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                               '[]string{"true"}: supported values: "All"'),
])
async def test_delete_options_are_validated_as_kubernetes_validates_them(api: httpx.AsyncClient, body: Any,
                                                                         params: dict[str, str], message: str) -> None:
    await bound_pod(api)
    response = await api.request("DELETE", f"{PODS}/web", json=body, params=params)
    assert status_of(response) == (422, "Invalid", message)
    assert response.json()["details"]["group"] == "meta.k8s.io"
    assert "deletionTimestamp" not in (await api.get(f"{PODS}/web")).json()["metadata"]


async def test_dry_run_takes_only_all(api: httpx.AsyncClient) -> None:
    created = await api.post(CONFIG_MAPS, params={"dryRun": "false"}, json={"metadata": {"name": "a"}})
    assert status_of(created) == (422, "Invalid", 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                                                  '[]string{"false"}: supported values: "All"')
    assert (await api.post(CONFIG_MAPS, params={"dryRun": "All"}, json={"metadata": {"name": "a"}})).status_code == 201
    assert (await api.get(f"{CONFIG_MAPS}/a")).status_code == 404
    await config_maps(api, "a")
    assert (await api.delete(f"{CONFIG_MAPS}/a", params={"dryRun": "All"})).status_code == 200
    assert (await api.get(f"{CONFIG_MAPS}/a")).status_code == 200


@pytest.mark.parametrize("body", ["{", "[1]", '{"gracePeriodSeconds": "soon"}'])
async def test_a_bad_delete_collection_body_is_a_400_and_deletes_nothing(api: httpx.AsyncClient, body: str) -> None:
    await config_maps(api, "a", "b")
    response = await api.request("DELETE", CONFIG_MAPS, content=body, headers={"content-type": "application/json"})
    assert status_of(response)[:2] == (400, "BadRequest")
    assert len((await api.get(CONFIG_MAPS)).json()["items"]) == 2


# -- objects of the wrong shape ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "patch"), [
    (f"{PODS}/web/status", {"status": [1]}),
    (f"{PODS}/web/status", {"status": "Running"}),
    ("/api/v1/namespaces/default/status", {"status": [1]}),
])
async def test_a_status_that_is_no_object_is_refused(api: httpx.AsyncClient, path: str, patch: Any) -> None:
    await bound_pod(api)
    response = await api.patch(path, json=patch, headers={"content-type": "application/merge-patch+json"})
    assert status_of(response)[:2] == (422, "Invalid")
    assert response.json()["details"]["causes"][0] == {
        "reason": "FieldValueTypeInvalid", "field": "status",
        "message": f"Invalid value: {httpx.Response(200, json=patch['status']).text}: must be of type object"}


async def test_a_pod_whose_spec_is_a_list_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(PODS, json={"metadata": {"name": "listed"}, "spec": [1]})
    assert status_of(response)[:2] == (422, "Invalid")
    assert response.json()["details"]["causes"][0]["field"] == "spec"


@pytest.mark.parametrize("spec", [[1], {"containers": [{"name": "c", "image": "i"}], "tolerations": 5},
                                  {"containers": [{"name": "c", "image": "i"}], "tolerations": [{"key": ["k"]}]}])
async def test_a_malformed_pod_is_a_422_under_default_toleration_seconds(spec: Any) -> None:
    """`minik8s up` sets --default-*-toleration-seconds, which adjusted the tolerations before validation."""
    ops = Operations(ObjectStore(LocalStore(history=10)), toleration_seconds={"node.kubernetes.io/not-ready": 300})
    await ops.create(NAMESPACES, None, {"metadata": {"name": "default"}})
    with pytest.raises(StatusError) as refused:
        await ops.create(PODS_KIND, "default", {"metadata": {"name": "listed"}, "spec": spec})
    assert (refused.value.code, refused.value.reason) == (422, "Invalid")


# -- the connection after an error -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "content"), [
    ("GET", f"{CONFIG_MAPS}?limit=abc", None),
    ("GET", f"{PODS}?watch=true&resourceVersion=abc", None),
    ("DELETE", f"{PODS}/web", b"[1]"),
    ("DELETE", f"{PODS}/web?gracePeriodSeconds={2**70}", None),
])
async def test_the_connection_stays_open_after_a_refused_request(api: httpx.AsyncClient, method: str, path: str,
                                                                 content: bytes | None) -> None:
    await bound_pod(api)
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=5,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)) as client:
        bad = await client.request(method, path, content=content, headers={"content-type": "application/json"})
        first_port = _client_port(bad)
        good = await client.get(f"{PODS}/web")
        assert _client_port(good) == first_port  # one TCP connection served both
    assert bad.status_code < 500 and bad.json()["kind"] == "Status"
    assert bad.headers.get("connection") != "close"
    assert good.status_code == 200 and good.json()["metadata"]["name"] == "web"


def _client_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    port: int = stream.get_extra_info("client_addr")[1]
    return port
