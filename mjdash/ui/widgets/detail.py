"""The detail pane: parameters, times, errors, result URLs with expiry, and a 2×2 grid of thumbnails.

``load`` reads a task (through the store's thread) and its thumbnails in a worker, then renders them; ``show``
and ``set_thumbnail`` render what they are given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Container, Grid, VerticalScroll
from textual.widgets import Static

from mjdash.core.api.client import explain_code
from mjdash.core.expiry import EXPIRING_WITHIN, expires_at
from mjdash.core.media.images import ImageFetcher, ImageResult
from mjdash.core.model import Task
from mjdash.core.text import capped, safe
from mjdash.core.timefmt import ago, duration, local
from mjdash.ui.cells import state_cell
from mjdash.ui.palette import COMPONENT_CLASSES, NO_COLOUR, Palette, palette_of, redraw_on_theme_change

COPY_HINT = "y copies the whole prompt; mjdash export has every value in full"
PARAM_ORDER = ("prompt", "taskType", "aspectRatio", "speed", "version", "stylization", "weirdness", "variety")


def _value(value: Any, muted: Style) -> Text:
    if isinstance(value, list):
        if not value:
            return Text("(none)", style=muted)
        return Text(_long("\n".join(f"• {v}" for v in value[:100])))
    if isinstance(value, dict):
        import json

        return Text(_long(json.dumps(value, ensure_ascii=False)))
    if value is None or value == "":
        return Text("—", style=muted)
    if isinstance(value, bool):
        return Text("true" if value else "false")
    return Text(_long(str(value)))


def _long(text: str) -> str:
    """API text that may be huge (a 1 MB prompt), cut before it is laid out, and made safe."""
    return safe(capped(text, COPY_HINT), newlines=True)


def describe(task: Task, now: float, expiry_days: float, palette: Palette = NO_COLOUR) -> tuple[Group, Group]:
    """Everything about one task, as Rich renderables built from Text (no markup): (facts, parameters+results)."""
    head = Text.assemble(state_cell(task.status, palette=palette), "  ", Text(safe(task.task_id), style="bold"))
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style=palette["accent"], no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("type", Text(safe(task.task_type or "—")))
    if task.batch:
        facts.add_row("batch", Text(safe(task.batch)))
    if task.retry_of:
        facts.add_row("retry of", Text(f"↻ {task.retry_of}  (press g)"))
    if task.retried_by:
        facts.add_row("retried by", Text(f"↻ {task.retried_by}  (press g)"))
    if task.created_at:
        facts.add_row("created", Text(f"{local(task.created_at)}  ({ago(task.created_at, now)})"))
    if task.completed_at:
        facts.add_row("completed", Text(f"{local(task.completed_at)}  ({ago(task.completed_at, now)})"))
    if task.duration_s is not None:
        facts.add_row("took", Text(duration(task.duration_s)))
    elif task.created_at and not task.is_final:
        facts.add_row("elapsed", Text(duration(now - task.created_at), style=palette["running"]))
    if task.last_polled:
        facts.add_row("checked", Text(ago(task.last_polled, now)))
    if task.status.is_failure or task.error_code is not None or task.error_message:
        if task.api_code is not None:
            code = task.api_code
            facts.add_row("API code", Text(f"{code} — {explain_code(code) or 'a code the spec does not list'}"))
        facts.add_row("errorCode", Text(str(task.error_code) if task.error_code is not None else "—"))
        facts.add_row("errorMessage", Text(_long(task.error_message or "—"), style=palette["failure"]))
    if task.last_error and not task.is_final:
        facts.add_row("last error", Text(_long(task.last_error), style=palette["missing"]))
    params = Table.grid(padding=(0, 1))
    params.add_column(style=palette["param"], no_wrap=True)
    params.add_column(overflow="fold")
    keys = [k for k in PARAM_ORDER if k in task.params] + sorted(k for k in task.params if k not in PARAM_ORDER)
    for key in keys:
        params.add_row(Text(safe(key)), _value(task.params[key], palette["muted"]))
    if task.params_raw is not None:
        params.add_row("paramJson", Text(_long(task.params_raw), style=palette["raw"]))
    parts: list[Any] = [Text("Parameters", style="bold underline"), params]
    if task.result_urls:
        parts += [Text(""), Text("Results", style="bold underline")]
        expires = expires_at(task, expiry_days)
        saved = task.saved_at is not None
        if expires is not None:
            style = palette["alert"] if expires - now < EXPIRING_WITHIN and not saved else palette["muted"]
            note = "saved" if saved else "not saved"
            parts.append(Text(f"expire {local(expires)} ({ago(expires, now)}), {note}", style=style))
        for index, url in enumerate(task.result_urls):
            parts.append(Text(f"{index + 1}.\u00a0{safe(url)}", overflow="fold"))
    return Group(head, Text(""), facts), Group(*parts)


class DetailPane(VerticalScroll):
    """Follows the table's cursor."""

    COMPONENT_CLASSES = set(COMPONENT_CLASSES)

    def __init__(
        self,
        image_cls: Any,
        read: Callable[[str], Awaitable[Task | None]],
        fetcher: ImageFetcher,
        now: Callable[[], float],
        expiry_days: float,
        **kwargs: Any,
    ) -> None:
        """``read`` gets a task with its last answer's details (off the event loop: the store's thread)."""
        super().__init__(**kwargs)
        self.image_cls, self.read, self.fetcher, self.now, self.expiry_days = image_cls, read, fetcher, now, expiry_days
        self._thumbs_done: str | None = None  # the task whose thumbnails are shown in full
        self._cache_noted = False
        self.task_id: str | None = None  # the task shown
        self.wanted: str | None = None  # the task asked for last (shown once its load has read it)
        self._urls: tuple[str, ...] = ()  # the result URLs whose thumbnails are in the grid
        self._shown: tuple[Task, float, float] | None = None  # to draw again in a new theme

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._restyle)

    def _restyle(self) -> None:
        if self._shown is not None and self.is_attached:
            self._describe(*self._shown)

    def _describe(self, task: Task, now: float, expiry_days: float) -> None:
        self._shown = (task, now, expiry_days)
        facts, body = describe(task, now, expiry_days, palette_of(self))
        self.query_one("#detail-head", Static).update(facts)
        self.query_one("#detail-text", Static).update(body)

    def compose(self) -> ComposeResult:
        yield Static(Text("No task selected. Add some with a.", style="dim"), id="detail-head")
        with Grid(id="thumbs"):
            for index in range(4):  # each: an image once loaded, a placeholder with a reason otherwise
                yield Container(Static("", classes="thumb-text"), classes="thumb", id=f"thumb-{index}")
        yield Static("", id="detail-text")

    def load(self, task_id: str, keep_thumbs: bool = False, delay: float = 0.0) -> None:
        """Read a task and show it. After a cursor move it waits a moment, so the cursor is painted first and
        holding a key down does not lay out the pane for every row passed (a newer load cancels this one).
        ``keep_thumbs``: the task shown was updated; its thumbnails stay unless its results changed."""
        self.wanted = task_id
        self._load(task_id, keep_thumbs and task_id == self.task_id, delay)

    def refresh_if(self, updated: Collection[str]) -> None:
        """Read the task asked for again if it is among ``updated`` — the one asked for, not the one shown: a
        reload of the task shown would cancel the load of the one the cursor has just moved to."""
        if self.wanted is not None and self.wanted in updated:
            self.load(self.wanted, keep_thumbs=True)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def _load(self, task_id: str, keep_thumbs: bool, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        task = await self.read(task_id)
        fresh = self.show(task, self.now(), self.expiry_days, reload=not keep_thumbs)
        if task is None or (not fresh and self._thumbs_done == task_id):
            return
        self._thumbs_done = None  # a newer load may cancel this one half-way: it then loads them again
        for index, url in enumerate(task.result_urls[:4]):
            self.set_thumbnail(task_id, index, await self.fetcher.thumbnail(url))
        self._thumbs_done = task_id
        if self.fetcher.cache_problem and not self._cache_noted:
            self._cache_noted = True
            self.notify(safe(self.fetcher.cache_problem), title="Image cache", severity="warning", markup=False)

    def clear(self) -> None:
        """Show nothing (an empty watchlist, a filter matching nothing)."""
        self.wanted = None
        self.workers.cancel_group(self, "detail")
        self.show(None, self.now(), self.expiry_days)

    def show(self, task: Task | None, now: float, expiry_days: float, *, reload: bool = False) -> bool:
        """Show a task; True when its thumbnails must be (re)loaded: ``reload``, another task, or its result URLs
        changed (a task that finishes while shown gets its images)."""
        if task is None:
            self.task_id, self._urls, self._shown = None, (), None
            self.query_one("#detail-head", Static).update(Text("No task selected. Add some with a.", style="dim"))
            self.query_one("#detail-text", Static).update("")
            self._placeholders([])
            return False
        urls = tuple(task.result_urls[:4])
        changed = reload or task.task_id != self.task_id or urls != self._urls
        self.task_id, self._urls = task.task_id, urls
        self._describe(task, now, expiry_days)
        if changed:
            self._placeholders(urls)
        return changed

    def _placeholders(self, urls: tuple[str, ...] | list[str]) -> None:
        grid = self.query_one("#thumbs", Grid)
        grid.display = bool(urls)
        for index in range(4):
            self._fill(index, Static(Text("loading…", style="dim"), classes="thumb-text"))
            self.query_one(f"#thumb-{index}", Container).display = index < len(urls)

    def _fill(self, index: int, child: Any, subtitle: str = "") -> None:
        slot = self.query_one(f"#thumb-{index}", Container)
        slot.remove_children()
        slot.mount(child)
        slot.border_subtitle = subtitle

    def set_thumbnail(self, task_id: str, index: int, result: ImageResult) -> None:
        if task_id != self.task_id or index > 3:
            return
        if result.thumb is not None and self.image_cls is not None:
            self._fill(index, self.image_cls(result.thumb, classes="thumb-image"), safe(result.reason or ""))
            return
        reason = result.reason or ("images off (--images none)" if self.image_cls is None else "no image")
        label = Text.assemble((f"#{index + 1} ", "bold"), (safe(reason), "italic"), "\n", (safe(result.url), "dim"))
        self._fill(index, Static(label, classes="thumb-text"))
