"""Places: the story's country, towns in other scripts and cases, and words that are not towns."""

from __future__ import annotations

import gc
import weakref

import pytest

from pipelines.tagging import ConflictTagger
from pipelines.tagging.places import Gazetteer, inflected_forms


@pytest.fixture(scope="module")
def tagger() -> ConflictTagger:
    return ConflictTagger()


def first(result) -> tuple[str, str]:
    loc = result.locations[0]
    return loc["name"], loc["country_code"]


def test_a_demonym_names_who_acts_not_where(tagger):
    # The attacker's demonym comes first, but the town and its country say where it happened.
    result = tagger.tag("Children's hospital hit", "A Russian missile strike hit a children's hospital in Kyiv.")
    assert first(result) == ("Kyiv", "UA")
    fans = tagger.tag("Violence after match", "Rioters attacked Israeli football fans in Amsterdam after a match.")
    assert first(fans)[1] == "NL"


def test_a_town_alone_is_placed_when_a_place_word_introduces_it(tagger):
    result = tagger.tag("Escape fears", "Detainees escaped during the attack on the prison in Hasaka.")
    assert first(result) == ("Al Ḩasakah", "SY")
    assert result.locations[1]["country_code"] == "SY" and result.locations[1]["lat"] is None


def test_surnames_and_capitalised_words_are_not_towns(tagger):
    assert tagger.tag("", "In Taylor's case, doctors had no clue. Taylor Swift sang.").locations == []
    assert tagger.tag("", "More deals are live, including consoles to Buy now.").locations == []


def test_a_small_town_of_another_country_is_not_taken_when_the_country_is_named(tagger):
    result = tagger.tag("Attack on Palma", "Insurgents attacked the town of Palma in Cabo Delgado, Mozambique.")
    assert {loc["country_code"] for loc in result.locations} == {"MZ"}


@pytest.mark.parametrize(("language", "title", "text", "expected"), [
    ("ru", "Обстрел Киева", "Российские войска нанесли ракетный удар по Киеву.", ("Kyiv", "UA")),
    ("uk", "Обстріл Херсона", "Троє людей загинули внаслідок обстрілу Херсона.", ("Kherson", "UA")),
    ("uk", "Дрони над Бєлгородом", "Українські дрони атакували нафтобазу у Бєлгороді.", ("Belgorod", "RU")),
    ("ru", "Взрыв в Петербурге", "В кафе в Санкт-Петербурге сработало взрывное устройство.",
     ("Saint Petersburg", "RU")),
    ("tr", "Cezaevi saldırısı", "IŞİD'in Haseke'deki cezaevine saldırısı.", ("Al Ḩasakah", "SY")),
    ("ar", "هجوم على سجن", "شن مسلحو داعش هجوما على سجن غويران في مدينة الحسكة.", ("Al Ḩasakah", "SY")),
])
def test_towns_in_other_scripts_and_cases(tagger, language, title, text, expected):
    assert first(tagger.tag(title, text, language)) == expected


def test_inflected_forms_keep_a_long_enough_stem():
    assert inflected_forms("Москва") == ["Москв*"]
    assert inflected_forms("Харків") == ["Харков*", "Харків*"]
    assert inflected_forms("Суми") == []  # "Сум*" would be сумка too
    assert inflected_forms("Kharkiv") == []


def test_cyrillic_words_that_only_start_like_a_town_are_not_it(tagger):
    result = tagger.tag("Перемирие в Карабахе", "Армения и Азербайджан договорились о прекращении огня в Нагорном "
                        "Карабахе.", "ru")
    assert all(loc["lat"] is None for loc in result.locations)
    assert first(result)[1] in {"AZ", "AM"}


def test_arabic_words_with_the_article_are_not_towns_without_it(tagger):
    # البورصة is "the stock exchange", not Bursa; الدوري "the league", not Dori.
    result = tagger.tag("البورصة تتراجع", "تراجعت البورصة وفاز الفريق في الدوري.", "ar")
    assert result.locations == []


def test_a_loaded_gazetteer_is_out_of_the_collectors_walks_and_still_freed():
    # Its hundreds of thousands of objects would otherwise be walked by the next collections, up to a full one.
    gazetteer = Gazetteer()
    city = next(iter(gazetteer.cities.values()))
    walked = {id(o) for o in gc.get_objects()}  # the objects of the collector's generations (not the frozen)
    assert id(city) not in walked and id(gazetteer.cities) not in walked and id(gazetteer) not in walked
    assert gc.is_tracked(gazetteer.cities)
    # Frozen is not immortal: without reference cycles, dropping the gazetteer frees it.
    gone = weakref.ref(gazetteer)
    del gazetteer, city
    assert gone() is None
