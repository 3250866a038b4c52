"""Convert two openly licensed labelled sets from their mirrored public repositories into evaluation JSONL.

SIB-200 (dadelani/sib-200): FLORES-200 sentences (Wikinews, Wikivoyage, Wikibooks; CC BY-SA 4.0) under one of
seven topics, the same sentence in every language. Its non-politics topics are negatives in each of the
tagger's seven languages; politics may hold war sentences, so it is kept with no conflict label (not scored).

PLOVER gold standard records (openeventdata/PLOVER; CC BY-SA 4.0): English wire sentences coded with PLOVER
event types and modes. PLOVER_MAPPING below says which are conflict news and which ACLED-style event type each
reports, with the reasons.

The mirrors are bare git directories read at HEAD; the files go to $SITREP_EVAL_DATA (default ../eval-data),
never into the repository.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagging_sets import EXTERNAL, PLOVER_FILE, SIB_LANGUAGES, sib_file

MIRRORS = Path("/work/.mirror")
SIB_MIRROR = MIRRORS / "dadelani+sib-200" / "repo"
PLOVER_MIRROR = MIRRORS / "openeventdata+PLOVER" / "repo"
SIB_PARTS = ("train", "dev", "test")
# SIB-200's topic that may report conflict; every other topic reports none.
SIB_MIXED = "politics"
PLOVER_RECORDS = "gold_standard_records/PLOVER_GSR_CAMEO.txt"

# PLOVER event (and mode) -> (is_conflict, ACLED-style event type or None). sitrep's conflict news is what ACLED
# codes as an event: battles, explosions, violence against civilians, protests, riots, strategic developments.
#  - FIGHT, ASSAULT, PROTEST are conflict in every mode (PLOVER: "deliberate actions which can potentially
#    result in substantial physical harm"; PROTEST "presumes significant physical/material activity").
#    FIGHT's heavy-weapons mode is CAMEO's artillery, tanks and aircraft: ACLED's shelling and air strikes.
#    Bombs and suicide attacks are explosions in ACLED whoever the target; ASSAULT's other modes (beatings,
#    torture, sexual violence, assassination, edged weapons) are violence against civilians. PROTEST's riot
#    modes are riots; demonstrations, strikes, hunger strikes and blockades are protests.
#  - COERCE is "repression ... falling short of violence" (manual) and is no event, except two CAMEO-era modes
#    that are violent: firearms (violent repression: police firing on demonstrators) and destroy (property
#    destroyed on purpose, ACLED's strategic development "looting/property destruction"). Its arrests,
#    seizures, curfews, bans and deportations are left unlabelled: ACLED files some under strategic
#    developments, which sitrep's own set counts as conflict, while PLOVER codes them as non-violent.
#  - MOBILIZE (troops, weapons and police put on alert) and RETREAT in a military context (withdrawals,
#    ceasefires, surrenders, demobilisation) are likewise ACLED strategic developments at most: unlabelled.
#  - THREATEN is a hard negative: force named, no attack made (ACLED codes no threats). RETREAT outside a
#    military context (resignations, opened borders) and the cooperative and verbal events are negatives.
CONFLICT_EVENTS = {"FIGHT", "ASSAULT", "PROTEST"}
EVENT_TYPES = {
    ("FIGHT", "heavy-weapons"): "explosions",
    ("FIGHT", "explosives"): "explosions",
    ("FIGHT", "firearms"): "battles",
    ("ASSAULT", "explosives"): "explosions",
    ("ASSAULT", "suicide-attack"): "explosions",
    ("ASSAULT", "primitive"): "violence_against_civilians",
    ("ASSAULT", "beat"): "violence_against_civilians",
    ("ASSAULT", "torture"): "violence_against_civilians",
    ("ASSAULT", "sexual"): "violence_against_civilians",
    ("ASSAULT", "assassinate"): "violence_against_civilians",
    ("PROTEST", "riot"): "riots",
    ("PROTEST", "riot-spon"): "riots",
    ("COERCE", "firearms"): "violence_against_civilians",
    ("COERCE", "destroy"): "strategic_developments",
}
PROTEST_TYPE = "protests"  # every PROTEST mode but the riots
COERCE_VIOLENT = {"firearms", "destroy"}
UNLABELLED_EVENTS = {"MOBILIZE"}
NEGATIVE_EVENTS = {"AGREE", "AID", "CONSULT", "COOPERATE", "CONCEDE", "DEMAND", "DISAPPROVE", "REJECT",
                   "SUPPORT", "INVESTIGATE", "SANCTION", "THREATEN", "ACCUSE", "REQUEST", "RETREAT"}


def _git(mirror: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], check=True, capture_output=True,
                          text=True).stdout


def _commit(mirror: Path) -> str:
    return _git(mirror, "rev-parse", "HEAD").strip()


def sib_rows(mirror: Path, folder: str, language: str) -> Iterator[dict]:
    """One language's SIB-200 sentences (all three of its splits) as evaluation rows."""
    for part in SIB_PARTS:
        table = csv.DictReader(io.StringIO(_git(mirror, "show", f"HEAD:data/annotated/{folder}/{part}.tsv")),
                               delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in table:
            category = row["category"]
            # The id is the sentence's, the same in every language, so the dev/holdout cut keeps a sentence on
            # one side everywhere.
            yield {"id": f"sib-{row['index_id']}", "language": language, "text": row["text"],
                   "is_conflict": None if category == SIB_MIXED else False, "label": category, "topics": None,
                   "sib_split": part}


def plover_label(event: str, mode: str, context: str) -> tuple[bool | None, str | None]:
    """Whether a PLOVER record reports conflict news (None: not labelled), and its ACLED-style event type."""
    if event in CONFLICT_EVENTS:
        default = PROTEST_TYPE if event == "PROTEST" else None
        return True, EVENT_TYPES.get((event, mode), default)
    if event == "COERCE":
        return (True, EVENT_TYPES[(event, mode)]) if mode in COERCE_VIOLENT else (None, None)
    if event in UNLABELLED_EVENTS or (event == "RETREAT" and "military" in context):
        return None, None
    if event in NEGATIVE_EVENTS:
        return False, None
    raise ValueError(f"PLOVER event {event!r} has no mapping")


def plover_rows(records: Iterable[dict]) -> list[dict]:
    """The coded sentences as rows, one per distinct text: a sentence coded twice (as ASSAULT and COERCE, say)
    is conflict if either code is, with the event types of both."""
    by_text: dict[str, dict] = {}
    used: set[str] = set()
    for record in records:
        text = (record.get("text") or "").strip()
        event = record.get("event") or ""
        if not text or event == "DOCUMENT":
            continue
        mode, context = record.get("mode") or "", record.get("context") or ""
        is_conflict, event_type = plover_label(event, mode, context)
        label = f"{event}.{mode}" if mode else event
        row = by_text.get(text)
        if row is None:
            # The file repeats one id for two sentences; the second gets its text's checksum.
            rid = str(record["id"])
            if rid in used:
                rid = f"{rid}-{zlib.crc32(text.encode()):08x}"
            used.add(rid)
            row = by_text[text] = {"id": rid, "language": "en", "text": text, "is_conflict": is_conflict,
                                   "label": label, "topics": [], "plover_events": []}
        else:
            row["label"] = f"{row['label']}+{label}"
            # Conflict wins over a negative, and any label over none.
            row["is_conflict"] = max((row["is_conflict"], is_conflict), key=_LABEL_RANK.__getitem__)
        row["plover_events"].append(label)
        if event_type and event_type not in row["topics"]:
            row["topics"].append(event_type)
    for row in by_text.values():
        row["topics"] = row["topics"] or None
    return list(by_text.values())


_LABEL_RANK = {None: 0, False: 1, True: 2}


def _write(path: Path, rows: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sib", type=Path, default=SIB_MIRROR, help="bare git dir of dadelani/sib-200")
    parser.add_argument("--plover", type=Path, default=PLOVER_MIRROR, help="bare git dir of openeventdata/PLOVER")
    parser.add_argument("--out", type=Path, default=EXTERNAL, help=f"output folder (default: {EXTERNAL})")
    args = parser.parse_args(argv)
    for mirror in (args.sib, args.plover):
        if not mirror.is_dir():
            print(f"error: no mirror at {mirror}", file=sys.stderr)
            return 2

    print(f"source: github.com/dadelani/sib-200 @ {_commit(args.sib)} (sentences of FLORES-200, CC BY-SA 4.0;"
          " the repository's LICENSE file is Apache-2.0)")
    for language, folder in SIB_LANGUAGES.items():
        path = sib_file(language, args.out)
        n = _write(path, sib_rows(args.sib, folder, language))
        print(f"  {path}: {n} rows")

    print(f"source: github.com/openeventdata/PLOVER @ {_commit(args.plover)} ({PLOVER_RECORDS}, CC BY-SA 4.0)")
    records = json.loads(_git(args.plover, "show", f"HEAD:{PLOVER_RECORDS}"))
    path = PLOVER_FILE if args.out == EXTERNAL else args.out / PLOVER_FILE.name
    n = _write(path, plover_rows(records))
    print(f"  {path}: {n} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
