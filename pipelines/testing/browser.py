"""Headless Chromium for tests (Debian's `chromium`, driven by Playwright), with every request the page
makes recorded, so a test can say a page drew what it should and asked nothing of the outside world."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "headless Chromium is missing: `make browser` installs Debian's chromium package"

# Without the background-networking flags Chromium itself calls Google's hosts at start; a closed network
# refuses them and a test that counts outside requests would see them.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium_available() -> bool:
    """Whether Debian's Chromium and the Playwright driver are both here."""
    if shutil.which(CHROMIUM) is None:
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Browsed:
    """One page in Chromium and what it asked for: `requests` lists every URL the page requested,
    `outside` those that were neither loopback, `file:`, `data:` nor `blob:` (and were refused)."""

    page: Any
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Browsed]:
    """A fresh headless Chromium (its own empty profile) with one page; any request off loopback is
    recorded in `outside` and aborted, so a page cannot reach the network even by mistake."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="sitrep-chromium-")
    try:
        with sync_playwright() as driver:
            context = driver.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS),
                viewport={"width": width, "height": height},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                browsed = Browsed(page=page)

                def route(route: Any) -> None:
                    url = route.request.url
                    browsed.requests.append(url)
                    if _is_local(url):
                        route.continue_()
                    else:
                        browsed.outside.append(url)
                        route.abort()

                context.route("**/*", route)
                page.on("console", lambda message: browsed.console_errors.append(message.text)
                        if message.type == "error" else None)
                page.on("pageerror", lambda error: browsed.console_errors.append(str(error)))
                yield browsed
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
