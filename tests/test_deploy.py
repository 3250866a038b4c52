"""Deployment artefacts stay true: template parameters are the pipeline's options; packages carry the data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipelines.beam.options import SitrepOptions, StreamOptions, option_names

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = (
    "schemas/event-v1.schema.json",
    "schemas/event-v1.proto",
    "schemas/event-v1.avsc",
    "schemas/taxonomy-v1.yaml",
    "schemas/lexicons/en.yaml",
    "connectors/sources/world.yaml",
    "pipelines/sample/feeds.yaml",
    "pipelines/sample/manifest.json",
)


def test_template_metadata_matches_the_options():
    done = subprocess.run([sys.executable, str(ROOT / "deploy/dataflow/make_metadata.py"), "--check"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's options
    assert done.returncode == 0, done.stderr
    metadata = json.loads((ROOT / "deploy/dataflow/metadata-batch.json").read_text())
    names = {p["name"] for p in metadata["parameters"]}
    assert names == set(option_names(SitrepOptions)) - {"sample", "replay"}
    assert all(p["helpText"] for p in metadata["parameters"])

    stream = json.loads((ROOT / "deploy/dataflow/metadata-stream.json").read_text())
    names = {p["name"]: p for p in stream["parameters"]}
    # every streaming option but the local run's bound, and the feeds, fetch and Pub/Sub ones of `sitrep run`
    assert set(option_names(StreamOptions)) - {"duration"} <= set(names)
    assert {"feeds", "pubsub_topic", "ordering_key", "allow_hosts", "only_conflict"} <= set(names)
    assert not {"out", "state", "input", "sample", "replay", "sinks", "duration"} & set(names)
    assert set(names) <= set(option_names(StreamOptions)) | set(option_names(SitrepOptions))
    assert [n for n, p in names.items() if not p["isOptional"]] == ["feeds", "pubsub_topic"]
    assert names["poll_interval"]["regexes"] and names["dead_letter_topic"]["helpText"]


def test_stream_options_take_the_names_templates_pass():
    """A Flex Template passes --poll_interval=60 (parameter names are dests): the streaming options accept it."""
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(["--poll_interval=60", "--dead_letter_topic=projects/p-123456/topics/dead",
                               "--dedup_expiry_hours=1"]).view_as(StreamOptions)
    assert (options.poll_interval, options.dead_letter_topic, options.dedup_expiry_hours) == (
        60.0, "projects/p-123456/topics/dead", 1.0)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return out


def test_wheel_carries_schema_taxonomy_lexicons_and_sample(built):
    wheel = next(built.glob("sitrep-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in DATA_FILES:
        assert data in names, f"{data} missing from {wheel.name}"
    assert any(n.startswith("pipelines/sample/pages/") and n.endswith(".html") for n in names)


def test_sdist_for_setup_file_carries_the_data(built):
    sdist = next(built.glob("sitrep-*.tar.gz"))
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for data in DATA_FILES:
        assert data in names, f"{data} missing from {sdist.name}"


def test_template_launch_path_commits_state_inside_the_pipeline(tmp_path):
    """A Flex Template launcher returns without waiting (run(wait=False)), so the job itself must publish its
    state once its sinks committed: a second run over the same state then emits nothing new."""
    from connectors.state import StateLog
    from pipelines.beam.batch import run

    state = tmp_path / "state"
    submitted = run(["--sample", "--out", str(tmp_path / "a"), "--state", str(state)], wait=False)
    assert submitted["submitted"] is True
    # the DirectRunner runs to the end before run() returns; nothing outside the pipeline committed
    assert StateLog(str(state), "dedup").segment_paths()
    again = run(["--sample", "--out", str(tmp_path / "b"), "--state", str(state)])
    assert again["counts"]["events_written"] == 0
    assert again["counts"]["already_seen"] == 6


def test_terraform_is_formatted():
    """`terraform fmt -check` on deploy/terraform (validate needs the provider download, which CI cannot do)."""
    import shutil

    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    done = subprocess.run([terraform, "fmt", "-check", "-diff", str(ROOT / "deploy/terraform")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
