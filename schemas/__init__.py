"""The event contract: JSON Schema, record types, taxonomy and lexicon files, version constants."""

from importlib import resources

SCHEMA_VERSION = "1.0"
EVENT_SCHEMA_FILE = "event-v1.schema.json"
TAXONOMY_FILE = "taxonomy-v1.yaml"


def data_path(name: str) -> str:
    """Path of a data file shipped in the schemas package (works from a wheel or a checkout)."""
    return str(resources.files(__name__).joinpath(name))
