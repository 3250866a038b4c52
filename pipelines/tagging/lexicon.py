"""The taxonomy and per-language lexicon files: loaded, validated with clear errors, indexed for matching."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.tagging.arabic import ArabicStemmer, fold_phrase, stemmer_for
from pipelines.tagging.matcher import PhraseIndex, parse_phrase
from schemas import TAXONOMY_FILE, data_path

CASUALTY_KINDS = ("killed", "injured", "abducted")
# Phrase lists that place a casualty figure: what else a figure may count ("arrested"), and the markers of a
# toll that is not the event's own (a war's total, an earlier incident), and the words of a toll's update ("has
# risen to"), matched with the casualty words.
CASUALTY_CONTEXT = {"not_casualties": "other", "background": "background", "since": "since", "eras": "era",
                    "wars": "war", "updates": "update"}
# Phrase lists that say a sentence reports an event: what was done (an attack, a killing), to whom or what, and
# the markers of one that did not happen or is not told as news (a threat, a foiled plot, a charge in court).
EVENT_PARTS = {"event_triggers": "trigger", "event_targets": "target", "not_events": "not_event"}
# Stemmers a lexicon may name: its terms and a text's words are folded to stems before they are matched.
STEMMERS = ("arabic",)


class LexiconError(ValueError):
    """A taxonomy or lexicon file that cannot be used, naming the file and what is wrong."""


@dataclass(frozen=True)
class Term:
    """One lexicon phrase and how much one hit says the article is conflict news."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Topic:
    code: str
    label: str


@dataclass(frozen=True)
class Lexicon:
    """Everything the tagger knows for one language, with one index over all its phrases."""

    language: str
    relevance: tuple[Term, ...]
    counter: tuple[Term, ...]
    topics: dict[str, tuple[Term, ...]]
    negation: frozenset[str]
    casualties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    subset: frozenset[str] = frozenset()
    number_words: dict[str, int] = field(default_factory=dict)
    not_people: frozenset[str] = frozenset()
    singular: frozenset[str] = frozenset()
    singular_verbs: frozenset[str] = frozenset()
    singular_links: frozenset[str] = frozenset()
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)
    perfect: frozenset[str] = frozenset()
    vague: frozenset[str] = frozenset()
    conjunctions: frozenset[str] = frozenset()
    months: frozenset[str] = frozenset()
    part_of_total: frozenset[str] = frozenset()
    # In a toll's update, a figure after one of these is the toll it replaces ("rose to 50 from 14").
    update_from: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    # Which event parts the lexicon lists: where it lists triggers, a text must report an event to score high.
    event_parts: frozenset[str] = frozenset()
    # Folds a text's words to the stems the index holds (None: words are matched as written).
    stemmer: ArabicStemmer | None = None
    index: PhraseIndex = field(default_factory=PhraseIndex)

    @property
    def needs_event(self) -> bool:
        return "trigger" in self.event_parts


@dataclass(frozen=True)
class Taxonomy:
    version: str
    conflict_threshold: float
    topics: dict[str, Topic]


def compile_term(text: str) -> re.Pattern[str]:
    """A phrase as a regular expression (for analysts checking a term): 'word*' any ending, '*' 1-3 words."""
    parts = []
    for word in text.strip().split():
        if word == "*":
            parts.append(r"\w+(?:\W+\w+){0,2}")
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"\w*")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<!\w)" + r"\W{1,3}".join(parts) + r"(?!\w)", re.IGNORECASE | re.UNICODE)


# libyaml's parser where PyYAML was built with it (its wheels are): the same safe loading, much faster than
# the pure-Python one, which would take most of a tagger's load (the taxonomy and a lexicon file a language).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> dict:
    """A YAML mapping file, or a LexiconError naming the file (and line, for syntax errors)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level")
    return data


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    path = Path(path or data_path(TAXONOMY_FILE))
    data = load_yaml(path)
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


def _check_phrase(path: Path, where: str, phrase: object) -> str:
    if not isinstance(phrase, str):
        raise LexiconError(f"{path}: {where}: {phrase!r} must be a string")
    try:
        parse_phrase(phrase)
    except ValueError as exc:
        raise LexiconError(f"{path}: {where}: {exc}") from exc
    return phrase


def _weighted_terms(path: Path, items: list, section: str) -> tuple[Term, ...]:
    terms = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict) or not isinstance(item.get("term"), str):
            raise LexiconError(f"{path}: {section}[{i}] must be {{term: ..., weight: ...}}")
        weight = float(item.get("weight", 0.3))
        if not 0 < weight <= 1:
            raise LexiconError(f"{path}: {section}[{i}] ({item['term']!r}) weight must be in (0, 1]")
        terms.append(Term(_check_phrase(path, f"{section}[{i}]", item["term"]), weight))
    return tuple(terms)


def _words(data: dict, key: str) -> frozenset[str]:
    return frozenset(str(n).casefold() for n in data.get(key) or ())


def load_lexicon(path: str | Path, taxonomy: Taxonomy) -> Lexicon:
    """Load one language's lexicon; every topic code it names must exist in the taxonomy."""
    path = Path(path)
    data = load_yaml(path)
    topics: dict[str, tuple[Term, ...]] = {}
    for code, phrases in (data.get("topics") or {}).items():
        if code not in taxonomy.topics:
            raise LexiconError(f"{path}: topic {code!r} is not in the taxonomy (version {taxonomy.version})")
        if not isinstance(phrases, list):
            raise LexiconError(f"{path}: topic {code!r} must list phrases as strings")
        topics[code] = tuple(Term(_check_phrase(path, f"topic {code!r}", p)) for p in phrases)
    casualties: dict[str, tuple[str, ...]] = {}
    for kind, phrases in (data.get("casualties") or {}).items():
        if kind not in CASUALTY_KINDS:
            raise LexiconError(f"{path}: casualties: {kind!r} is not one of {', '.join(CASUALTY_KINDS)}")
        casualties[kind] = tuple(_check_phrase(path, f"casualties {kind!r}", p) for p in phrases or ())
    context = {kind: tuple(_check_phrase(path, section, p) for p in data.get(section) or ())
               for section, kind in CASUALTY_CONTEXT.items()}
    events = {kind: tuple(_check_phrase(path, section, p) for p in data.get(section) or ())
              for section, kind in EVENT_PARTS.items()}
    stemming = data.get("stemmer")
    if stemming is not None and stemming not in STEMMERS:
        raise LexiconError(f"{path}: stemmer {stemming!r} is not one of {', '.join(STEMMERS)}")
    numbers = data.get("number_words") or {}
    if not isinstance(numbers, dict) or not all(isinstance(v, int) for v in numbers.values()):
        raise LexiconError(f"{path}: number_words must map words to whole numbers")
    lexicon = Lexicon(
        language=str(data.get("language") or path.stem),
        relevance=_weighted_terms(path, data.get("relevance"), "relevance"),
        counter=_weighted_terms(path, data.get("counter"), "counter"),
        topics=topics,
        negation=_words(data, "negation"),
        casualties=casualties,
        subset=_words(data, "subset"),
        number_words={str(k).casefold(): v for k, v in numbers.items()},
        not_people=_words(data, "not_people"),
        singular=_words(data, "singular"),
        singular_verbs=_words(data, "singular_verbs"),
        singular_links=_words(data, "singular_links"),
        context=context,
        perfect=_words(data, "perfect"),
        vague=_words(data, "vague"),
        conjunctions=_words(data, "conjunctions"),
        months=_words(data, "months"),
        part_of_total=_words(data, "part_of_total"),
        update_from=_words(data, "update_from"),
        prefixes=tuple(sorted((str(p) for p in data.get("prefixes") or ()), key=len, reverse=True)),
        event_parts=frozenset(kind for kind, phrases in events.items() if phrases),
    )
    entries: list[tuple[str, tuple[str, object]]] = [
        *((term.text, ("relevance", i)) for i, term in enumerate(lexicon.relevance)),
        *((term.text, ("counter", i)) for i, term in enumerate(lexicon.counter)),
        *((term.text, ("topic", code)) for code, terms in topics.items() for term in terms),
        *((phrase, ("casualty", kind)) for kind, phrases in casualties.items() for phrase in phrases),
        *((phrase, ("casualty", kind)) for kind, phrases in context.items() for phrase in phrases),
        *((phrase, ("event", kind)) for kind, phrases in events.items() for phrase in phrases),
    ]
    if stemming == "arabic":
        entries = [(fold_phrase(phrase), payload) for phrase, payload in entries]
        object.__setattr__(lexicon, "stemmer", stemmer_for(phrase for phrase, _ in entries))
    index = PhraseIndex(prefixes=lexicon.prefixes)
    for phrase, payload in entries:
        index.add(phrase, payload)
    object.__setattr__(lexicon, "index", index)
    return lexicon


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
