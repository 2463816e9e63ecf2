"""``mjdash status [--json] TASK_ID…``: fetch each task once (with retries) and print it."""

from __future__ import annotations

import asyncio

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, describe, err, fetch_json, make_client, valid_ids
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.api.client import Fetch, KieClient
from mjdash.core.text import safe_json

PARALLEL = 4


async def fetch_all(client: KieClient, task_ids: list[str], parallel: int = PARALLEL) -> list[Fetch]:
    """Fetch every task, ``parallel`` at a time, results in the given order."""
    gate = asyncio.Semaphore(parallel)

    async def one(task_id: str) -> Fetch:
        async with gate:
            return await client.fetch(task_id)

    return list(await asyncio.gather(*(one(t) for t in task_ids)))


async def _run(settings: Settings, task_ids: list[str]) -> list[Fetch]:
    async with make_client(settings) as client:
        return await fetch_all(client, task_ids)


def run(settings: Settings, raw_ids: list[str], as_json: bool) -> int:
    task_ids = valid_ids(raw_ids)
    fetches = aio.run(_run(settings, task_ids))
    if as_json:
        print(safe_json([fetch_json(f) for f in fetches], indent=2))
    else:
        for fetch in fetches:
            if fetch.task is not None:
                print("\n".join(describe(fetch.task)))
    failed = [f for f in fetches if not f.ok]
    for fetch in failed:
        err(f"{fetch.task_id}: {fetch.message}")
    return EXIT_FAILED if failed else EXIT_OK
