"""Simulated Midjourney tasks: how each one lives (generating, then success or failure) in simulator time.

Records are produced in the *live* API's shapes, which differ from the published spec: times as epoch
milliseconds (sometimes ISO strings or epoch seconds), ``paramJson`` as a JSON string with extra keys,
``version`` as a string or a number, and now and then ``successFlag`` as a string.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TASK_TYPES = ("mj_txt2img", "mj_img2img", "mj_style_reference", "mj_omni_reference", "mj_video")

PROMPTS = (
    "a lighthouse on a basalt cliff at dawn, volumetric fog, 35mm film",
    "isometric cutaway of a cosy underground library, warm light",
    "portrait of an elderly beekeeper, Rembrandt lighting --chaos 10",
    "a koi pond seen from above, ukiyo-e style",
    "retro-futurist tram crossing a desert city at night, neon",
    "macro photo of frost ferns on a window pane",
    "a red fox asleep in a field of lupins, soft focus",
    "blueprint of an imaginary clockwork owl, technical drawing",
    "brutalist concert hall in a pine forest, overcast",
    "still life with pomegranates and a brass astrolabe",
    "watercolour map of an archipelago that does not exist",
    "a robot gardener pruning bonsai, studio ghibli mood",
    "storm over wheat fields [bold red]not markup[/] --ar 21:9",
    "children's book illustration of a hedgehog postman",
    "aerial view of salt flats with a single red car",
    "glass greenhouse full of jellyfish, dreamlike",
)

FAILURES = (
    (2, 400, "The prompt was blocked by content moderation. Please adjust it and try again."),
    (2, 500, "Internal error while queueing the job; no credits were charged."),
    (3, 501, "Midjourney job failed: the image generation timed out."),
    (3, 422, "Invalid image URL in fileUrls: could not download reference image."),
    (2, 402, "Insufficient credits for relaxed generation."),
)

ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:2", "2:3", "21:9")


@dataclass
class SimTask:
    """One simulated task. Times are simulator seconds since the epoch."""

    task_id: str
    task_type: str
    params: dict[str, Any]
    created: float
    duration: float  # seconds from creation to completion
    flag: int = 1  # successFlag when finished: 1, 2 or 3
    error_code: int | None = None
    error_message: str | None = None
    time_shape: str = "ms"  # "ms", "s" or "iso"
    flag_as_string: bool = False
    images: int = 4
    polls: int = field(default=0, compare=False)

    @property
    def finishes_at(self) -> float:
        return self.created + self.duration

    def is_finished(self, now: float) -> bool:
        return now >= self.finishes_at

    def _time(self, t: float) -> Any:
        if self.time_shape == "s":
            return int(t)
        if self.time_shape == "iso":
            return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")
        return int(t * 1000)

    def result_urls(self, base_url: str) -> list[str]:
        if self.task_type == "mj_video":
            return [f"{base_url}/files/{self.task_id}_0.mp4"]
        return [f"{base_url}/files/{self.task_id}_{n}.jpeg" for n in range(self.images)]

    def record(self, now: float, base_url: str) -> dict[str, Any]:
        """The record-info ``data`` object as the live API would send it at simulator time ``now``."""
        done = self.is_finished(now)
        flag: Any = self.flag if done else 0
        if self.flag_as_string:
            flag = str(flag)
        success = done and self.flag == 1
        return {
            "taskId": self.task_id,
            "taskType": self.task_type,
            "paramJson": json.dumps(self.params, ensure_ascii=False),
            "completeTime": self._time(self.finishes_at) if done else None,
            "resultInfoJson": {"resultUrls": [{"resultUrl": u} for u in self.result_urls(base_url)]}
            if success
            else None,
            "successFlag": flag,
            "createTime": self._time(self.created),
            "errorCode": self.error_code if done and self.flag != 1 else None,
            "errorMessage": self.error_message if done and self.flag != 1 else None,
        }


def make_task(
    rng: random.Random,
    now: float,
    *,
    task_type: str | None = None,
    failure_rate: float = 0.15,
    age: float = 0.0,
    duration: float | None = None,
    outcome: int | None = None,
    task_id: str | None = None,
    speed: str | None = None,
) -> SimTask:
    """A random but plausible task created ``age`` seconds before ``now``."""
    task_type = task_type or rng.choices(TASK_TYPES, weights=(6, 2, 2, 1, 1))[0]
    speed = speed or rng.choices(("fast", "relaxed", "turbo"), weights=(6, 3, 1))[0]
    if duration is None:
        base = {"turbo": 25.0, "fast": 60.0, "relaxed": 240.0}[speed]
        duration = max(8.0, rng.lognormvariate(0, 0.35) * base)
        if task_type == "mj_video":
            duration *= 2
    params: dict[str, Any] = {
        "prompt": rng.choice(PROMPTS),
        "taskType": task_type,
        "aspectRatio": rng.choice(ASPECTS),
        "speed": speed,
        "version": rng.choice(("7", 7, "6.1", 6.1)),
        "stylization": rng.choice((50, 100, 250, 1)),
        "weirdness": rng.choice((0, 1, 100)),
        "variety": rng.choice((0, 5, 10)),
        "waterMark": "",
        "enableTranslation": rng.random() < 0.2,
        "callBackUrl": "https://api.example.com/callback",
        "fileUrl": "",
        "fileUrls": [],
    }
    if task_type in ("mj_img2img", "mj_style_reference", "mj_omni_reference", "mj_video"):
        params["fileUrls"] = [f"https://cdn.example.com/ref/{rng.randrange(10**6):06d}.png"]
    if task_type == "mj_omni_reference":
        params["ow"] = rng.choice((100, 250, 500))
    if task_type == "mj_video":
        params["motion"] = rng.choice(("low", "high"))
        params["videoBatchSize"] = 1
    flag, code, message = 1, None, None
    if outcome is None:
        outcome = 1 if rng.random() >= failure_rate else rng.choice((2, 3))
    if outcome != 1:
        candidates = [f for f in FAILURES if f[0] == outcome] or list(FAILURES)
        flag, code, message = rng.choice(candidates)
        flag = outcome
    return SimTask(
        task_id=task_id or uuid.UUID(int=rng.getrandbits(128)).hex,
        task_type=task_type,
        params=params,
        created=now - age,
        duration=duration,
        flag=flag,
        error_code=code,
        error_message=message,
        time_shape=rng.choices(("ms", "iso", "s"), weights=(8, 1, 1))[0],
        flag_as_string=rng.random() < 0.1,
    )


def demo_batch(rng: random.Random, now: float, count: int, failure_rate: float = 0.15) -> list[SimTask]:
    """A batch in every state: some long finished, many finishing over the next minutes, a video, failures."""
    tasks: list[SimTask] = []
    for i in range(count):
        phase = i % 6
        if phase == 0:  # finished a while ago
            task = make_task(rng, now, age=rng.uniform(600, 3000), failure_rate=failure_rate)
        elif phase in (1, 2, 3):  # finishing within the next minute or two
            duration = rng.uniform(20, 90)
            task = make_task(rng, now, age=rng.uniform(0, duration), duration=duration, failure_rate=failure_rate)
        elif phase == 4:  # relaxed, still several minutes to go
            task = make_task(
                rng, now, age=rng.uniform(0, 60), duration=rng.uniform(180, 420), failure_rate=failure_rate
            )
        else:  # just submitted
            task = make_task(rng, now, age=0.0, failure_rate=failure_rate)
        tasks.append(task)
    if count >= 3:  # make sure the demo shows each kind of ending at least once
        tasks[1].task_type = "mj_video"
        tasks[1].params["taskType"] = "mj_video"
        for t, flag in ((tasks[2], 2), (tasks[-1], 3)):
            fail = next(f for f in FAILURES if f[0] == flag)
            t.flag, t.error_code, t.error_message = fail
    return tasks
