"""Shared fixtures: a real loopback HTTP server, the shipped sample, the shared evaluation data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.batch import sample_path
from tests.localserver import LocalServer
from tests.pubsub_emulator import own_emulator, pubsub_emulator  # noqa: F401 - fixtures for the Pub/Sub tests

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs without --state keep their state in a fresh folder, never in the user's ~/.local/state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def sample() -> Path:
    return Path(sample_path())


def sample_page(name: str) -> bytes:
    """A page of the shipped sample (written by the project), e.g. 'frontline-clashes-...html'."""
    return (Path(sample_path()) / "pages" / name).read_bytes()


SEED_PAGE = "frontline-clashes-continue-isis-attack-prison-syria.html"


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; the test skips, saying why, when it is absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"evaluation data {path} is absent (it lives beside the repo, in shared/data)")
    return path


@pytest.fixture(autouse=True)
def private_state_root(tmp_path_factory, monkeypatch) -> None:
    """Each test gets its own default --state folder, so runs never see another test's (or the user's) state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
