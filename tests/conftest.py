"""Shared fixtures: a real loopback HTTP server, the shipped sample, the shared evaluation data."""

from __future__ import annotations

import ipaddress
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines import sample_path
from pipelines.testing.localserver import LocalServer
from tests.pubsub_emulator import own_emulator, pubsub_emulator  # noqa: F401 - fixtures for the Pub/Sub tests

SHARED = Path(__file__).resolve().parents[2] / "shared"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _name(host: str | bytes) -> str:
    return (host.decode() if isinstance(host, bytes) else host).strip("[]").lower()


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


def is_loopback(host: str | bytes | None) -> bool:
    """Whether a host a socket is asked to resolve or reach is this machine (a name, an address, or none)."""
    if host is None:
        return True
    name = _name(host)
    if name in _LOOPBACK_NAMES or not name:
        return True
    address = _address(name)
    return address is not None and (address.is_loopback or address.is_unspecified)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The suite never reaches outside the machine: a DNS look-up of another host, or a connection to another
    address, fails, and fails the test that made it (even where the code under test caught the error and
    carried on). Resolving an address literal stays allowed: it asks no one (the fetcher checks private
    addresses that way before it refuses them)."""
    outside: list[str] = []
    resolve = socket.getaddrinfo

    def refuse(host: object, error: type[OSError] = OSError, *code: int) -> OSError:
        outside.append(str(host))
        return error(*code, f"the test suite reaches loopback only, not {host}")

    def loopback_getaddrinfo(host: str | bytes | None, *args: object, **kwargs: object) -> list:
        if not is_loopback(host) and _address(_name(host)) is None:
            raise refuse(host, socket.gaierror, socket.EAI_NONAME)
        return resolve(host, *args, **kwargs)

    def loopback_only_to(connect: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(sock: socket.socket, address: object) -> Any:
            host = address[0] if isinstance(address, tuple) and address else None  # AF_UNIX paths are local
            if not is_loopback(host):
                raise refuse(host)
            return connect(sock, address)
        return guarded

    monkeypatch.setattr(socket, "getaddrinfo", loopback_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", loopback_only_to(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", loopback_only_to(socket.socket.connect_ex))
    yield outside
    assert not outside, f"the test tried to reach outside the machine: {sorted(set(outside))}"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs without --state keep their state in a fresh folder, never in the user's ~/.local/state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session", autouse=True)
def contained_temp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Temporary folders the code under test makes and does not remove (Beam's artifact staging for the
    portable and multi-process runners leaves three a run) go inside pytest's own temporary tree, which
    pytest prunes, instead of piling up in the machine's /tmp; worker processes inherit it through TMPDIR."""
    folder = tmp_path_factory.mktemp("tmp")
    patch = pytest.MonkeyPatch()
    patch.setenv("TMPDIR", str(folder))
    patch.setattr(tempfile, "tempdir", str(folder))
    try:
        yield folder
    finally:
        patch.undo()


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
SEED_URL = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed article's body as the extraction stage gives it."""
    from pipelines.extract import ArticleExtractor
    from schemas.records import FeedEntry, FetchedPage

    page = FetchedPage(FeedEntry(link=SEED_URL), SEED_URL, 200, "text/html; charset=utf-8", sample_page(SEED_PAGE),
                       "2022-01-23T12:00:00Z")
    return ArticleExtractor().extract(page).text


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; the test skips, saying why, when it is absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"evaluation data {path} is absent (it lives beside the repo, in shared/data)")
    return path
