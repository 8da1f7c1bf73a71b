"""Watcher threads for the fault suite: list, watch, resume on another replica when a stream breaks.

A watcher behaves as client-go's reflector does: it lists the namespace's ConfigMaps, watches from the
list's resourceVersion, and when the stream ends or stalls (a replica killed, paused, cut off) resumes
from the last resourceVersion it received on another replica; after a 410 it lists again. Everything it
receives is kept (watch_check.py judges it). After a 410 at the start of a stream it asks that replica
for the oldest revision it keeps, so the checker can tell a rightful 410 from a wrong one.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Callable

import httpx

from tests.faults.traffic import COLLECTION, value_and_rv
from tests.faults.watch_check import Segment, Session, WatcherLog, WatchEvent
from tests.support.waiting import wait_for

STALL_SECONDS = 3.0  # no line for this long (the traffic writes all the time): the stream is resumed elsewhere
RETRY_PAUSE = 0.1  # seconds before the next replica is tried when a stream gave nothing
Generation = Callable[[int], int]  # replica index -> how many times it was started (a restart changes it)


class Watcher:
    def __init__(self, name: str, urls: list[str], generation: Generation, seed: int) -> None:
        self.log = WatcherLog(name)
        self.urls = urls
        self.generation = generation
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.reached = 0  # newest resourceVersion received (read by the harness's catch-up wait)

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5.0, read=STALL_SECONDS, connect=2.0)) as http:
            while not self.stop.is_set():
                session = self._new_session(http)
                if session is None:
                    return
                self.log.sessions.append(session)
                self._follow(http, session)

    def _new_session(self, http: httpx.Client) -> Session | None:
        while not self.stop.is_set():
            base = self.rng.choice(self.urls)
            try:
                response = http.get(f"{base}{COLLECTION}")
            except httpx.HTTPError:
                continue
            if response.is_success:
                _, rv = value_and_rv(response.json())
                if rv is not None:
                    self.reached = max(self.reached, rv)
                    return Session(rv)
            else:
                self.stop.wait(0.2)
        return None

    def _follow(self, http: httpx.Client, session: Session) -> None:
        """Streams one after another, each from where the last one got to, until a 410 or `stop`."""
        index = self.rng.randrange(len(self.urls))
        while not self.stop.is_set():
            segment = Segment(self.urls[index].split("//")[-1], session.reached())
            session.segments.append(segment)
            self._stream(http, index, segment)
            if segment.ended.startswith("expired"):
                return
            if not segment.events:
                self.stop.wait(RETRY_PAUSE)  # refused or broken at once: do not spin over dead replicas
            index = (index + self.rng.randrange(1, len(self.urls))) % len(self.urls)  # another replica

    def _stream(self, http: httpx.Client, index: int, segment: Segment) -> None:
        params = {"watch": "1", "resourceVersion": str(segment.start_rv), "timeoutSeconds": "60"}
        generation = self.generation(index)
        try:
            with http.stream("GET", f"{self.urls[index]}{COLLECTION}", params=params) as response:
                if response.status_code == 410:
                    segment.ended = "expired at start"
                elif response.status_code != 200:
                    segment.ended = f"broken: HTTP {response.status_code}"
                else:
                    self._read(response, segment)
        except httpx.HTTPError as error:
            segment.ended = f"broken: {type(error).__name__}"
        if segment.ended == "expired at start":
            self._expired_at_start(http, index, segment, generation)

    def _read(self, response: httpx.Response, segment: Segment) -> None:
        for line in response.iter_lines():
            if self.stop.is_set() or not self._receive(line, segment):
                return
        segment.ended = "closed"

    def _receive(self, line: str, segment: Segment) -> bool:
        """Keep one event; False when the stream ends here (an ERROR)."""
        if not line.strip():
            return True
        event = json.loads(line)
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            expired = obj.get("code") == 410
            segment.ended = ("expired at start" if not segment.events else "expired") if expired else f"error {obj}"
            return False
        if kind == "BOOKMARK":
            return True
        value, rv = value_and_rv(obj)
        name = (obj.get("metadata") or {}).get("name", "")
        segment.events.append(WatchEvent(rv or 0, str(kind), name, value))
        self.reached = max(self.reached, rv or 0)
        return True

    def _expired_at_start(self, http: httpx.Client, index: int, segment: Segment, generation: int) -> None:
        segment.ended = "expired at start"
        try:
            status = http.get(f"{self.urls[index]}/debug/raft").json()
        except (httpx.HTTPError, ValueError):
            return
        if self.generation(index) == generation:  # the same process refused and answered
            segment.oldest_kept = status.get("oldest_watch_revision")


def wait_caught_up(watchers: list[Watcher], newest: int, timeout: float) -> None:
    """Wait (bounded) until every watcher received `newest`; the checker reports those that did not."""
    with contextlib.suppress(AssertionError):
        wait_for(f"every watcher to receive revision {newest}",
                 lambda: all(watcher.reached >= newest for watcher in watchers), timeout=timeout)
