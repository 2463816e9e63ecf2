"""The failures every part of mjdash reports as one line (what happened, what to do), kept in a module with no
imports so that a command that only reports them (``mjdash status``) does not load what raises them."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used; the message is one line, names the path and says what to do."""


class FollowError(Exception):
    """The followed file exists but cannot be read (permissions, a directory, an I/O error)."""
