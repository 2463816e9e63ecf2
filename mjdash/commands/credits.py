"""``mjdash credits [--json]``: the account's credit balance, asked once (with retries)."""

from __future__ import annotations

import json
import time

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, err, make_client
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.api.outcomes import Balance
from mjdash.core.model import iso_epoch


async def ask(settings: Settings) -> Balance:
    async with make_client(settings) as client:
        return await client.credits()


def run(settings: Settings, as_json: bool) -> int:
    balance = aio.run(ask(settings))
    if not balance.ok or balance.credits is None:
        err(f"cannot read the credit balance: {balance.message}")
        return EXIT_FAILED
    if as_json:
        print(json.dumps({"credits": whole(balance.credits), "checked_at": iso_epoch(time.time())}))
    else:
        print(f"credits: {whole(balance.credits):,}")
    return EXIT_OK


def whole(credits: float) -> int | float:
    """A balance as kie.ai sends it: 4976, not 4976.0."""
    return int(credits) if credits.is_integer() else credits
