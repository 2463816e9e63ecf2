"""Burn rate, runway and the credit warnings, on balances made by hand."""

from __future__ import annotations

import pytest

from mjdash.core.credit_watch import CreditWatch

T = 1_800_000_000.0


def test_burn_rate_is_the_slope_over_the_last_hour_and_runway_follows() -> None:
    watch = CreditWatch()
    watch.seen(T, 1000.0)
    assert watch.burn_per_hour() is None and watch.describe() == "credits 1,000"  # one sample: no rate yet
    for minute in range(1, 31):
        watch.seen(T + 60 * minute, 1000.0 - 2 * minute)  # 2 a minute: 120 an hour
    assert watch.burn_per_hour() == pytest.approx(120.0)
    assert watch.runway_hours() == pytest.approx(940 / 120)
    assert watch.describe() == "credits 940 · 120/h · 7.8 h left"
    watch.seen(T + 60 * 200, 940.0)  # much later, nothing spent since: the old samples leave the window
    assert len(watch.samples) == 1 and watch.burn_per_hour() is None


def test_warnings_empty_low_and_not_enough_for_the_pending_tasks() -> None:
    watch = CreditWatch(low=500.0)
    watch.seen(T, 1000.0)
    watch.tasks_added(T, 10)
    watch.seen(T + 600, 920.0)  # ten tasks cost 80: 8 each
    assert watch.cost_per_task() == pytest.approx(8.0)
    assert watch.warning(pending=100) is None  # 800 needed, 920 left
    assert watch.warning(pending=200) == (
        "credits: 920 left, and the 200 tasks still pending cost about 1,600 at 8.0 each — top up at kie.ai"
    )
    watch.seen(T + 700, 400.0)
    assert watch.warning(pending=0) == "credits are low: 400 left (below 500, set in the config file) — top up"
    watch.seen(T + 800, 0.0)
    assert watch.warning(pending=0).startswith("the kie.ai account has no credits left")  # type: ignore[union-attr]


def test_a_balance_that_could_not_be_read_says_why() -> None:
    watch = CreditWatch()
    watch.problem = "the API key was rejected (401)"
    assert watch.describe() == "credits ? (the API key was rejected (401))" and watch.warning(5) is None


def test_the_dashboard_state_takes_balances_and_says_when_to_worry() -> None:
    from mjdash.core.api.outcomes import Balance, Fetch, Outcome
    from mjdash.ui.state.watchlist import WatchlistState

    state = WatchlistState(credits_low=100.0)
    assert state.credits_checked(Balance(Fetch("credits", Outcome.OK), 250.0), T) is None
    assert state.header(T).credits == "credits 250"
    refused = Balance(Fetch("credits", Outcome.UNAUTHORIZED, api_code=401))
    assert state.credits_checked(refused, T + 60) is None and state.header(T).credits == "credits 250 (unauthorized)"
    warning = state.credits_checked(Balance(Fetch("credits", Outcome.NO_CREDITS, api_code=402)), T + 120)
    assert warning is not None and warning.startswith("the kie.ai account has no credits left")
