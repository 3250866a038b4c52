"""connectors/robots.py on its own, against the real loopback server (issue #23)."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from connectors.http import DEFAULT_USER_AGENT, FetchPolicy, HttpFetcher
from connectors.pages import ArticleFetcher
from connectors.robots import RobotsCache
from pipelines.testing.localserver import LocalServer
from schemas.records import FeedEntry

LOOPBACK = ("127.0.0.0/8",)
PAGE = "<!DOCTYPE html><html><head><title>Story</title></head><body><p>Story text.</p></body></html>"

# Shaped like a large news site's: comments, a wildcard group, bots named and shut out, a group for us.
NEWS_ROBOTS = """\
# robots.txt for https://www.frontline-daily.example/
# Contact: webmaster@frontline-daily.example

User-agent: *
Disallow: /search
Disallow: /admin/
Disallow: /api/
Disallow: /newsletters/preview/
Allow: /

User-agent: GPTBot
User-agent: CCBot
Disallow: /

User-agent: sitrep
Crawl-delay: 5
Disallow: /live/
Disallow: /premium/

Sitemap: https://www.frontline-daily.example/sitemaps/news.xml
Sitemap: https://www.frontline-daily.example/sitemaps/index.xml
"""


@pytest.fixture(scope="module")
def _hosts():
    """Two real loopback servers for the whole module: stopping one takes its 0.5 s poll interval, too slow to
    pay per test."""
    started = [LocalServer().start(), LocalServer().start()]
    for srv in started:
        srv.httpd.handle_error = _quiet_on_hang_up(srv.httpd.handle_error)
    try:
        yield started
    finally:
        for srv in started:
            srv.stop()


def _quiet_on_hang_up(report):
    """The fetcher hangs up on error responses without reading their bodies; with the server shared, the
    server's traceback for that would print after the test that caused it, outside its captured output."""

    def handle_error(request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            report(request, client_address)

    return handle_error


def _fresh(srv: LocalServer) -> LocalServer:
    srv.routes.clear()
    srv.requests.clear()
    return srv


@pytest.fixture
def server(_hosts):
    """The conftest `server`, shared by this module's tests, with no routes and no requests at each test's start."""
    return _fresh(_hosts[0])


@pytest.fixture
def other_server(_hosts):
    return _fresh(_hosts[1])


def fetcher(**kwargs: object) -> HttpFetcher:
    policy = FetchPolicy(allow_hosts=LOOPBACK, backoff_base=0.01, retries=0, host_delay=0.0, **kwargs)  # type: ignore[arg-type]
    return HttpFetcher(policy)


def robots(user_agent: str = DEFAULT_USER_AGENT, **kwargs: object) -> RobotsCache:
    return RobotsCache(fetcher(**kwargs), user_agent)


def serve_robots(server, text: str = NEWS_ROBOTS, **kwargs: object):
    return server.route("/robots.txt", text, content_type="text/plain; charset=utf-8", **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_our_group_applies_to_our_full_user_agent(server):
    serve_robots(server)
    cache = robots()  # "sitrep/0.1 (+https://...; conflict-news monitor)": matched on its product token
    assert cache.check(server.url("/world/middle-east/clashes-continue")) is None
    refusal = cache.check(server.url("/live/2024-05-01-election-night"))
    assert refusal is not None and refusal.reason == "disallowed by robots.txt"
    assert refusal.status is None and not refusal.transient
    assert cache.check(server.url("/premium/analysis/frontline")) is not None
    # Only our group applies to us (RFC 9309): the '*' group's /search is not ours.
    assert cache.check(server.url("/search?q=aleppo")) is None


def test_other_agents_get_their_own_group_or_the_wildcard(server):
    serve_robots(server)
    other = robots("NewsAggregator/2.1 (+https://aggregator.example/bot)")
    assert other.check(server.url("/search?q=aleppo")) is not None
    assert other.check(server.url("/admin/login")) is not None
    assert other.check(server.url("/live/2024-05-01-election-night")) is None
    assert other.check(server.url("/world/story")) is None
    shut_out = robots("GPTBot/1.0")
    assert shut_out.check(server.url("/world/story")) is not None


def test_crawl_delay_for_our_group(server):
    serve_robots(server)
    cache = robots()
    assert cache.crawl_delay(server.url("/world/story")) is None  # not loaded yet
    cache.check(server.url("/world/story"))
    assert cache.crawl_delay(server.url("/world/other-story")) == 5.0
    other = robots("NewsAggregator/2.1")
    other.check(server.url("/world/story"))
    assert other.crawl_delay(server.url("/world/story")) is None


def test_crawl_delay_capped_by_policy_max(server):
    """A Crawl-delay of two minutes is held to the policy's max_crawl_delay between article fetches."""
    serve_robots(server, "User-agent: *\nCrawl-delay: 120\nDisallow: /private/\n")
    server.route("/world/one", PAGE)
    server.route("/world/two", PAGE)
    http = fetcher(max_crawl_delay=0.3)
    articles = ArticleFetcher(http, DEFAULT_USER_AGENT, max_crawl_delay=0.3)
    assert articles.robots.crawl_delay(server.url("/")) is None
    start = time.monotonic()
    first = articles.fetch(FeedEntry(link=server.url("/world/one")))
    second = articles.fetch(FeedEntry(link=server.url("/world/two")))
    elapsed = time.monotonic() - start
    assert first.page is not None and second.page is not None
    assert articles.robots.crawl_delay(server.url("/")) == 120.0
    assert 0.28 <= elapsed < 5.0


def test_disallowed_article_is_not_fetched(server):
    serve_robots(server)
    server.route("/live/blog", PAGE)
    outcome = ArticleFetcher(fetcher(), DEFAULT_USER_AGENT).fetch(FeedEntry(link=server.url("/live/blog")))
    assert outcome.robots_refused and outcome.page is None
    assert server.paths_requested() == ["/robots.txt"]


@pytest.mark.parametrize("status", [404, 410, 403, 401])
def test_missing_robots_txt_allows_everything(server, status):
    serve_robots(server, "<html>Not here</html>", status=status)
    cache = robots()
    assert cache.check(server.url("/live/anything")) is None
    assert cache.check(server.url("/admin/")) is None
    assert cache.crawl_delay(server.url("/admin/")) is None


def test_no_route_at_all_is_a_404_and_allows(server):
    assert robots().check(server.url("/world/story")) is None
    assert server.paths_requested() == ["/robots.txt"]


def test_soft_404_html_page_as_robots_txt_allows(server):
    serve_robots(server, "<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>")
    assert robots().check(server.url("/world/story")) is None


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_error_or_busy_is_transient_and_disallows(server, status):
    route = serve_robots(server, "busy", status=status, headers={"Retry-After": "7"})
    refusal = robots().check(server.url("/world/story"))
    assert refusal is not None
    assert refusal.status == status and refusal.transient
    assert "robots.txt unreadable" in refusal.reason
    assert route.hits == 1


def test_retry_after_of_an_unreadable_robots_txt_carried(server):
    serve_robots(server, "busy", status=503, headers={"Retry-After": "7"})
    refusal = robots().check(server.url("/world/story"))
    assert refusal is not None and refusal.retry_after == 7.0


def test_unreachable_host_is_transient():
    refusal = robots().check(f"http://127.0.0.1:{free_port()}/world/story")
    assert refusal is not None
    assert refusal.status == -1 and refusal.transient
    assert "connection failed" in refusal.reason


def test_timeout_is_transient(server):
    serve_robots(server, delay=0.6)
    refusal = robots(read_timeout=0.15).check(server.url("/world/story"))
    assert refusal is not None and refusal.status == -1 and refusal.transient


def test_redirect_loop_on_robots_txt_allows(server):
    serve_robots(server, status=302, headers={"Location": "/robots.txt"})
    assert robots(max_redirects=2).check(server.url("/live/blog")) is None


def test_robots_txt_redirect_followed(server):
    server.route("/robots.txt", status=301, headers={"Location": "/static/robots.txt"})
    server.route("/static/robots.txt", NEWS_ROBOTS, content_type="text/plain")
    assert robots().check(server.url("/live/blog")) is not None


def test_fetched_once_per_host(server):
    route = serve_robots(server)
    cache = robots()
    for path in ("/world/a", "/world/b", "/live/c", "/WORLD/d"):
        cache.check(server.url(path))
    assert cache.check(server.url("/live/again")) is not None
    # The same host spelled in capitals is the same origin.
    assert cache.check(server.url("/world/x").replace("http://", "HTTP://")) is None
    assert route.hits == 1


def test_unreadable_cached_for_the_run(server):
    route = serve_robots(server, fail_first=1, fail_status=503)
    cache = robots()
    assert cache.check(server.url("/world/a")) is not None
    assert cache.check(server.url("/world/b")) is not None  # still unreadable: not asked again
    assert route.hits == 1
    assert robots().check(server.url("/world/b")) is None  # a new run asks again, and now may


def test_cached_per_host_not_shared_between_hosts(server, other_server):
    serve_robots(server, "User-agent: *\nDisallow: /\n")
    serve_robots(other_server, "User-agent: *\nAllow: /\n")
    cache = robots()
    assert cache.check(server.url("/world/a")) is not None
    assert cache.check(other_server.url("/world/a")) is None


def test_many_threads_one_fetch(server):
    from concurrent.futures import ThreadPoolExecutor

    route = serve_robots(server, delay=0.1)
    cache = robots(per_host_concurrency=8)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: cache.check(server.url(f"/live/{i}")), range(8)))
    assert all(r is not None for r in results)
    assert route.hits == 1


def test_longest_match_wins(server):
    serve_robots(server, "User-agent: *\nDisallow: /world/\nAllow: /world/public/\n")
    cache = robots()
    assert cache.check(server.url("/world/public/story")) is None
    assert cache.check(server.url("/world/story")) is not None


def test_wildcards_in_rules(server):
    serve_robots(server, "User-agent: *\nDisallow: /*?amp=\nDisallow: /*.pdf$\n")
    cache = robots()
    assert cache.check(server.url("/world/story?amp=1")) is not None
    assert cache.check(server.url("/reports/casualties-2024.pdf")) is not None
    assert cache.check(server.url("/reports/casualties-2024.pdf.html")) is None  # '$': the path ends there
    assert cache.check(server.url("/world/story?page=2")) is None


def test_fractional_crawl_delay(server):
    serve_robots(server, "User-agent: *\nCrawl-delay: 2.5\n")
    cache = robots()
    cache.check(server.url("/world/a"))
    assert cache.crawl_delay(server.url("/world/a")) == 2.5
