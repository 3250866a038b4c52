"""connectors/archive.py on its own: responses written to WARC and read back the same (issue #23)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from connectors.archive import WarcRecorder, WarcReplayFetcher, join_parts, parts_folder, read_archive
from connectors.http import Exchange, FetchError, FetchPolicy, HttpFetcher
from schemas.records import utc_now

LOOPBACK = ("127.0.0.0/8",)
ARTICLE_URL = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"
ARTICLE = (b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Clashes continue</title></head>'
           b"<body><article><h1>Clashes continue</h1><p>Fighting went on for a fourth day around the prison in "
           b"Hasakah, officials said.</p></article></body></html>")
HTML = {"content-type": "text/html; charset=utf-8"}


def record(tmp_path: Path, *exchanges: Exchange, name: str = "run.warc.gz") -> str:
    """Write exchanges the way a run does (a recorder's part, joined into the archive) and return its path."""
    archive = str(tmp_path / name)
    recorder = WarcRecorder(parts_folder(archive), "run-1")
    for exchange in exchanges:
        recorder(exchange)
    recorder.close()
    assert join_parts(archive) == 1
    return archive


def test_response_read_back_the_same(tmp_path):
    headers = {**HTML, "etag": '"5f1c-abc"', "last-modified": "Sun, 23 Jan 2022 11:58:00 GMT",
               "cache-control": "max-age=60", "x-cache": "HIT"}
    sent = Exchange(ARTICLE_URL, 200, headers, ARTICLE, "2022-01-23T12:00:00Z")
    (back,) = read_archive(record(tmp_path, sent))
    assert back == sent


def test_wire_headers_not_archived(tmp_path):
    """Bodies are archived decoded, so the headers describing the wire would lie about the record."""
    wire = {**HTML, "content-encoding": "gzip", "transfer-encoding": "chunked", "content-length": "412",
            "connection": "keep-alive", "keep-alive": "timeout=5"}
    (back,) = read_archive(record(tmp_path, Exchange(ARTICLE_URL, 200, wire, ARTICLE, "2022-01-23T12:00:00Z")))
    assert back.headers == HTML
    assert back.body == ARTICLE


def test_warc_date_is_the_fetched_time_and_the_file_is_gzip_warc(tmp_path):
    archive = record(tmp_path, Exchange(ARTICLE_URL, 200, HTML, ARTICLE, "2022-01-23T12:00:07Z"))
    raw = gzip.decompress(Path(archive).read_bytes())
    assert raw.startswith(b"WARC/1.")
    assert b"WARC-Type: response" in raw and b"WARC-Date: 2022-01-23T12:00:07Z" in raw
    assert f"WARC-Target-URI: {ARTICLE_URL}".encode() in raw
    (back,) = read_archive(archive)
    assert back.fetched_at == "2022-01-23T12:00:07Z"


def test_empty_bodies(tmp_path):
    exchanges = [Exchange("https://news.example.com/world/empty", 200, HTML, b"", "2022-01-23T12:00:00Z"),
                 Exchange("https://news.example.com/ping", 204, {}, b"", "2022-01-23T12:00:01Z"),
                 Exchange("https://news.example.com/feed.xml", 304, {"etag": '"abc"'}, b"", "2022-01-23T12:00:02Z")]
    back = list(read_archive(record(tmp_path, *exchanges)))
    assert back == exchanges
    replay = WarcReplayFetcher(str(tmp_path / "run.warc.gz"))
    response = replay.get("https://news.example.com/world/empty", "html")
    assert response.status == 200 and response.body == b""
    assert replay.get("https://news.example.com/feed.xml", "feed").status == 304


def test_parts_joined_and_removed(tmp_path):
    archive = str(tmp_path / "run.warc.gz")
    for worker, path in enumerate(("/world/a", "/world/b", "/world/c")):
        recorder = WarcRecorder(parts_folder(archive), "run-1")
        recorder(Exchange("https://news.example.com" + path, 200, HTML, ARTICLE, "2022-01-23T12:00:00Z"))
        recorder.close()
        assert len(list(Path(parts_folder(archive)).glob("*.warc.gz"))) == worker + 1
    assert join_parts(archive) == 3
    assert list(Path(parts_folder(archive)).glob("*.warc.gz")) == []
    assert sorted(e.url for e in read_archive(archive)) == [
        "https://news.example.com/world/a", "https://news.example.com/world/b", "https://news.example.com/world/c"]


def test_recorder_with_nothing_writes_no_part(tmp_path):
    recorder = WarcRecorder(str(tmp_path / "parts"), "run-1")
    recorder.close()
    assert not (tmp_path / "parts").exists()
    archive = str(tmp_path / "empty.warc.gz")
    assert join_parts(archive) == 0
    with pytest.raises(ValueError, match="no WARC response records found"):
        WarcReplayFetcher(archive)


def test_read_archive_of_a_folder(tmp_path):
    record(tmp_path, Exchange("https://news.example.com/world/a", 200, HTML, ARTICLE, "2022-01-23T12:00:00Z"),
           name="one.warc.gz")
    record(tmp_path, Exchange("https://news.example.com/world/b", 200, HTML, ARTICLE, "2022-01-23T12:00:00Z"),
           name="two.warc.gz")
    assert sorted(e.url for e in read_archive(str(tmp_path))) == [
        "https://news.example.com/world/a", "https://news.example.com/world/b"]


# WarcReplayFetcher


def test_redirect_chain_replayed(tmp_path):
    archive = record(
        tmp_path,
        Exchange("http://frontline-daily.example/s/8812", 301, {"location": "https://www.frontline-daily.example/s/8812"},
                 b"", "2022-01-23T12:00:00Z"),
        Exchange("https://www.frontline-daily.example/s/8812", 302,
                 {"location": "/world/middle-east/clashes-continue-isis-attack-prison-syria"}, b"",
                 "2022-01-23T12:00:00Z"),
        Exchange(ARTICLE_URL, 200, HTML, ARTICLE, "2022-01-23T12:00:01Z"),
    )
    response = WarcReplayFetcher(archive).get("http://frontline-daily.example/s/8812", "html")
    assert response.url == "http://frontline-daily.example/s/8812"
    assert response.final_url == ARTICLE_URL
    assert response.status == 200 and response.body == ARTICLE
    assert response.fetched_at == "2022-01-23T12:00:01Z"


def test_redirect_loop_limited(tmp_path):
    archive = record(tmp_path,
                     Exchange("https://news.example.com/a", 302, {"location": "/b"}, b"", "2022-01-23T12:00:00Z"),
                     Exchange("https://news.example.com/b", 302, {"location": "/a"}, b"", "2022-01-23T12:00:00Z"))
    with pytest.raises(FetchError, match="more than 3 redirects"):
        WarcReplayFetcher(archive, max_redirects=3).get("https://news.example.com/a", "html")


def test_lookup_by_key_and_last_recorded_wins(tmp_path):
    archive = record(tmp_path,
                     Exchange(ARTICLE_URL, 200, HTML, b"<html><p>first</p></html>", "2022-01-23T12:00:00Z"),
                     Exchange(ARTICLE_URL, 200, HTML, b"<html><p>second</p></html>", "2022-01-23T13:00:00Z"))
    replay = WarcReplayFetcher(archive)
    assert replay.get(ARTICLE_URL, "html").body == b"<html><p>second</p></html>"
    other_spelling = ARTICLE_URL.replace("https://www.", "http://") + "/?utm_source=twitter"
    assert replay.get(other_spelling, "html").body == b"<html><p>second</p></html>"


def test_unrecorded_url_is_a_404_and_errors_replayed(tmp_path):
    archive = record(tmp_path, Exchange("https://news.example.com/gone", 410, HTML, b"", "2022-01-23T12:00:00Z"),
                     Exchange("https://news.example.com/report.pdf", 200, {"content-type": "application/pdf"},
                              b"%PDF-1.7", "2022-01-23T12:00:00Z"))
    replay = WarcReplayFetcher(archive)
    with pytest.raises(FetchError, match="not in the replay archive") as missing:
        replay.get("https://news.example.com/never-fetched", "html")
    assert missing.value.status == 404
    with pytest.raises(FetchError, match="HTTP 410") as gone:
        replay.get("https://news.example.com/gone", "html")
    assert gone.value.status == 410
    with pytest.raises(FetchError, match="is not an HTML page"):
        replay.get("https://news.example.com/report.pdf", "html")


# Recorded from a live fetch


def test_live_fetch_recorded_and_replayed_the_same(server, tmp_path):
    """A gzip-encoded response, behind a redirect: archived decoded, without the encoding header."""
    server.route("/world/story", ARTICLE, gzip=True, headers={"ETag": '"v1"'})
    server.route("/s/1", status=301, headers={"Location": "/world/story"})
    archive = str(tmp_path / "live.warc.gz")
    recorder = WarcRecorder(parts_folder(archive), "live")
    live = HttpFetcher(FetchPolicy(allow_hosts=LOOPBACK, retries=0), recorder)
    before = utc_now()
    response = live.get(server.url("/s/1"), "html")
    after = utc_now()
    recorder.close()
    join_parts(archive)
    assert response.body == ARTICLE

    redirect, page = read_archive(archive)
    assert (redirect.url, redirect.status, redirect.headers["location"]) == (server.url("/s/1"), 301, "/world/story")
    assert (page.url, page.status, page.body) == (server.url("/world/story"), 200, ARTICLE)
    assert "content-encoding" not in page.headers and "content-length" not in page.headers
    assert page.headers["etag"] == '"v1"'
    assert before <= page.fetched_at <= after

    replayed = WarcReplayFetcher(archive).get(server.url("/s/1"), "html")
    assert (replayed.final_url, replayed.status, replayed.body) == (response.final_url, 200, response.body)
    assert replayed.headers["content-type"] == response.headers["content-type"]


def test_a_replayed_fetch_has_the_fetched_time_the_live_one_had(server, tmp_path):
    # A page slower than a second crosses a second boundary between the request and its last byte: the
    # live Response and the archive both carry the time the request was sent, so a replay's events match.
    server.route("/world/slow-story", ARTICLE, delay=1.1)
    archive = str(tmp_path / "slow.warc.gz")
    recorder = WarcRecorder(parts_folder(archive), "live")
    response = HttpFetcher(FetchPolicy(allow_hosts=LOOPBACK, retries=0), recorder).get(
        server.url("/world/slow-story"), "html")
    recorder.close()
    join_parts(archive)
    [page] = read_archive(archive)
    assert response.fetched_at == page.fetched_at
    assert WarcReplayFetcher(archive).get(server.url("/world/slow-story"), "html").fetched_at == response.fetched_at
