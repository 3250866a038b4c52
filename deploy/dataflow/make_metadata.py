"""Writes the Flex Template metadata files from the pipeline's own options, so they cannot drift.

    .venv/bin/python deploy/dataflow/make_metadata.py          # rewrite metadata-*.json
    .venv/bin/python deploy/dataflow/make_metadata.py --check  # exit 1 if they are stale (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.options import SitrepOptions, option_names, parse_bool

HERE = Path(__file__).resolve().parent

# Options that make no sense for a template job (they name local-only conveniences).
NOT_TEMPLATE_PARAMETERS = {"sample", "replay"}

TEMPLATES = {
    "metadata-batch.json": {
        "name": "sitrep batch run",
        "description": "Poll news feeds, fetch and extract articles, deduplicate, tag conflict topics and write "
        "schema-v1 events (files and/or Pub/Sub). Schedule it every 15 minutes with Cloud Scheduler.",
        "options": SitrepOptions,
    },
}


def _parameter(dest: str, action: argparse.Action) -> dict:
    help_text = (action.help or dest).replace("%%", "%")
    parameter = {
        "name": dest,
        "label": dest.replace("_", " ").capitalize(),
        "helpText": help_text,
        "isOptional": dest not in ("out",),
    }
    if action.type is parse_bool:
        parameter["regexes"] = ["^(true|false)$"]
    elif action.type in (int, float):
        parameter["regexes"] = ["^[0-9]+(\\.[0-9]+)?$"]
    return parameter


def render(spec: dict) -> dict:
    actions = option_names(spec["options"])
    return {
        "name": spec["name"],
        "description": spec["description"],
        "parameters": [_parameter(dest, a) for dest, a in actions.items() if dest not in NOT_TEMPLATE_PARAMETERS],
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for filename, spec in TEMPLATES.items():
        text = json.dumps(render(spec), indent=2, ensure_ascii=False) + "\n"
        path = HERE / filename
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(filename)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale template metadata: {', '.join(stale)}; run deploy/dataflow/make_metadata.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
