"""The HTTP fetcher: deadlines, a byte cap read as a stream, bounded retries, per-host politeness, and a guard
that refuses non-public addresses (checked again at connect time) unless the user allows them."""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from schemas.records import utc_now

Kind = Literal["feed", "html", "robots"]

PROJECT_URL = "https://github.com/sitrep-project/sitrep"
DEFAULT_USER_AGENT = f"sitrep/0.1 (+{PROJECT_URL}; conflict-news monitor)"


def user_agent_for(contact: str | None) -> str:
    """The User-Agent naming the project and where a site owner can reach whoever runs it."""
    return f"sitrep/0.1 (+{contact or PROJECT_URL}; conflict-news monitor)"

FEED_TYPES = ("xml", "rss", "atom", "rdf")
HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    """A fetch that failed for a reason worth reporting (not a programming error)."""

    def __init__(self, reason: str, url: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed (timeouts, dropped connections, 408, 429, 5xx)."""
        return self.status == -1 or self.status in (408, 429) or (self.status or 0) >= 500


@dataclass(frozen=True)
class Response:
    """What a fetch returns: the final URL after redirects, status, headers (lower-case names), body."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str = field(default_factory=utc_now)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Fetcher(Protocol):
    """Anything that turns a URL into a Response or raises FetchError: HTTP, or a replayed archive.
    `headers` are extra request headers (If-None-Match, If-Modified-Since); a 304 comes back as a Response."""

    def get(self, url: str, kind: Kind, headers: dict[str, str] | None = None) -> Response: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class FetchPolicy:
    """Every bound a fetch obeys, in one place a reader can see."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    retries: int = 2
    backoff_base: float = 0.5
    max_retry_after: float = 30.0
    user_agent: str = DEFAULT_USER_AGENT
    allow_hosts: tuple[str, ...] = ()
    # Politeness: at most this many requests in flight to one host and in all, and at least host_delay
    # seconds between the starts of two requests to one host (a robots.txt Crawl-delay raises it).
    per_host_concurrency: int = 2
    global_concurrency: int = 16
    host_delay: float = 0.25
    max_crawl_delay: float = 30.0


def parse_allow_hosts(value: str | None) -> tuple[str, ...]:
    """Parse a comma-separated CIDR list (--allow-hosts), failing clearly on a bad entry."""
    if not value:
        return ()
    nets = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ValueError(f"--allow-hosts: {part!r} is not a CIDR network ({exc})") from exc
    return tuple(nets)


class AddressGuard:
    """Refuses URLs whose host resolves to a non-public address (loopback, private, link-local, ...),
    except networks the user allowed: URLs from feeds are untrusted."""

    def __init__(self, allow: tuple[str, ...] = ()) -> None:
        self._allow = [ipaddress.ip_network(n) for n in allow]

    def check(self, url: str) -> None:
        """Refuse a URL whose scheme is not http(s) or whose host resolves to a refused address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"scheme {parts.scheme or '(none)'!r} not allowed: only http and https", url)
        host = parts.hostname
        if not host:
            raise FetchError("URL has no host", url)
        self.resolve(host, parts.port or (443 if parts.scheme == "https" else 80), url)

    def resolve(self, host: str, port: int, url: str = "") -> list[tuple]:
        """The addresses of host, every one of them allowed (else FetchError): what a connection may use."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}", url or host) from exc
        for info in infos:
            addr = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if any(addr in net for net in self._allow):
                continue
            if not addr.is_global:
                raise FetchError(f"host {host!r} resolves to non-public address {addr}; see --allow-hosts", url or host)
        return infos


class _GuardedConnection:
    """Mixin for urllib3 connections: resolve through the guard and connect to exactly the address it
    allowed. Checking the URL before the request is not enough: a hostile DNS server can answer the check
    with a public address and the connect, a moment later, with 127.0.0.1 (DNS rebinding)."""

    guard: AddressGuard

    def _new_conn(self) -> socket.socket:
        infos = self.guard.resolve(self._dns_host, self.port)  # type: ignore[attr-defined]
        error: OSError | None = None
        for family, socktype, proto, _name, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                sock.settimeout(self.timeout)  # type: ignore[attr-defined]
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        from urllib3.exceptions import NewConnectionError

        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


def _guarded_adapter(guard: AddressGuard, pool_size: int) -> HTTPAdapter:
    """A requests adapter whose every connection goes through the guard at connect time."""
    http_conn = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"guard": guard})
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"guard": guard})
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    adapter = HTTPAdapter(pool_connections=64, pool_maxsize=pool_size, max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
    return adapter


class HostGate:
    """Politeness shared by every thread of a fetcher: a per-host and a global cap on requests in flight,
    and a minimum interval between the starts of requests to one host."""

    def __init__(self, per_host: int, total: int, delay: float) -> None:
        self.per_host = max(1, per_host)
        self.delay = delay
        self._global = threading.BoundedSemaphore(max(1, total))
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def set_delay(self, host: str, delay: float) -> None:
        """Raise one host's interval (e.g. its robots.txt Crawl-delay)."""
        with self._lock:
            self._delays[host] = max(self.delay, delay)

    def slot(self, host: str) -> _HostSlot:
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        return _HostSlot(self, host, sem)

    def _wait_turn(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, 0.0))
            self._next_start[host] = start + self._delays.get(host, self.delay)
        if start > now:
            time.sleep(start - now)


class _HostSlot:
    def __init__(self, gate: HostGate, host: str, sem: threading.BoundedSemaphore) -> None:
        self.gate, self.host, self.sem = gate, host, sem

    def __enter__(self) -> None:
        # The host slot first, so requests queued for one busy host do not hold global slots others could use.
        self.sem.acquire()
        self.gate._global.acquire()
        self.gate._wait_turn(self.host)

    def __exit__(self, *exc: object) -> None:
        self.gate._global.release()
        self.sem.release()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def body_matches_kind(kind: Kind, content_type: str, head: bytes) -> bool:
    """Whether a body is what we asked for, by declared type or, when the type is vague, by sniffing."""
    ctype = content_type.split(";")[0].strip().lower()
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if kind == "robots":
        return True  # any body: robotparser ignores what it cannot read, as a soft-404 page
    if kind == "html":
        if ctype in HTML_TYPES:
            return True
        vague = ctype in ("", "text/plain", "application/octet-stream")
        return vague and (sniff.startswith(b"<!doctype html") or sniff.startswith(b"<html"))
    if any(t in ctype for t in FEED_TYPES):
        return True
    vague = ctype in ("", "text/plain", "application/octet-stream", "text/html")
    return vague and (sniff.startswith(b"<?xml") or sniff.startswith(b"<rss") or sniff.startswith(b"<feed"))


def check_body(kind: Kind, url: str, status: int, headers: dict[str, str], body: bytes) -> None:
    """Raise the dead-letter reason when a body is not what was asked for (a 304 has no body to check)."""
    if status == 304 or body_matches_kind(kind, headers.get("content-type", ""), body[:512]):
        return
    wanted = {"html": "an HTML page", "feed": "a feed", "robots": "a robots.txt"}[kind]
    raise FetchError(f"content type {headers.get('content-type') or '(none)'!r} is not {wanted}", url, status)


@dataclass(frozen=True)
class Exchange:
    """One HTTP response as received (redirects and errors included), for the archive."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def follow_redirects(url: str, kind: Kind, max_redirects: int, answer: Callable[[str], Exchange]) -> Response:
    """The redirect loop every fetcher shares (live, WARC replay, manifest replay): `answer` gives the
    response at a URL; a redirect's Location is resolved against the URL it came from, at most
    `max_redirects` times; an HTTP error is a FetchError (with a 429's or 503's Retry-After); the final body
    is checked against what was asked for. The Response names the URL asked for and the one the final
    response came from."""
    current = url
    for _hop in range(max_redirects + 1):
        try:
            exchange = answer(current)
        except FetchError as exc:  # told of the URL asked for, wherever the redirects led
            if exc.url == url:
                raise
            raise FetchError(exc.reason, url, exc.status, exc.retry_after) from exc
        status, headers = exchange.status, exchange.headers
        if status in REDIRECT_STATUSES:
            location = headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} redirect without Location", url, status)
            current = urljoin(current, location)
            continue
        if status >= 400:
            raise FetchError(f"HTTP {status}", url, status, _retry_after_seconds(headers.get("retry-after")))
        check_body(kind, url, status, headers, exchange.body)
        return Response(url=url, final_url=exchange.url, status=status, headers=headers, body=exchange.body,
                        fetched_at=exchange.fetched_at)
    raise FetchError(f"more than {max_redirects} redirects", url)


class HttpFetcher:
    """Fetches over HTTP(S) with requests, within a FetchPolicy; safe to share between threads."""

    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

    def __init__(self, policy: FetchPolicy | None = None, recorder: Callable[[Exchange], None] | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self.recorder = recorder
        self.gate = HostGate(self.policy.per_host_concurrency, self.policy.global_concurrency, self.policy.host_delay)
        self._guard = AddressGuard(self.policy.allow_hosts)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = self.policy.user_agent
        adapter = _guarded_adapter(self._guard, self.policy.global_concurrency)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # The environment's proxies must not route around the address guard.
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def get(self, url: str, kind: Kind, headers: dict[str, str] | None = None) -> Response:
        """Fetch url, retrying timeouts, connection errors, 429 and 5xx with backoff and jitter."""
        attempt = 0
        while True:
            try:
                return self._get_once(url, kind, headers or {})
            except FetchError as exc:
                retryable = exc.status in self.RETRY_STATUSES or exc.status == -1
                if not retryable or attempt >= self.policy.retries:
                    raise
                delay = exc.retry_after
                if delay is None:
                    delay = self.policy.backoff_base * (2**attempt) * (0.5 + random.random())
                time.sleep(min(delay, self.policy.max_retry_after))
                attempt += 1

    def _get_once(self, url: str, kind: Kind, extra: dict[str, str]) -> Response:
        policy = self.policy
        deadline = time.monotonic() + policy.total_timeout
        accept = {
            "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
            "robots": "text/plain,*/*;q=0.1",
        }[kind]

        def answer(current: str) -> Exchange:
            self._guard.check(current)
            with self.gate.slot(urlsplit(current).netloc.lower()):
                return self._request(current, url, {"Accept": accept, **extra}, deadline)

        return follow_redirects(url, kind, policy.max_redirects, answer)

    def _request(self, current: str, url: str, headers: dict[str, str], deadline: float) -> Exchange:
        """One request, its body read within the cap and the deadline (not read for redirects and errors),
        stamped with when it was sent: the archive records that time, so a replay gives the same fetched_at."""
        policy = self.policy
        fetched_at = utc_now()
        try:
            resp = self._session.get(
                current,
                headers=headers,
                # No single wait may outlast what is left of the total deadline.
                timeout=(policy.connect_timeout, max(0.05, min(policy.read_timeout, deadline - time.monotonic()))),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise FetchError(f"timeout: {exc}", url, status=-1) from exc
        except requests.RequestException as exc:
            raise FetchError(f"connection failed: {exc}", url, status=-1) from exc
        with resp:
            headers_out = {k.lower(): v for k, v in resp.headers.items()}
            status = resp.status_code
            body = b"" if resp.is_redirect or status >= 400 or status == 304 else self._read_capped(resp, url, deadline)
        exchange = Exchange(current, status, headers_out, body, fetched_at)
        if self.recorder is not None:
            self.recorder(exchange)
        return exchange

    def _read_capped(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            # iter_content decompresses, so the cap bounds what a gzip bomb can inflate to.
            for chunk in resp.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise FetchError(f"body larger than {self.policy.max_bytes} bytes", url, resp.status_code)
                if time.monotonic() > deadline:
                    raise FetchError(f"total deadline of {self.policy.total_timeout}s exceeded", url, -1)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise FetchError(f"body read failed: {exc}", url, status=-1) from exc
        return b"".join(chunks)
