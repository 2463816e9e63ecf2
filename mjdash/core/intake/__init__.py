"""Task IDs coming in: found in pasted text or a file, and a file followed as it grows."""
