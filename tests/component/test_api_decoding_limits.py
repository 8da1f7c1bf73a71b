"""Request bodies are decoded within bounds: nesting depth, YAML aliases, body and object size.

Each case was a 500 (or a 69 MB object) on the apiserver before: JSON nested 300 to 1,000 deep
decoded but could not be stored, YAML nested 1,000 deep hit Python's recursion limit, and a
YAML alias bomb of a few hundred bytes was stored expanded. Kubernetes answers deep nesting with
a 400, bodies over 3 MiB with a 413, and objects over what its store takes with an error.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from minik8s.apiserver.limits import MAX_NESTING_DEPTH, MAX_OBJECT_BYTES, MAX_REQUEST_BODY_BYTES

CM = "/api/v1/namespaces/default/configmaps"
JSON = {"content-type": "application/json"}
YAML = {"content-type": "application/yaml"}
APPLY = {"content-type": "application/apply-patch+yaml"}
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}

# 392 bytes in the report; each level holds nine aliases of the one before: 9**7 strings once expanded.
ALIAS_BOMB = """metadata: {name: bomb}
extra:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def nested(depth: int) -> str:
    """A JSON (and YAML flow) list nested `depth` levels deep."""
    return "[" * depth + "]" * depth


def assert_status(response: httpx.Response, code: int, reason: str) -> dict:
    assert response.status_code == code, response.text[:300]
    status: dict = response.json()
    assert status["kind"] == "Status" and status["reason"] == reason, status
    return status


async def test_an_object_nested_below_the_cap_is_stored_as_sent(api: httpx.AsyncClient) -> None:
    depth = MAX_NESTING_DEPTH - 2  # the object itself and `extra` are two levels
    body = f'{{"metadata":{{"name":"deep-enough"}},"extra":{nested(depth)}}}'
    assert (await api.post(CM, content=body, headers=JSON)).status_code == 201
    stored = (await api.get(f"{CM}/deep-enough")).json()
    assert json.dumps(stored["extra"], separators=(",", ":")) == nested(depth)


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH, 300, 1_000, 5_000])
async def test_json_nested_past_the_cap_is_a_bad_request(api: httpx.AsyncClient, depth: int) -> None:
    body = f'{{"metadata":{{"name":"too-deep"}},"extra":{nested(depth)}}}'
    status = assert_status(await api.post(CM, content=body, headers=JSON), 400, "BadRequest")
    assert "depth" in status["message"]
    assert (await api.get(f"{CM}/too-deep")).status_code == 404


@pytest.mark.parametrize("depth", [300, 1_000, 10_000])
async def test_yaml_nested_past_the_cap_is_a_bad_request(api: httpx.AsyncClient, depth: int) -> None:
    body = f"metadata:\n  name: too-deep\nextra: {nested(depth)}\n"
    status = assert_status(await api.post(CM, content=body, headers=YAML), 400, "BadRequest")
    assert "depth" in status["message"]


@pytest.mark.parametrize("depth", [300, 1_000, 10_000])
async def test_an_apply_patch_nested_past_the_cap_is_a_bad_request(api: httpx.AsyncClient, depth: int) -> None:
    await api.post(CM, json={"metadata": {"name": "applied"}})
    body = f"metadata:\n  name: applied\nextra: {nested(depth)}\n"
    assert_status(await api.patch(f"{CM}/applied", content=body, headers=APPLY), 400, "BadRequest")


async def test_a_merge_patch_nested_past_the_cap_is_a_bad_request(api: httpx.AsyncClient) -> None:
    await api.post(CM, json={"metadata": {"name": "merged"}})
    body = f'{{"extra":{nested(300)}}}'
    assert_status(await api.patch(f"{CM}/merged", content=body, headers=MERGE), 400, "BadRequest")


async def test_a_yaml_alias_bomb_is_refused_quickly_and_nothing_is_stored(api: httpx.AsyncClient) -> None:
    started = time.monotonic()
    status = assert_status(await api.post(CM, content=ALIAS_BOMB, headers=YAML), 400, "BadRequest")
    assert time.monotonic() - started < 2.0
    assert "aliasing" in status["message"]
    assert (await api.get(f"{CM}/bomb")).status_code == 404


async def test_a_yaml_alias_bomb_in_an_apply_patch_is_refused(api: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await api.patch(f"{CM}/bomb", content=ALIAS_BOMB, headers=APPLY)
    assert_status(response, 400, "BadRequest")
    assert time.monotonic() - started < 2.0
    assert (await api.get(f"{CM}/bomb")).status_code == 404


async def test_an_anchor_that_contains_itself_is_refused(api: httpx.AsyncClient) -> None:
    body = "metadata: {name: loop}\nextra: &loop [1, *loop]\n"
    assert_status(await api.post(CM, content=body, headers=YAML), 400, "BadRequest")
    assert_status(await api.patch(f"{CM}/loop", content=body, headers=APPLY), 400, "BadRequest")


async def test_yaml_with_a_few_aliases_is_still_accepted(api: httpx.AsyncClient) -> None:
    body = "metadata: {name: anchored, labels: &labels {app: web}}\nextra: {selector: *labels}\n"
    assert (await api.post(CM, content=body, headers=YAML)).status_code == 201
    stored = (await api.get(f"{CM}/anchored")).json()
    assert stored["extra"] == {"selector": {"app": "web"}} and stored["metadata"]["labels"] == {"app": "web"}


async def test_a_body_over_three_mebibytes_is_too_large_in_kubernetes_words(api: httpx.AsyncClient) -> None:
    body = b'{"metadata":{"name":"huge"},"extra":"' + b"x" * MAX_REQUEST_BODY_BYTES + b'"}'
    status = assert_status(await api.post(CM, content=body, headers=JSON), 413, "RequestEntityTooLarge")
    assert status["message"] == f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}"


async def test_an_object_over_the_store_limit_is_refused_with_413(api: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "big"}, "extra": "x" * (MAX_OBJECT_BYTES + 1)}
    status = assert_status(await api.post(CM, json=body), 413, "RequestEntityTooLarge")
    assert str(MAX_OBJECT_BYTES) in status["message"]
    assert (await api.get(f"{CM}/big")).status_code == 404


async def test_an_object_under_the_store_limit_is_stored(api: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "large"}, "extra": "x" * (MAX_OBJECT_BYTES - 4096)}
    assert (await api.post(CM, json=body)).status_code == 201


async def test_a_patch_that_grows_an_object_past_the_store_limit_is_refused(api: httpx.AsyncClient) -> None:
    half = "x" * (MAX_OBJECT_BYTES // 2 + 1024)
    await api.post(CM, json={"metadata": {"name": "growing"}, "extra": {"a": half}})
    response = await api.patch(f"{CM}/growing", content=json.dumps({"extra": {"b": half}}), headers=MERGE)
    assert_status(response, 413, "RequestEntityTooLarge")
    assert "b" not in (await api.get(f"{CM}/growing")).json()["extra"]


async def test_json_patch_copies_cannot_amplify_an_object(api: httpx.AsyncClient) -> None:
    await api.post(CM, json={"metadata": {"name": "copied"}, "extra": {"a": "x" * 1024}})
    doubling = [{"op": "copy", "from": "/extra", "path": f"/extra/c{index}"} for index in range(40)]
    started = time.monotonic()
    response = await api.patch(f"{CM}/copied", content=json.dumps(doubling), headers=JSON_PATCH)
    assert_status(response, 422, "Invalid")
    assert time.monotonic() - started < 5.0
    assert "copy" in response.json()["message"]


async def test_json_patch_copies_cannot_nest_an_object_past_the_cap(api: httpx.AsyncClient) -> None:
    await api.post(CM, json={"metadata": {"name": "nesting"}, "extra": {"a": {}}})
    # Each copy puts the whole of /extra at its own deepest point: the depth doubles with every copy.
    deeper = [{"op": "copy", "from": "/extra", "path": "/extra" + "/a" * 2 ** index} for index in range(8)]
    response = await api.patch(f"{CM}/nesting", content=json.dumps(deeper), headers=JSON_PATCH)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["kind"] == "Status"
