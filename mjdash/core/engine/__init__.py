"""The refresh engine: which task to ask about next, at what rate, what was learned, and its events."""
