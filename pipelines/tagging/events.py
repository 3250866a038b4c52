"""Whether a text reports an event: in one sentence, something done (an attack, a killing) to someone or something.

Violence words alone do not make a report: an analysis of a war's causes, a court charging men with a bombing,
a threat to kill hostages or a tally of last year's attacks name violence that the story does not report as
having just happened. A lexicon that lists event triggers asks for a trigger and a target or casualty figure in
the same sentence, with no marker of a threat, a plan, a foiled attempt or a trial there.
"""

from __future__ import annotations

from collections.abc import Iterable

# A text that reports an event is this much more likely to be conflict news; one that does not keeps this share
# of its score (its violence words alone are weaker evidence).
EVENT_WEIGHT = 0.4
UNREPORTED_SHARE = 0.6

# A target counts when it is this many words from the trigger or nearer: in a long sentence, words further
# apart seldom belong to one clause.
TARGET_WINDOW = 4
# A casualty figure may sit further away: "... were killed on Monday when an air strike hit ...".
OUTCOME_WINDOW = 8

# A phrase found in a text: its sentence, first and last token.
Span = tuple[int, int, int]


def reports_event(triggers: Iterable[Span], targets: Iterable[Span], outcomes: Iterable[Span],
                  markers: Iterable[int]) -> bool:
    """Whether some sentence holds a trigger and, apart from it, a target or a casualty figure near it,
    with no marker of a non-event."""
    marked = set(markers)
    near: dict[int, list[tuple[int, int]]] = {}
    for sentence, first, last in targets:
        near.setdefault(sentence, []).append((first, last))
    told: dict[int, list[tuple[int, int]]] = {}
    for sentence, first, last in outcomes:
        told.setdefault(sentence, []).append((first, last))
    for sentence, first, last in triggers:
        if sentence in marked:
            continue
        if any(0 < other - last <= TARGET_WINDOW or 0 < first - other_last <= TARGET_WINDOW
               for other, other_last in near.get(sentence, ())):
            return True
        if any(0 < other - last <= OUTCOME_WINDOW or 0 < first - other_last <= OUTCOME_WINDOW
               for other, other_last in told.get(sentence, ())):
            return True
    return False


def event_score(score: float, reported: bool) -> float:
    """A rules score once it is known whether the text reports an event."""
    return 1 - (1 - score) * (1 - EVENT_WEIGHT) if reported else score * UNREPORTED_SHARE
