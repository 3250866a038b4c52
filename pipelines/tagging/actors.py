"""Actors named in an article (armed groups, state forces, international actors) from schemas/actors.yaml."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipelines.tagging.lexicon import LexiconError, load_yaml
from pipelines.tagging.matcher import Match, PhraseIndex, Token, TokenList, parse_phrase
from schemas import data_path

ACTORS_FILE = "actors.yaml"
KINDS = ("state_force", "rebel_militia", "terrorist_organization", "foreign_force", "international",
         "civilians", "other")
# Arabic writes "and", "with", "to" and the article onto the word: وداعش, لداعش, بالقوات.
ARABIC_CLITICS = ("وال", "بال", "لل", "فال", "ال", "و", "ب", "ل", "ف")


@dataclass(frozen=True)
class Actor:
    name: str
    kind: str
    country: str | None
    # Named as who reports (a monitor, a news agency), not as who acts: matched, never an actor of the event.
    source: bool = False


class ActorIndex:
    """Finds actors by their aliases; short upper-case aliases ('IS', 'SDG') only as written and in context."""

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path or data_path(ACTORS_FILE))
        data = load_yaml(path)
        self.actors: list[Actor] = []
        self.index = PhraseIndex(prefixes=ARABIC_CLITICS)
        self.exact: dict[str, int] = {}
        self.context = frozenset(str(w).casefold() for w in data.get("short_alias_context") or ())
        for i, item in enumerate(data.get("actors") or []):
            try:
                actor = Actor(str(item["name"]), str(item["kind"]), item.get("country"), bool(item.get("source")))
                aliases = [str(a) for a in item.get("aliases") or ()]
                exact = [str(a) for a in item.get("exact") or ()]
            except (KeyError, TypeError) as exc:
                raise LexiconError(f"{path}: actors[{i}] needs name, kind and aliases: {exc}") from exc
            if actor.kind not in KINDS:
                raise LexiconError(f"{path}: actors[{i}] ({actor.name}): kind {actor.kind!r} is not one of {KINDS}")
            number = len(self.actors)
            self.actors.append(actor)
            for alias in [actor.name, *aliases]:
                try:
                    parse_phrase(alias)
                except ValueError as exc:
                    raise LexiconError(f"{path}: actors[{i}] ({actor.name}): {exc}") from exc
                self.index.add(alias, number)
            for alias in exact:
                self.exact[alias] = number
        # The exact aliases as tokens' words, to find the few tokens worth comparing as written.
        self.exact_folded = frozenset(alias.casefold() for alias in self.exact)
        self._spellings: dict[str, tuple[str, ...]] = {}
        for alias in self.exact:
            self._spellings[alias.casefold()] = (*self._spellings.get(alias.casefold(), ()), alias)

    def find(self, tokens: Sequence[Token], found: list[Match] | None = None) -> list[tuple[Actor, int]]:
        """Actors named in the tokens with how often, most named first (found: the index's matches, when
        worked out already with other indexes'); sources quoted (monitors, news agencies) are left out."""
        tokens = TokenList.of(tokens)
        matches = self.index.find(tokens) if found is None else found
        counts: Counter[int] = Counter(payload for _, _, payload in matches)  # type: ignore[misc]
        written = tokens.vocabulary & self.exact_folded
        # Looked for as written: "is" is in most English texts, "IS" in few.
        spellings = [alias for word in written for alias in self._spellings[word]]
        for i in sorted(_positions(tokens.originals, spellings)) if spellings else ():
            number = self.exact[tokens.originals[i]]
            sentence_of = tokens.sentence_of
            near = {tokens.words[k] for k in range(max(0, i - 2), min(i + 3, len(tokens)))
                    if sentence_of[k] == sentence_of[i]}
            # "IS" is a word too: count it only beside group words, or when the group is named in full.
            if counts[number] or near & self.context:
                counts[number] += 1
        return [(self.actors[n], c) for n, c in counts.most_common() if not self.actors[n].source]


def _positions(items: list[str], values: list[str]) -> Iterator[int]:
    """Where the values are in the list (a scan at C speed per value: fewer positions than a test per item)."""
    for value in values:
        i = -1
        while True:
            try:
                i = items.index(value, i + 1)
            except ValueError:
                break
            yield i


@lru_cache(maxsize=1)
def default_actors() -> ActorIndex:
    """The shipped actor file, loaded once per process."""
    return ActorIndex()
