"""The credit balance over time: the burn rate (credits an hour, the balance's slope over the last hour), the
runway (hours left at that rate) and whether it covers the tasks still pending at their average cost seen."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

WINDOW = 3600.0  # the burn rate is the slope over this many seconds
MIN_SPAN = 60.0  # samples spanning less than this say nothing about a rate


@dataclass
class CreditWatch:
    low: float | None = None  # the config file's threshold: below it, a warning
    samples: deque[tuple[float, float]] = field(default_factory=deque)  # (when, balance)
    added: deque[tuple[float, int]] = field(default_factory=deque)  # (when, tasks added): for the cost per task
    problem: str | None = None  # why the balance could not be read last time (None: it was)

    def seen(self, at: float, credits: float) -> None:
        self.samples.append((at, credits))
        self.problem = None
        self._trim(at)

    def tasks_added(self, at: float, count: int) -> None:
        if count:
            self.added.append((at, count))
            self._trim(at)

    def _trim(self, now: float) -> None:
        while self.samples and self.samples[0][0] < now - WINDOW:
            self.samples.popleft()
        while self.added and self.added[0][0] < now - WINDOW:
            self.added.popleft()

    @property
    def balance(self) -> float | None:
        return self.samples[-1][1] if self.samples else None

    def burn_per_hour(self) -> float | None:
        """Credits spent an hour (the least-squares slope of the balance); None until it spans a minute."""
        if len(self.samples) < 2 or self.samples[-1][0] - self.samples[0][0] < MIN_SPAN:
            return None
        times, balances = zip(*self.samples, strict=True)
        slope = statistics.linear_regression(times, balances).slope
        return max(0.0, -slope * 3600)

    def runway_hours(self) -> float | None:
        """Hours until the balance is gone at the burn rate (None: not burning, or not known yet)."""
        burn, balance = self.burn_per_hour(), self.balance
        if not burn or balance is None:
            return None
        return balance / burn

    def cost_per_task(self) -> float | None:
        """Credits spent per task added over the window (None: no task added, or no rate yet)."""
        burn, added = self.burn_per_hour(), sum(n for _, n in self.added)
        if burn is None or not added or len(self.samples) < 2:
            return None
        spent = self.samples[0][1] - self.samples[-1][1]
        return spent / added if spent > 0 else None

    def warning(self, pending: int) -> str | None:
        """One line for the banner when the credits will not last, or None."""
        balance = self.balance
        if balance is None:
            return None
        if balance <= 0:
            return "the kie.ai account has no credits left — top up at kie.ai; polling goes on"
        if self.low is not None and balance < self.low:
            return f"credits are low: {balance:,.0f} left (below {self.low:,.0f}, set in the config file) — top up"
        cost = self.cost_per_task()
        if cost is not None and pending and balance < pending * cost:
            return (
                f"credits: {balance:,.0f} left, and the {pending} tasks still pending cost about {pending * cost:,.0f}"
                f" at {cost:,.1f} each — top up at kie.ai"
            )
        return None

    def describe(self) -> str:
        """The header's words: "credits 4,976 · 120/h · 41 h left"."""
        balance = self.balance
        if balance is None:
            return f"credits ? ({self.problem})" if self.problem else ""
        text = f"credits {balance:,.0f}"
        burn = self.burn_per_hour()
        if burn:
            runway = self.runway_hours()
            text += f" · {burn:,.0f}/h"
            if runway is not None:
                text += f" · {runway:,.1f} h left" if runway < 10 else f" · {runway:,.0f} h left"
        return f"{text} ({self.problem})" if self.problem else text  # the last known, and why it is not newer
