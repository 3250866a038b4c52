"""robots.txt for article fetches: fetched once per host within the same bounds as any fetch, then cached."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from protego import Protego

from connectors.http import Fetcher, FetchError


class RobotsCache:
    """Answers whether our User-Agent may fetch a URL, per RFC 9309: a robots.txt that is missing (4xx)
    allows everything; one that cannot be read (5xx, timeout, refused) disallows the host for this run.
    Rules are read by protego: the longest matching rule wins, `*` and `$` in paths are wildcards, and a
    Crawl-delay may be fractional."""

    def __init__(self, fetcher: Fetcher, user_agent: str) -> None:
        self.fetcher = fetcher
        # Groups are matched on the product token, not the whole header ("sitrep/0.1 (+https://...)"), whose
        # comment could otherwise name another group's agent.
        self.agent = user_agent.split("/", 1)[0].split(" ", 1)[0] or "*"
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[Protego | None, FetchError | None]] = {}
        self._host_locks: dict[str, threading.Lock] = {}

    def check(self, url: str) -> FetchError | None:
        """None when url may be fetched, else why not: a FetchError carrying robots.txt's own status when it
        could not be read (so a host that is down or busy counts as transient), no status when disallowed."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        # One fetch of robots.txt per host even when many threads ask at once.
        with host_lock:
            if origin not in self._hosts:
                self._hosts[origin] = self._load(origin)
        rules, unreadable = self._hosts[origin]
        if unreadable:
            return FetchError(f"robots.txt unreadable ({unreadable.reason}): host treated as disallowed", url,
                              unreadable.status, unreadable.retry_after)
        if rules is not None and not rules.can_fetch(url, self.agent):
            return FetchError("disallowed by robots.txt", url)
        return None

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay robots.txt asks of us for url's host, if it was loaded and gives one."""
        parts = urlsplit(url)
        rules, _ = self._hosts.get(f"{parts.scheme}://{parts.netloc}".lower(), (None, None))
        delay = rules.crawl_delay(self.agent) if rules is not None else None
        return float(delay) if delay is not None else None

    def _load(self, origin: str) -> tuple[Protego | None, FetchError | None]:
        try:
            response = self.fetcher.get(origin + "/robots.txt", "robots")
        except FetchError as exc:
            # No status: refused before any request (scheme, address guard) or a redirect loop; the
            # article fetch itself then says why, so robots.txt does not stand in its way.
            if exc.status is None or (400 <= exc.status < 500 and exc.status != 429):
                return None, None
            return None, exc
        return Protego.parse(response.body.decode("utf-8", errors="replace")), None
