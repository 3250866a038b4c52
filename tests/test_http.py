"""The HTTP fetcher against a real loopback server with injected faults."""

from __future__ import annotations

import pytest

from connectors.http import AddressGuard, FetchError, FetchPolicy, HttpFetcher, parse_allow_hosts

PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body><p>hello</p></body></html>"
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
LOOPBACK = ("127.0.0.0/8",)


def fetcher(**kwargs: object) -> HttpFetcher:
    policy = FetchPolicy(allow_hosts=LOOPBACK, backoff_base=0.01, **kwargs)  # type: ignore[arg-type]
    return HttpFetcher(policy)


def test_fetches_page_and_sends_user_agent(server):
    server.route("/a", PAGE)
    response = fetcher().get(server.url("/a"), "html")
    assert response.status == 200
    assert b"hello" in response.body
    assert "sitrep" in server.requests[0][1]["User-Agent"]


def test_loopback_refused_unless_allowed(server):
    server.route("/a", PAGE)
    with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
        HttpFetcher(FetchPolicy()).get(server.url("/a"), "html")
    assert server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"])
def test_only_http_schemes(url):
    with pytest.raises(FetchError, match="only http and https"):
        AddressGuard(LOOPBACK).check(url)


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1"])
def test_private_and_link_local_refused(address):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchError, match="non-public"):
        AddressGuard(()).check(f"http://{host}/latest/meta-data/")


def test_allow_hosts_parsing():
    assert parse_allow_hosts("127.0.0.0/8, 10.0.0.0/8") == ("127.0.0.0/8", "10.0.0.0/8")
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_allow_hosts("localhost")


def test_5xx_retried_then_succeeds(server):
    route = server.route("/flaky", PAGE, fail_first=2, fail_status=502)
    assert fetcher(retries=2).get(server.url("/flaky"), "html").status == 200
    assert route.hits == 3


def test_5xx_gives_up_after_retries(server):
    route = server.route("/down", PAGE, fail_first=10, fail_status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        fetcher(retries=1).get(server.url("/down"), "html")
    assert route.hits == 2


def test_429_honours_retry_after(server):
    route = server.route("/limited", PAGE, fail_first=1, fail_status=429, fail_headers={"Retry-After": "0"})
    assert fetcher(retries=1).get(server.url("/limited"), "html").status == 200
    assert route.hits == 2


def test_404_not_retried(server):
    with pytest.raises(FetchError, match="HTTP 404") as info:
        fetcher().get(server.url("/missing"), "html")
    assert info.value.status == 404
    assert len(server.requests) == 1


def test_redirects_followed_and_limited(server):
    server.route("/final", PAGE)
    server.route("/hop", status=301, headers={"Location": "/final"})
    response = fetcher().get(server.url("/hop"), "html")
    assert response.final_url == server.url("/final")
    server.route("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher(max_redirects=3).get(server.url("/loop"), "html")


def test_redirect_to_private_address_refused(server):
    server.route("/evil", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(FetchError, match="non-public"):
        fetcher().get(server.url("/evil"), "html")


def test_slow_server_hits_read_timeout(server):
    server.route("/slow", PAGE, delay=1.5)
    with pytest.raises(FetchError, match="timeout"):
        fetcher(read_timeout=0.3, retries=0).get(server.url("/slow"), "html")


def test_huge_body_capped_while_streaming(server):
    server.route("/huge", endless=True)
    with pytest.raises(FetchError, match="larger than 200000 bytes"):
        fetcher(max_bytes=200_000).get(server.url("/huge"), "html")


def test_gzip_bomb_capped_after_decompression(server):
    server.route("/bomb", b"<html>" + b" " * 5_000_000, gzip=True)
    with pytest.raises(FetchError, match="larger than 1000000 bytes"):
        fetcher(max_bytes=1_000_000).get(server.url("/bomb"), "html")


def test_truncated_body_is_an_error(server):
    server.route("/cut", PAGE * 50, truncate_to=100)
    with pytest.raises(FetchError, match="body read failed"):
        fetcher(retries=0).get(server.url("/cut"), "html")


def test_wrong_content_type_refused(server):
    server.route("/pdf", b"%PDF-1.7 ...", content_type="application/pdf")
    with pytest.raises(FetchError, match="is not an HTML page"):
        fetcher().get(server.url("/pdf"), "html")
    server.route("/page-as-feed", PAGE)
    with pytest.raises(FetchError, match="is not a feed"):
        fetcher().get(server.url("/page-as-feed"), "feed")


def test_vague_content_type_sniffed(server):
    server.route("/feed.txt", RSS, content_type="text/plain")
    assert fetcher().get(server.url("/feed.txt"), "feed").body.startswith(b"<?xml")
    server.route("/page", PAGE, content_type="application/octet-stream")
    assert b"hello" in fetcher().get(server.url("/page"), "html").body


def test_guard_holds_at_connect_time(server):
    """Even a request that skipped the URL check (as after a DNS rebinding) cannot connect to a refused address."""
    server.route("/a", PAGE)
    guarded = HttpFetcher(FetchPolicy())
    with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
        guarded._session.get(server.url("/a"), timeout=2)
    assert server.requests == []


def test_per_host_cap_and_delay_hold_under_many_threads(server):
    from concurrent.futures import ThreadPoolExecutor

    server.route("/slow", PAGE, delay=0.2)
    capped = fetcher(per_host_concurrency=2, global_concurrency=8, host_delay=0.05)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: capped.get(server.url("/slow"), "html").status, range(8)))
    assert results == [200] * 8
    assert server.max_in_flight == 2


def test_conditional_get_returns_304_without_a_body(server):
    server.route("/feed.xml", RSS, content_type="application/rss+xml", etag='"abc"')
    first = fetcher().get(server.url("/feed.xml"), "feed")
    assert first.headers["etag"] == '"abc"'
    again = fetcher().get(server.url("/feed.xml"), "feed", {"If-None-Match": '"abc"'})
    assert again.status == 304 and again.body == b""
