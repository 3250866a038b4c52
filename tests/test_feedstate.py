"""The feed state's retry rule, without a pipeline: when a pending entry is tried again."""

from __future__ import annotations

import datetime as dt

from connectors.feedstate import ENTRY_RETRY_BASE, ENTRY_RETRY_MAX, FeedState, next_state, retry_at
from connectors.state import format_time

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=30)


def test_first_failure_retries_next_run_then_the_wait_doubles_up_to_the_cap():
    assert retry_at(1, NOW) is None
    assert retry_at(2, NOW) == format_time(NOW + ENTRY_RETRY_BASE)
    assert retry_at(3, NOW) == format_time(NOW + 2 * ENTRY_RETRY_BASE)
    assert retry_at(20, NOW) == format_time(NOW + ENTRY_RETRY_MAX)
    assert retry_at(1, NOW, retry_after=600) == format_time(NOW + dt.timedelta(seconds=600))  # a 429's wish


def test_a_pending_entry_is_not_seen_and_a_settled_one_is():
    entry = {"link": "https://x.example/a", "authors": []}
    poll = {"outcome": "ok", "entries": 2, "listed": ["k1", "k2"]}
    fetches = [{"keys": ["k1"], "retry": True, "error": "HTTP 503", "entry": entry}, {"keys": ["k2"]}]
    state = next_state(FeedState(), poll, fetches, NOW, DAY)
    assert "k1" not in state.seen and "k2" in state.seen
    assert state.pending["k1"]["attempts"] == 1 and state.pending["k1"]["last_error"] == "HTTP 503"
    later = next_state(state, {"outcome": "not_modified"}, [{"keys": ["k1"]}], NOW + dt.timedelta(hours=1), DAY)
    assert later.pending == {} and "k1" in later.seen
