"""The feed state without a pipeline: when a pending entry is tried again, when a seen one is fetched again."""

from __future__ import annotations

import datetime as dt
import pickle

from connectors.feedstate import (
    ENTRY_RETRY_BASE,
    ENTRY_RETRY_MAX,
    EntryStatus,
    FeedState,
    FetchOutcome,
    PollKind,
    PollOutcome,
    entry_keys,
    next_state,
    retry_at,
)
from connectors.state import format_time
from connectors.urls import url_key

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
    poll = PollOutcome(PollKind.OK, entries=2, listed=("k1", "k2"))
    fetches = [FetchOutcome(("k1",), retry=True, error="HTTP 503", entry=entry), FetchOutcome(("k2",))]
    state = next_state(FeedState(), poll, fetches, NOW, DAY)
    assert "k1" not in state.seen and "k2" in state.seen
    assert state.pending["k1"]["attempts"] == 1 and state.pending["k1"]["last_error"] == "HTTP 503"
    later = next_state(state, PollOutcome(PollKind.NOT_MODIFIED), [FetchOutcome(("k1",))], NOW + dt.timedelta(hours=1),
                       DAY)
    assert later.pending == {} and "k1" in later.seen


LINK = "https://wire.example/market"
PUBLISHED = "2025-01-06T06:00:00Z"


def fetched(updated_at: str | None, link: str = LINK) -> FeedState:
    """The state after a run that listed and fetched `link`, its feed giving it `updated_at`."""
    keys = tuple(entry_keys(link, "urn:wire:market"))
    poll = PollOutcome(PollKind.OK, entries=1, listed=keys)
    return next_state(FeedState(), poll, [FetchOutcome(keys, updated_at)], NOW, DAY)


def test_a_settled_fetch_remembers_the_updated_time_of_the_version_fetched():
    state = fetched("2025-01-07T10:00:00Z")
    assert state.updated == {url_key(LINK): "2025-01-07T10:00:00Z"}
    # the value survives the state's round trip, and a state written without the field loads with none
    assert FeedState.from_value(state.to_value()).updated == state.updated
    assert FeedState.from_value({"seen": state.seen}).updated == {}
    # a refetch of the next version replaces it; a retry does not touch it until it settles
    keys = tuple(entry_keys(LINK, "urn:wire:market"))
    retry = FetchOutcome(keys, "2025-01-08T10:00:00Z", retry=True, error="HTTP 503",
                         entry={"link": LINK, "authors": []})
    pending = next_state(state, PollOutcome(PollKind.NOT_MODIFIED), [retry], NOW, DAY)
    assert pending.updated == state.updated
    later = next_state(pending, PollOutcome(PollKind.NOT_MODIFIED), [FetchOutcome(keys, "2025-01-08T10:00:00Z")],
                       NOW, DAY)
    assert later.updated == {url_key(LINK): "2025-01-08T10:00:00Z"} and later.pending == {}


def test_the_updated_time_is_pruned_with_the_seen_key():
    state = fetched("2025-01-07T10:00:00Z")
    gone = next_state(state, PollOutcome(PollKind.OK), [], NOW + 2 * DAY, DAY)
    assert gone.seen == {} and gone.updated == {}


def test_an_entry_seen_before_is_fetched_again_only_when_its_feed_says_it_was_updated_since():
    state = fetched("2025-01-07T10:00:00Z")
    assert state.wants("https://wire.example/new", None, None) is EntryStatus.NEW
    assert state.wants(LINK, "urn:wire:market", "2025-01-07T10:00:00Z", PUBLISHED) is EntryStatus.SEEN
    assert state.wants(LINK, "urn:wire:market", "2025-01-08T07:15:00Z", PUBLISHED) is EntryStatus.UPDATED
    assert state.wants(LINK, "urn:wire:market", "2025-01-06T10:00:00Z", PUBLISHED) is EntryStatus.SEEN  # older
    assert state.wants(LINK, "urn:wire:market", None, PUBLISHED) is EntryStatus.SEEN  # the feed says nothing


def test_with_no_updated_time_remembered_one_later_than_the_published_time_is_an_update():
    state = fetched(None)
    assert state.updated == {}
    assert state.wants(LINK, None, PUBLISHED, PUBLISHED) is EntryStatus.SEEN  # updated when published
    assert state.wants(LINK, None, "2025-01-07T10:00:00Z", PUBLISHED) is EntryStatus.UPDATED
    assert state.wants(LINK, None, "2025-01-07T10:00:00Z", None) is EntryStatus.SEEN  # nothing to compare with


def test_outcomes_survive_the_pickling_between_beam_steps():
    poll = PollOutcome(PollKind.OK, etag='"v1"', entries=1, listed=("k1", "guid:g1"))
    fetch = FetchOutcome(("k1",), retry=True, error="HTTP 503", retry_after=60.0, entry={"link": LINK})
    assert pickle.loads(pickle.dumps(poll)) == poll and pickle.loads(pickle.dumps(fetch)) == fetch
