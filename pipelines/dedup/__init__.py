"""The dedup stage, Beam-free: exact copies here (article keys, content fingerprints, which copy of a story
represents it), near copies and the cross-run records of what was emitted in `near`, and what makes a
changed copy a revision in `revisions`."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import numpy as np

from connectors.urls import event_id_for, url_key
from schemas.records import Article, DedupResult

# A word is a run of these characters; every other character (punctuation, spacing, "_") separates words.
_WORD_CHAR = re.compile(r"[^\W_]")
_NON_WORD_CHAR = re.compile(r"[\W_]")
_SPACE = np.uint32(ord(" "))


_PLANE = 1 << 16  # code points of one Unicode plane


@cache
def _word_chars(planes: int) -> np.ndarray:
    """Whether each code point of the first `planes` planes is a word character, decided by _WORD_CHAR itself,
    so the table and the pattern cannot disagree. Built when a text first needs it, for the planes it needs
    (news text needs one, or two with emoji; there are 17)."""
    chars = "".join(map(chr, range(planes * _PLANE)))
    marks = _WORD_CHAR.sub("\x01", _NON_WORD_CHAR.sub("\x00", chars))
    return np.frombuffer(marks.encode("latin-1"), np.uint8).astype(bool)


def normalize_text(text: str) -> str:
    """Text reduced to what makes two copies the same: NFKC, case-folded, every run of characters that are
    not word characters one space, none at the ends (words joined by single spaces)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Per code point with numpy: faster than a regular expression substitution on news text.
    points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), np.uint32)
    word = _word_chars(int(points.max(initial=0)) // _PLANE + 1)[points]
    kept = word.copy()
    kept[1:] |= word[:-1]  # of a run between words, its first character stays, as the space
    joined = np.where(word, points, _SPACE)[kept]
    if joined.size and joined[-1] == _SPACE:
        joined = joined[:-1]
    return joined.tobytes().decode("utf-32-le")


def normalized_fingerprint(normalized: str) -> str:
    """The content fingerprint of a text already normalized with normalize_text."""
    return "sha256:" + hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def content_fingerprint(text: str) -> str:
    """'sha256:' and the digest of the normalized text; exact copies share it."""
    return normalized_fingerprint(normalize_text(text))


# Where an article keeps its fingerprint once computed: in its instance __dict__ (a frozen dataclass allows it),
# so the value travels with the article when Beam pickles it between steps.
_FINGERPRINT = "_fingerprint"


def fingerprint(article: Article) -> str:
    """The article's content fingerprint, computed once per article: dedup keys on it twice and the event
    carries it."""
    cached = article.__dict__.get(_FINGERPRINT)
    if cached is None:
        cached = article.__dict__[_FINGERPRINT] = content_fingerprint(article.text)
    return cached


def fingerprint_from(article: Article, normalized: str) -> str:
    """fingerprint(article), from its text already normalized (normalize_text), so one normalization serves
    the near-dup signature too; a fingerprint the article already has is kept."""
    cached = article.__dict__.get(_FINGERPRINT)
    if cached is None:
        cached = article.__dict__[_FINGERPRINT] = normalized_fingerprint(normalized)
    return cached


def article_key(article: Article) -> str:
    """The exact-duplicate key of an article's URL."""
    return url_key(article.canonical_url)


# Positions in representative_order's key, for code that keeps the key without the article.
ORDER_PUBLISHED, ORDER_FETCHED, ORDER_EVENT_ID, ORDER_URL = 1, 3, 4, 5


def representative_order(article: Article) -> tuple:
    """Sort key that picks a group's representative: earliest published (undated last), then earliest
    fetched, then smallest event id, so every runner and every re-run picks the same one. Entries of one
    URL share the published date and id and may be fetched in any order by concurrent fetches, so the
    feed entry's own time ranks them before the fetch time does, and the guid, the feed and the text settle
    the last ties: the order is total, so copies that differ in anything dedup keys on never tie (the plan
    and the cluster fold them apart, in whatever order each sees them, and must agree)."""
    return (
        article.published_at is None,
        article.published_at or "",
        article.feed_published_at or "~",
        article.fetched_at,
        event_id_for(article.canonical_url),
        article.url,
        article.guid or "",
        article.feed_url or "",
        fingerprint(article),
    )


def merge_groups(groups: Iterable[DedupResult]) -> DedupResult:
    """Merge groups found to be copies of one story (by URL, then by content): the representative is the
    first by representative_order, and every other article of every group is one of its duplicates."""
    ordered = sorted(groups, key=lambda g: representative_order(g.representative))
    head = ordered[0]
    duplicates = [*head.duplicates]
    for group in ordered[1:]:
        duplicates.extend((group.representative, *group.duplicates))
    return DedupResult(head.representative, tuple(sorted(duplicates, key=representative_order)))


def singleton(article: Article) -> DedupResult:
    """An article as a group of one, before any copies are found."""
    return DedupResult(article, ())
