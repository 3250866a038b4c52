"""sitrep's Beam pipelines and the Beam-free stages they wrap (extraction, dedup, tagging, events)."""

__version__ = "0.1.0"
