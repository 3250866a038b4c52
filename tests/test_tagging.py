"""The first conflict tagger: relevance, topics with evidence, negation, and the lexicon files' checks."""

from __future__ import annotations

import pytest

from pipelines.extract import ArticleExtractor
from pipelines.tagging import ConflictTagger, split_sentences
from pipelines.tagging.lexicon import LexiconError, compile_term, load_lexicon, load_taxonomy
from schemas.records import FeedEntry, FetchedPage
from tests.conftest import sample_page


def extracted(name: str):
    page = FetchedPage(entry=FeedEntry(link="https://x.example/a"), final_url="https://x.example/a", status=200,
                       content_type="text/html", body=sample_page(name), fetched_at="2022-01-23T12:00:00Z")
    return ArticleExtractor().extract(page)


@pytest.fixture(scope="module")
def tagger() -> ConflictTagger:
    return ConflictTagger()


def test_seed_article_is_conflict_with_its_topics(tagger):
    article = extracted("frontline-clashes-continue-isis-attack-prison-syria.html")
    result = tagger.tag(article.title, article.text, article.language)
    assert result.is_conflict
    codes = {t["code"] for t in result.topics}
    assert {"battles.armed_clash", "explosions.air_strike", "tags.terrorism", "tags.hostage_taking",
            "tags.prison_attack"} <= codes
    air = next(t for t in result.topics if t["code"] == "explosions.air_strike")
    assert any("airstrikes" in s for s in air["evidence"])


def test_football_battle_is_not_conflict(tagger):
    article = extracted("frontline-united-battle-back-to-beat-city.html")
    result = tagger.tag(article.title, article.text)
    assert not result.is_conflict
    assert result.topics == []


def test_economy_story_is_not_conflict(tagger):
    article = extracted("wire-central-bank-holds-rates.html")
    assert not tagger.tag(article.title, article.text).is_conflict


def test_negated_term_does_not_fire(tagger):
    hedged = tagger.tag("Market fire", "Officials said no casualties were reported after the fire at the market.")
    plain = tagger.tag("Market attack", "Officials said casualties were reported after the attack on the market.")
    assert hedged.score < plain.score


def test_sentences_split_on_punctuation_and_paragraphs():
    assert split_sentences("One. Two!\nThree? “Four.” Five") == ["One.", "Two!", "Three?", "“Four.”", "Five"]


def test_term_patterns():
    assert compile_term("clash*").search("fierce clashes broke out")
    assert not compile_term("war").search("the warden said")
    assert compile_term("attack* on * prison").search("the attack on Ghwayran prison")
    assert compile_term("attack* on * prison").search("attacks on the old city prison")


def test_lexicon_with_unknown_topic_is_refused(tmp_path):
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\ntopics:\n  battles.dance_off: [dance]\n")
    with pytest.raises(LexiconError, match=r"xx\.yaml: topic 'battles.dance_off' is not in the taxonomy"):
        load_lexicon(path, load_taxonomy())


def test_lexicon_weight_out_of_range_is_refused(tmp_path):
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nrelevance:\n  - {term: war, weight: 3}\n")
    with pytest.raises(LexiconError, match="weight must be in"):
        load_lexicon(path, load_taxonomy())
