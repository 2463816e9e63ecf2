"""The line-API watchlist table: cursor, paging, marks, mouse, scroll stability, the empty message."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

from mjdash.core.model import Status, Task
from mjdash.core.store.rows import Feed
from mjdash.ui.screens.dialogs import ConfirmDialog
from mjdash.ui.widgets.task_table import TaskTable
from tests.ui.conftest import SIZE, Dash, main, settle, wait_until


def ids(n: int) -> list[str]:
    return [f"{i:04d}" + "f" * 28 for i in range(1, n + 1)]


def line(table: TaskTable, y: int) -> str:
    return table.render_line(y).text


async def test_cursor_keys_page_and_scroll_into_view(live: Dash) -> None:
    live.store.add(ids(300))
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        assert "State" in line(table, 0) and "Prompt" in line(table, 0)  # the header row
        await pilot.press("end")
        assert table.cursor_row == 299 and table.selected_id == ids(300)[-1]
        assert "0300ffff" in line(table, table.scrollable_content_region.height - 1)  # the last row, on screen
        await pilot.press("home", "pagedown")
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == page and int(table.scroll_y) == 1
        await pilot.press("up")
        assert table.cursor_row == page - 1
        await settle(pilot)
        assert main(app).detail.task_id == table.selected_id  # the detail pane follows the cursor


async def test_mark_several_then_remove_them(live: Dash) -> None:
    live.store.add(ids(5))
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await pilot.press("space", "down", "space")
        assert table.selection() == [ids(5)[0], ids(5)[2]] and line(table, 1).startswith("●")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 3)
        assert {r.task_id for r in live.store.rows()} == {ids(5)[1], *ids(5)[3:]} and not table.marked
        await pilot.press("space")
        assert table.marked
        await pilot.press("escape")  # escape drops the marks first
        assert not table.marked and table.selection() == [table.selected_id]


async def test_click_a_row_and_rows_leaving_above_do_not_move_the_view(live: Dash) -> None:
    live.store.add(ids(200))
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await pilot.press("2")  # only running (here: waiting) tasks
        table.scroll_to(y=100, animate=False, immediate=True)
        await pilot.pause()
        await pilot.click("#table", offset=(20, 3))
        assert table.cursor_row == 102 and table.selected_id == ids(200)[102]
        finished = [dataclasses.replace(r, status=Status.SUCCESS) for r in live.store.rows(ids=ids(200)[:10])]
        with table.follow():  # ten rows above the screen leave the "running" filter
            main(app).state.take(Feed(main(app).state.mark, finished, []))
        await pilot.pause()
        assert table.selected_id == ids(200)[102] and int(table.scroll_y) == 90
        assert ids(200)[100][:9] in line(table, 1)  # the same first row on screen


async def test_empty_messages(live: Dash) -> None:
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        assert "The watchlist is empty" in line(table, 1)
        live.store.add(ids(2))  # as another process would: the next tick reads the change feed
        await main(app).tick()
        assert table.row_count == 2
        await pilot.press("slash", *"nothing-like-this", "enter")
        assert table.row_count == 0 and "No task matches" in line(table, 1)
        assert table.selected_id is None and table.selection() == []
        await settle(pilot)
        assert main(app).detail.task_id is None  # the detail pane does not keep showing a task that is filtered out


async def test_store_reads_do_not_queue_behind_hung_lookups(fixed: Dash) -> None:
    """DNS lookups run on the default executor; one that hangs must not freeze the table or the detail."""
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        hung = threading.Event()
        blocker = loop.run_in_executor(None, hung.wait)  # like a getaddrinfo that never answers
        try:
            table = app.query_one(TaskTable)
            await pilot.press("down")
            await wait_until(pilot, lambda: main(app).detail.task_id == table.selected_id, timeout=5)
            rows = await main(app).db(fixed.store.rows)
            assert len(rows) == table.row_count
        finally:
            hung.set()
            await blocker


async def test_tick_repaints_only_rows_whose_text_changed(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(TaskTable)
        repainted: list[int] = []
        table.refresh_line = repainted.append  # type: ignore[method-assign]
        table.tick()
        assert repainted == []  # nothing moved on: nothing is sent to the terminal
        generating = [i for i, t in enumerate(table.shown_ids) if table.rows_by_id[t].status is Status.GENERATING]
        before = table.get_cell(table.shown_ids[generating[0]], "took").plain
        fixed.clock.t += 5
        table.tick()
        assert {y - 1 for y in repainted} >= set(generating)  # durations of running tasks tick
        assert table.get_cell(table.shown_ids[generating[0]], "took").plain != before


async def test_news_of_the_task_shown_does_not_take_the_pane_from_the_cursor(live: Dash) -> None:
    """The cursor moves; before the pane has read the new task, a tick brings news of the one still shown. The pane
    must end on the cursor's task (it used to reload the old one, cancelling the new load, and stay there)."""
    live.store.add(ids(3))
    first, second = ids(3)[:2]
    app = live.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table, detail = app.query_one(TaskTable), main(app).detail
        await wait_until(pilot, lambda: detail.task_id == first)
        read, reading, release = detail.read, asyncio.Event(), asyncio.Event()

        async def held(task_id: str) -> Task | None:  # the store's answer for the second task waits
            if task_id == second:
                reading.set()
                await release.wait()
            return await read(task_id)

        detail.read = held
        await pilot.press("down")
        await wait_until(pilot, reading.is_set)
        detail.refresh_if({first})  # what a tick does with the updated tasks: the one shown is among them
        release.set()
        await wait_until(pilot, lambda: detail.task_id == table.selected_id == second)
        await settle(pilot)
        assert detail.task_id == second
