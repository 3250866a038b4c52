"""The relevance model: the shipped file, its features, and how it and the rules decide together."""

from __future__ import annotations

import pytest

from pipelines.tagging import ConflictTagger, lead_words
from pipelines.tagging.model import LEAD_WORDS, NUMBER, RelevanceModel, features, write_model


@pytest.fixture(scope="module")
def tagger() -> ConflictTagger:
    return ConflictTagger()


@pytest.fixture(scope="module")
def rules_only() -> ConflictTagger:
    return ConflictTagger(rules_only=True)


def test_the_shipped_model_says_what_it_was_trained_on():
    model = RelevanceModel()
    assert model.get("en") is not None
    assert model.get("xx") is None
    assert "CC BY-SA" in model.card["licence"] and "Current Events" in model.card["trained_on"]


def test_features_are_words_and_pairs_of_the_lead_with_digits_folded():
    found = features(["gunmen", "killed", "12", "people"])
    assert found == ["gunmen", "killed", NUMBER, "people", "gunmen killed", f"killed {NUMBER}", f"{NUMBER} people"]
    assert len(features(["war"] * 500)) == 2
    long = [f"w{i}" for i in range(LEAD_WORDS + 50)]
    assert f"w{LEAD_WORDS}" not in features(long)


def test_the_model_reads_the_words_the_tagger_tokenizes():
    words = lead_words("Clashes in Hasaka", "SDF fighters repelled the attack.")
    assert words[:4] == ["clashes", "in", "hasaka", "sdf"]


@pytest.mark.parametrize("text", [
    "Police repelled an attack by militants on a checkpoint, killing three of them.",
    "Gunmen opened fire at a checkpoint on the outskirts of the city, killing two policemen.",
    "A man was shot dead in a drive-by shooting in the city centre.",
    "Forces exchanged artillery fire along the front line overnight.",
    "A blast at a crowded market in the northeastern city killed at least 11 people and injured 28.",
])
def test_plain_reports_are_conflict_with_more_confidence_than_the_rules_give(tagger, rules_only, text):
    assert tagger.tag("", text).is_conflict
    assert tagger.tag("", text).score > rules_only.tag("", text).score


def test_one_victim_shot_dead_is_conflict_which_the_rules_alone_miss(tagger, rules_only):
    text = "A man was shot dead in a drive-by shooting in the city centre."
    assert not rules_only.tag("", text).is_conflict
    assert tagger.tag("", text).is_conflict


@pytest.mark.parametrize("text", [
    "Hundreds of families flee their homes after the night's attack on the border town.",
    "At least 40 people die after an attack on a crowded market in the north of the country.",
])
def test_a_report_that_names_no_violence_plainly_is_lifted_by_the_model(tagger, rules_only, text):
    score, regime = tagger.rules("", text)
    assert regime == "loose" and round(score, 3) == rules_only.tag("", text).score
    assert not rules_only.tag("", text).is_conflict
    assert tagger.tag("", text).is_conflict


@pytest.mark.parametrize("text", [
    "The senator launched a scathing attack on the budget plan in a fiery debate.",
    "Police denied rumours of an attack at the mall; no one was killed or hurt.",
])
def test_beside_words_of_other_news_or_negated_violence_the_rules_alone_decide(tagger, rules_only, text):
    score, regime = tagger.rules("", text)
    assert regime is None
    assert tagger.tag("", text).score == round(score, 3) == rules_only.tag("", text).score
    assert not tagger.tag("", text).is_conflict


def test_a_language_without_a_model_keeps_the_rules_score(tagger, rules_only):
    text = "Des hommes armés ont attaqué un poste de police, tuant trois agents."
    assert tagger.tag("", text, "fr").score == rules_only.tag("", text, "fr").score


def test_the_combined_score_rises_with_the_rules_and_the_file_is_reproducible(tmp_path):
    entry = {"weights": {"shelling": 2.0}, "bias": -1.0, "combine": {"model": 1.0, "rules": 0.5, "intercept": 0.0},
             "combine_loose": {"model": 0.5, "rules": 0.0, "intercept": -1.0}}
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    write_model(first, "test", {}, {"en": entry})
    write_model(second, "test", {}, {"en": entry})
    assert first.read_bytes() == second.read_bytes()
    model = RelevanceModel(first).get("en")
    assert model.probability(["shelling"], 0.9) > model.probability(["shelling"], 0.1)
    assert model.probability(["shelling"], 0.5) > model.probability(["football"], 0.5)
    # Where the text names no violence, the looser fit reads the words and not the rules' score.
    assert model.probability(["shelling"], 0.9, names_violence=False) == model.probability(["shelling"], 0.1,
                                                                                           names_violence=False)
    assert model.probability(["shelling"], 0.5, names_violence=False) < model.probability(["shelling"], 0.5)
