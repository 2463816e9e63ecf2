"""The dashboard: a thin Textual layer that renders the core's state and turns keys into calls on it."""
