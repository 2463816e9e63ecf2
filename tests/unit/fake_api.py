"""A scripted kie.ai for the engine's unit tests: answers like the API would, on a fake clock, no sockets."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.parse import parse_record
from tests.clocks import FakeClock


@dataclass
class FakeTask:
    created: float
    duration: float
    flag: int = 1
    speed: str = "fast"


@dataclass
class FakeApi:
    """Answers like kie.ai would, on the fake clock; scripted outages by call number."""

    clock: FakeClock
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    calls: list[tuple[float, str]] = field(default_factory=list)
    outage: dict[int, Fetch] = field(default_factory=dict)  # call index -> answer
    inflight: int = 0
    max_inflight: int = 0
    inflight_ids: set[str] = field(default_factory=set)
    duplicate_inflight: bool = False
    latency: float = 0.05  # fake seconds per answer (the fake clock adds every sleeper's time: 0 is exact)
    limit: int | None = None  # a server that counts: more than this many requests in one second get a 429
    throttled: list[float] = field(default_factory=list)
    seen_final: dict[str, float] = field(default_factory=dict)  # task -> when an answer first said it was done
    _recent: deque[float] = field(default_factory=deque)

    async def fetch_once(self, task_id: str) -> Fetch:
        index = len(self.calls)
        self.calls.append((self.clock.now(), task_id))
        if task_id in self.inflight_ids:
            self.duplicate_inflight = True
        self.inflight_ids.add(task_id)
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await self.clock.sleep(self.latency)
            if index in self.outage:
                return self.outage[index]
            if self.limit is not None and self._over_limit(self.calls[-1][0]):
                self.throttled.append(self.calls[-1][0])
                return Fetch(task_id, Outcome.RATE_LIMITED, api_code=429, http_status=429, retry_after=1.0)
            task = self.tasks.get(task_id)
            if task is None:
                return Fetch(task_id, Outcome.NOT_FOUND, api_code=422)
            now = self.clock.now()
            done = now >= task.created + task.duration
            if done:
                self.seen_final.setdefault(task_id, now)
            data = {
                "taskId": task_id,
                "successFlag": task.flag if done else 0,
                "createTime": int(task.created * 1000),
                "completeTime": int((task.created + task.duration) * 1000) if done else None,
                "paramJson": f'{{"prompt": "p", "speed": "{task.speed}"}}',
                "taskType": "mj_txt2img",
            }
            return Fetch(task_id, Outcome.OK, task=parse_record(data), api_code=200, raw=data)
        finally:
            self.inflight -= 1
            self.inflight_ids.discard(task_id)

    def _over_limit(self, at: float) -> bool:
        recent = self._recent
        while recent and recent[0] <= at - 1.0:
            recent.popleft()
        recent.append(at)
        return len(recent) > (self.limit or 0)

    def delays(self) -> list[float]:
        """Detection delays: when each task was first seen final minus when it finished."""
        seen = self.seen_final
        return sorted(seen[t] - (task.created + task.duration) for t, task in self.tasks.items() if t in seen)
