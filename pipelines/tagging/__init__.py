"""Conflict tagging: relevance, topics with evidence, places, actors and casualties, from data files."""

from __future__ import annotations

import operator
import re
import threading
from collections import Counter
from itertools import chain
from typing import Any, NamedTuple

from pipelines.tagging.actors import ActorIndex, default_actors
from pipelines.tagging.casualties import casualty_block, sentence_counts
from pipelines.tagging.events import event_score, reports_event
from pipelines.tagging.lexicon import CASUALTY_KINDS, Lexicon, Taxonomy, load_lexicons, load_taxonomy
from pipelines.tagging.matcher import Match, PhraseIndexes, TokenList, tokenize
from pipelines.tagging.model import LEAD_WORDS, RelevanceModel, default_model
from pipelines.tagging.places import Gazetteer, default_gazetteer
from schemas.records import TagResult

__all__ = ["ConflictTagger", "lead_words", "split_sentences"]

# A sentence ends at a stop (and a closing quote or bracket) before a space, and at every line break; a full stop
# after a lone capital is an initial ("C. African Republic", "U.S. forces", "George W. Bush"), not an end. The
# pattern starts with the stop, which the engine skips to (stops are rarer than spaces); the initial is tested
# after the stop, so that skip still works.
_SENTENCE_END = re.compile(r"([.!?؟。](?<!\b[A-Z]\.)[\"'”’)\]]?)\s+")
MAX_EVIDENCE = 3
MAX_EVIDENCE_CHARS = 300
NEGATION_WINDOW = 3
# A term counts at most this often: the tenth "attack" in a match report says no more than the third.
MAX_HITS = 3
# How much one armed actor named in the story says it is conflict news.
ACTOR_WEIGHT = 0.25
# How much each event type whose phrases fired says it: "roadside bomb" alone is conflict news.
TOPIC_WEIGHT = 0.2
# A relevance term this strong names violence on its own ("gunmen", "shelling"); weaker ones are loose words.
STRONG_TERM = 0.25
ARMED_KINDS = frozenset({"state_force", "rebel_militia", "terrorist_organization", "foreign_force"})


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (paragraph breaks always end one)."""
    pieces = _SENTENCE_END.split(text)
    # Each stop goes back onto the words before it; then every line break ends a sentence too (all at C speed).
    ended = map(operator.add, pieces[::2], chain(pieces[1::2], ("",)))
    return [s for s in map(str.strip, "\n".join(ended).split("\n")) if s]


def lead_words(title: str, text: str) -> list[str]:
    """The case-folded words of the headline and the lead, as the relevance model reads them."""
    return tokenize(split_sentences(title or "") + split_sentences(text or "")).words[:LEAD_WORDS]


def _trim(sentence: str) -> str:
    return sentence if len(sentence) <= MAX_EVIDENCE_CHARS else sentence[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"


# ACLED codes an event by how the violence was done: civilians killed by shells, bombs or air strikes are
# explosions, not violence against civilians; protesters clashing with police are a riot, not a battle. A topic's
# sentence near one that fires one of these event types (within PASSAGE sentences, the same passage) is that
# type's evidence, not its own; where such a type fires in the lead (the headline and the first sentences, which
# say what the story is about), it accounts for the whole story.
EXPLAINED_BY = {
    "violence_against_civilians.attack": frozenset({"explosions"}),
    "battles.armed_clash": frozenset({"protests", "riots"}),
}
LEAD_SENTENCES = 3
PASSAGE = 2


def _explained_away(fired: dict[str, list[int]]) -> dict[str, list[int]]:
    """The fired topics without the sentences a more specific kind of violence accounts for (EXPLAINED_BY); a
    topic left with no sentence is dropped."""
    out = dict(fired)
    for code, by in EXPLAINED_BY.items():
        if code not in out:
            continue
        taken = [i for other, found in fired.items() if other.split(".")[0] in by for i in found]
        in_lead = any(i < LEAD_SENTENCES for i in taken)
        kept = [] if in_lead else [i for i in out[code] if all(abs(i - j) > PASSAGE for j in taken)]
        if kept:
            out[code] = kept
        else:
            del out[code]
    return out


class _Rules(NamedTuple):
    """The rule matches of one text: topic and relevance hits (by sentence), casualty cues (by sentence), actors,
    place matches, the rules' score and how the model may combine with it (see ConflictTagger.rules)."""

    hits: dict[tuple[str, Any], list[int]]
    cues: dict[int, list[tuple[int, int, str]]]
    actors: list
    places: list
    score: float
    regime: str | None


class ConflictTagger:
    """Tags an article: conflict relevance, topic codes with the sentences that fired, places, actors, casualties.

    Every term list is data (schemas/); the text is tokenized once and each index is matched in one pass. In a
    language the relevance model was trained for, the rules' score and the model's log-odds combine into one
    calibrated probability; rules_only keeps the rules' score alone.
    """

    def __init__(self, taxonomy: Taxonomy | None = None, lexicons: dict[str, Lexicon] | None = None,
                 actors: ActorIndex | None = None, gazetteer: Gazetteer | None = None,
                 model: RelevanceModel | None = None, rules_only: bool = False) -> None:
        self.model = None if rules_only else model or default_model()
        self.taxonomy = taxonomy or load_taxonomy()
        self.lexicons = lexicons or load_lexicons(taxonomy=self.taxonomy)
        self.actors = actors or default_actors()
        self.gazetteer = gazetteer or default_gazetteer()
        # Per language: its lexicon's index, the actors' and the gazetteer's, matched together; a lexicon that
        # folds words to stems is matched apart, on the folded words.
        self._indexes: dict[str, PhraseIndexes] = {}
        self._names: PhraseIndexes | None = None
        # The indexes learn each word as they first meet it, so a tagger shared by threads (a worker's copies
        # of one DoFn share one) tags one article at a time; under the GIL that costs no throughput.
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.taxonomy.version

    def _lexicon(self, language: str) -> Lexicon:
        return self.lexicons.get(language) or self.lexicons["en"]

    def _matched(self, lexicon: Lexicon) -> PhraseIndexes:
        if lexicon.language not in self._indexes:
            own = [(lexicon.index, None)]
            self._indexes[lexicon.language] = PhraseIndexes(
                own if lexicon.stemmer else [*own, (self.actors.index, None), *self.gazetteer.indexes])
        return self._indexes[lexicon.language]

    def _find(self, lexicon: Lexicon, tokens: TokenList) -> list[list[Match]]:
        """Per index (the lexicon's, the actors', the gazetteer's), every phrase found in the tokens."""
        if lexicon.stemmer is None:
            return self._matched(lexicon).find(tokens)
        if self._names is None:
            self._names = PhraseIndexes([(self.actors.index, None), *self.gazetteer.indexes])
        return self._matched(lexicon).find(tokens.folded(lexicon.stemmer.fold)) + self._names.find(tokens)

    def tag(self, title: str, text: str, language: str = "en") -> TagResult:
        """The tagging block of one article (language: ISO 639-1; unknown ones use the English lexicon)."""
        with self._lock:
            return self._tag(title, text, language)

    def rules(self, title: str, text: str, language: str = "en") -> tuple[float, str | None]:
        """The rules' score alone and how the model may combine with it (the relevance model is trained on these):
        "violence" where the text names violence, "loose" where it does not, None where it does not and words of
        other news (sport, markets, medicine) are present too or its violence words are negated, so the rules alone
        decide ("the senator's scathing attack on the budget", "police denied rumours of an attack")."""
        with self._lock:
            tokens, n_title, _ = self._tokens(title, text)
            found = self._rules(tokens, n_title, self._lexicon(language))
        return found.score, found.regime

    @staticmethod
    def _tokens(title: str, text: str) -> tuple[TokenList, int, list[str]]:
        title_sentences = split_sentences(title or "")
        sentences = title_sentences + split_sentences(text or "")
        return tokenize(sentences), len(title_sentences), sentences

    def _rules(self, tokens: TokenList, n_title: int, lexicon: Lexicon) -> _Rules:
        terms, named, *places = self._find(lexicon, tokens)
        hits: dict[tuple[str, Any], list[int]] = {}
        cues: dict[int, list[tuple[int, int, str]]] = {}
        events: dict[str, list[tuple[int, int, int]]] = {"trigger": [], "target": [], "not_event": []}
        negated = False
        for first, last, payload in terms:
            role, key = payload  # type: ignore[misc]
            sentence = tokens.sentence_of[first]
            # A marker of a non-event counts whatever negates it: a denied threat still reports no attack.
            if role != "counter" and key != "not_event" and self._negated(tokens, first, lexicon):
                negated = True
                continue
            if role == "event":
                events[key].append((sentence, first, last))
            elif role == "casualty":
                cues.setdefault(sentence, []).append((first, last, key))
            else:
                hits.setdefault((role, key), []).append(sentence)

        actors = self.actors.find(tokens, named)
        relevance = self._strength(hits, "relevance", lexicon, n_title)
        armed = sum(1 for actor, _ in actors if actor.kind in ARMED_KINDS)
        relevance = 1 - (1 - relevance) * (1 - ACTOR_WEIGHT) ** armed
        event_types = {key.split(".")[0] if not key.startswith("tags.") else key for role, key in hits
                       if role == "topic"}
        relevance = 1 - (1 - relevance) * (1 - TOPIC_WEIGHT) ** len(event_types)
        counter = self._strength(hits, "counter", lexicon, n_title)
        score = relevance * (1 - counter)
        if lexicon.needs_event:
            outcomes = [(s, a, b) for s, cue in cues.items() for a, b, kind in cue if kind in CASUALTY_KINDS]
            score = event_score(score, reports_event(
                events["trigger"], events["target"], outcomes, (s for s, _, _ in events["not_event"])))
        regime = ("violence" if self._names_violence(hits, armed, event_types, lexicon)
                  else None if counter or negated else "loose")
        return _Rules(hits, cues, actors, places, score, regime)

    def _tag(self, title: str, text: str, language: str) -> TagResult:
        lexicon = self._lexicon(language)
        tokens, n_title, sentences = self._tokens(title, text)
        hits, cues, actors, places, score, regime = self._rules(tokens, n_title, lexicon)
        learned = self.model.get(language) if self.model is not None else None
        if learned is not None and regime is not None:
            score = learned.probability(tokens.words[:LEAD_WORDS], score, regime == "violence")
        score = round(score, 3)
        is_conflict = score >= self.taxonomy.conflict_threshold

        hint = Counter({a.country: 0.5 for a, _ in actors if a.country})
        per_sentence = []
        for i, cue in sorted(cues.items()):
            within = tokens.sentence_tokens(i)
            start = within.start
            own = tokens[start:min(within.stop, start + 400)]
            relative = [(a - start, b - start, kind) for a, b, kind in cue]
            per_sentence.append((i, sentence_counts(own, relative, sentences[i], lexicon)))
        return TagResult(
            is_conflict=is_conflict,
            score=score,
            topics=self._topics(hits, sentences) if is_conflict else [],
            locations=self.gazetteer.locate(tokens, n_title, hint, sentences, places),
            actors=[{"name": a.name, "kind": a.kind} for a, _ in actors],
            casualties=casualty_block(per_sentence, sentences, _trim),
        )

    @staticmethod
    def _names_violence(hits: dict[tuple[str, Any], list[int]], armed: int, event_types: set[str],
                        lexicon: Lexicon) -> bool:
        """Whether the text names violence beyond loose words: an event phrase, an armed actor or a relevance
        term of at least STRONG_TERM (a casualty word alone does not: "no one was killed or hurt"). The model
        learned from news where "attack" and "war" nearly always mean violence; where nothing else names it, its
        words combine with the rules by the looser fit of such texts, or not at all beside words of other news."""
        return bool(event_types or armed or any(
            lexicon.relevance[key].weight >= STRONG_TERM for role, key in hits if role == "relevance"))

    @staticmethod
    def _negated(tokens: TokenList, first: int, lexicon: Lexicon) -> bool:
        words, sentence_of = tokens.words, tokens.sentence_of
        return any(words[k] in lexicon.negation for k in range(max(0, first - NEGATION_WINDOW), first)
                   if sentence_of[k] == sentence_of[first])

    @staticmethod
    def _strength(hits: dict[tuple[str, Any], list[int]], role: str, lexicon: Lexicon, n_title: int) -> float:
        terms = lexicon.relevance if role == "relevance" else lexicon.counter
        miss = 1.0
        for (kind, key), sentences in hits.items():
            if kind != role:
                continue
            # A term in the headline counts once more: headlines say what the story is about.
            count = min(len(sentences) + sum(1 for s in sentences if s < n_title), MAX_HITS)
            miss *= (1 - terms[key].weight) ** count
        return 1 - miss

    def _topics(self, hits: dict[tuple[str, Any], list[int]], sentences: list[str]) -> list[dict[str, Any]]:
        fired: dict[str, list[int]] = {}
        for (kind, code), found in hits.items():
            if kind == "topic":
                fired[code] = sorted(set(found))
        fired = _explained_away(fired)
        # A sub-event type implies its event type (ACLED's two levels).
        for code in list(fired):
            parent = code.split(".")[0]
            if "." in code and parent in self.taxonomy.topics and not code.startswith("tags."):
                fired[parent] = sorted(set(fired.get(parent, [])) | set(fired[code]))
        topics = [
            {
                "code": code,
                "label": self.taxonomy.topics[code].label,
                "score": round(1 - 0.5 ** min(len(found), 6), 3),
                "evidence": [_trim(sentences[i]) for i in found[:MAX_EVIDENCE]],
            }
            for code, found in fired.items()
        ]
        return sorted(topics, key=lambda t: (-t["score"], t["code"]))
