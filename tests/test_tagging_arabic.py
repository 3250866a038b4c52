"""Arabic folding and event reporting: the forms newswire writes match the lexicon's base forms, and violence
words without a reported event stay weaker evidence than a report of one."""

import pickle

import pytest

from pipelines.tagging import ConflictTagger
from pipelines.tagging.arabic import ArabicStemmer, fold_phrase, normalise, splits, stemmer_for, term_stem
from pipelines.tagging.events import event_score, reports_event
from pipelines.tagging.lexicon import LexiconError, load_lexicon, load_taxonomy


@pytest.fixture(scope="module")
def tagger():
    return ConflictTagger(rules_only=True)


def codes(result):
    return {t["code"] for t in result.topics}


def test_normalise_spellings_that_writers_interchange():
    assert normalise("إطلاق") == normalise("اطلاق") == "اطلاق"
    assert normalise("قتلى") == "قتلي"
    assert normalise("غارة") == "غاره"
    # Tatweel and short vowels are not letters of the word.
    assert normalise("قـــصف") == normalise("قَصْف") == "قصف"


def test_splits_strip_clitics_and_endings_least_first():
    stems = splits(normalise("بطائرات"))
    assert "طائره" in stems  # "ب" before, the plural "ات" in place of the ta marbuta
    assert stems.index("بطائرات") < stems.index("طائره")
    assert "قصف" in splits("وتقصف")
    # An imperfect's person marker stands for the alef of a derived verb's past.
    assert "استهدف" in splits("يستهدفون")
    assert "انفجر" in splits("ينفجر")


def test_the_stemmer_prefers_a_known_stem_and_keeps_words_that_are_words():
    stemmer = stemmer_for(fold_phrase(p) for p in ["وقف إطلاق النار", "قصف", "طائرة مسيرة", "قتل*"])
    assert stemmer.fold("ووقف") == "وقف"  # not "و" + "قف"
    assert stemmer.fold("يقصف") == stemmer.fold("بالقصف") == "قصف"
    assert stemmer.fold("بطائرات") == "طائره"
    assert stemmer.fold("وقتلوا").startswith("قتل")
    # Unknown words keep all but their surest clitics.
    assert stemmer.fold("والمدارس") == "مدارس"


def test_term_stems_drop_the_article_only():
    assert term_stem("الجيش") == "جيش"
    assert term_stem("الشرطة") == "شرطه"
    assert fold_phrase("أطلق* النار") == "اطلق* نار"


def test_the_stemmer_pickles_without_its_memo():
    stemmer = ArabicStemmer({"قصف"}, {"قتل"})
    stemmer.fold("يقصف")
    copy = pickle.loads(pickle.dumps(stemmer))
    assert copy.fold("تقصف") == "قصف"


def test_a_trigger_needs_a_target_or_a_casualty_near_it():
    trigger = [(0, 3, 3)]
    assert reports_event(trigger, [(0, 5, 5)], [], [])
    assert not reports_event(trigger, [(0, 3, 3)], [], [])  # the trigger is not its own target
    assert not reports_event(trigger, [(1, 4, 4)], [], [])  # another sentence
    assert not reports_event(trigger, [(0, 30, 30)], [], [])  # another clause of a long sentence
    assert reports_event(trigger, [], [(0, 10, 10)], [])
    assert not reports_event(trigger, [(0, 5, 5)], [], [0])  # a threat, a plot, a trial


def test_event_score_lifts_a_report_and_lowers_loose_words():
    assert event_score(0.5, True) > 0.5 > event_score(0.5, False)
    assert event_score(0.0, False) == 0.0


@pytest.mark.parametrize("text, code", [
    ("قصفت طائرات حربية بلدة في ريف إدلب صباح اليوم ما أسفر عن مقتل خمسة مدنيين.", "explosions.air_strike"),
    ("وقتل جنديان بطائرات مسيرة استهدفت دورية للجيش قرب الحدود.", "explosions.air_strike"),
    ("والمدفعية تقصف القرى الواقعة على خط التماس منذ فجر الأربعاء، وأصيب ثلاثة أشخاص بجروح.",
     "explosions.shelling"),
    ("وفجر انتحاري نفسه وسط تجمع للمصلين أمام مسجد في المدينة، ما أدى إلى مقتل عشرة أشخاص.",
     "explosions.suicide_bomb"),
])
def test_reports_told_with_clitics_and_verbs_are_conflict(tagger, text, code):
    result = tagger.tag("", text, "ar")
    assert result.is_conflict
    assert code in codes(result)


@pytest.mark.parametrize("text", [
    "هدد زعيم الجماعة بشن هجمات على المدن الكبرى إذا لم تنسحب القوات.",
    "وقضت المحكمة بسجن ثلاثة متهمين بالتخطيط لتفجير سيارة مفخخة أمام السفارة.",
    "يرى خبراء أن الحرب الطويلة أنهكت الاقتصاد وأن السلام يحتاج إلى سنوات.",
])
def test_violence_told_without_an_event_is_not_conflict(tagger, text):
    assert not tagger.tag("", text, "ar").is_conflict


def test_a_report_outscores_the_same_words_under_a_threat(tagger):
    report = tagger.tag("", "استهدف مسلحون حافلة للركاب بعبوة ناسفة وقتلوا أربعة أشخاص.", "ar")
    threat = tagger.tag("", "هدد مسلحون باستهداف حافلات الركاب بعبوات ناسفة وقتل من فيها.", "ar")
    assert report.is_conflict
    assert report.score > threat.score


def test_sports_news_with_attack_words_is_not_conflict(tagger):
    text = "سجل مهاجم المنتخب هدفين في مباراة الدوري وقاد هجوما قويا أمام حارس النادي في البطولة."
    assert not tagger.tag("", text, "ar").is_conflict


def test_a_lexicon_naming_an_unknown_stemmer_is_refused(tmp_path):
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nstemmer: porter\nrelevance:\n  - {term: war, weight: 0.3}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="stemmer 'porter'"):
        load_lexicon(path, load_taxonomy())


def test_negated_triggers_report_no_event(tagger):
    told = tagger.tag("", "قتل مسلحون ثلاثة جنود في هجوم على حاجز.", "ar")
    denied = tagger.tag("", "لم يقتل مسلحون أحدا في الحاجز.", "ar")
    assert told.score > denied.score


def test_vowel_marks_stay_on_their_word(tagger):
    marked = tagger.tag("", "قَصَفَتْ طائراتٌ حربيّةٌ بلدةً في ريف إدلب وقُتِلَ خمسةُ مدنيين.", "ar")
    assert marked.is_conflict
    assert "explosions.air_strike" in codes(marked)
