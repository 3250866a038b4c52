"""A compact linear classifier over word n-grams: how likely a text is conflict news, learned from labelled news.

The model file (schemas/models/) holds, per language it was trained for, the weight of every word and word pair
it kept, a bias, and how its log-odds combine with the rules' score into one calibrated probability (apart for
texts that name violence and those that do not). Features
are the case-folded words of the headline and the lead (news leads say what the story is), digits folded to
one word, and each adjacent pair; binary, scaled by one over the square root of their number, so a long lead
weighs no more than a short one. The same function makes the features for training (bench/train_tagging.py)
and for tagging, so the two cannot drift apart.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat
from pathlib import Path

from schemas import data_path

MODEL_FILE = "models/relevance-v1.json.gz"
# How many words of headline and lead the model reads.
LEAD_WORDS = 120
NUMBER = "<n>"
# Rule scores are kept inside this margin of 0 and 1 before their log-odds are taken.
_EDGE = 0.005


def features(words: Sequence[str]) -> list[str]:
    """The model's features of case-folded words: each word (digits as one word) and each adjacent pair."""
    folded = [NUMBER if w.isdecimal() else w for w in words[:LEAD_WORDS]]
    return list(dict.fromkeys([*folded, *(f"{a} {b}" for a, b in pairwise(folded))]))


def logit(p: float) -> float:
    p = min(max(p, _EDGE), 1 - _EDGE)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


@dataclass(frozen=True)
class Combine:
    """How the model's log-odds and the rules' combine: sigmoid(model * log-odds + rules * logit(rules) + intercept)."""

    model: float
    rules: float
    intercept: float

    @classmethod
    def of(cls, entry: dict) -> Combine:
        return cls(model=float(entry["model"]), rules=float(entry["rules"]), intercept=float(entry["intercept"]))


@dataclass(frozen=True)
class LanguageModel:
    """One language's weights and how its log-odds and the rules' combine.

    Two combinations are fitted, one where the text names violence (an event phrase, an armed actor, a strong
    term) and one where it does not: the rules' score means more in the first, and the model alone must carry
    the second ("the government closes the internet as protests grow"), where its words are weaker evidence.
    """

    weights: dict[str, float]
    bias: float
    combine: Combine
    combine_loose: Combine

    def log_odds(self, words: Sequence[str]) -> float:
        found = features(words)
        if not found:
            return self.bias
        # map over dict.get with a default sums the same values as a generator, without a Python frame each.
        return self.bias + sum(map(self.weights.get, found, repeat(0.0))) / math.sqrt(len(found))

    def probability(self, words: Sequence[str], rule_score: float, names_violence: bool = True) -> float:
        """The calibrated probability that the text is conflict news, from its words and the rules' score."""
        c = self.combine if names_violence else self.combine_loose
        return sigmoid(c.model * self.log_odds(words) + c.rules * logit(rule_score) + c.intercept)


class RelevanceModel:
    """The shipped model, by language; a language it was not trained for has none (the rules alone decide)."""

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path or data_path(MODEL_FILE))
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        self.version: str = str(data["version"])
        self.card: dict = data.get("card", {})
        self.languages: dict[str, LanguageModel] = {
            language: LanguageModel(weights=entry["weights"], bias=float(entry["bias"]),
                                    combine=Combine.of(entry["combine"]),
                                    combine_loose=Combine.of(entry["combine_loose"]))
            for language, entry in data["languages"].items()
        }

    def get(self, language: str) -> LanguageModel | None:
        return self.languages.get(language)


def write_model(path: Path, version: str, card: dict, languages: dict[str, dict]) -> None:
    """Write a model file (what RelevanceModel reads): per language weights, bias and combine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # No time and no file name in the gzip header: the same model writes the same bytes wherever it is written.
    with path.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(json.dumps({"version": version, "card": card, "languages": languages},
                                ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))


@lru_cache(maxsize=1)
def default_model() -> RelevanceModel:
    """The shipped model, loaded once per process."""
    return RelevanceModel()
