"""Requests besides the engine's own polls (the credit balance), counted in the engine's budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from mjdash.core.engine.engine import Engine

T = TypeVar("T")
FOLLOWING_RECHECK = 1.0  # seconds between looks while another process's engine has the budget


async def within_budget(engine: Engine, request: Callable[[], Awaitable[T]]) -> T:
    """Send ``request`` when this process's engine may send and its rate window has room, taking a slot of it, so
    the server still sees at most R requests a second. The check and the take happen with no await between
    them: the engine's loop, on the same event loop, sees the slot taken."""
    while True:
        now = engine.clock.now()
        wait = engine.limiter.delay() if engine.leadership.may_send(now) else FOLLOWING_RECHECK
        if wait <= 0:
            break
        await engine.clock.sleep(wait)
    engine.limiter.take()
    return await request()
