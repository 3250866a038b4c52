"""One-pass phrase matching over word tokens: exact words, 'word*' stems, '*' gaps and clitic prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

# Hyphens and apostrophes split words ("al-Qaeda" is "al" "qaeda"), as they do in the lexicon terms.
TOKEN = re.compile(r"\w+", re.UNICODE)
# A phrase's words must sit close: only spaces or punctuation between them, not a clause.
MAX_GAP = 3
# A stem must keep this many letters, or "ab*" would match half the dictionary.
MIN_STEM = 2
MEMO_SIZE = 200_000


class Token(NamedTuple):
    """A word of a text: its case-folded form, the original spelling and where it sits."""

    text: str
    original: str
    start: int
    end: int
    sentence: int


def tokenize(sentences: list[str], offsets: list[int] | None = None) -> list[Token]:
    """Tokens of a list of sentences; offsets (each sentence's start in the text) default to 0."""
    tokens: list[Token] = []
    append = tokens.append
    # tuple.__new__ skips the named tuple's keyword handling: a third of the cost of a token.
    new = tuple.__new__
    for index, sentence in enumerate(sentences):
        base = offsets[index] if offsets else 0
        for m in TOKEN.finditer(sentence):
            word = m.group()
            start, end = m.span()
            append(new(Token, (word.casefold(), word, base + start, base + end, index)))
    return tokens


@dataclass(frozen=True)
class _Spec:
    word: str
    stem: bool = False
    gap: bool = False


def parse_phrase(phrase: str) -> tuple[_Spec, ...]:
    """A lexicon phrase to word specs: 'word' exact, 'word*' any ending, a lone '*' one to three words."""
    specs: list[_Spec] = []
    for chunk in phrase.strip().split():
        if chunk == "*":
            specs.append(_Spec("", gap=True))
            continue
        stem = chunk.endswith("*")
        # Tokenize before case-folding, as texts are: 'İ' folds to two code points.
        words = [w.casefold() for w in TOKEN.findall(chunk)]
        for i, word in enumerate(words):
            specs.append(_Spec(word, stem=stem and i == len(words) - 1))
    if not specs or specs[0].gap or specs[-1].gap:
        raise ValueError(f"phrase {phrase!r} must start and end with a word")
    return tuple(specs)


@dataclass
class PhraseIndex:
    """Phrases indexed by their first word, each carrying a payload; matched token by token."""

    prefixes: tuple[str, ...] = ()
    _exact: dict[str, list[tuple[tuple[_Spec, ...], Hashable]]] = field(default_factory=dict)
    _stems: dict[str, list[tuple[tuple[_Spec, ...], Hashable]]] = field(default_factory=dict)
    _stem_lengths: set[int] = field(default_factory=set)
    # The first MIN_STEM letters of every stem: most words share them with none, and skip the stem lookups.
    _stem_heads: set[str] = field(default_factory=set)
    # Words repeat across articles: each word's candidate phrases are worked out once.
    _memo: dict[str, tuple[tuple[tuple[_Spec, ...], Hashable], ...]] = field(default_factory=dict)
    # The words of the memo that may start a phrase: a text's other words cost one set lookup each.
    _starters: set[str] = field(default_factory=set)

    def add(self, phrase: str, payload: Hashable) -> None:
        self._memo.clear()
        self._starters.clear()
        specs = parse_phrase(phrase)
        first = specs[0]
        if first.stem:
            if len(first.word) < MIN_STEM:
                raise ValueError(f"stem {first.word!r}* is too short")
            self._stems.setdefault(first.word, []).append((specs, payload))
            self._stem_lengths.add(len(first.word))
            self._stem_heads.add(first.word[:MIN_STEM])
        else:
            self._exact.setdefault(first.word, []).append((specs, payload))

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._stems.values()))

    def _forms(self, word: str) -> Iterable[str]:
        yield word
        for prefix in self.prefixes:
            if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
                yield word[len(prefix):]

    def _candidates(self, word: str) -> Iterator[tuple[tuple[_Spec, ...], Hashable]]:
        for form in self._forms(word):
            yield from self._exact.get(form, ())
            if form[:MIN_STEM] in self._stem_heads:
                for length in self._stem_lengths:
                    if length <= len(form):
                        yield from self._stems.get(form[:length], ())

    def _learn(self, words: set[str]) -> None:
        """Work out the candidate phrases of the words not seen before."""
        memo = self._memo
        unseen = words.difference(memo)
        if not unseen:
            return
        if len(memo) + len(unseen) > MEMO_SIZE:
            memo.clear()
            self._starters.clear()
            unseen = words
        for word in unseen:
            candidates = memo[word] = tuple(self._candidates(word))
            if candidates:
                self._starters.add(word)

    @staticmethod
    def _word_fits(spec: _Spec, word: str) -> bool:
        return word.startswith(spec.word) if spec.stem else word == spec.word

    def _rest(self, specs: tuple[_Spec, ...], tokens: list[Token], i: int) -> int | None:
        """Index of the last token of a match whose first word is tokens[i], or None."""
        j = i
        k = 1
        while k < len(specs):
            spec = specs[k]
            if spec.gap:
                nxt = specs[k + 1]
                for skip in range(1, 4):
                    t = j + skip + 1
                    same = t < len(tokens) and tokens[t].sentence == tokens[i].sentence
                    if same and self._word_fits(nxt, tokens[t].text):
                        j, k = t, k + 2
                        break
                else:
                    return None
                continue
            t = j + 1
            if (t >= len(tokens) or tokens[t].sentence != tokens[i].sentence
                    or tokens[t].start - tokens[j].end > MAX_GAP or not self._word_fits(spec, tokens[t].text)):
                return None
            j, k = t, k + 1
        return j

    def find(self, tokens: list[Token], start: Callable[[Token], bool] | None = None,
             ) -> Iterator[tuple[int, int, Hashable]]:
        """(first token index, last token index, payload) of every phrase occurrence, in text order;
        start, when given, says which tokens may start one (asked only of tokens that could)."""
        words = [t.text for t in tokens]
        self._learn(set(words))
        starters = self._starters
        memo = self._memo
        for i in [i for i, word in enumerate(words) if word in starters]:
            if start is not None and not start(tokens[i]):
                continue
            following = words[i + 1] if i + 1 < len(words) else ""
            for specs, payload in memo[words[i]]:
                if len(specs) == 1:
                    yield i, i, payload
                    continue
                second = specs[1]
                # Most multi-word names fail on their second word: check it before the full walk.
                if not (second.gap or second.stem) and second.word != following:
                    continue
                end = self._rest(specs, tokens, i)
                if end is not None:
                    yield i, end, payload
