"""The built-index cache: reused across processes, rebuilt when its inputs change, never in the way."""

import pytest

from pipelines.tagging.cache import cached


def _builder(calls):
    def build():
        calls.append(1)
        return {"built": len(calls)}
    return build


def test_a_second_process_reads_what_the_first_built(tmp_path):
    data = tmp_path / "places.yaml"
    data.write_text("a: 1\n")
    calls = []
    first = cached("index", [data], _builder(calls), tmp_path / "cache")
    again = cached("index", [data], _builder(calls), tmp_path / "cache")
    assert first == again == {"built": 1}
    assert len(calls) == 1
    # Written whole, then renamed: no temporary file is left behind.
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".pickle")] == []


def test_a_changed_input_is_built_again(tmp_path):
    data = tmp_path / "places.yaml"
    data.write_text("a: 1\n")
    calls = []
    cached("index", [data], _builder(calls), tmp_path / "cache")
    data.write_text("a: 2\n")
    assert cached("index", [data], _builder(calls), tmp_path / "cache") == {"built": 2}


def test_an_unwritable_or_broken_cache_only_costs_the_build(tmp_path):
    data = tmp_path / "places.yaml"
    data.write_text("a: 1\n")
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    calls = []
    assert cached("index", [data], _builder(calls), blocked / "cache") == {"built": 1}
    cached("index", [data], _builder(calls), tmp_path / "cache")
    for stored in (tmp_path / "cache").glob("*.pickle"):
        stored.write_bytes(b"truncated")
    assert cached("index", [data], _builder(calls), tmp_path / "cache") == {"built": 3}
    assert cached("index", [data], _builder(calls), tmp_path / "cache") == {"built": 3}


def test_an_unreadable_input_is_reported_by_the_build(tmp_path):
    def build():
        raise ValueError("places.yaml: cannot read")
    with pytest.raises(ValueError, match="cannot read"):
        cached("index", [tmp_path / "missing.yaml"], build, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
