"""Fetch throughput against the bound the concurrency caps allow, over 8 loopback hosts that answer in 100 ms."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.http import FetchPolicy, HttpFetcher  # noqa: E402
from connectors.pages import ArticleFetcher  # noqa: E402
from pipelines.testing.localserver import LocalServer  # noqa: E402
from schemas.records import FeedEntry  # noqa: E402

HOSTS = 8
PER_HOST = 4
GLOBAL = 16
LATENCY = 0.1
REQUESTS_PER_HOST = 40
PAGE = "<!DOCTYPE html><html><body><p>" + "news " * 200 + "</p></body></html>"


def serve() -> None:
    """The servers, in their own process so that they do not share the client's interpreter lock: eight
    hosts, 127.0.0.2 ... 127.0.0.9, each measuring how many requests it has in flight at once."""
    servers = [LocalServer(f"127.0.0.{i + 2}").start() for i in range(HOSTS)]
    for srv in servers:
        srv.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        for n in range(REQUESTS_PER_HOST):
            srv.route(f"/a/{n}", PAGE, delay=LATENCY)
    print(" ".join(srv.base for srv in servers), flush=True)
    sys.stdin.read()  # until the client is done


def measure(bases: list[str], hosts: int) -> tuple[float, float, int, int]:
    """Fetch every page of the first `hosts` hosts; returns (rate, bound, max per-host in flight, failures)."""
    policy = FetchPolicy(allow_hosts=("127.0.0.0/8",), per_host_concurrency=PER_HOST, global_concurrency=GLOBAL,
                         host_delay=0.0, retries=0)
    fetcher = HttpFetcher(policy)
    articles = ArticleFetcher(fetcher, policy.user_agent)
    # Entries interleaved across hosts, as from many feeds; robots.txt is asked (and cached) per host.
    entries = [FeedEntry(link=f"{base}/a/{n}") for n in range(REQUESTS_PER_HOST) for base in bases[:hosts]]
    started = time.monotonic()
    # The pool FetchPageDoFn uses: as wide as the global cap.
    with ThreadPoolExecutor(max_workers=GLOBAL) as pool:
        outcomes = list(pool.map(articles.fetch, entries))
    elapsed = time.monotonic() - started
    max_host = max(int(fetcher.get(f"{base}/__max_in_flight", "robots").body) for base in bases[:hosts])
    fetcher.close()
    bound = min(GLOBAL, hosts * PER_HOST) / LATENCY
    return len(entries) / elapsed, bound, max_host, sum(o.page is None for o in outcomes)


def main() -> int:
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    ok = True
    try:
        bases = proc.stdout.readline().split()
        # First the per-host cap binds (2 hosts x 4 < 16), on fresh hosts; then the global cap (8 x 4 > 16).
        for hosts in (2, HOSTS):
            rate, bound, max_host, failed = measure(bases[HOSTS - hosts:] if hosts < HOSTS else bases, hosts)
            print(f"bench_fetch: {hosts} loopback hosts answering in {LATENCY * 1000:.0f} ms, {REQUESTS_PER_HOST} "
                  f"pages each; global cap {GLOBAL}, per-host cap {PER_HOST}, robots.txt honoured")
            print(f"  throughput {rate:.1f} fetches/s vs bound {bound:.1f}/s: ratio {rate / bound:.2f} "
                  f"(target >= 0.80); max concurrent requests seen by one host: {max_host} (cap {PER_HOST}); "
                  f"failed: {failed}")
            ok = ok and rate / bound >= 0.8 and max_host <= PER_HOST and not failed
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    return 0 if ok else 1


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        sys.exit(main())
