"""The core: API client, task model, store, poller, images. No Textual import anywhere in here."""
