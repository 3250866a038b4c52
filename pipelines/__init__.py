"""sitrep's Beam pipelines and the Beam-free stages they wrap (extraction, dedup, tagging, events)."""

__version__ = "0.1.0"

from importlib import resources


def sample_path(name: str = "") -> str:
    """Path inside the sample the project ships (feeds, pages and their replay manifest)."""
    return str(resources.files("pipelines").joinpath("sample", name))
