"""connectors/replay.py on its own: a recorded folder with a manifest served by URL (issue #23)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.http import FetchError, FetchPolicy
from connectors.pages import ArticleFetcher, make_fetcher
from connectors.replay import ReplayFetcher
from schemas.records import FeedEntry

ARTICLE_URL = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"
ARTICLE = (b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Clashes continue</title></head>'
           b"<body><article><h1>Clashes continue</h1><p>Fighting went on for a fourth day.</p></article></body></html>")
FEED_URL = "https://www.frontline-daily.example/rss/world.xml"
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>World</title>'
        b"<item><title>Clashes continue</title><link>" + ARTICLE_URL.encode() + b"</link></item></channel></rss>")


def recorded(tmp_path: Path, responses: list[dict], files: dict[str, bytes] | None = None) -> Path:
    """A replay folder: the files, and manifest.json listing the responses."""
    for name, data in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "manifest.json").write_text(json.dumps({"about": "test recording", "responses": responses}),
                                            encoding="utf-8")
    return tmp_path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return recorded(tmp_path, [
        {"url": ARTICLE_URL, "status": 200, "content_type": "text/html; charset=utf-8",
         "file": "pages/frontline-clashes.html"},
        {"url": FEED_URL, "status": 200, "content_type": "application/rss+xml", "file": "feeds/world.xml"},
        {"url": "https://frontline-daily.example/s/8812", "status": 301, "location": ARTICLE_URL},
        {"url": "https://www.frontline-daily.example/short/1", "status": 302,
         "location": "https://frontline-daily.example/s/8812"},
        {"url": "https://www.frontline-daily.example/world/removed-story", "status": 410},
        {"url": "https://www.frontline-daily.example/reports/casualties.pdf", "status": 200,
         "content_type": "application/pdf", "file": "casualties.pdf"},
    ], {"pages/frontline-clashes.html": ARTICLE, "feeds/world.xml": FEED, "casualties.pdf": b"%PDF-1.7\n"})


def test_url_in_the_manifest_gives_its_file(folder):
    replay = ReplayFetcher(folder)
    response = replay.get(ARTICLE_URL, "html")
    assert response.status == 200
    assert response.body == ARTICLE
    assert response.url == response.final_url == ARTICLE_URL
    assert response.content_type == "text/html; charset=utf-8"
    assert replay.get(FEED_URL, "feed").body == FEED


def test_equivalent_spelling_finds_the_record(folder):
    spelled = ARTICLE_URL.replace("https://www.", "http://") + "/?utm_source=twitter&utm_medium=social#comments"
    response = ReplayFetcher(folder).get(spelled, "html")
    assert response.body == ARTICLE
    assert response.url == spelled
    assert response.final_url == ARTICLE_URL  # the URL as it was recorded


def test_url_not_in_the_manifest_is_a_clear_404(folder):
    with pytest.raises(FetchError, match=r"HTTP 404 \(not in the replay archive\)") as info:
        ReplayFetcher(folder).get("https://www.frontline-daily.example/world/never-recorded", "html")
    assert info.value.status == 404
    assert info.value.url == "https://www.frontline-daily.example/world/never-recorded"
    assert not info.value.transient


def test_redirect_chain_followed(folder):
    response = ReplayFetcher(folder).get("https://www.frontline-daily.example/short/1", "html")
    assert response.status == 200 and response.body == ARTICLE
    assert response.url == "https://www.frontline-daily.example/short/1"
    assert response.final_url == ARTICLE_URL


def test_redirect_loop_stops(tmp_path):
    folder = recorded(tmp_path, [
        {"url": "https://news.example.com/a", "status": 302, "location": "https://news.example.com/b"},
        {"url": "https://news.example.com/b", "status": 302, "location": "https://news.example.com/a"},
    ])
    with pytest.raises(FetchError, match="more than 5 redirects"):
        ReplayFetcher(folder).get("https://news.example.com/a", "html")


def test_redirect_to_an_unrecorded_url_is_a_404_for_the_asked_url(tmp_path):
    folder = recorded(tmp_path, [{"url": "https://news.example.com/a", "status": 301,
                                  "location": "https://other.example.org/elsewhere"}])
    with pytest.raises(FetchError, match="not in the replay archive") as info:
        ReplayFetcher(folder).get("https://news.example.com/a", "html")
    assert info.value.url == "https://news.example.com/a"


def test_relative_redirect_location(tmp_path):
    folder = recorded(tmp_path, [
        {"url": "https://news.example.com/s/1", "status": 301, "location": "/world/story"},
        {"url": "https://news.example.com/world/story", "status": 200, "content_type": "text/html", "file": "p.html"},
    ], {"p.html": ARTICLE})
    response = ReplayFetcher(folder).get("https://news.example.com/s/1", "html")
    assert response.body == ARTICLE
    assert response.final_url == "https://news.example.com/world/story"


def test_relative_redirect_location_resolved_against_each_hop(tmp_path):
    folder = recorded(tmp_path, [
        {"url": "https://news.example.com/s/1", "status": 302, "location": "//www.news.example.com/go/2"},
        {"url": "https://www.news.example.com/go/2", "status": 301, "location": "../world/story?id=4"},
        {"url": "https://www.news.example.com/world/story?id=4", "status": 200, "content_type": "text/html",
         "file": "p.html"},
    ], {"p.html": ARTICLE})
    response = ReplayFetcher(folder).get("https://news.example.com/s/1", "html")
    assert response.body == ARTICLE
    assert response.final_url == "https://www.news.example.com/world/story?id=4"


def test_missing_file_fails_that_entry_alone(tmp_path):
    folder = recorded(tmp_path, [
        {"url": ARTICLE_URL, "status": 200, "content_type": "text/html", "file": "pages/gone.html"},
        {"url": "https://news.example.com/other", "status": 200, "content_type": "text/html", "file": "a.html"},
    ], {"a.html": ARTICLE})
    replay = ReplayFetcher(folder)
    with pytest.raises(FetchError, match=r"replay file 'pages/gone.html' unreadable \(No such file") as info:
        replay.get(ARTICLE_URL, "html")
    assert info.value.url == ARTICLE_URL
    assert info.value.status is None and not info.value.transient
    # In a run: that entry has its error, the next one is fetched.
    articles = ArticleFetcher(replay, "sitrep/0.1")
    failed = articles.fetch(FeedEntry(link=ARTICLE_URL))
    assert failed.page is None and failed.error is not None and "pages/gone.html" in failed.error.reason
    assert articles.fetch(FeedEntry(link="https://news.example.com/other")).page is not None


def test_entry_without_a_file_is_a_fetch_error(tmp_path):
    folder = recorded(tmp_path, [{"url": ARTICLE_URL, "status": 200, "content_type": "text/html"}])
    with pytest.raises(FetchError, match="names no file"):
        ReplayFetcher(folder).get(ARTICLE_URL, "html")


def test_recorded_error_status_replayed(folder):
    with pytest.raises(FetchError, match="HTTP 410") as info:
        ReplayFetcher(folder).get("https://www.frontline-daily.example/world/removed-story", "html")
    assert info.value.status == 410


def test_wrong_kind_refused(folder):
    replay = ReplayFetcher(folder)
    with pytest.raises(FetchError, match="'application/pdf' is not an HTML page"):
        replay.get("https://www.frontline-daily.example/reports/casualties.pdf", "html")
    with pytest.raises(FetchError, match="is not a feed"):
        replay.get(ARTICLE_URL, "feed")


def test_missing_content_type_sniffed(tmp_path):
    folder = recorded(tmp_path, [{"url": FEED_URL, "file": "feed.xml"}, {"url": ARTICLE_URL, "file": "a.html"}],
                      {"feed.xml": FEED, "a.html": ARTICLE})
    replay = ReplayFetcher(folder)
    assert replay.get(FEED_URL, "feed").status == 200  # status defaults to 200
    assert replay.get(ARTICLE_URL, "html").body == ARTICLE


@pytest.mark.parametrize("manifest", [None, "{not json", '{"about": "no responses"}'])
def test_not_a_manifest_is_a_clear_error(tmp_path, manifest):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(ValueError, match="not a replay manifest"):
        ReplayFetcher(tmp_path)


def test_make_fetcher_picks_the_manifest_replay(folder):
    replay = make_fetcher(FetchPolicy(), replay=str(folder))
    assert isinstance(replay, ReplayFetcher)
    assert replay.get(ARTICLE_URL, "html").body == ARTICLE


def test_files_read_per_request(folder):
    replay = ReplayFetcher(folder)
    (folder / "pages" / "frontline-clashes.html").write_bytes(ARTICLE.replace(b"fourth", b"fifth"))
    assert b"fifth day" in replay.get(ARTICLE_URL, "html").body
