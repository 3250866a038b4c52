"""Conflict tagging: relevance and topic codes with evidence, from the taxonomy and lexicon data files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.tagging.lexicon import Lexicon, Taxonomy, Term, load_lexicons, load_taxonomy

__all__ = ["ConflictTagger", "TagResult", "split_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+|(?<=[.!?؟。][\"'”’)\]])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_EVIDENCE = 3
MAX_EVIDENCE_CHARS = 300
NEGATION_WINDOW = 3


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (paragraph breaks always end one)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _trim(sentence: str) -> str:
    return sentence if len(sentence) <= MAX_EVIDENCE_CHARS else sentence[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"


@dataclass
class TagResult:
    """The tagging block of an event."""

    is_conflict: bool
    score: float
    topics: list[dict[str, Any]] = field(default_factory=list)
    locations: list[dict[str, Any]] = field(default_factory=list)
    actors: list[dict[str, Any]] = field(default_factory=list)
    casualties: dict[str, Any] = field(default_factory=lambda: {"killed": None, "injured": None, "abducted": None})

    def to_json(self) -> dict[str, Any]:
        return {
            "conflict": {"is_conflict": self.is_conflict, "score": self.score},
            "topics": self.topics,
            "locations": self.locations,
            "actors": self.actors,
            "casualties": self.casualties,
        }


class ConflictTagger:
    """Scores conflict relevance and finds topic codes, each with the sentences that fired."""

    def __init__(self, taxonomy: Taxonomy | None = None, lexicons: dict[str, Lexicon] | None = None) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.lexicons = lexicons or load_lexicons(taxonomy=self.taxonomy)

    @property
    def version(self) -> str:
        return self.taxonomy.version

    def _lexicon(self, language: str) -> Lexicon:
        return self.lexicons.get(language) or self.lexicons["en"]

    def _hits(self, term: Term, sentences: list[str], negation: tuple[str, ...]) -> list[str]:
        """Sentences where the term occurs and is not negated just before it."""
        found = []
        for sentence in sentences:
            for match in term.pattern.finditer(sentence):
                before = _WORD.findall(sentence[: match.start()].casefold())[-NEGATION_WINDOW:]
                if not any(word in negation for word in before):
                    found.append(sentence)
                    break
        return found

    def tag(self, title: str, text: str, language: str = "en") -> TagResult:
        lexicon = self._lexicon(language)
        title_sentences = split_sentences(title or "")
        sentences = title_sentences + split_sentences(text or "")
        negation = lexicon.negation

        def strength(terms: tuple[Term, ...]) -> float:
            miss = 1.0
            for term in terms:
                hits = self._hits(term, sentences, negation)
                # A term in the headline counts once more: headlines say what the story is about.
                count = min(len(hits) + sum(1 for s in title_sentences if s in hits), 3)
                miss *= (1 - term.weight) ** count
            return 1 - miss

        relevance = strength(lexicon.relevance)
        counter = strength(lexicon.counter)
        score = round(relevance * (1 - counter), 3)
        is_conflict = score >= self.taxonomy.conflict_threshold
        topics = self._topics(lexicon, sentences) if is_conflict else []
        return TagResult(is_conflict=is_conflict, score=score, topics=topics)

    def _topics(self, lexicon: Lexicon, sentences: list[str]) -> list[dict[str, Any]]:
        fired: dict[str, list[str]] = {}
        for code, terms in lexicon.topics.items():
            evidence: list[str] = []
            for term in terms:
                for sentence in self._hits(term, sentences, lexicon.negation):
                    if sentence not in evidence:
                        evidence.append(sentence)
            if evidence:
                fired[code] = evidence
        # A sub-event type implies its event type (ACLED's two levels).
        for code in list(fired):
            parent = code.split(".")[0]
            if "." in code and parent in self.taxonomy.topics and not code.startswith("tags."):
                merged = fired.setdefault(parent, [])
                merged.extend(s for s in fired[code] if s not in merged)
        topics = [
            {
                "code": code,
                "label": self.taxonomy.topics[code].label,
                "score": round(1 - 0.5 ** min(len(evidence), 6), 3),
                "evidence": [_trim(s) for s in evidence[:MAX_EVIDENCE]],
            }
            for code, evidence in fired.items()
        ]
        return sorted(topics, key=lambda t: (-t["score"], t["code"]))
