"""The simulator's HTTP server: stdlib ``ThreadingHTTPServer`` on 127.0.0.1, usable from tests and the shell.

Endpoints:
  GET /api/v1/mj/record-info?taskId=ID   the kie.ai record-info API (bearer key checked)
  POST /api/v1/mj/generate               a new task from a JSON body of paramJson's fields (422, 402 as kie.ai)
  GET /api/v1/chat/credit                the account's credit balance (bearer key checked): it goes down by
                                         TASK_COST of a task's speed as each task is created
  GET /files/<taskId>_<n>.jpeg           result images (real JPEGs, deterministic per seed)
  GET /files/<taskId>_0.mp4              the video task's result
  GET /odd/<kind>                        misbehaving image hosts (truncated, not an image, huge, bomb, redirect…)

Time is compressed by ``speed`` (2.0 = tasks live twice as fast). ``rate_limit`` answers HTTP 429 with a
Retry-After beyond that many requests in any one second of simulated time, as a server that counts per second
does. Faults are injected with :meth:`Simulator.inject`.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from mjdash.sim.faults import FAULT_KINDS
from mjdash.sim.http import Answer, QuietServer, fault_answer, handler_for, json_answer
from mjdash.sim.images import FAKE_MP4, render_jpeg
from mjdash.sim.lifecycle import TASK_TYPES, SimTask, demo_batch, make_task

DEFAULT_KEY = "sim-key"
STARTING_CREDITS = 5_000.0
TASK_COST = {"turbo": 16.0, "fast": 8.0, "relaxed": 4.0}  # the simulator's own prices, a credit or so apart
_FILE_RE = re.compile(r"^/files/([A-Za-z0-9_-]{1,128})_(\d{1,2})\.(jpeg|mp4)$")


@dataclass
class Fault:
    """``kind`` for the next ``count`` API requests. ``arg``: seconds for slow, the code for code/429."""

    kind: str
    count: int = 1
    arg: float = 0.0
    message: str | None = None


@dataclass
class Stats:
    requests: int = 0
    rate_limited: int = 0
    image_requests: int = 0
    auth_headers_on_files: int = 0
    arrivals: list[float] = field(default_factory=list)  # simulated time of each API request, as it arrived
    by_task: dict[str, int] = field(default_factory=dict)


def busiest_second(times: Iterable[float]) -> int:
    """The most requests in any window of one second [t, t+1) — what a server that counts per second sees."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


class _WindowCount:
    """A server that counts: at most ``limit`` requests in any one second of simulated time."""

    def __init__(self, limit: float, clock: Callable[[], float]) -> None:
        self.limit = max(1, math.floor(limit))
        self.clock = clock
        self.recent: deque[float] = deque()

    def take(self) -> float:
        """0 when the request is within the limit (and counted), else seconds until one would be."""
        now = self.clock()
        while self.recent and self.recent[0] <= now - 1.0:
            self.recent.popleft()
        if len(self.recent) < self.limit:
            self.recent.append(now)
            return 0.0
        return self.recent[0] + 1.0 - now


def invalid_generate(params: object) -> str | None:
    """Why a generate body would be refused (kie.ai answers 422), or None."""
    if not isinstance(params, dict):
        return "the body must be a JSON object"
    if params.get("taskType") not in TASK_TYPES:
        return f"taskType must be one of {', '.join(TASK_TYPES)}"
    prompt = params.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required"
    speed = params.get("speed")
    if speed is not None and str(speed).lower() not in TASK_COST:
        return f"speed must be one of {', '.join(TASK_COST)}"
    return None


class Simulator:
    """A kie.ai stand-in. ``with Simulator(...) as sim:`` starts it on an ephemeral port."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        seed: int = 0,
        speed: float = 1.0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        failure_rate: float = 0.15,
        image_size: int = 512,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        files_url: str | None = None,
    ) -> None:
        self.api_key = api_key
        self._files_url = files_url  # where result URLs point (default: this server)
        self.seed = seed
        self.speed = speed
        self.latency = latency
        self.failure_rate = failure_rate
        self.image_size = image_size
        self.rng = random.Random(seed)
        self._clock = clock
        self._start_real = clock()
        self._lock = threading.Lock()
        self.tasks: dict[str, SimTask] = {}
        self.credits = STARTING_CREDITS
        self.expired: set[str] = set()
        self.faults: deque[Fault] = deque()
        self.stats = Stats()
        self._limit = _WindowCount(rate_limit, self.now) if rate_limit else None
        self._server = QuietServer((host, port), handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        # Called with each new task's ID after generate created it and before the answer leaves: tests hold the
        # answer there to kill the client between its POST and its write to the store.
        self.on_generate: Callable[[str], None] | None = None

    # -- time -------------------------------------------------------------------------------------------
    @property
    def epoch(self) -> float:
        """The real time the simulated clock started from (it runs ``speed`` times faster since)."""
        return self._start_real

    def now(self) -> float:
        """Simulator time: the real clock, run ``speed`` times faster since start."""
        real = self._clock()
        return self._start_real + (real - self._start_real) * self.speed

    # -- lifecycle --------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def files_url(self) -> str:
        """The base of result URLs: this server, unless a fixed public one was given (stable snapshots)."""
        return self._files_url or self.url

    def start(self) -> Simulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mjdash-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (the ``mjdash sim`` command)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    # -- tasks and faults -------------------------------------------------------------------------------
    def add_task(self, **kwargs: Any) -> SimTask:
        """Create a task (see :func:`make_task` for the keywords) and return it."""
        with self._lock:
            kwargs.setdefault("failure_rate", self.failure_rate)
            task = make_task(self.rng, self.now(), **kwargs)
            self._charge(task)
            return task

    def add_tasks(self, tasks: Iterable[SimTask]) -> list[str]:
        with self._lock:
            ids = []
            for task in tasks:
                self._charge(task)
                ids.append(task.task_id)
            return ids

    def _charge(self, task: SimTask) -> None:
        """Watch a new task and take its price from the balance (called with the lock held)."""
        if task.task_id not in self.tasks:
            self.credits = max(0.0, self.credits - TASK_COST.get(str(task.params.get("speed")), 8.0))
        self.tasks[task.task_id] = task

    def demo_batch(self, count: int) -> list[str]:
        """Add a demo batch in every state and return its IDs."""
        return self.add_tasks(demo_batch(self.rng, self.now(), count, self.failure_rate))

    def finish(self, task_id: str) -> None:
        """End a task now (as it would have ended): tests finish a task after mjdash has seen it running, instead
        of racing the wall clock."""
        with self._lock:
            task = self.tasks[task_id]
            task.duration = max(0.0, self.now() - task.created)

    def polls(self, task_id: str) -> int:
        """How many times the API was asked about this task."""
        with self._lock:
            return self.stats.by_task.get(task_id, 0)

    def inject(self, kind: str, count: int = 1, arg: float = 0.0, message: str | None = None) -> None:
        """``message`` replaces the answer's ``msg`` (for ``code`` and ``429``): hostile text, for instance."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        with self._lock:
            self.faults.append(Fault(kind, count, arg, message))

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self.faults.popleft()
            return fault

    # -- request handling (called on server threads) ------------------------------------------------------
    def answer_record_info(self, query: str, authorization: str | None) -> Answer:
        refused = self._gate(authorization)
        if refused is not None:
            return refused
        task_ids = parse_qs(query).get("taskId") or [""]
        task_id = task_ids[0]
        if not task_id:
            return json_answer(200, {"code": 400, "msg": "taskId is required", "data": None})
        with self._lock:
            task = self.tasks.get(task_id)
            if task is not None:
                task.polls += 1
                self.stats.by_task[task_id] = self.stats.by_task.get(task_id, 0) + 1
            record = task.record(self.now(), self.files_url) if task is not None else None
        if record is None:
            return json_answer(200, {"code": 422, "msg": "recordInfo is null", "data": None})
        return json_answer(200, {"code": 200, "msg": "success", "data": record})

    def answer_credit(self, authorization: str | None) -> Answer:
        refused = self._gate(authorization)
        if refused is not None:
            return refused
        with self._lock:
            balance = self.credits
        data = int(balance) if balance.is_integer() else balance
        return json_answer(200, {"code": 200, "msg": "success", "data": data})

    def answer_generate(self, body: bytes, authorization: str | None) -> Answer:
        """``POST /api/v1/mj/generate``: a new task from the body's parameters (its paramJson echoes them), paid
        for from the balance (402 when it does not cover the task)."""
        refused = self._gate(authorization)
        if refused is not None:
            return refused
        try:
            params = json.loads(body or b"null")
        except ValueError:
            params = None
        problem = invalid_generate(params)
        if problem is not None:
            return json_answer(200, {"code": 422, "msg": problem, "data": None})
        assert isinstance(params, dict)
        speed = str(params.get("speed") or "fast").lower()
        with self._lock:
            if self.credits < TASK_COST[speed]:
                return json_answer(200, {"code": 402, "msg": "Insufficient credits", "data": None})
            task = make_task(
                self.rng, self.now(), task_type=params["taskType"], speed=speed, failure_rate=self.failure_rate
            )
            task.params = dict(params)
            self._charge(task)
        if self.on_generate is not None:
            self.on_generate(task.task_id)
        return json_answer(200, {"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    def _gate(self, authorization: str | None) -> Answer | None:
        """What every API request goes through: counting, latency, the rate limit, injected faults and the key.
        An answer when the request is refused there, else None."""
        with self._lock:
            self.stats.requests += 1
            self.stats.arrivals.append(self.now())
        if self.latency:
            time.sleep(self.latency)
        if self._limit is not None:
            with self._lock:
                wait = self._limit.take()
            if wait > 0:
                with self._lock:
                    self.stats.rate_limited += 1
                return json_answer(
                    429,
                    {"code": 429, "msg": "Too many requests", "data": None},
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
        fault = self._next_fault()
        if fault is not None:
            answer = fault_answer(fault)
            if answer is not None:
                return answer
        if authorization != f"Bearer {self.api_key}":
            return json_answer(200, {"code": 401, "msg": "You do not have access permissions", "data": None})
        return None

    def answer_file(self, path: str, authorization: str | None) -> Answer:
        with self._lock:
            self.stats.image_requests += 1
            if authorization:
                self.stats.auth_headers_on_files += 1
        match = _FILE_RE.match(path)
        if not match:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        task_id, index, ext = match.group(1), int(match.group(2)), match.group(3)
        with self._lock:
            task = self.tasks.get(task_id)
            done = task is not None and task.is_finished(self.now()) and task.flag == 1
            expired = task_id in self.expired
        if not done or expired or task is None:
            return 404, {"Content-Type": "text/plain"}, b"file not found or expired"
        if ext == "mp4":
            return 200, {"Content-Type": "video/mp4"}, FAKE_MP4
        if index >= task.images:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body = render_jpeg(self.seed, task_id, index, self.image_size)
        return 200, {"Content-Type": "image/jpeg"}, body
