"""The watchlist database: SQLite with a change feed, its schema and rows, and its own thread for event loops."""
