"""The dashboard against hostile answers and awkward terminals (issue: hostile input, second pass)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from mjdash.core.store.database import StoreError
from mjdash.ui.widgets.task_table import TaskTable
from tests.ui.conftest import SIZE, Dash, main, settle, wait_until


def _plain(app: Any, selector: str) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(app.query_one(selector, Static).content)
    return console.export_text()


async def test_bidi_overrides_show_visibly_in_table_and_detail(live: Dash) -> None:
    task = live.sim.add_task(age=100, duration=40, outcome=1, task_type="mj_txt2img")
    task.params["prompt"] = "invoice \u202egnp.exe\u202c for \u2066you\u2069"
    live.store.add([task.task_id])
    await live.learn()
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: main(app).detail.task_id == task.task_id)
        await settle(pilot)
        cell = app.query_one(TaskTable).get_cell(task.task_id, "prompt").plain
        detail = _plain(app, "#detail-text")
    for shown in (cell, detail):
        assert "\\u202e" in shown and "\u202e" not in shown and "\u2066" not in shown


async def test_a_huge_prompt_is_cut_before_it_is_laid_out(live: Dash) -> None:
    task = live.sim.add_task(age=100, duration=40, outcome=1, task_type="mj_txt2img")
    task.params["prompt"] = "word " * 200_000  # 1 MB
    live.store.add([task.task_id])
    await live.learn()
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: main(app).detail.task_id == task.task_id)
        await settle(pilot)
        detail = _plain(app, "#detail-text")
    assert "996,000 more characters (y copies the whole prompt" in " ".join(detail.split())
    assert len(detail) < 20_000


async def test_zoom_twice_gives_the_table_its_focus_back(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(TaskTable)
        await pilot.press("z")
        assert app.screen.has_class("detail-max") and app.focused is main(app).detail
        await pilot.press("z")
        assert not app.screen.has_class("detail-max") and app.focused is table
        before = table.cursor_row
        await pilot.press("down")
        assert table.cursor_row == before + 1


async def test_in_a_tiny_terminal_the_banner_keeps_to_one_line(live: Dash) -> None:
    task = live.sim.add_task(age=0, duration=10_000)
    live.store.add([task.task_id])
    live.sim.api_key = "rotated"  # the key is rejected: a two-line banner
    app = live.app()
    async with app.run_test(size=(40, 10)) as pilot:
        await wait_until(pilot, lambda: main(app).banner.display)
        await pilot.pause()
        assert app.screen.has_class("-short")
        assert main(app).banner.region.height == 1
        assert app.query_one(TaskTable).region.height >= 3  # the table stays in sight


async def test_the_engine_banner_goes_when_writes_land_again(live: Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk stays full for a while (every write in the engine's run and its clean-up fails), then has room:
    the banner must go as soon as a round is written, even though the engine's state never changed."""
    task = live.sim.add_task(age=0, duration=10_000)
    live.store.add([task.task_id])
    real_record = live.store.record
    full = StoreError("the disk holding w.db is full — free some space and try again")
    failures = [full] * 4

    def record(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(live.store, "record", record)
    app = live.app()
    main(app).engine_restart = 0.2
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: main(app).banner.display and "engine stopped" in _plain(app, "#banner"))
        await wait_until(pilot, lambda: not failures)  # the disk has room again
        await wait_until(pilot, lambda: not main(app).banner.display)


def test_auto_images_in_tmux_never_probe_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import mjdash.ui.imaging as imaging

    def no_probe() -> bool:
        raise AssertionError("the terminal was probed inside tmux")

    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1234,0")
    monkeypatch.setattr(imaging, "_probe_is_safe", no_probe)
    _, renderer = imaging.load_renderer("auto")
    assert renderer == "halfcell"
