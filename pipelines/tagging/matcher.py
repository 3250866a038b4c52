"""One-pass phrase matching over word tokens: exact words, 'word*' stems, '*' gaps and clitic prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, count, repeat
from operator import itemgetter
from typing import NamedTuple, overload

# Hyphens and apostrophes split words ("al-Qaeda" is "al" "qaeda"), as they do in the lexicon terms. Arabic's
# vowel marks and shadda are not word characters to the engine but belong to the word they sit on.
TOKEN = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670]+", re.UNICODE)
# A phrase's words must sit close: only spaces or punctuation between them, not a clause.
MAX_GAP = 3
# A stem must keep this many letters, or "ab*" would match half the dictionary.
MIN_STEM = 2
MEMO_SIZE = 200_000
# A word that starts this many phrases has its candidates grouped when its index is stored.
CROWDED = 16


class Token(NamedTuple):
    """A word of a text: its case-folded form, the original spelling and where it sits."""

    text: str
    original: str
    start: int
    end: int
    sentence: int


class TokenList(Sequence[Token]):
    """A text's tokens, kept by column: the words every index looks up are built at C speed, and what lies
    between them (a token's offsets, the gaps in a phrase) is worked out only for the sentences a caller looks
    into (most are never looked into)."""

    def __init__(self, sentences: list[str], offsets: list[int] | None = None) -> None:
        self._sentences = list(sentences)
        self._offsets = offsets
        self.originals: list[str] = []
        self.sentence_of: list[int] = []
        self._first: list[int] = []
        for index, sentence in enumerate(sentences):
            found = TOKEN.findall(sentence)
            self._first.append(len(self.originals))
            self.originals += found
            self.sentence_of += [index] * len(found)
        self._first.append(len(self.originals))
        self.words: list[str] = list(map(str.casefold, self.originals))
        self._bounds: dict[int, list[int]] = {}
        self._given: list[Token] | None = None

    @classmethod
    def of(cls, tokens: Sequence[Token]) -> TokenList:
        """Tokens from elsewhere (a list of Token) as a TokenList."""
        if isinstance(tokens, TokenList):
            return tokens
        made = cls([])
        made.originals = [t.original for t in tokens]
        made.sentence_of = [t.sentence for t in tokens]
        made.words = [t.text for t in tokens]
        made._given = list(tokens)
        return made

    def gap_after(self, i: int) -> int:
        """How many characters lie between token i and the next token of its sentence."""
        if self._given is not None:
            return self._given[i + 1].start - self._given[i].end
        sentence = self.sentence_of[i]
        k = 2 * (i - self._first[sentence])
        bounds = self._bounds_of(sentence)
        return bounds[k + 2] - bounds[k + 1]

    def folded(self, fold: Callable[[str], str]) -> TokenList:
        """The same tokens with each word folded (to a stem, for a lexicon that matches stems)."""
        copy = TokenList.__new__(TokenList)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.pop("vocabulary", None)
        copy.words = list(map(fold, self.words))
        return copy

    @cached_property
    def vocabulary(self) -> set[str]:
        """The distinct words."""
        return set(self.words)

    def where(self, words: set[str]) -> list[int]:
        """Indexes of the tokens that are one of these words, in text order."""
        return list(compress(range(len(self.words)), map(words.__contains__, self.words)))

    def sentence_tokens(self, sentence: int) -> range:
        """Indexes of the tokens of one sentence."""
        return range(self._first[sentence], self._first[sentence + 1])

    def _bounds_of(self, sentence: int) -> list[int]:
        """Where each word of a sentence starts and ends, in turn, then the sentence's length."""
        bounds = self._bounds.get(sentence)
        if bounds is None:
            text = self._sentences[sentence]
            find = text.find
            bounds = []
            end = 0
            # Each word is the next occurrence of its spelling: only characters that are no word's lie between
            # two words (a search of the spelling, quicker than matching the sentence again).
            for word in self.originals[self._first[sentence]:self._first[sentence + 1]]:
                start = find(word, end)
                end = start + len(word)
                bounds.append(start)
                bounds.append(end)
            bounds.append(len(text))
            self._bounds[sentence] = bounds
        return bounds

    def _token(self, i: int) -> Token:
        if self._given is not None:
            return self._given[i]
        sentence = self.sentence_of[i]
        bounds = self._bounds_of(sentence)
        k = 2 * (i - self._first[sentence])
        base = self._offsets[sentence] if self._offsets else 0
        return Token(self.words[i], self.originals[i], base + bounds[k], base + bounds[k + 1], sentence)

    def _run(self, picked: range) -> list[Token]:
        """The tokens of consecutive indexes, made a sentence at a time (a casualty sentence is read whole)."""
        if self._given is not None or picked.step != 1:
            return [self._token(i) for i in picked]
        made: list[Token] = []
        i = picked.start
        while i < picked.stop:
            sentence = self.sentence_of[i]
            first = self._first[sentence]
            end = min(picked.stop, self._first[sentence + 1])
            bounds = self._bounds_of(sentence)
            starts, ends = bounds[2 * (i - first):2 * (end - first):2], bounds[2 * (i - first) + 1:2 * (end - first):2]
            base = self._offsets[sentence] if self._offsets else 0
            if base:
                starts, ends = [base + b for b in starts], [base + b for b in ends]
            # Each Token made as NamedTuple makes it (tuple.__new__), without a Python call per token.
            made += map(tuple.__new__, repeat(Token), zip(self.words[i:end], self.originals[i:end], starts, ends,
                                                         repeat(sentence)))
            i = end
        return made

    def __len__(self) -> int:
        return len(self.words)

    @overload
    def __getitem__(self, index: int) -> Token: ...

    @overload
    def __getitem__(self, index: slice) -> list[Token]: ...

    def __getitem__(self, index: int | slice) -> Token | list[Token]:
        if isinstance(index, slice):
            return self._run(range(*index.indices(len(self.words))))
        if index < 0:
            index += len(self.words)
        if not 0 <= index < len(self.words):
            raise IndexError("token index out of range")
        return self._token(index)

    def __iter__(self) -> Iterator[Token]:
        return (self._token(i) for i in range(len(self.words)))


def tokenize(sentences: list[str], offsets: list[int] | None = None) -> TokenList:
    """Tokens of a list of sentences; offsets (each sentence's start in the text) default to 0."""
    return TokenList(sentences, offsets)


# A phrase's words as plain strings: 'word' exact, 'word*' any ending, GAP one to three words. Strings and
# tuples of strings are not tracked by the collector: the gazetteer's quarter of a million phrases cost no full
# collection a walk over them (which would be a large share of the tagging time), and they pickle compactly.
_Spec = str
GAP = "*"


def _word_fits(spec: _Spec, word: str) -> bool:
    if not spec.endswith("*"):
        return word == spec
    return spec != GAP and word.startswith(spec[:-1])


def parse_phrase(phrase: str) -> tuple[_Spec, ...]:
    """A lexicon phrase to word specs: 'word' exact, 'word*' any ending, a lone '*' one to three words."""
    if "*" not in phrase:
        # Most phrases (all but a few of the gazetteer's names) are plain words: one pass.
        plain = tuple(w.casefold() for w in TOKEN.findall(phrase))
        if not plain:
            raise ValueError(f"phrase {phrase!r} must start and end with a word")
        return plain
    specs: list[_Spec] = []
    for chunk in phrase.strip().split():
        if chunk == "*":
            specs.append(GAP)
            continue
        stem = chunk.endswith("*")
        # Tokenize before case-folding, as texts are: 'İ' folds to two code points.
        words = [w.casefold() for w in TOKEN.findall(chunk)]
        for i, word in enumerate(words):
            specs.append(word + "*" if stem and i == len(words) - 1 else word)
    if not specs or specs[0] == GAP or specs[-1] == GAP:
        raise ValueError(f"phrase {phrase!r} must start and end with a word")
    return tuple(specs)


_Entry = tuple[int, tuple[_Spec, ...], Hashable]
# A phrase occurrence: its first and last token's indexes and its payload.
Match = tuple[int, int, Hashable]
# Which tokens may start a phrase, from their original spelling.
Start = Callable[[str], bool]


class _Candidates(NamedTuple):
    """The phrases a word may start, numbered in the order they are tried: those that need no particular
    next word, and those that do, by that word (most multi-word names fail on their second word)."""

    anyway: tuple[_Entry, ...]
    by_second: dict[str, tuple[_Entry, ...]]
    # The payloads, when every phrase is this one word (most are): found wherever the word is, no more to check.
    alone: tuple[Hashable, ...] | None = None


_NONE = _Candidates((), {})


def _group(candidates: Sequence[tuple[tuple[_Spec, ...], Hashable]]) -> _Candidates:
    """Candidate phrases (specs, payload) grouped as matches_at tries them, numbered in this order."""
    if max(map(len, map(itemgetter(0), candidates))) == 1:
        # Every phrase is this one word (most words' case): grouped at C speed.
        payloads = tuple(map(itemgetter(1), candidates))
        return _Candidates(tuple(zip(count(), map(itemgetter(0), candidates), payloads)), {}, payloads)
    anyway: list[_Entry] = []
    by_second: dict[str, list[_Entry]] = {}
    for n, (specs, payload) in enumerate(candidates):
        # A second spec that is a stem or a gap names no one next word. Tested inline: a word such as "san" or
        # "al" starts a thousand town names.
        if len(specs) == 1 or specs[1].endswith("*"):
            anyway.append((n, specs, payload))
        else:
            by_second.setdefault(specs[1], []).append((n, specs, payload))
    return _Candidates(tuple(anyway), {w: tuple(e) for w, e in by_second.items()})


@dataclass
class PhraseIndex:
    """Phrases indexed by their first word, each carrying a payload; matched token by token."""

    prefixes: tuple[str, ...] = ()
    # Tuples, not lists, for the same reason as the specs: the collector stops tracking them.
    _exact: dict[str, tuple[tuple[tuple[_Spec, ...], Hashable], ...]] = field(default_factory=dict)
    _stems: dict[str, tuple[tuple[tuple[_Spec, ...], Hashable], ...]] = field(default_factory=dict)
    _stem_lengths: set[int] = field(default_factory=set)
    # The first MIN_STEM letters of every stem: most words share them with none, and skip the stem lookups.
    _stem_heads: set[str] = field(default_factory=set)
    # How long the heads are: the shortest stem's length (0 until there is a stem).
    _head_length: int = 0
    # The first letter of every stem.
    _stem_initials: set[str] = field(default_factory=set)
    # Counts the phrases added: a memo of this index's candidates is stale once it changes.
    changes: int = field(default=0, init=False)
    # What find alone remembers of the words it has seen, per start test (indexes matched together share a
    # PhraseIndexes instead). Never pickled: a memo is a process's own.
    _alone: dict[Start | None, PhraseIndexes] | None = field(default=None, init=False, repr=False, compare=False)
    # The candidates of the words that start at least CROWDED phrases, grouped: filled when the index is pickled.
    _crowded: dict[str, _Candidates] = field(default_factory=dict, init=False, repr=False, compare=False)

    def add(self, phrase: str, payload: Hashable) -> None:
        self.changes += 1
        specs = parse_phrase(phrase)
        first = specs[0]
        if first.endswith("*"):
            stem = first[:-1]
            if len(stem) < MIN_STEM:
                raise ValueError(f"stem {first!r} is too short")
            self._stems[stem] = (*self._stems.get(stem, ()), (specs, payload))
            self._stem_lengths.add(len(stem))
            self._stem_initials.add(stem[:1])
            if not self._head_length or len(stem) < self._head_length:
                # The heads are as long as the shortest stem: the longer, the fewer words they let through.
                self._head_length = len(stem)
                self._stem_heads = {known[:self._head_length] for known in self._stems}
            else:
                self._stem_heads.add(stem[:self._head_length])
        else:
            self._exact[first] = (*self._exact.get(first, ()), (specs, payload))
            self._crowded.pop(first, None)

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._stems.values()))

    def _forms(self, word: str) -> list[str]:
        if not (self.prefixes and word.startswith(self.prefixes)):
            return [word]
        return [word] + [word[len(prefix):] for prefix in self.prefixes
                         if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM]

    def _candidates(self, word: str) -> list[tuple[tuple[_Spec, ...], Hashable]]:
        found: list[tuple[tuple[_Spec, ...], Hashable]] = []
        for form in self._forms(word):
            if form in self._exact:
                found += self._exact[form]
            if form[:self._head_length] in self._stem_heads:
                for length in self._stem_lengths:
                    if length <= len(form):
                        found += self._stems.get(form[:length], ())
        return found

    def learn(self, unseen: set[str], unseen_initials: set[str] | None = None) -> list[tuple[str, _Candidates]]:
        """The words (not seen before) that may start a phrase, each with its candidate phrases (unseen_initials:
        the words' first letters, when the caller has them)."""
        maybe = self._exact.keys() & unseen
        heads, length, prefixes = self._stem_heads, self._head_length, self.prefixes
        if heads or prefixes:
            # Most words start no phrase in any form: their heads and first letters, tested at C speed, let
            # through the few that might, which are looked up. A text in another script than the stems' and
            # clitics' (English for the Cyrillic stems of towns) needs no test at all.
            firsts = {prefix[:1] for prefix in prefixes}
            if (unseen_initials is None or not self._stem_initials.isdisjoint(unseen_initials)
                    or not firsts.isdisjoint(unseen_initials)):
                listed = list(unseen)
                if heads:
                    maybe.update(compress(listed, map(heads.__contains__, map(itemgetter(slice(length)), listed))))
                if prefixes:
                    clitic = compress(listed, map(firsts.__contains__, map(itemgetter(slice(1)), listed)))
                    maybe.update([w for w in clitic if w.startswith(prefixes)])
        learnt = []
        for word in maybe:
            candidates = self._grouped(word)
            if candidates is not _NONE:
                learnt.append((word, candidates))
        return learnt

    def _grouped(self, word: str) -> _Candidates:
        candidates = self._candidates(word)
        if not candidates:
            return _NONE
        crowded = self._crowded.get(word)
        # When the candidates are the word's own phrases alone (no clitic or stem adds any), they are grouped already.
        if crowded is not None and len(candidates) == len(self._exact[word]):
            return crowded
        return _group(candidates)

    def _rest(self, specs: tuple[_Spec, ...], tokens: TokenList, i: int) -> int | None:
        """Index of the last token of a match whose first word is tokens[i], or None."""
        words, sentence_of = tokens.words, tokens.sentence_of
        sentence = sentence_of[i]
        j = i
        k = 1
        while k < len(specs):
            spec = specs[k]
            if spec == GAP:
                nxt = specs[k + 1]
                for skip in range(1, 4):
                    t = j + skip + 1
                    same = t < len(words) and sentence_of[t] == sentence
                    if same and _word_fits(nxt, words[t]):
                        j, k = t, k + 2
                        break
                else:
                    return None
                continue
            t = j + 1
            if (t >= len(words) or sentence_of[t] != sentence or not _word_fits(spec, words[t])
                    or tokens.gap_after(j) > MAX_GAP):
                return None
            j, k = t, k + 1
        return j

    def matches_at(self, tokens: TokenList, i: int, candidates: _Candidates,
                   found: list[Match]) -> None:
        """Add to found the phrases of candidates (tokens[i]'s word's) that occur from token i."""
        words = tokens.words
        fitting = candidates.by_second.get(words[i + 1]) if i + 1 < len(words) else None
        # In the order they would be tried one by one: the payloads of one place keep their order.
        for _, specs, payload in sorted(candidates.anyway + fitting) if fitting else candidates.anyway:
            if len(specs) == 1:
                found.append((i, i, payload))
                continue
            end = self._rest(specs, tokens, i)
            if end is not None:
                found.append((i, end, payload))

    def find(self, tokens: Sequence[Token], start: Start | None = None,
             ) -> Iterator[Match]:
        """(first token index, last token index, payload) of every phrase occurrence, in text order;
        start, when given, says from its original spelling which tokens may start one (asked once per spelling
        of the tokens that could)."""
        if self._alone is None:
            self._alone = {}
        if start not in self._alone:
            self._alone[start] = PhraseIndexes([(self, start)])
        return iter(self._alone[start].find(tokens)[0])

    def __getstate__(self) -> dict[str, object]:
        state = {name: value for name, value in self.__dict__.items() if name != "_alone"}
        # Grouping a word's candidates is most of what a word new to a process costs, and a few words ("san",
        # "al", "new") start hundreds of town names: a loaded index has theirs grouped already.
        state["_crowded"] = {word: _group(entries) for word, entries in self._exact.items() if len(entries) >= CROWDED}
        return state


class PhraseIndexes:
    """Phrase indexes matched together over the same texts, each with which tokens may start its phrases (a test
    of their original spelling, or None for any). Words repeat across articles: each word's candidate phrases in
    every index are worked out once, and a text's words are checked against one memo, not one per index."""

    def __init__(self, indexes: Sequence[tuple[PhraseIndex, Start | None]]) -> None:
        self.indexes = tuple(index for index, _ in indexes)
        # The indexes by start test: those with the same one are matched from the same tokens.
        self._starts = list(dict.fromkeys(start for _, start in indexes))
        self._group = [self._starts.index(start) for _, start in indexes]
        self._nowhere: tuple[tuple[tuple[int, _Candidates], ...], ...] = ((),) * len(self._starts)
        # The words seen: a set, whose lookups are quicker than a dict's, and most words start nothing anywhere.
        self._seen: set[str] = set()
        # Per word seen that may start a phrase: per start test, the indexes whose phrases it may start, with
        # their candidates.
        self._memo: dict[str, tuple[tuple[tuple[int, _Candidates], ...], ...]] = {}
        # Per start test, the words of the memo that may start a phrase: a text's other words cost one set lookup.
        self._starters: list[set[str]] = [set() for _ in self._starts]
        self._changes = [index.changes for index in self.indexes]

    def _forget(self) -> None:
        self._seen.clear()
        self._memo.clear()
        for starters in self._starters:
            starters.clear()

    def _learn(self, words: set[str]) -> None:
        """Work out the candidate phrases of the words not seen before."""
        changes = [index.changes for index in self.indexes]
        if changes != self._changes:
            self._forget()
            self._changes = changes
        unseen = words.difference(self._seen)
        if not unseen:
            return
        if len(self._seen) + len(unseen) > MEMO_SIZE:
            self._forget()
            unseen = set(words)
        self._seen.update(unseen)
        memo = self._memo
        initials = set(map(itemgetter(slice(1)), unseen))
        for n, (index, group) in enumerate(zip(self.indexes, self._group, strict=True)):
            for word, candidates in index.learn(unseen, initials):
                known = memo.get(word, self._nowhere)
                memo[word] = (*known[:group], (*known[group], (n, candidates)), *known[group + 1:])
                self._starters[group].add(word)

    def find(self, tokens: Sequence[Token]) -> list[list[Match]]:
        """Per index, (first token index, last token index, payload) of every phrase occurrence, in text order."""
        tokens = TokenList.of(tokens)
        found: list[list[Match]] = [[] for _ in self.indexes]
        self._learn(tokens.vocabulary)
        memo, words, originals = self._memo, tokens.words, tokens.originals
        heres = [tokens.vocabulary & starters for starters in self._starters]
        # The text is read once for where any phrase may start; each start test then reads only those places.
        anywhere = tokens.where(set().union(*heres)) if sum(map(bool, heres)) > 1 else None
        for group, (start, here) in enumerate(zip(self._starts, heres, strict=True)):
            if not here:
                continue
            at = tokens.where(here) if anywhere is None else list(
                compress(anywhere, map(here.__contains__, map(words.__getitem__, anywhere))))
            if start is not None:
                # Asked once per spelling: most tokens that could start a place name are "the" or "in" in lower case.
                fit = set(filter(start, set(map(originals.__getitem__, at))))
                at = list(compress(at, map(fit.__contains__, map(originals.__getitem__, at))))
            for i in at:
                for n, candidates in memo[words[i]][group]:
                    if candidates.alone is not None:
                        found[n].extend(zip(repeat(i), repeat(i), candidates.alone))
                    # Most multi-word candidates ("The Hague" for "the") fail on their second word: no call.
                    elif candidates.anyway or (i + 1 < len(words) and words[i + 1] in candidates.by_second):
                        self.indexes[n].matches_at(tokens, i, candidates, found[n])
        return found
