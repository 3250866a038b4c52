"""The labelled sets the tagger is measured on, each split the same way every time into parts.

Every set but the project's own comes from ../shared/data/tagging-real or, converted by bench/get_eval_sets.py from
public repositories, from EXTERNAL (labelled by others). Each is cut by a
stable hash into a development part, which settings may be chosen on, and a holdout part, which stays untouched
until an issue is closed and is reported apart. The WCEP items, the one set licensed for training, also give a
training part; they are cut by month, so the many items about one event in the same weeks fall on one side.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OWN_SET = HERE / "data" / "tagging-dev.jsonl"
REAL = HERE.parent.parent / "shared" / "data" / "tagging-real"
# Openly licensed sets fetched from their public repositories and converted by bench/get_*.py; outside the repo
# (the project ships none of them), so a clean clone skips them with a reason.
EXTERNAL = Path(os.environ.get("SITREP_EVAL_DATA", HERE.parent.parent / "eval-data"))
PARTS = ("train", "dev", "holdout")
# SIB-200's folder for each language the tagger claims (bench/get_eval_sets.py writes one file per language).
SIB_LANGUAGES = {"en": "eng_Latn", "fr": "fra_Latn", "es": "spa_Latn", "ru": "rus_Cyrl", "uk": "ukr_Cyrl",
                 "tr": "tur_Latn", "ar": "arb_Arab"}
PLOVER_FILE = EXTERNAL / "plover-gsr-en.jsonl"


def sib_file(language: str, folder: Path = EXTERNAL) -> Path:
    return folder / f"sib-200-{language}.jsonl"


# FA-KES's cause of death as the ACLED event type it is coded under; shootings are battles or attacks on
# civilians depending on who shot, which the set does not say, and unknown causes say nothing.
FAKES_CAUSE_TYPES = {
    "shelling": "explosions",
    "explosion": "explosions",
    "chemical and toxic gases": "explosions",
    "execution": "violence_against_civilians",
}
# FA-KES's governorates as geonames admin1 codes of Syria; its "damascus" takes in the countryside around it.
FAKES_GOVERNORATES = {
    "hasakeh": {"SY.01"}, "lattakia": {"SY.02"}, "quneitra": {"SY.03"}, "raqqa": {"SY.04"}, "daraa": {"SY.06"},
    "deir ezzor": {"SY.07"}, "aleppo": {"SY.09"}, "hama": {"SY.10"}, "homs": {"SY.11"}, "idlib": {"SY.12"},
    "damascus": {"SY.08", "SY.13"},
}


@dataclass(frozen=True)
class LabelledSet:
    """One labelled file and how its rows are cut into parts."""

    name: str
    path: Path
    source: str
    trainable: bool = False
    # A set written here is not split: all of it is the regression test.
    split: bool = True

    def part_of(self, row: dict) -> str:
        if not self.split:
            return "dev"
        if self.trainable:
            # By month: 60% training, 20% development (calibration is fitted there), 20% holdout.
            bucket = zlib.crc32(str(row.get("date", ""))[:7].encode()) % 100
            return "train" if bucket < 60 else "dev" if bucket < 80 else "holdout"
        bucket = zlib.crc32(str(row["id"]).encode()) % 100
        return "dev" if bucket < 50 else "holdout"

    def available(self) -> bool:
        return self.path.is_file()

    def rows(self, parts: tuple[str, ...] = ("dev",)) -> Iterator[dict]:
        """The rows of the given parts that carry a conflict label (WCEP's other headings have none)."""
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                if row.get("is_conflict") is None or self.part_of(row) not in parts:
                    continue
                yield _normalised(self.name, row)


def _normalised(name: str, row: dict) -> dict:
    """A row with the fields the evaluation reads: is_conflict, topics, country, admin1, fatalities."""
    if name == "fakes-syria":
        cause = FAKES_CAUSE_TYPES.get(row.get("cause_of_death", ""))
        row = {**row, "topics": [cause] if cause else None, "fatalities": row.get("killed"),
               "admin1": sorted(FAKES_GOVERNORATES.get(row.get("governorate", ""), ()))}
    return row


SETS = (
    LabelledSet("own", OWN_SET, "written by this project: a regression test, not the measure",
                split=False),
    LabelledSet("wcep-en", REAL / "wcep-en.jsonl",
                "Wikipedia Current Events Portal items under their editors' headings (CC BY-SA 4.0)", trainable=True),
    LabelledSet("fakes-syria", REAL / "fakes-syria-dev.jsonl",
                "FA-KES full articles on the war in Syria, crowd-coded (CC BY 4.0)"),
    LabelledSet("arabic-assault", REAL / "arabic-assault-dev.jsonl",
                "Arabic newswire sentences judged by three annotators (openeventdata/arabic_event_gsr, MIT)"),
    LabelledSet("asnd-arabic", REAL / "asnd-arabic-dev.jsonl",
                "Arabic news posts by class (ASND, evaluation only)"),
    # Non-conflict topics of the same sentences in seven languages: the false positive rate per language.
    *(LabelledSet(f"sib-{language}", sib_file(language),
                  "SIB-200 topic-labelled FLORES-200 sentences, non-politics topics as negatives (CC BY-SA 4.0)")
      for language in SIB_LANGUAGES),
    LabelledSet("plover-gsr", PLOVER_FILE,
                "PLOVER gold standard wire sentences by event type, mapped in bench/get_eval_sets.py (CC BY-SA 4.0)"),
    LabelledSet("ucdp-ged", EXTERNAL / "ucdp-ged.jsonl",
                "UCDP GED 23.1 events in the Central African Republic by their cited headlines (evaluation only)"),
)


def labelled_set(name: str) -> LabelledSet:
    for labelled in SETS:
        if labelled.name == name:
            return labelled
    raise KeyError(f"no labelled set {name!r} (sets: {', '.join(s.name for s in SETS)})")
