"""Casualties of the event an article reports: the lead's figures, one victim as one, background tolls left out."""

from __future__ import annotations

import pytest

from pipelines.tagging import ConflictTagger


@pytest.fixture(scope="module")
def tagger() -> ConflictTagger:
    return ConflictTagger()


def count(result, kind: str = "killed") -> int | None:
    block = result.casualties[kind]
    return block["count"] if block else None


@pytest.mark.parametrize("text, deaths", [
    ("Gunmen killed 3 people at a checkpoint on the main road.", 3),
    ("A man was shot dead in a drive-by shooting in the city centre on Tuesday.", 1),
    ("The body of a man was found with gunshot wounds near the river, police said.", 1),
    ("Unknown attackers shot dead a taxi driver in the market overnight.", 1),
    ("Police said a man died after being shot in the head.", 1),
    ("Gunmen killed a police officer and two civilians at a checkpoint.", 3),
    ("Clashes between the two sides left 23 civilians, including nine children, dead.", 23),
    ("Three children were among five people killed when a mortar shell hit their home.", 5),
    ("Three children among 10 killed in attack on convoy, aid group says.", 10),
    ("Twelve people were killed, among them five children.", 12),
    ("Police said the man, 35, died at the scene after being shot several times.", 1),
    ("A woman and her two children were killed in an air strike on their home.", 3),
    ("A teenager was stabbed to death in a park.", 1),
    ("The death toll from the bombing rose to 45.", 45),
    ("A roadside bomb killed a soldier and wounded two others in the north.", 1),
    ("6 October 2016: eight people were killed in rocket attacks on the city.", 8),
    ("Sun Sep 4 2016 Army kills five militants in Daraa province.", 5),
    ("12-03-2015 Three soldiers killed in a mortar attack on a checkpoint.", 3),
    ("Shelling of the neighbourhood killed more than 30 people on August 21, medics said.", 30),
    ("In the attack 12 of the 30 trucks were destroyed and nine drivers were killed.", 9),
    ("The blast killed at least 12 and wounded 30 at the bus station.", 12),
    ("Seven civilians were martyred as militants shelled the neighbourhood.", 7),
])
def test_short_reports(tagger, text, deaths):
    assert count(tagger.tag("", text)) == deaths


def test_killed_and_injured_side_by_side_in_a_headline(tagger):
    result = tagger.tag("Rocket attacks on a neighbourhood kill 10 civilians, injure 16", "")
    assert count(result) == 10
    assert count(result, "injured") == 16


@pytest.mark.parametrize("text", [
    "Police denied rumours of an attack at the mall; no one was killed or hurt.",
    "Not one of the passengers was hurt when the shell hit the bus station.",
])
def test_no_one_hurt_counts_nobody(tagger, text):
    assert tagger.tag("", text).casualties == {"killed": None, "injured": None, "abducted": None}


def test_one_victim_without_a_count_gives_no_injured_for_his_wounds(tagger):
    result = tagger.tag("", "The body of a man was found with gunshot wounds near the river, police said.")
    assert count(result, "injured") is None


@pytest.mark.parametrize("title, text, deaths", [
    ("Air strike kills seven in Idlib",
     "An air strike on a market killed seven people in Idlib on Monday, a monitor said. "
     "The war has killed more than 280,000 people since it began in 2011.", 7),
    ("", "More than 330,000 people have been killed in Syria since the conflict began with protests in 2011. "
         "On Sunday a suicide bomber killed one person near the police headquarters.", 1),
    ("", "Clashes between rebels and the army killed 12 fighters on Sunday. "
         "Fighting in the province has killed more than 500 people so far this year.", 12),
    ("Suicide bomber kills six in restaurant",
     "A suicide bomber killed six people at a restaurant in the old city. "
     "Last month a similar attack on a cafe killed 20 people.", 6),
    ("", "Four medics were killed when an air strike hit a clinic near the city, days after dozens of aid "
         "workers were killed in an attack on a convoy.", 4),
    ("", "Two people were killed by rebel shelling on the capital on Tuesday. Two days ago the same district was "
         "shelled, leaving 14 dead.", 2),
    ("", "The fighting in the city has killed at least 130 civilians since the end of July.", None),
    ("", "The conflict, now in its sixth year, has claimed an estimated 400,000 lives.", None),
])
def test_background_tolls_are_not_the_event(tagger, title, text, deaths):
    assert count(tagger.tag(title, text)) == deaths


def test_a_figure_repeated_across_paragraphs_counts_once(tagger):
    result = tagger.tag("Seven dead, 20 wounded in blast in central Damascus",
                        "A car bomb killed seven people and wounded 20 in central Damascus on Thursday. "
                        "The seven dead included a child, state media said.\n"
                        "Police said the 20 wounded were taken to hospital, and seven people died.")
    assert count(result) == 7
    assert count(result, "injured") == 20


def test_the_headline_and_lead_decide_between_figures(tagger):
    result = tagger.tag("Two civilians killed, nine injured in attack in Aleppo",
                        "Two civilians were killed and nine injured when rockets hit a neighbourhood. "
                        "Last week an attack on the same area left more than 14 dead.")
    assert count(result) == 2
    assert count(result, "injured") == 9


def test_a_precise_figure_replaces_a_vague_one(tagger):
    result = tagger.tag("Dozens killed as air strikes hit a town",
                        "Air strikes on a town in the north-west killed at least 12 people on Tuesday.")
    assert count(result) == 12


def test_a_vague_figure_alone_counts_as_its_smallest_reading(tagger):
    assert count(tagger.tag("", "Dozens of people were killed in the air strikes on the town.")) == 24


def test_wounded_and_abducted_in_one_sentence(tagger):
    result = tagger.tag("Gunmen kill at least 14 villagers",
                        "Gunmen killed at least 14 villagers. Several people were wounded and at least six "
                        "others were abducted.")
    assert count(result) == 14
    assert count(result, "abducted") == 6
    assert count(result, "injured") is None


def test_arrests_are_not_injuries(tagger):
    result = tagger.tag("Thousands protest over fuel prices",
                        "The ministry said 40 people had been arrested and 12 police officers injured in the "
                        "clashes. Rights groups said dozens of demonstrators had also been wounded.")
    assert count(result, "injured") == 12
    assert count(result) is None


def test_later_groups_are_not_added_to_the_lead(tagger):
    result = tagger.tag("Air strikes kill 50 civilians in Aleppo",
                        "Air strikes killed at least 50 civilians in eastern Aleppo on Sunday, a monitor said. "
                        "Another 27 people were killed in raids on towns in the west of the province.")
    assert count(result) == 50


@pytest.mark.parametrize("language, text, deaths", [
    ("fr", "Une frappe aérienne a tué sept civils lundi près d'Idlib. La guerre a fait plus de 280.000 morts "
           "depuis 2011.", 7),
    ("es", "Cinco soldados murieron el lunes en una emboscada. El conflicto ha dejado más de 300.000 muertos "
           "desde 2011.", 5),
    ("ru", "Пять человек погибли в результате обстрела в понедельник. С начала войны погибли более 10.000 "
           "человек.", 5),
    ("uk", "Семеро людей загинули внаслідок обстрілу в понеділок. З початку війни загинули понад 10.000 "
           "людей.", 7),
    ("tr", "Pazartesi günü düzenlenen saldırıda beş asker öldü. Savaş başladığından beri 10.000 kişi öldü.", 5),
    ("ar", "قتل خمسة جنود في هجوم يوم الاثنين. ومنذ بداية الحرب قتل أكثر من 300000 شخص.", 5),
])
def test_background_tolls_in_other_languages(tagger, language, text, deaths):
    assert count(tagger.tag("", text, language)) == deaths


@pytest.mark.parametrize("language, text, deaths", [
    ("fr", "Depuis 2011, la guerre a fait plus de 280.000 morts. Lundi, une frappe aérienne a tué sept civils.", 7),
    ("es", "Desde 2011 el conflicto ha dejado más de 300.000 muertos. El lunes murieron cinco soldados.", 5),
    ("ru", "С начала войны погибли более 10.000 человек. В понедельник пять человек погибли при обстреле.", 5),
    ("uk", "З початку війни загинули понад 10.000 людей. У понеділок семеро людей загинули під час обстрілу.", 7),
    ("tr", "Savaş başladığından beri 10.000 kişi öldü. Pazartesi günkü saldırıda beş asker öldü.", 5),
    ("ar", "ومنذ بداية الحرب قتل أكثر من 300000 شخص. وقتل خمسة جنود في هجوم يوم الاثنين.", 5),
])
def test_a_war_total_first_is_still_not_the_event(tagger, language, text, deaths):
    assert count(tagger.tag("", text, language)) == deaths


@pytest.mark.parametrize("language, title, text, deaths", [
    ("en", "Market attack kills 14", "Gunmen killed at least 14 people at a market on Monday, officials said. "
           "Update: the toll has risen to at least 120 people killed, a local official said on Tuesday.", 120),
    ("en", "Car bomb kills 9 in Mogadishu", "A car bomb killed nine people near a hotel in Mogadishu. "
           "The death toll later climbed to 23, hospital officials said.", 23),
    ("en", "Strike kills 30", "An air strike killed 30 people. Officials later revised the number of dead to 27.",
     27),
    ("fr", "Attentat à Bamako", "Une explosion a tué 12 personnes à Bamako lundi. Le bilan s'est alourdi à 31 "
           "morts mardi, selon une source hospitalière.", 31),
    ("es", "Ataque en Cauca", "Un ataque con explosivos dejó cinco muertos el lunes. La cifra de muertos se "
           "elevó a ocho el martes.", 8),
    ("ru", "Обстрел Донецка", "При обстреле погибли пять человек. Позже число погибших возросло до 9.", 9),
])
def test_an_update_of_the_toll_replaces_the_lead(tagger, language, title, text, deaths):
    result = tagger.tag(title, text, language)
    assert count(result) == deaths
    # The evidence is the sentence that updates it.
    update = text.split(". ", 1)[1]
    assert result.casualties["killed"]["evidence"][0] == update


@pytest.mark.parametrize("text, deaths", [
    # an earlier incident's toll that rose
    ("Air strikes killed at least 50 civilians in eastern Aleppo on Sunday, a monitor said. "
     "Last month the toll of a similar raid rose to 80.", 50),
    # a page's "updated" time stamp and words of an update that name no toll
    ("(updated 1601 10.10.2017) Air strikes killed at least 50 civilians in eastern Aleppo on Sunday. "
     "An updated list named 2 of the dead.", 50),
    ("Air strikes killed at least 50 civilians in eastern Aleppo on Sunday. Rescuers reached the site where 3 "
     "bodies lay.", 50),
])
def test_a_later_toll_that_is_no_update_keeps_the_lead(tagger, text, deaths):
    assert count(tagger.tag("Air strikes kill 50 civilians in Aleppo", text)) == deaths


def test_an_update_counts_its_new_toll_not_the_one_it_replaces(tagger):
    result = tagger.tag("Blast kills 14", "A blast killed 14 people. The toll rose to 50 on Tuesday from 14.")
    assert count(result) == 50
