"""Writes the Flex Template metadata files from the pipeline's own options, so they cannot drift.

    .venv/bin/python deploy/dataflow/make_metadata.py          # rewrite metadata-*.json
    .venv/bin/python deploy/dataflow/make_metadata.py --check  # exit 1 if they are stale (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.beam.options import STREAM_SITREP_OPTIONS, SitrepOptions, StreamOptions, option_names, parse_bool
from schemas.generated import write_or_check

HERE = Path(__file__).resolve().parent

# Options that make no sense for a template job (they name local-only conveniences).
NOT_TEMPLATE_PARAMETERS = {"sample", "replay"}

TEMPLATES = {
    "metadata-batch.json": {
        "name": "sitrep batch run",
        "description": "Poll news feeds, fetch and extract articles, deduplicate, tag conflict topics and write "
        "schema-v1 events (files and/or Pub/Sub). Schedule it every 15 minutes with Cloud Scheduler.",
        "options": [(SitrepOptions, None)],
        "required": {"out"},
    },
    "metadata-stream.json": {
        "name": "sitrep streaming job",
        "description": "Poll news feeds on a period, publish each new article's schema-v1 event to a Pub/Sub topic "
        "once (keyed-state deduplication), dead letters to an optional dead-letter topic. Runs until drained.",
        # --duration bounds a local run; a template job runs until it is drained or cancelled.
        "options": [(SitrepOptions, STREAM_SITREP_OPTIONS), (StreamOptions, None)],
        "required": {"feeds", "pubsub_topic"},
        "exclude": {"duration"},
    },
}


def _parameter(dest: str, action: argparse.Action, required: set[str]) -> dict:
    help_text = (action.help or dest).replace("%%", "%")
    parameter = {
        "name": dest,
        "label": dest.replace("_", " ").capitalize(),
        "helpText": help_text,
        "isOptional": dest not in required,
    }
    if action.type is parse_bool:
        parameter["regexes"] = ["^(true|false)$"]
    elif action.type in (int, float):
        parameter["regexes"] = ["^[0-9]+(\\.[0-9]+)?$"]
    return parameter


def template_options(spec: dict) -> dict[str, argparse.Action]:
    """The template's parameters by name: each options class's, narrowed to the names given beside it."""
    actions: dict[str, argparse.Action] = {}
    for options_class, only in spec["options"]:
        for dest, action in option_names(options_class).items():
            if (only is None or dest in only) and dest not in NOT_TEMPLATE_PARAMETERS | spec.get("exclude", set()):
                actions[dest] = action
    return actions


def render(spec: dict) -> dict:
    return {
        "name": spec["name"],
        "description": spec["description"],
        "parameters": [_parameter(dest, a, spec["required"]) for dest, a in template_options(spec).items()],
    }


def main(argv: list[str]) -> int:
    files = {HERE / name: json.dumps(render(spec), indent=2, ensure_ascii=False) + "\n"
             for name, spec in TEMPLATES.items()}
    return write_or_check(files, "--check" in argv, "template metadata", "deploy/dataflow/make_metadata.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
