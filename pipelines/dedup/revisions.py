"""Revision rules: the facts of a tagged story that make a changed copy news, and what changed between two versions."""

from __future__ import annotations

from typing import Any

# How many of a story's places and actors its facts keep: the first ones name the story; the state stays small.
FIRST_PLACES = 3
FIRST_ACTORS = 5
_COUNTS = ("killed", "injured", "abducted")
# The facts that tell a revision of a near copy at another URL: its figures and whether it is conflict news.
# Places and actors alone do not: a copy's dateline or byline ("LONDON (Reuters) -", "our Beirut
# correspondent") names places the story is not about, so most syndicated copies would otherwise be
# revisions; they are listed among a revision's changes.
TELLING = (*_COUNTS, "conflict")


def facts_of(tags: Any) -> dict[str, Any]:
    """The facts of a TagResult that a later copy is compared on: casualty counts, the first places, the
    actors, the conflict flag. Small and JSON-ready, for the dedup state (which keeps no text)."""
    casualties = tags.casualties or {}
    return {
        **{kind: (casualties.get(kind) or {}).get("count") for kind in _COUNTS},
        "places": [place.get("name") for place in tags.locations[:FIRST_PLACES]],
        "actors": sorted({actor.get("name") for actor in tags.actors})[:FIRST_ACTORS],
        "conflict": bool(tags.is_conflict),
    }


def same_story_facts(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two versions' facts tell the same story by the facts that tell a revision (TELLING)."""
    if a is None or b is None:
        return a is b
    return all(a.get(name) == b.get(name) for name in TELLING)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value).lower()


def fact_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What differs between two versions' facts, one line a fact ("killed 14 → 20"); where the earlier version's
    facts are unknown, every fact `after` states. No figure and no places (or actors) are the same."""
    before = before or {}
    return [f"{name} {_shown(before.get(name))} → {_shown(value)}"
            for name, value in after.items() if _stated(before.get(name)) != _stated(value)]


def _stated(value: Any) -> Any:
    return None if value == [] else value
