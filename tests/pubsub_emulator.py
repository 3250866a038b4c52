"""Pytest fixtures for the real Pub/Sub emulator (pipelines.testing.pubsub): one for the session, one a test's own."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipelines.testing.pubsub import EMULATOR, INSTALL_HINT, PubSubEmulator


def require_emulator() -> None:
    if not EMULATOR.exists():
        pytest.skip(INSTALL_HINT.format(path=EMULATOR))


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[PubSubEmulator]:
    """The session's emulator, with PUBSUB_EMULATOR_HOST pointing at it for the whole session."""
    require_emulator()
    emulator = PubSubEmulator().start()
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    try:
        yield emulator
    finally:
        emulator.stop()
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


@pytest.fixture
def own_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[PubSubEmulator]:
    """An emulator of this test's own, for tests that stop it (the session's one stays up for the others)."""
    require_emulator()
    emulator = PubSubEmulator().start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    try:
        yield emulator
    finally:
        emulator.stop()
