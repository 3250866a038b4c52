"""The taxonomy and per-language lexicon files: loaded, validated with clear errors, compiled to patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from schemas import TAXONOMY_FILE, data_path


class LexiconError(ValueError):
    """A taxonomy or lexicon file that cannot be used, naming the file and what is wrong."""


@dataclass(frozen=True)
class Term:
    """One lexicon phrase compiled to a case-insensitive pattern."""

    text: str
    pattern: re.Pattern[str]
    weight: float = 1.0


@dataclass(frozen=True)
class Topic:
    code: str
    label: str


@dataclass(frozen=True)
class Lexicon:
    """Everything the tagger knows for one language."""

    language: str
    relevance: tuple[Term, ...]
    counter: tuple[Term, ...]
    topics: dict[str, tuple[Term, ...]]
    negation: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    conflict_threshold: float
    topics: dict[str, Topic]


def compile_term(text: str) -> re.Pattern[str]:
    """A phrase to a pattern: words match whole words, 'word*' any ending, a lone '*' one to three words."""
    parts = []
    for word in text.strip().split():
        if word == "*":
            parts.append(r"\w+(?:\s+\w+){0,2}")
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"\w*")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE | re.UNICODE)


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level")
    return data


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    path = Path(path or data_path(TAXONOMY_FILE))
    data = _load_yaml(path)
    try:
        topics = {t["code"]: Topic(code=t["code"], label=t["label"]) for t in data["topics"]}
        return Taxonomy(
            version=str(data["version"]),
            conflict_threshold=float(data["conflict_threshold"]),
            topics=topics,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LexiconError(
            f"{path}: needs 'version', 'conflict_threshold' and 'topics' of {{code, label}}: {exc}"
        ) from exc


def _weighted_terms(path: Path, items: list, section: str) -> tuple[Term, ...]:
    terms = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict) or not isinstance(item.get("term"), str):
            raise LexiconError(f"{path}: {section}[{i}] must be {{term: ..., weight: ...}}")
        weight = float(item.get("weight", 0.3))
        if not 0 < weight <= 1:
            raise LexiconError(f"{path}: {section}[{i}] ({item['term']!r}) weight must be in (0, 1]")
        terms.append(Term(item["term"], compile_term(item["term"]), weight))
    return tuple(terms)


def load_lexicon(path: str | Path, taxonomy: Taxonomy) -> Lexicon:
    """Load one language's lexicon; every topic code it names must exist in the taxonomy."""
    path = Path(path)
    data = _load_yaml(path)
    topics: dict[str, tuple[Term, ...]] = {}
    for code, phrases in (data.get("topics") or {}).items():
        if code not in taxonomy.topics:
            raise LexiconError(f"{path}: topic {code!r} is not in the taxonomy (version {taxonomy.version})")
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise LexiconError(f"{path}: topic {code!r} must list phrases as strings")
        topics[code] = tuple(Term(p, compile_term(p)) for p in phrases)
    return Lexicon(
        language=str(data.get("language") or path.stem),
        relevance=_weighted_terms(path, data.get("relevance"), "relevance"),
        counter=_weighted_terms(path, data.get("counter"), "counter"),
        topics=topics,
        negation=tuple(str(n).casefold() for n in data.get("negation") or ()),
    )


def load_lexicons(folder: str | Path | None = None, taxonomy: Taxonomy | None = None) -> dict[str, Lexicon]:
    """All lexicons of a folder (default: the ones shipped in schemas/lexicons), by language."""
    taxonomy = taxonomy or load_taxonomy()
    folder = Path(folder or data_path("lexicons"))
    lexicons = {}
    for path in sorted(folder.glob("*.yaml")):
        lexicon = load_lexicon(path, taxonomy)
        lexicons[lexicon.language] = lexicon
    if not lexicons:
        raise LexiconError(f"{folder}: no lexicon files (*.yaml)")
    return lexicons
