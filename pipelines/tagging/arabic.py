"""Arabic word forms for the lexicon: one spelling, and the clitics and inflections newswire writes on a word.

Arabic writes "and", "with", "the", the future particle and the person of an imperfect verb before a word, and
plural, feminine and pronoun endings after it: "بطائرات" is "ب" + "طائر" + "ات", "وتقصف" is "و" + "ت" + "قصف".
The lexicon's terms and a text's words are both folded to a stem here, so a term written once in its base form
matches every form of it. Which split of a word is right is not decided by letters alone ("وقف" is a word, not
"و" + "قف"), so the stemmer prefers the split that leaves a stem the lexicon knows, trying the splits that strip
least first, and otherwise strips only what is nearly always a clitic (the conjunction, the article, the
commonest endings), as light stemmers for Arabic retrieval do (Larkey, Ballesteros and Connell's Light10).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import product

# Short vowels, shadda, sukun, the superscript alef and the tatweel that stretches a word: written or not, the
# word is the same.
_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
# Hamza seats on alef, alef maqsura and ta marbuta, which writers and newswire interchange.
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})

# What may come before a stem, in the order it is written: a conjunction, then a preposition, the article or
# both, or the future particle and an imperfect verb's person.
CONJUNCTIONS = ("", "و", "ف")
PARTICLES = ("", "ال", "بال", "كال", "لل", "ب", "ك", "ل", "س", "ي", "ت", "ن", "ا", "سي", "ست", "سن", "لي", "لت")
# What may come after it: an inflection (plural, dual, feminine, a verb's person), then a pronoun.
INFLECTIONS = ("", "ا", "ات", "ون", "ين", "ان", "وا", "تا", "تم", "ت", "ه", "ي", "يه", "يا", "يات", "تين", "تان")
PRONOUNS = ("", "ها", "هم", "هما", "هن", "كم", "نا", "ه", "ك")
# A stem keeps at least this many letters: Arabic roots have three.
MIN_STEM = 3
# The splits made without a known stem: the conjunction and the article before, the sound plurals' endings
# after.
_LIGHT_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_LIGHT_SUFFIXES = ("ات", "ون", "ين")
MEMO_SIZE = 100_000


def normalise(word: str) -> str:
    """A word in one spelling: marks and tatweel removed, hamza seats to alef, alef maqsura to ya, ta marbuta
    to ha (the forms Arabic text interchanges)."""
    return _MARKS.sub("", word).translate(_LETTERS)


def light_stem(word: str) -> str:
    """A normalised word's stem by its surest clitics alone: one conjunction "و", the article, one ending."""
    if word.startswith("و") and len(word) - 1 > MIN_STEM:
        word = word[1:]
    for prefix in _LIGHT_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM:
            word = word[len(prefix):]
            break
    for suffix in _LIGHT_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[:-len(suffix)]
            break
    return word


def _fronts(word: str) -> list[str]:
    fronts = []
    for conjunction, particle in product(CONJUNCTIONS, PARTICLES):
        front = conjunction + particle
        if word.startswith(front) and len(word) - len(front) >= MIN_STEM:
            fronts.append(front)
    return fronts


def _ends(word: str) -> list[str]:
    ends = []
    for inflection, pronoun in product(INFLECTIONS, PRONOUNS):
        end = inflection + pronoun
        if word.endswith(end) and len(word) - len(end) >= MIN_STEM:
            ends.append(end)
    return ends


# An imperfect verb's person marker stands where the alef of the derived verb's past stands: "يستهدف" is
# "استهدف", "ينفجر" "انفجر", "يطلق" "اطلق".
_PERSONS = ("ي", "ت", "ن")


def splits(word: str) -> list[str]:
    """Every stem a normalised word may have under its possible clitics, those that strip least first."""
    found = set()
    for front in _fronts(word):
        for end in _ends(word):
            stem = word[len(front):len(word) - len(end)]
            found.add(stem)
            if front.endswith(_PERSONS):
                found.add("ا" + stem)
            # A feminine noun's ta marbuta gives way to the plural "ات" and is written "ت" before a pronoun.
            if end.startswith("ات"):
                found.add(stem + "ه")
            elif end and end in PRONOUNS and stem.endswith("ت"):
                found.add(stem[:-1] + "ه")
    stems = [s for s in found if len(s) >= MIN_STEM]
    return sorted(stems, key=lambda s: (-len(s), s))


class ArabicStemmer:
    """Folds Arabic words to stems, preferring the stems of a lexicon: its exact stems and its open stems
    ("قتل*" matches every stem that starts "قتل")."""

    def __init__(self, exact: Iterable[str] = (), open_stems: Iterable[str] = ()) -> None:
        self.exact = frozenset(exact)
        self.open_stems = frozenset(open_stems)
        self._open_lengths = sorted({len(s) for s in self.open_stems})
        self._memo: dict[str, str] = {}

    def _known(self, stem: str) -> bool:
        return stem in self.exact or any(stem[:n] in self.open_stems for n in self._open_lengths if n <= len(stem))

    def fold(self, word: str) -> str:
        """A word's stem: the least-stripping split the lexicon knows, or its light stem."""
        folded = self._memo.get(word)
        if folded is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            plain = normalise(word)
            known = next((s for s in splits(plain) if self._known(s)), None)
            folded = self._memo[word] = known or light_stem(plain)
        return folded

    def __getstate__(self) -> dict[str, object]:
        return {"exact": self.exact, "open_stems": self.open_stems, "_open_lengths": self._open_lengths,
                "_memo": {}}


def term_stem(word: str) -> str:
    """A lexicon term's word as the stem a text's words are folded to: normalised, without the article (terms
    are written in the form they mean; a text's endings are stripped when its words are folded)."""
    word = normalise(word)
    if word.startswith("ال") and len(word) - 2 >= MIN_STEM:
        return word[2:]
    return word


def fold_phrase(phrase: str) -> str:
    """A lexicon phrase with each word as its stem; an open word ("قتل*") keeps its letters, normalised."""
    return " ".join(chunk if chunk == "*" else normalise(chunk) if chunk.endswith("*") else term_stem(chunk)
                    for chunk in phrase.split())


def stemmer_for(phrases: Iterable[str]) -> ArabicStemmer:
    """A stemmer that knows the stems of these (folded) lexicon phrases."""
    exact, open_stems = set(), set()
    for phrase in phrases:
        for chunk in phrase.split():
            if chunk.endswith("*"):
                if chunk != "*":
                    open_stems.add(chunk[:-1])
            else:
                exact.add(chunk)
    return ArabicStemmer(exact, open_stems)
