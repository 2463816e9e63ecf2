"""Fault kinds the simulator can inject (kept apart so the CLI can list them without importing Pillow)."""

FAULT_KINDS = ("500", "html", "malformed", "wrongshape", "slow", "code", "reset", "429")
