"""Killed, injured and abducted counts of the event an article reports: number phrases tied to casualty words.

The convention, the same for every language:

- The event's count of a kind is what the first sentence stating one says (the headline, then the lead).
  Later sentences restate it or tell of other incidents ("another 27 were killed in raids elsewhere"): none
  of them is added to it. A later sentence that updates the toll ("Update: the toll has risen to 120",
  "officials later revised the number of dead to 27") replaces it: the last such update is the count.
- A figure is its stated lower bound: "at least 39" and "more than 39" are 39, "10 to 15" and "between 10
  and 15" are 10. Groups in one sentence add up ("39 Kurdish forces and 77 ISIS members": 116).
- A vague quantity is its smallest reading ("dozens" 24, "hundreds" 200, "scores" 40) and gives way to
  the first exact figure of a later sentence; "several" and "many" are no figure.
- One victim is one: "a soldier was killed", "shot dead a taxi driver", "the body of a man".
- A toll that is not the event's is left out: the war's total ("the war has killed"), tolls since a date or
  a war's start, "so far", "this year", earlier incidents ("last month", "two days ago"). Figures of other
  outcomes ("40 arrested") are no casualties.
"""

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
# How far (in words) a "since" may sit from the date or war it is since ("since the start of the war").
SINCE_WINDOW = 6
# How far (in words) after a war's name its toll's auxiliary may come ("the war in Syria, now in its sixth
# year, has killed").
WAR_WINDOW = 8
# The cue kinds that tie figures: casualty kinds, and other outcomes whose figures are no casualties.
_TYING = (*CASUALTY_KINDS, "other")


@dataclass(frozen=True)
class Stated:
    """What one sentence states of one casualty kind: the count, whether only vague quantities ("dozens")
    make it, and whether the sentence tells it as an update of the toll ("has risen to")."""

    count: int
    vague: bool
    update: bool = False


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
    # Only digits or a number word start a figure: the sentence's other words are passed over in one test each.
    starts = [i for i, token in enumerate(tokens) if token.text.isdecimal() or token.text in words]
    following = 0
    for i in starts:
        if i < following:
            continue
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
                continue
        elif token.text in words:
            if i and tokens[i - 1].text.casefold() in lexicon.negation:
                continue  # "no one was hurt", "not one survived": a number word that counts nobody
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
            continue
        if value > MAX_FIGURE:
            following = j + 1
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
        following = j + 1
    return figures


def _is_year(token: Token) -> bool:
    return len(token.text) == 4 and token.text.isdecimal() and int(token.text) in YEARS


def _excluded(figure: Figure, tokens: list[Token], totals: set[int], lexicon: Lexicon) -> bool:
    after = tokens[figure.last + 1] if figure.last + 1 < len(tokens) else None
    if after is not None and (after.text in lexicon.not_people or after.text in lexicon.months or _is_year(after)):
        return True
    if figure.first > 0 and tokens[figure.first - 1].text in lexicon.months:
        return True
    near = range(figure.first - 3, figure.first)
    if any(p in totals for p in near):
        return False
    # "Ten children were among 48 killed": the ten are part of the 48.
    if any(p - figure.last <= 3 for p in totals if p > figure.last):
        return True
    return any(tokens[p].text in lexicon.subset for p in near if p >= 0)


def _age(figure: Figure, tokens: list[Token], text: str) -> bool:
    """'the man, 35, died': a number set off by commas right after a word is an age, of one person."""
    if figure.first != figure.last or not 0 < figure.first < len(tokens) - 1:
        return False
    word, number, nxt = tokens[figure.first - 1], tokens[figure.first], tokens[figure.first + 1]
    return (number.text.isdecimal() and int(number.text) < 120 and word.text.isalpha()
            and text[word.end:number.start].strip() == "," and text[number.end:nxt.start].strip() == ",")


def _totals(tokens: list[Token], lexicon: Lexicon) -> set[int]:
    """Where a figure after is the total that figures before belong to ('were among')."""
    # A pair is made only where the word ends such a phrase: most sentences have none.
    # A one-word phrase is the headlines' and counts only right before a figure ("three children among 10
    # killed"), not in "12 killed, among them five children".
    ends = {phrase.rsplit(" ", 1)[-1] for phrase in lexicon.part_of_total}
    found = set()
    for i in range(len(tokens)):
        word = tokens[i].text
        if word not in ends:
            continue
        if i and f"{tokens[i - 1].text} {word}" in lexicon.part_of_total:
            found.add(i)
        elif word in lexicon.part_of_total and i + 1 < len(tokens) and (
                tokens[i + 1].text.isdecimal() or tokens[i + 1].text in lexicon.number_words):
            found.add(i)
    return found


def sentence_counts(tokens: list[Token], cues: list[tuple[int, int, str]], text: str,
                    lexicon: Lexicon) -> dict[str, Stated]:
    """What one sentence states per casualty kind. cues: (first token, last token, kind), negated ones already
    removed; besides the casualty kinds, "other" (outcomes such as arrests) and the background markers.

    A verb followed by its figure ("killed 12", "killing 5 and wounding 10") takes the figures after it;
    otherwise it takes the figures before it back to the previous casualty word ("39 ... and 77 ... killed").
    A figure after a conjunction that comes right before another casualty word is that word's ("wounded and
    at least six others were abducted").
    """
    words = [token.text for token in tokens]
    # Without a figure or a word for one victim ("a", "one") no count is stated: many of the sentences that
    # name a casualty word ("the killing", "were wounded") are settled here.
    if (lexicon.singular.isdisjoint(words) and lexicon.number_words.keys().isdisjoint(words)
            and not any(map(str.isdecimal, words))):
        return {}
    totals = _totals(tokens, lexicon) if lexicon.part_of_total else set()
    update = any(kind == "update" for _first, _last, kind in cues)
    figures = [Figure(1, f.first, f.last) if _age(f, tokens, text) else f
               for f in find_figures(tokens, text, lexicon) if not _excluded(f, tokens, totals, lexicon)
               and not (update and f.first and tokens[f.first - 1].text in lexicon.update_from)]
    tying = sorted(c for c in cues if c[2] in _TYING)
    background = _background(tokens, tying, [c for c in cues if c[2] not in _TYING], lexicon)
    counts: dict[str, int] = {}
    vague: dict[str, bool] = {}
    used: set[int] = set()
    for n, (first, last, kind) in enumerate(tying):
        next_cue = tying[n + 1][0] if n + 1 < len(tying) else len(tokens) + WINDOW
        prev_cue = tying[n - 1][1] if n > 0 else -1
        before = [f for f in figures if prev_cue < f.last < first and first - f.last <= WINDOW]
        # A figure right before the next casualty word is that word's ("8 killed 58 injured", "killed and
        # five wounded"), unless it is the first after this word and this word has none before it ("kill 10,
        # injure 16"; not "погиб один человек, 30 пострадали").
        limit = min(next_cue, last + WINDOW)
        following = [f for f in figures if last < f.first < limit]
        ahead = [f for k, f in enumerate(following)
                 if (next_cue - f.last > 2 or (k == 0 and not before and f.first <= last + AFTER_WINDOW))
                 and not _opens_next_clause(tokens, last, f, next_cue, lexicon)]
        if any(f.first <= last + AFTER_WINDOW for f in ahead):
            chosen = ahead
        else:
            chosen = before and [*_victim_before(tokens, before[0], prev_cue, lexicon), *before]
            if not chosen:
                chosen = _singular(tokens, first, prev_cue, lexicon)
            if not chosen:
                chosen = _singular_after(tokens, last, next_cue, lexicon)
                # "killed a police officer and two civilians": the groups joined to the one victim.
                chosen += [f for f in following if chosen and _joined(tokens, chosen[0].last, f, lexicon)
                           and next_cue - f.last > 2]
        chosen = [f for f in chosen if f.first not in used]
        used.update(f.first for f in chosen)
        if not chosen or kind == "other" or n in background:
            continue
        counts[kind] = counts.get(kind, 0) + sum(f.value for f in chosen)
        precise = any(f.first != f.last or tokens[f.first].text not in lexicon.vague for f in chosen)
        vague[kind] = vague.get(kind, True) and not precise
    return {kind: Stated(count, vague[kind], update) for kind, count in counts.items()}


def _opens_next_clause(tokens: list[Token], last: int, figure: Figure, next_cue: int, lexicon: Lexicon) -> bool:
    """Whether a figure after a casualty word starts a new clause that the next casualty word closes."""
    return (next_cue - figure.last <= AFTER_WINDOW
            and any(t.text in lexicon.conjunctions for t in tokens[last + 1:figure.first]))


def _victim_before(tokens: list[Token], figure: Figure, prev_cue: int, lexicon: Lexicon) -> list[Figure]:
    """'a woman and her two children were killed': the one victim joined to the first group counts one."""
    for at in range(max(prev_cue + 1, figure.first - AFTER_WINDOW), figure.first - 2):
        if (tokens[at].text in lexicon.singular and tokens[at + 1].text not in lexicon.not_people
                and _joined(tokens, at + 1, figure, lexicon)):
            return [Figure(1, at, at)]
    return []


def _joined(tokens: list[Token], victim: int, figure: Figure, lexicon: Lexicon) -> bool:
    """Whether a figure follows the one victim at token victim across a conjunction, as another group."""
    between = tokens[victim + 1:figure.first]
    return len(between) <= AFTER_WINDOW and any(t.text in lexicon.conjunctions for t in between)


def _background(tokens: list[Token], tying: list[tuple[int, int, str]], markers: list[tuple[int, int, str]],
                lexicon: Lexicon) -> set[int]:
    """The cues (by position in tying) whose figures are a toll that is not the event's: each marker takes the
    next cue after it, or else the nearest before it."""
    eras = [m for m in markers if m[2] in ("era", "war")]
    targets: set[int] = set()
    for first, last, kind in markers:
        if kind == "since":
            near = range(first - SINCE_WINDOW, last + SINCE_WINDOW + 1)
            if not (any(a in near or b in near for a, b, _ in eras) or any(
                    _is_year(t) or t.text in lexicon.months
                    for t in tokens[max(0, first - SINCE_WINDOW):last + SINCE_WINDOW + 1])):
                continue
        elif kind == "war":
            if not any(t.text in lexicon.perfect for t in tokens[last + 1:last + WAR_WINDOW + 1]):
                continue
        elif kind != "background":
            continue
        after = [n for n, cue in enumerate(tying) if cue[0] > last and cue[0] - last <= WINDOW]
        before = [n for n, cue in enumerate(tying) if cue[1] < first]
        if after:
            targets.add(after[0])
        elif before:
            targets.add(before[-1])
    return targets


def _singular(tokens: list[Token], cue: int, prev_cue: int, lexicon: Lexicon) -> list[Figure]:
    """'a soldier was killed', 'a man died' count one: an article, a noun or two, then a passive verb before
    the cue or a cue that is such a verb."""
    start = max(prev_cue + 1, cue - 5)
    words = [t.text.casefold() for t in tokens[start:cue + 1]]
    for i, word in enumerate(words[:-1]):
        before = words[i - 1] if i else tokens[start - 1].text.casefold() if start else ""
        if before in lexicon.negation:
            continue  # "not one of the passengers was hurt"
        if word in lexicon.singular and any(w in lexicon.singular_verbs for w in words[i + 2:]):
            return [Figure(1, start + i, start + i)]
    return []


def _singular_after(tokens: list[Token], last: int, next_cue: int, lexicon: Lexicon) -> list[Figure]:
    """'shot dead a taxi driver', 'the body of a man' count one: an article (after a link word) and a noun."""
    at = last + 1
    if at < len(tokens) and tokens[at].text in lexicon.singular_links:
        at += 1
    if at + 1 >= min(len(tokens), next_cue) or tokens[at].text not in lexicon.singular:
        return []
    noun = tokens[at + 1].text
    if noun in lexicon.not_people or noun in lexicon.number_words or noun.isdecimal():
        return []
    return [Figure(1, at, at)]


def casualty_block(per_sentence: list[tuple[int, dict[str, Stated]]], sentences: list[str],
                   trim: Any) -> dict[str, Any]:
    """The event's casualties per kind, by the module's convention, with the sentences that state them.

    per_sentence: (sentence index, what it states) in text order, the headline's sentences first."""
    block: dict[str, Any] = {}
    for kind in CASUALTY_KINDS:
        stated = [(index, counts[kind]) for index, counts in per_sentence if kind in counts]
        if not stated:
            block[kind] = None
            continue
        lead = stated[0]
        if lead[1].vague:
            lead = next((s for s in stated if not s[1].vague), lead)
        updates = [s for s in stated if s[0] > lead[0] and s[1].update and not s[1].vague]
        if updates:
            lead = updates[-1]
        # The sentences that state the same count as the one taken, for a reader to check it by.
        evidence = [trim(sentences[index]) for index, s in stated if s.count == lead[1].count and index >= lead[0]]
        block[kind] = {"count": lead[1].count, "evidence": list(dict.fromkeys(evidence))[:3]}
    return block
