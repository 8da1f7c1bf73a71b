"""Kubernetes-shaped traffic for the fault suite: client threads writing and reading ConfigMaps on every replica.

Each client picks a key (a ConfigMap name among a few), a verb (create, update with and without a
resourceVersion, merge patch, delete with and without a resourceVersion precondition, get, list) and a
replica at random, records the call in the history, and records the answer: `ok` with the object's value
and resourceVersion, `fail` when the answer says nothing happened (AlreadyExists, Conflict, NotFound, a
refused request, or a connection never made), `unknown` otherwise (a timeout, a 5xx or 429, a
connection lost mid-request). Reads carry no resourceVersion, so they must be linearizable. A client
remembers the resourceVersion it last saw of each key for its compare-and-set writes.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.history import History, Operation

NAMESPACE = "faults"
COLLECTION = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
WEIGHTS = {"create": 14, "update_cas": 24, "update": 8, "patch": 12, "delete": 6, "delete_cas": 6,
           "get": 20, "list": 10}
DEFINITE_FAILURES = {400, 403, 404, 405, 409, 415, 422}
REFUSED_PAUSE = 0.05  # seconds a client waits after a refused connection


@dataclass(frozen=True)
class TrafficSettings:
    clients: int = 6
    keys: int = 12
    request_timeout: float = 8.0  # longer than the store's 5 s write timeout: a 503 comes back first
    seed: int = 14


def configmap(name: str, value: str, rv: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if rv is not None:
        metadata["resourceVersion"] = str(rv)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"v": value}}


def value_and_rv(obj: Any) -> tuple[str | None, int | None]:
    if not isinstance(obj, dict):
        return None, None
    data, metadata = obj.get("data") or {}, obj.get("metadata") or {}
    rv = metadata.get("resourceVersion")
    return data.get("v"), int(rv) if isinstance(rv, str) and rv.isdigit() else None


def reason_of(response: httpx.Response) -> str:
    try:
        reason = response.json().get("reason")
    except ValueError:
        reason = None
    if response.status_code == 404:
        return "NotFound"
    if response.status_code == 409:
        return "AlreadyExists" if reason == "AlreadyExists" else "Conflict"
    return str(reason or f"HTTP {response.status_code}")


def send(client: httpx.Client, history: History, op: Operation, method: str, url: str, **kwargs: Any) -> Any:
    """Make the request and record its outcome; the decoded body of a 2xx answer, else None."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.ConnectError as error:  # never reached the replica: nothing happened
        history.complete(op, "fail", error=f"{type(error).__name__}")
        return None
    except httpx.HTTPError as error:
        history.complete(op, "unknown", error=f"{type(error).__name__}")
        return None
    if response.is_success:
        body = response.json()
        value, rv = value_and_rv(body)
        history.complete(op, "ok", value=value, rv=rv)
        return body
    if response.status_code in DEFINITE_FAILURES:
        history.complete(op, "fail", error=reason_of(response))
    else:
        history.complete(op, "unknown", error=reason_of(response))
    return None


@dataclass
class Client:
    """One client thread's state: its name, random source, counter and the resourceVersions it last saw."""

    name: str
    urls: list[str]
    history: History
    settings: TrafficSettings
    rng: random.Random
    seen: dict[str, int] = field(default_factory=dict)
    counter: int = 0

    def next_value(self) -> str:
        self.counter += 1
        return f"{self.name}-{self.counter}"

    def one_operation(self, http: httpx.Client) -> Operation:
        key = f"k{self.rng.randrange(self.settings.keys):02d}"
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind in ("update_cas", "delete_cas") and key not in self.seen:
            kind = "get"
        base = self.rng.choice(self.urls)
        return self.perform(http, base, kind, key)

    def perform(self, http: httpx.Client, base: str, kind: str, key: str) -> Operation:
        value = self.next_value() if kind in ("create", "update", "update_cas", "patch") else None
        expected = self.seen.get(key) if kind in ("update_cas", "delete_cas") else None
        op = self.history.invoke(self.name, kind, "" if kind == "list" else key, value=value, expected_rv=expected,
                                 replica=base.split("//")[-1])
        url = f"{base}{COLLECTION}" if kind in ("create", "list") else f"{base}{COLLECTION}/{key}"
        if kind == "create":
            body = send(http, self.history, op, "POST", url, json=configmap(key, value or ""))
        elif kind in ("update", "update_cas"):
            body = send(http, self.history, op, "PUT", url, json=configmap(key, value or "", expected))
        elif kind == "patch":
            body = send(http, self.history, op, "PATCH", url, json={"data": {"v": value}},
                        headers={"Content-Type": "application/merge-patch+json"})
        elif kind in ("delete", "delete_cas"):
            options = {"preconditions": {"resourceVersion": str(expected)}} if expected is not None else None
            body = send(http, self.history, op, "DELETE", url, json=options)
            self.seen.pop(key, None)
        elif kind == "get":
            body = send(http, self.history, op, "GET", url)
        else:
            body = send(http, self.history, op, "GET", url)
            self._record_list(op, body)
            return op
        if body is not None and op.result_rv is not None and not kind.startswith("delete"):
            self.seen[key] = op.result_rv
        return op

    def _record_list(self, op: Operation, body: Any) -> None:
        if body is None:
            return
        op.items = {}
        for item in body.get("items", []):
            name = (item.get("metadata") or {}).get("name")
            value, rv = value_and_rv(item)
            if name and rv is not None:
                op.items[name] = (value, rv)
                self.seen[name] = rv
        op.list_rv, op.result_value, op.result_rv = value_and_rv(body)[1], None, None


def run_client(client: Client, stop: threading.Event) -> None:
    """The body of one client thread: operations until `stop` is set."""
    timeout = httpx.Timeout(client.settings.request_timeout, connect=2.0)
    with httpx.Client(timeout=timeout) as http:
        while not stop.is_set():
            last = client.one_operation(http)
            if last.outcome != "ok" and last.error == "ConnectError":
                stop.wait(REFUSED_PAUSE)  # the replica is down: do not spin on refused connections


def create_namespace(url: str) -> None:
    """The namespace the traffic writes in (once, before any client starts)."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    response = httpx.post(f"{url}/api/v1/namespaces", json=body, timeout=10)
    if response.status_code not in (201, 409):
        raise AssertionError(f"cannot create namespace {NAMESPACE}: {response.status_code} {response.text}")


def read_everything(urls: list[str], history: History, keys: int) -> None:
    """The last word: every key read on every replica, and a list on each (all recorded and checked)."""
    reader = Client("final", urls, history, TrafficSettings(keys=keys), random.Random(0))
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0)) as http:
        for base in urls:
            reader.perform(http, base, "list", "")
            for index in range(keys):
                reader.perform(http, base, "get", f"k{index:02d}")
