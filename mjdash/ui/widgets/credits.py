"""The credit balance, asked of kie.ai at most once a minute in a worker; the screen hears of it by a message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import work
from textual.message import Message
from textual.widget import Widget

from mjdash.core.api.outcomes import Balance

EVERY = 60.0  # seconds between two balance requests (each costs one request of the API's budget)


class CreditPoller(Widget):
    """Invisible: a timer and a worker, so the balance's I/O never runs on the screen's own handlers."""

    class Checked(Message):
        def __init__(self, balance: Balance) -> None:
            super().__init__()
            self.balance = balance

    def __init__(self, ask: Callable[[], Awaitable[Balance]], every: float = EVERY) -> None:
        super().__init__(id="credit-poller")
        self.ask, self.every = ask, every

    def on_mount(self) -> None:
        self.check()
        self.set_interval(self.every, self.check)

    @work(exclusive=True, group="credits", exit_on_error=False)
    async def check(self) -> None:
        self.post_message(self.Checked(await self.ask()))
