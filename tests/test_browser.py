"""The headless-Chromium harness the report and dashboard tests stand on: it draws a page and it catches,
and refuses, any request that leaves loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.testing.browser import INSTALL_HINT, chromium_available, chromium_page

pytestmark = pytest.mark.skipif(not chromium_available(), reason=INSTALL_HINT)


def test_a_page_is_drawn_and_an_outside_request_is_caught_and_refused(tmp_path: Path) -> None:
    page_file = tmp_path / "page.html"
    page_file.write_text(
        '<html><body><svg width="100" height="80"><rect width="60" height="40" fill="red"/></svg>'
        '<img id="pixel" src="https://tracker.example/pixel.png"></body></html>', encoding="utf-8")
    with chromium_page() as browsed:
        browsed.page.goto(page_file.as_uri())
        browsed.page.wait_for_load_state("load")
        width = browsed.page.evaluate("document.querySelector('rect').getBBox().width")
        loaded = browsed.page.evaluate("document.getElementById('pixel').naturalWidth")
    assert width == 60
    assert browsed.outside == ["https://tracker.example/pixel.png"]
    assert loaded == 0  # refused, so nothing arrived
