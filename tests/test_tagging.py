"""The conflict tagger: relevance, topics, languages, negation, casualties, places, actors, the data files' checks."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.beam.batch import run
from pipelines.cli import tag_stream
from pipelines.extract import ArticleExtractor
from pipelines.tagging import ConflictTagger, split_sentences
from pipelines.tagging.actors import ActorIndex
from pipelines.tagging.lexicon import LexiconError, compile_term, load_lexicon, load_taxonomy
from schemas.records import FeedEntry, FetchedPage
from tests.conftest import sample_page

SEED_PAGE = "frontline-clashes-continue-isis-attack-prison-syria.html"


def extracted(name: str):
    page = FetchedPage(entry=FeedEntry(link="https://x.example/a"), final_url="https://x.example/a", status=200,
                       content_type="text/html", body=sample_page(name), fetched_at="2022-01-23T12:00:00Z")
    return ArticleExtractor().extract(page)


@pytest.fixture(scope="module")
def tagger() -> ConflictTagger:
    return ConflictTagger()


def codes(result) -> set[str]:
    return {t["code"] for t in result.topics}


def killed(result) -> int | None:
    block = result.casualties["killed"]
    return block["count"] if block else None


def test_seed_article_through_the_whole_pipeline(tmp_path):
    out = tmp_path / "out"
    run(["--sample", "--out", str(out)])
    events = [json.loads(line) for path in out.glob("events-*.jsonl") for line in path.read_text().splitlines()]
    seed = next(e for e in events if e["canonical_url"].endswith("clashes-continue-isis-attack-prison-syria"))
    assert seed["conflict"]["is_conflict"]
    assert {"battles.armed_clash", "explosions.air_strike", "tags.terrorism", "tags.hostage_taking"} <= {
        t["code"] for t in seed["topics"]}
    assert seed["locations"][0]["country_code"] == "SY"
    hasaka = next(loc for loc in seed["locations"] if "asakah" in loc["name"])
    assert abs(hasaka["lat"] - 36.5) < 0.3 and abs(hasaka["lon"] - 40.7) < 0.3
    assert {"Islamic State", "Syrian Democratic Forces"} <= {a["name"] for a in seed["actors"]}
    assert "Syrian Observatory for Human Rights" not in {a["name"] for a in seed["actors"]}
    assert seed["casualties"]["killed"]["count"] >= 116
    assert any("At least 39" in s for s in seed["casualties"]["killed"]["evidence"])


def test_sitrep_tag_gives_what_the_pipeline_puts_in_events(tagger):
    article = extracted(SEED_PAGE)
    line = json.dumps({"id": "1", "title": article.title, "text": article.text, "language": article.language})
    sink = io.StringIO()
    assert tag_stream(io.StringIO(line + "\n"), sink) == 0
    record = json.loads(sink.getvalue())
    expected = tagger.tag(article.title, article.text, article.language).to_json()
    assert {k: record[k] for k in expected} == expected


def test_football_battle_is_not_conflict(tagger):
    article = extracted("frontline-united-battle-back-to-beat-city.html")
    result = tagger.tag(article.title, article.text)
    assert not result.is_conflict
    assert result.topics == []


@pytest.mark.parametrize("title, text", [
    ("Madrid attack routs leaders", "Real Madrid's relentless attack tore apart the league leaders in a 4-0 rout, "
     "the coach praising his forwards for killing the game off before half-time."),
    ("Shooter game breaks records", "The military shooter video game sold 10 million copies, with players praising "
     "its multiplayer battles and airstrikes."),
    ("Senator attacks budget", "The senator launched a scathing attack on the budget plan in a fiery debate, "
     "accusing ministers of waging war on the middle class."),
    ("Stocks slump", "Shares tumbled as investors dumped technology stocks in what traders called a bloodbath."),
])
def test_loose_battle_and_attack_are_not_conflict(tagger, title, text):
    assert not tagger.tag(title, text).is_conflict


@pytest.mark.parametrize("text, code", [
    ("Kurdish-led forces have been clashing with IS militants in Hasaka since Thursday.",
     "battles.armed_clash"),
    ("Russian forces took control of the town of Avdiivka after months of fierce fighting.",
     "battles.territory_change"),
    ("Russian warplanes carried out a dozen air strikes on villages south of Idlib, killing 11 people.",
     "explosions.air_strike"),
    ("Russian artillery shelled a residential district of Kharkiv, killing three civilians.", "explosions.shelling"),
    ("Four policemen were killed when their vehicle struck a roadside bomb near Kandahar.", "explosions.ied"),
    ("A suicide bomber blew himself up outside a ministry in Kabul, killing 20 people.", "explosions.suicide_bomb"),
    ("Gunmen stormed a village near Mopti and killed 26 villagers, local officials said.",
     "violence_against_civilians.attack"),
    ("Armed men abducted 80 students from a school near Zaria, police said.", "violence_against_civilians.abduction"),
    ("Thousands of protesters marched on parliament and police fired tear gas.", "protests"),
    ("Youths looted shops for a third night of rioting and police fired tear gas.", "riots"),
    ("Soldiers announced a coup and the army deployed troops across the capital amid clashes.",
     "strategic_developments"),
    ("Islamic State claimed the bombing that killed 12 soldiers.", "tags.terrorism"),
    ("Militants are holding guards hostage inside the prison after clashes.", "tags.hostage_taking"),
    ("Hundreds of inmates escaped after jihadists attacked the prison with explosives.", "tags.prison_attack"),
    ("More than 40,000 people have fled their homes since fighting between the army and rebels intensified.",
     "tags.displacement"),
    ("The warring sides agreed a ceasefire after clashes killed 27 people.", "tags.ceasefire"),
])
def test_each_topic_from_a_news_sentence(tagger, text, code):
    result = tagger.tag("", text)
    assert result.is_conflict
    assert code in codes(result)
    topic = next(t for t in result.topics if t["code"] == code)
    assert topic["evidence"] == [text]


def test_the_kind_of_violence_decides_the_event_type(tagger):
    """As ACLED codes them: civilians killed by shelling are an explosion, protesters clashing with police a riot;
    an execution told apart from an air strike keeps its own type."""
    shelled = codes(tagger.tag("", "Six civilians were killed in shelling of a market in Aleppo, a monitor said."))
    assert "explosions.shelling" in shelled and "violence_against_civilians" not in shelled
    rioting = codes(tagger.tag("", "Protesters clashed with police and looted shops in the capital."))
    assert "riots" in rioting and "battles" not in rioting
    apart = codes(tagger.tag("Militants executed 12 villagers near Mopti", "Militants executed 12 villagers near "
                             "Mopti on Sunday. The men were taken from their homes at dawn. Relatives buried them "
                             "the same day. The army sent troops to the area. Elsewhere, an air strike hit a depot."))
    assert {"violence_against_civilians.attack", "explosions.air_strike"} <= apart


@pytest.mark.parametrize("language, text, code, deaths", [
    ("fr", "Quinze soldats maliens ont été tués lors d'une attaque jihadiste près de Mopti. Les combats ont duré "
     "plusieurs heures.", "battles.armed_clash", 15),
    ("es", "La explosión de un carro bomba cerca de una base militar en Cali dejó dos muertos y 30 heridos.",
     "explosions.ied", 2),
    ("ru", "Два человека погибли в результате атаки украинских беспилотников на Белгород.",
     "explosions.air_strike", 2),
    ("uk", "Троє людей загинули внаслідок обстрілу Херсона, ще семеро поранені.", "explosions.shelling", None),
    ("tr", "Haseke'deki cezaevine saldıran IŞİD militanları ile SDG arasında çatışmalar sürüyor.",
     "battles.armed_clash", None),
    ("ar", "قتل 32 شخصا في تفجير انتحاري مزدوج في سوق وسط بغداد، وتبنى تنظيم داعش الهجوم.",
     "explosions.suicide_bomb", 32),
])
def test_each_language(tagger, language, text, code, deaths):
    result = tagger.tag("", text, language)
    assert result.is_conflict
    assert code in codes(result)
    if deaths is not None:
        assert killed(result) == deaths


def test_arabic_prefixes_and_turkish_sdg(tagger):
    arabic = tagger.tag("", "تتواصل الاشتباكات بين قوات سوريا الديمقراطية وعناصر تنظيم داعش في الحسكة.", "ar")
    assert "battles.armed_clash" in codes(arabic)
    assert {"Islamic State", "Syrian Democratic Forces"} <= {a["name"] for a in arabic.actors}
    turkish = tagger.tag("", "IŞİD militanları ile SDG arasında çatışmalar sürüyor.", "tr")
    assert {"Islamic State", "Syrian Democratic Forces"} <= {a["name"] for a in turkish.actors}


def test_negation_changes_the_answer(tagger):
    hedged = tagger.tag("", "Police denied rumours of an attack at the mall; no one was killed or hurt.")
    assert not hedged.is_conflict
    assert hedged.casualties["killed"] is None
    plain = tagger.tag("", "Officials said casualties were reported after the attack on the market.")
    none = tagger.tag("", "Officials said no casualties were reported after the attack on the market.")
    assert none.score < plain.score


@pytest.mark.parametrize("text, deaths", [
    ("At least 39 Kurdish security forces and at least 77 ISIS members have been killed.", 116),
    ("Thirty-two people were killed when gunmen attacked a beach.", 32),
    ("Gunmen killed two dozen villagers in the attack.", 24),
    ("Dozens of people were killed in the air strikes.", 24),
    ("Militants killed hundreds of civilians, a report found.", 200),
    ("Between 10 and 15 soldiers were killed in the ambush.", 10),
    ("The shelling killed 12 people, including five children, and wounded 30.", 12),
    ("Rebels fired 20 rockets at the town, killing two people.", 2),
    ("A soldier was killed in the clash.", 1),
    ("Five soldiers were killed on Monday. The five soldiers killed were buried in Gao.", 5),
    ("The attack in 2019 killed 4 people.", 4),
])
def test_casualty_phrasing(tagger, text, deaths):
    assert killed(tagger.tag("", text)) == deaths


@pytest.mark.parametrize("figure", [
    "99999999999999999999999",  # beyond 64 bits: the event's JSON (orjson), Avro and proto forms refuse it
    "9" * 5000,  # beyond the 4,300 digits int() converts: the tagger raised and the run stopped
    "1,000,000,000,000",
    "a million million million",
])
def test_figures_that_cannot_be_a_toll_are_not_counted(tagger, figure):
    from pipelines.messages import event_data

    result = tagger.tag("", f"At least {figure} people were killed in the attack on the market.")
    assert result.casualties["killed"] is None
    assert event_data(result.to_json())  # serializes


def test_figures_up_to_the_bound_are_counted(tagger):
    big = tagger.tag("", "At least 6,000,000 people were killed in the camps, the museum says.")
    assert killed(big) == 6_000_000


def test_injured_and_abducted_counted_apart(tagger):
    result = tagger.tag("", "Two soldiers were killed and five wounded, and gunmen abducted 17 missionaries.")
    assert killed(result) == 2
    assert result.casualties["injured"]["count"] == 5
    assert result.casualties["abducted"]["count"] == 17


def test_place_resolved_by_country_context(tagger):
    syria = tagger.tag("", "Clashes continued in Hasaka, in northeastern Syria, the SDF said.")
    assert syria.locations[0]["country_code"] == "SY"
    assert syria.locations[0]["gazetteer_id"] == "geonames:173811"
    # Tripoli is in Libya and in Lebanon: the story's country decides.
    libya = tagger.tag("", "Rival militias clashed in Tripoli, Libya's capital, the health ministry said.")
    lebanon = tagger.tag("", "Clashes broke out in Tripoli in northern Lebanon, the Lebanese army said.")
    assert (libya.locations[0]["country_code"], lebanon.locations[0]["country_code"]) == ("LY", "LB")


def test_short_alias_needs_context(tagger):
    assert "Islamic State" in {a["name"] for a in tagger.tag("", "IS militants attacked the town.").actors}
    assert "Islamic State" not in {a["name"] for a in tagger.tag("", "WHAT IS NEXT FOR THE TOWN").actors}


def test_a_monitor_quoted_is_not_an_actor(tagger):
    result = tagger.tag("", "The Syrian Observatory for Human Rights said Islamic State fighters killed five soldiers.")
    assert [a["name"] for a in result.actors] == ["Islamic State"]


def test_sentences_split_on_punctuation_and_paragraphs():
    assert split_sentences("One. Two!\nThree? “Four.” Five") == ["One.", "Two!", "Three?", "“Four.”", "Five"]


def test_a_stop_after_an_initial_does_not_end_the_sentence(tagger):
    assert split_sentences("Gunmen killed 3 in C. African Republic. U.S. forces left.") == [
        "Gunmen killed 3 in C. African Republic.", "U.S. forces left."]
    located = tagger.tag("Six killed in attack on village in C. African Republic", "")
    assert located.locations and located.locations[0]["country_code"] == "CF"


def test_term_patterns():
    assert compile_term("clash*").search("fierce clashes broke out")
    assert not compile_term("war").search("the warden said")
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


def test_actor_kind_outside_the_schema_is_refused(tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text("actors:\n  - {name: X, kind: pirates, aliases: [x]}\n")
    with pytest.raises(LexiconError, match="kind 'pirates' is not one of"):
        ActorIndex(path)


def test_tokens_keep_their_offsets_and_phrases_match_any_token_list():
    from pipelines.tagging.matcher import TOKEN, PhraseIndex, Token, tokenize

    sentences = ["Ghwayran prison in al-Hasakah, Syria.", "İstanbul'da  Straße — 39 killed"]
    offsets = [0, 40]
    tokens = tokenize(sentences, offsets)
    expected = [Token(m.group().casefold(), m.group(), offsets[n] + m.start(), offsets[n] + m.end(), n)
                for n, s in enumerate(sentences) for m in TOKEN.finditer(s)]
    assert list(tokens) == expected and tokens[-1] == expected[-1] and tokens[1:3] == expected[1:3]
    index = PhraseIndex()
    index.add("al hasakah", "town")
    index.add("straße * killed", "gap")
    assert list(index.find(tokens)) == list(index.find(expected)) == [(3, 4, "town"), (8, 10, "gap")]


def test_indexes_matched_together_find_what_each_finds_alone(monkeypatch):
    from pipelines.tagging import matcher
    from pipelines.tagging.matcher import PhraseIndex, PhraseIndexes, tokenize

    towns, terms = PhraseIndex(), PhraseIndex()
    towns.add("The Hague", "town")
    terms.add("the*", "stem")
    capital = str.istitle
    both = PhraseIndexes([(towns, capital), (terms, None)])
    tokens = tokenize(["the hague and The Hague", "killed in The Hague"])
    assert both.find(tokens) == [list(towns.find(tokens, capital)), list(terms.find(tokens))] == [
        [(3, 4, "town"), (7, 8, "town")], [(0, 0, "stem"), (3, 3, "stem"), (7, 7, "stem")]]
    # A phrase added later is found, and a memo grown past its size starts again.
    terms.add("killed", "verb")
    monkeypatch.setattr(matcher, "MEMO_SIZE", 3)
    assert both.find(tokens)[1] == [(0, 0, "stem"), (3, 3, "stem"), (5, 5, "verb"), (7, 7, "stem")]
    assert both.find(tokenize(["killed near The Hague"])) == [[(2, 3, "town")], [(0, 0, "verb"), (2, 2, "stem")]]


def test_a_stored_index_finds_what_the_index_it_was_stored_from_finds():
    # A word that starts many phrases has its candidates grouped in the stored index; a phrase added after
    # loading, and the phrases a clitic form of the word brings, are found as before.
    import pickle

    from pipelines.tagging import matcher
    from pipelines.tagging.matcher import PhraseIndex, tokenize

    towns = PhraseIndex(prefixes=("و",))
    for n in range(matcher.CROWDED):
        towns.add(f"San Town{n}", n)
    towns.add("San", "san")
    towns.add("وsan Town3", "clitic")
    tokens = tokenize(["San Town3 and San Town12 met in San", "ten in وsan Town3, San Town3 north"])
    loaded = pickle.loads(pickle.dumps(towns))
    assert list(loaded.find(tokens)) == list(towns.find(tokens)) == [
        (0, 1, 3), (0, 0, "san"), (3, 4, 12), (3, 3, "san"), (7, 7, "san"), (10, 11, "clitic"), (10, 11, 3),
        (10, 10, "san"), (12, 13, 3), (12, 12, "san")]
    loaded.add("San Town3 north", "longer")
    towns.add("San Town3 north", "longer")
    assert list(loaded.find(tokens)) == list(towns.find(tokens))
    assert (12, 14, "longer") in list(loaded.find(tokens))


def test_one_tagger_shared_by_threads_tags_as_a_private_one():
    # A worker's threads share one tagger (Beam's Shared), and its indexes learn words as they meet them:
    # threads switching as often as possible must still get what a tagger of their own gives.
    import sys
    import threading
    from pathlib import Path

    rows = [json.loads(line) for line in
            (Path(__file__).parents[1] / "bench" / "data" / "tagging-dev.jsonl").read_text().splitlines()[:80]]
    items = [(r["title"], r["text"], r["language"]) for r in rows]
    expected = [ConflictTagger().tag(*item).to_json() for item in items]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _attempt in range(8):
            shared, differing = ConflictTagger(), []

            def work(start: int, shared: ConflictTagger = shared, differing: list = differing) -> None:
                for i in [*range(start, len(items)), *range(start)]:
                    if shared.tag(*items[i]).to_json() != expected[i]:
                        differing.append(i)

            threads = [threading.Thread(target=work, args=(k * len(items) // 8,)) for k in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert differing == []
    finally:
        sys.setswitchinterval(previous)
