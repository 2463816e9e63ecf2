"""The dashboard's state, with no Textual in it: what the watchlist holds and shows (``watchlist``), which rows in
which order (``task_view``), and what the user is told (``announce``). The main screen owns one
:class:`~mjdash.ui.state.watchlist.WatchlistState`; the widgets only render it."""
