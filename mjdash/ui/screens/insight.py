"""`i`: the batch at a glance — progress, failure groups (Enter shows a group's tasks), stuck tasks, a histogram
of durations and completions a minute. It renders a :class:`~mjdash.core.insight.Summary` that the main screen
computes off the event loop, and asks for a new one every two seconds while it is shown."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from mjdash.core.insight import Summary
from mjdash.core.text import safe
from mjdash.core.timefmt import duration

REFRESH_EVERY = 2.0
Chosen = tuple[str, frozenset[str]]  # what the tasks are, and their IDs: the table shows only those


class InsightScreen(ModalScreen[Chosen | None]):
    BINDINGS = [Binding("escape,q,i", "close", "Close")]

    def __init__(self, load: Callable[[], Awaitable[Summary]], credits: Callable[[], str]) -> None:
        super().__init__()
        self.load, self.credits = load, credits
        self.summary: Summary | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog insight"):
            yield Static(Text("Batch insight", style="bold"), classes="title")
            yield Static("", id="insight-progress")
            yield Static("", id="insight-credits")
            yield Static(Text("Failures — Enter shows a group's tasks in the table", style="bold"))
            yield OptionList(id="insight-failures")
            with Horizontal(id="insight-charts"):
                with Vertical():
                    yield Static("", id="insight-durations-label")
                    yield Sparkline([], id="insight-durations")
                with Vertical():
                    yield Static("", id="insight-minutes-label")
                    yield Sparkline([], id="insight-minutes")
            with VerticalScroll(id="insight-stuck-box"):
                yield Static("", id="insight-stuck")

    def on_mount(self) -> None:
        self.reload()

    @work(exclusive=True, group="insight", exit_on_error=False)
    async def reload(self) -> None:
        """A new summary, then the next one after REFRESH_EVERY — or after twenty times as long as this one took
        (0.2 s at 100,000 tasks, on the store's thread): it never takes more than a twentieth of the time."""
        started = time.perf_counter()
        summary = await self.load()
        self.show(summary)
        self.set_timer(max(REFRESH_EVERY, 20 * (time.perf_counter() - started)), self.reload)

    def show(self, summary: Summary) -> None:
        self.summary = summary
        states = ", ".join(f"{n} {status.value}" for status, n in sorted(summary.counts.items()) if n)
        eta = f" · ETA {duration(summary.eta_s) or 'any moment'}" if summary.eta_s is not None else ""
        progress = Text(f"{summary.total} tasks: {states or 'none'}\n")
        progress.append(f"{summary.done_fraction:.0%} done{eta} · {summary.recent_per_min:.1f} finished a minute")
        progress.append(f" over the last 10 minutes, {summary.batch_per_min:.1f} over the batch")
        self.query_one("#insight-progress", Static).update(progress)
        credits = self.credits() or "credits: not asked (nothing polls kie.ai in this session)"
        self.query_one("#insight-credits", Static).update(Text(credits))
        self._failures(summary)
        counts, lo, hi = summary.histogram
        label = f"durations of {sum(counts)} successes: {duration(lo)} … {duration(hi)}" if counts else "no success yet"
        self.query_one("#insight-durations-label", Static).update(Text(label, style="dim"))
        self.query_one("#insight-durations", Sparkline).data = [float(n) for n in counts]
        finished = sum(summary.per_minute)
        self.query_one("#insight-minutes-label", Static).update(
            Text(f"finished a minute, last hour: {finished} in all", style="dim")
        )
        self.query_one("#insight-minutes", Sparkline).data = [float(n) for n in summary.per_minute]
        stuck = Text(f"Stuck ({len(summary.stuck)})\n", style="bold")
        for task in summary.stuck[:50]:
            stuck.append(f"{safe(task.task_id)}  running {duration(task.age_s)}, usually {duration(task.expected_s)}\n")
        if not summary.stuck:
            stuck.append("none", style="dim")
        self.query_one("#insight-stuck", Static).update(stuck)

    def _failures(self, summary: Summary) -> None:
        options = self.query_one("#insight-failures", OptionList)
        keep = options.highlighted
        options.clear_options()
        failed = sum(n for status, n in summary.counts.items() if status.is_failure)
        if not summary.failures:
            options.add_option(Option(Text("no failed task", style="dim"), disabled=True))
            return
        for index, group in enumerate(summary.failures):
            code = "no code" if group.error_code is None else f"code {group.error_code}"
            prompt = Text.assemble(
                (f"{group.kind.value} · {code} · {group.count} of {failed}", "bold"),
                "  ",
                safe(group.message or "(no message)"),
                "\n",
                (f"→ {group.advice}", "dim"),
            )
            options.add_option(Option(prompt, id=str(index)))
        options.highlighted = keep if keep is not None and keep < len(summary.failures) else 0
        options.focus()

    @on(OptionList.OptionSelected, "#insight-failures")
    def group_chosen(self, event: OptionList.OptionSelected) -> None:
        if self.summary is None or event.option_id is None:
            return
        group = self.summary.failures[int(event.option_id)]
        code = "" if group.error_code is None else f" {group.error_code}"
        self.dismiss((f"{group.kind.value}{code} failures", frozenset(group.task_ids)))

    def action_close(self) -> None:
        self.dismiss(None)
