"""The main screen's keys: the footer, the help screen and the command palette all read this one list."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_KEYS: list[BindingType] = [
    Binding("q", "app.quit", "Quit"),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("a", "add", "Add"),
    Binding("x", "remove", "Remove"),
    Binding("r", "refresh", "Refresh"),
    Binding("t", "resubmit", "Resubmit"),
    Binding("g", "linked", "Go to retry/original", show=False),
    Binding("R", "refresh_all", "Refresh all", show=False),
    Binding("p", "pause", "Pause"),
    Binding("slash", "filter", "Filter", key_display="/"),
    Binding("escape", "clear_filter", "Clear filter", show=False),
    Binding("1", "group('all')", "All", show=False),
    Binding("2", "group('running')", "Running", show=False),
    Binding("3", "group('success')", "Succeeded", show=False),
    Binding("4", "group('failed')", "Failed", show=False),
    Binding("5", "group('problems')", "Problems", show=False),
    Binding("b", "batch", "Batch"),
    Binding("i", "insight", "Insight"),
    Binding("o", "sort_next", "Sort"),
    Binding("O", "sort_reverse", "Reverse sort", show=False),
    Binding("z", "maximize_detail", "Zoom"),
    Binding("v", "view_image", "View image"),
    Binding("c", "copy('id')", "Copy ID"),
    Binding("y", "copy('prompt')", "Copy prompt", show=False),
    Binding("u", "copy('url')", "Copy URL", show=False),
    Binding("w", "open_url", "Open URL", show=False),
    Binding("s", "save('task')", "Save"),
    Binding("S", "save('batch')", "Save batch", show=False),
]
