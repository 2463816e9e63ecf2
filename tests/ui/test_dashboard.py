"""Pilot tests of every interaction, against the simulator over loopback."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.color import Color
from textual.widgets import Input, Static, TextArea

from mjdash.core.engine.events import Mode
from mjdash.core.model import Status
from mjdash.core.store.database import StoreError
from mjdash.ui.screens.dialogs import AddDialog, BatchPicker, ConfirmDialog
from mjdash.ui.screens.help import HelpScreen
from mjdash.ui.screens.image_view import ImageView
from mjdash.ui.widgets.detail import DetailPane
from mjdash.ui.widgets.task_table import TaskTable
from tests.ui.conftest import SIZE, Dash, main, settle, wait_until


def _plain(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    """What a Static shows, as plain text."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(app.query_one(selector, Static).content)
    return console.export_text()


async def test_live_updates_in_place_and_toast(live: Dash) -> None:
    soon = live.sim.add_task(age=30, duration=10_000, outcome=1, speed="fast", task_type="mj_txt2img")
    other = live.sim.add_task(age=0, duration=10_000, speed="relaxed")
    live.store.add([soon.task_id, other.task_id])
    app = live.app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = app.query_one(TaskTable)
        assert table.row_count == 2
        await pilot.press("down")  # cursor on the second row
        await wait_until(pilot, lambda: table.rows_by_id[soon.task_id].status is Status.GENERATING)
        live.sim.finish(soon.task_id)  # it finishes once the dashboard has seen it running
        await wait_until(pilot, lambda: table.rows_by_id[soon.task_id].status is Status.SUCCESS)
        assert table.cursor_row == 1  # the cursor did not jump
        assert table.get_cell(soon.task_id, "state").plain == "✔ success"
        await wait_until(pilot, lambda: any("success" in n.title for n in app.notices))


async def test_detail_shows_params_and_thumbnails(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        detail = app.query_one(DetailPane)
        text = _plain(app, "#detail-head") + _plain(app, "#detail-text")
        first = fixed.store.rows()[0]
        assert first.task_id in text and "aspectRatio" in text and "took" in text and "1m02s" in text
        images = detail.query(".thumb-image")
        assert len(images) == 4


async def test_failure_details_and_markup_is_literal(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        text = _plain(app, "#detail-head")
        assert "errorMessage" in text and "errorCode" in text
        await pilot.press("down", "down")
        await settle(pilot)
        text = _plain(app, "#detail-text")
        assert "[bold red]not markup[/]" in text and "\\x1b]0;title\\x07" in text and "\x1b" not in text
        table = app.query_one(TaskTable)
        assert "[bold red]" in table.get_cell(table.selected_id, "prompt").plain


async def test_filter_state_groups_batches_and_sort(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await pilot.press("3")
        assert table.row_count == 2 and all(table.rows_by_id[i].status is Status.SUCCESS for i in table.shown_ids)
        await pilot.press("1", "slash")
        await pilot.press(*"markup")
        await pilot.press("enter")
        assert table.row_count == 1
        await pilot.press("escape")
        assert table.row_count == 6 and not app.query_one("#filter", Input).display
        await pilot.press("b")
        assert isinstance(app.screen, BatchPicker)
        await pilot.press("down", "enter")
        assert table.view.batch_filter == "night-run" and table.row_count == 6
        selected = table.selected_id
        await pilot.click("#table", offset=(55, 0))  # the Prompt header
        assert table.view.sort_column == "prompt" and table.selected_id == selected
        prompts = [(table.rows_by_id[i].prompt or "~").lower() for i in table.shown_ids]
        assert prompts == sorted(prompts)
        await pilot.press("o")
        assert table.view.sort_column == "took"  # `o` goes on from the clicked column


async def test_add_remove_refresh_pause(live: Dash) -> None:
    task = live.sim.add_task(age=500, duration=60, outcome=1)
    app = live.app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddDialog)
        app.screen.query_one(
            TextArea
        ).text = f'{{"code":200,"data":{{"taskId":"{task.task_id}"}}}}\nhello\n{{"taskId": "bad one"}}'
        await pilot.press("ctrl+s")
        table = app.query_one(TaskTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert any("added 1" in str(n.message) and "rejected 1" in str(n.message) for n in app.notices)
        await wait_until(pilot, lambda: table.rows_by_id[task.task_id].status is Status.SUCCESS)
        polls = live.sim.stats.by_task[task.task_id]
        await pilot.press("r")  # forces a poll of a final task
        await wait_until(pilot, lambda: live.sim.stats.by_task[task.task_id] > polls)
        await pilot.press("p")
        assert main(app).engine is not None and main(app).engine.state.mode is Mode.PAUSED
        await pilot.press("p")
        assert main(app).engine.state.mode is not Mode.PAUSED
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 0)
        assert live.store.count() == 0


async def test_bad_key_banner_keeps_data_and_recovers(live: Dash) -> None:
    task = live.sim.add_task(age=0, duration=10_000)
    live.store.add([task.task_id])
    live.sim.api_key = "rotated"  # the key is rejected from now on
    app = live.app()
    async with app.run_test(size=SIZE) as pilot:
        banner = app.query_one("#banner", Static)
        await wait_until(pilot, lambda: banner.display)
        assert "API key was rejected" in _plain(app, "#banner")
        assert app.query_one(TaskTable).row_count == 1  # the table keeps what it had
        from tests.conftest import SIM_KEY

        live.sim.api_key = SIM_KEY  # the cause clears
        await pilot.press("r")  # a refresh probes at once instead of waiting a minute
        await wait_until(pilot, lambda: not banner.display)


async def test_help_palette_image_view_copy(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Add", "Refresh", "Pause", "Filter", "Save", "Copy ID"} <= set(commands)
        await pilot.press("c")
        await settle(pilot)
        assert any("Copied the task ID" in str(n.message) for n in app.notices)
        assert app.clipboard == fixed.store.rows()[0].task_id
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageView))
        await pilot.press("right")
        assert app.screen.index == 1  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.press("z")
        assert app.screen.has_class("detail-max")


async def test_save_task_images(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    out = fixed.tmp / "saved"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("s")
        box = app.screen.query_one(Input)
        box.value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: any("saved 4" in str(n.message) for n in app.notices))
    assert len(list(out.glob("*.jpg"))) == 4


async def test_empty_watchlist_and_resize(live: Dash) -> None:
    app = live.app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.query_one(TaskTable).row_count == 0
        assert "press a to add" in _plain(app, "#summary")
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert app.screen.has_class("-wide") and app.screen.has_class("-tall")
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert app.screen.has_class("-narrow") and not app.screen.has_class("-wide")
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert app.screen.has_class("-short")


async def test_thumbnails_appear_when_the_task_in_the_detail_pane_finishes(live: Dash) -> None:
    task = live.sim.add_task(age=30, duration=10_000, outcome=1, task_type="mj_txt2img", speed="fast")
    live.store.add([task.task_id])
    app = live.app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await wait_until(pilot, lambda: main(app).detail.task_id == task.task_id)
        await wait_until(pilot, lambda: table.rows_by_id[task.task_id].status is Status.GENERATING)
        await wait_until(pilot, lambda: main(app).detail.task_id == task.task_id)
        await pilot.pause()
        assert not main(app).detail.query(".thumb-image")  # still generating: no images yet
        live.sim.finish(task.task_id)
        await wait_until(pilot, lambda: table.rows_by_id[task.task_id].status is Status.SUCCESS)
        await wait_until(pilot, lambda: len(main(app).detail.query(".thumb-image")) == 4)


async def test_database_failures_show_a_banner_and_recover(live: Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    task = live.sim.add_task(age=0, duration=10_000)
    live.store.add([task.task_id])
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE, notifications=True):
        table = app.query_one(TaskTable)
        real_rows = live.store.rows
        locked = StoreError(f"the database {live.store.path} stayed locked by another mjdash process — try again")

        def failing_rows(*args: object, **kwargs: object) -> object:
            raise locked

        monkeypatch.setattr(live.store, "rows", failing_rows)
        live.store.add(["ffffffffffffffffffffffffffffffff"])  # arrives while the database cannot be read
        await main(app).load_all()
        assert main(app).banner.display and "stayed locked" in _plain(app, "#banner")
        assert table.row_count == 1  # the table keeps what it had
        monkeypatch.setattr(live.store, "rows", real_rows)  # the lock is gone
        await main(app).tick()
        assert not main(app).banner.display and table.row_count == 2


async def test_a_failed_job_is_a_toast_and_a_failed_engine_restarts(
    live: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = live.sim.add_task(age=0, duration=10_000)
    live.store.add([task.task_id])
    real_record = live.store.record
    failures = [StoreError("the disk holding w.db is full — free some space and try again")]

    def record_once_failing(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(live.store, "record", record_once_failing)
    app = live.app()
    main(app).engine_restart = 0.2
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: main(app).banner.display and "engine stopped" in _plain(app, "#banner"))
        assert "disk holding w.db is full" in _plain(app, "#banner")
        await wait_until(pilot, lambda: not main(app).banner.display)  # restarted by itself, and it works again
        await wait_until(pilot, lambda: main(app).table.rows_by_id[task.task_id].last_polled is not None)

        def add_fails(*args: object, **kwargs: object) -> object:
            raise StoreError("cannot write w.db: it is read-only — fix its permissions or use --db")

        monkeypatch.setattr(live.store, "add", add_fails)
        main(app).add_tasks_from("0123456789abcdef0123456789abcdef")
        await wait_until(pilot, lambda: any("read-only" in str(n.message) for n in app.notices))
        assert app.is_running


async def test_following_an_unreadable_file_is_a_banner_until_fixed(live: Dash) -> None:
    log = live.tmp / "batch.log"
    log.mkdir()
    app = live.app(run_engine=False, follow=log)
    async with app.run_test(size=SIZE) as pilot:
        await main(app).tick()
        assert main(app).banner.display and f"cannot read {log}" in _plain(app, "#banner")
        log.rmdir()
        log.write_text("taskId=0123456789abcdef0123456789abcdef\n")
        await main(app).tick()
        await pilot.pause()
        assert not main(app).banner.display and main(app).table.row_count == 1


async def test_other_processes_changes_appear_live(live: Dash) -> None:
    """`mjdash add`, `rm` and `wait` in another terminal: the dashboard (its own engine off, so nothing it
    learns itself) shows each change from the database's change feed on its next tick."""
    from tests.conftest import SIM_KEY, run_cli

    first = live.sim.add_task(age=0, duration=10_000)
    done = live.sim.add_task(age=100, duration=40, outcome=1)
    live.store.add([first.task_id])
    env = {"MJDASH_DB": str(live.settings.db_path), "MJDASH_BASE_URL": live.sim.url, "KIE_API_KEY": SIM_KEY}
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await settle(pilot)
        assert run_cli("add", done.task_id, env=env).returncode == 0
        await wait_until(pilot, lambda: done.task_id in table.rows_by_id)
        assert run_cli("wait", done.task_id, env=env).returncode == 0
        await wait_until(pilot, lambda: table.rows_by_id[done.task_id].status is Status.SUCCESS)
        assert run_cli("rm", first.task_id, env=env).returncode == 0
        await wait_until(pilot, lambda: first.task_id not in table.rows_by_id)
        assert table.shown_ids == [done.task_id]
        header = main(app).state.header(main(app).clock.now())
        assert header.counts[Status.SUCCESS] == 1 and header.total == 1


async def test_state_colours_follow_the_theme(fixed: Dash) -> None:
    """The table's state colours are the theme's, and follow it when the user picks another."""
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(TaskTable)
        done = next(r.task_id for r in table.rows_by_id.values() if r.status is Status.SUCCESS)
        for theme in ("textual-dark", "textual-light", "gruvbox"):
            app.theme = theme
            await settle(pilot)
            colour = table.get_cell(done, "state").style.color  # type: ignore[union-attr]
            assert colour is not None
            assert Color.from_rich_color(colour) == Color.parse(app.theme_variables["text-success"])
