"""Killed, injured and abducted counts from text: number phrases tied to casualty words, with their sentences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.tagging.lexicon import CASUALTY_KINDS, Lexicon
from pipelines.tagging.matcher import Token

# How far (in words) a figure may sit from the casualty word it counts: far enough for
# "At least 39 Kurdish security forces and at least 77 ISIS members have been killed".
WINDOW = 12
# Words between a verb and its figure that do not break the link ("killed at least 12").
AFTER_WINDOW = 4
# Four-digit numbers in this range are years, not tolls.
YEARS = range(1900, 2101)
# A figure above this is no toll (a run of digits, an amount, an ID). The bound also keeps every count within
# the 64-bit integers the event's JSON, Avro and proto forms carry, and a digit run of thousands of digits
# from int(), which refuses more than 4,300.
MAX_FIGURE = 1_000_000_000
_MAX_DIGITS = len(str(MAX_FIGURE))


@dataclass(frozen=True)
class Figure:
    """A number phrase of a sentence: its value and the tokens it spans."""

    value: int
    first: int
    last: int


def _digits(token: Token) -> int | None:
    return int(token.text) if token.text.isdecimal() and len(token.text) <= _MAX_DIGITS else None


def find_figures(tokens: list[Token], text: str, lexicon: Lexicon) -> list[Figure]:
    """The number phrases of one sentence's tokens: digits, number words, 'dozens', ranges as their low end."""
    words = lexicon.number_words
    figures: list[Figure] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = _digits(token)
        j = i
        if value is not None:
            # "3,500" and "3.500" are one figure; "39 and 77" are two.
            while (j + 1 < len(tokens) and text[tokens[j].end:tokens[j + 1].start] in (",", ".")
                   and len(tokens[j + 1].text) == 3 and tokens[j + 1].text.isdecimal()):
                j += 1
                value = value * 1000 + int(tokens[j].text)
            if value in YEARS and j == i and len(token.text) == 4:
                i += 1
                continue
        elif token.text in words:
            value = words[token.text]
            while j + 1 < len(tokens) and tokens[j + 1].text in words:
                nxt = words[tokens[j + 1].text]
                if nxt in (12, 100, 1000, 1_000_000) and value < nxt:
                    value *= nxt
                elif value >= 20 and value % 10 == 0 and nxt < 10:
                    value += nxt
                else:
                    break
                j += 1
        else:
            i += 1
            continue
        if value > MAX_FIGURE:
            i = j + 1
            continue
        # A range counts as its low end: "10 to 15", "10-15", "between 10 and 15".
        low_between = i > 0 and tokens[i - 1].text in ("between", "entre", "от", "між", "ile", "بين")
        k = j + 1
        if k + 1 < len(tokens) and (tokens[k].text in ("to", "or", "à", "a", "y", "и", "до", "та", "і", "and") and
                                    (tokens[k].text != "and" or low_between) and
                                    (_digits(tokens[k + 1]) is not None or tokens[k + 1].text in words)):
            j = k + 1
        elif k < len(tokens) and text[tokens[j].end:tokens[k].start] in ("-", "–") and _digits(tokens[k]) is not None:
            j = k
        figures.append(Figure(value, i, j))
        i = j + 1
    return figures


def _excluded(figure: Figure, tokens: list[Token], lexicon: Lexicon) -> bool:
    after = tokens[figure.last + 1].text if figure.last + 1 < len(tokens) else ""
    if after in lexicon.not_people:
        return True
    before = {t.text for t in tokens[max(0, figure.first - 3):figure.first]}
    return bool(before & lexicon.subset)


def sentence_counts(tokens: list[Token], cues: list[tuple[int, int, str]], text: str,
                    lexicon: Lexicon) -> dict[str, int]:
    """Counts per kind in one sentence. cues: (first token, last token, kind), negated ones already removed.

    A verb followed by its figure ("killed 12", "killing 5 and wounding 10") takes the figures after it;
    otherwise it takes the figures before it back to the previous casualty word ("39 ... and 77 ... killed").
    """
    figures = [f for f in find_figures(tokens, text, lexicon) if not _excluded(f, tokens, lexicon)]
    counts: dict[str, int] = {}
    used: set[int] = set()
    cues = sorted(cues)
    for n, (first, last, kind) in enumerate(cues):
        next_cue = cues[n + 1][0] if n + 1 < len(cues) else len(tokens) + WINDOW
        prev_cue = cues[n - 1][1] if n > 0 else -1
        # A figure right before the next casualty word is that word's ("killed and five wounded").
        limit = min(next_cue, last + WINDOW)
        after = [f for f in figures if last < f.first <= last + AFTER_WINDOW and next_cue - f.last > 2]
        if after:
            chosen = [f for f in figures if last < f.first < limit and next_cue - f.last > 2]
        else:
            chosen = [f for f in figures if prev_cue < f.last < first and first - f.last <= WINDOW]
            if not chosen:
                chosen = _singular(tokens, first, prev_cue, lexicon)
        for figure in chosen:
            if figure.first not in used:
                used.add(figure.first)
                counts[kind] = counts.get(kind, 0) + figure.value
    return counts


def _singular(tokens: list[Token], cue: int, prev_cue: int, lexicon: Lexicon) -> list[Figure]:
    """'a soldier was killed' counts one: an article, a noun or two, then a passive verb before the cue."""
    start = max(prev_cue + 1, cue - 5)
    words = [t.text for t in tokens[start:cue]]
    for i, word in enumerate(words):
        if word in lexicon.singular and any(w in lexicon.singular_verbs for w in words[i + 2:]):
            return [Figure(1, start + i, start + i)]
    return []


def casualty_block(per_sentence: list[tuple[int, dict[str, int]]], sentences: list[str],
                   trim: Any) -> dict[str, Any]:
    """The event's casualties: per kind the largest sentence total (a figure repeated is not added up),
    with the sentences that state it."""
    block: dict[str, Any] = {}
    for kind in CASUALTY_KINDS:
        totals = [(counts[kind], index) for index, counts in per_sentence if kind in counts]
        if not totals:
            block[kind] = None
            continue
        best = max(count for count, _ in totals)
        evidence = [trim(sentences[index]) for count, index in totals if count == best]
        block[kind] = {"count": best, "evidence": list(dict.fromkeys(evidence))[:3]}
    return block
