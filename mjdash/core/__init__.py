"""The core, with no Textual in it: the API (`api/`), the refresh engine (`engine/`), the watchlist database
(`store/`), result images (`media/`), task IDs coming in (`intake/`), and the task model and small helpers."""
