"""Subcommands. Each module imports only what it needs: none of them pays for Textual."""
