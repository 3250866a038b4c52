"""The HTTP fetcher: deadlines, a byte cap read as a stream, bounded retries, redirects checked hop by hop,
and a guard that refuses non-public addresses unless the user allows them."""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from schemas.records import utc_now

Kind = Literal["feed", "html"]

DEFAULT_USER_AGENT = "sitrep/0.1 (+https://github.com/sitrep-project/sitrep; conflict-news monitor)"

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
    """Anything that turns a URL into a Response or raises FetchError: HTTP, or a replayed archive."""

    def get(self, url: str, kind: Kind) -> Response: ...

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
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"scheme {parts.scheme or '(none)'!r} not allowed: only http and https", url)
        host = parts.hostname
        if not host:
            raise FetchError("URL has no host", url)
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}", url) from exc
        for info in infos:
            addr = ipaddress.ip_address(info[4][0])
            if any(addr in net for net in self._allow):
                continue
            if not addr.is_global:
                raise FetchError(f"host {host!r} resolves to non-public address {addr}; see --allow-hosts", url)


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
    if kind == "html":
        if ctype in HTML_TYPES:
            return True
        vague = ctype in ("", "text/plain", "application/octet-stream")
        return vague and (sniff.startswith(b"<!doctype html") or sniff.startswith(b"<html"))
    if any(t in ctype for t in FEED_TYPES):
        return True
    vague = ctype in ("", "text/plain", "application/octet-stream", "text/html")
    return vague and (sniff.startswith(b"<?xml") or sniff.startswith(b"<rss") or sniff.startswith(b"<feed"))


class HttpFetcher:
    """Fetches over HTTP(S) with requests, within a FetchPolicy."""

    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._guard = AddressGuard(self.policy.allow_hosts)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = self.policy.user_agent
        # The environment's proxies must not route around the address guard.
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def get(self, url: str, kind: Kind) -> Response:
        """Fetch url, retrying timeouts, connection errors, 429 and 5xx with backoff and jitter."""
        attempt = 0
        while True:
            try:
                return self._get_once(url, kind)
            except FetchError as exc:
                retryable = exc.status in self.RETRY_STATUSES or exc.status == -1
                if not retryable or attempt >= self.policy.retries:
                    raise
                delay = exc.retry_after
                if delay is None:
                    delay = self.policy.backoff_base * (2**attempt) * (0.5 + random.random())
                time.sleep(min(delay, self.policy.max_retry_after))
                attempt += 1

    def _get_once(self, url: str, kind: Kind) -> Response:
        policy = self.policy
        deadline = time.monotonic() + policy.total_timeout
        accept = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1" if kind == "html" else (
            "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1"
        )
        current = url
        for _hop in range(policy.max_redirects + 1):
            self._guard.check(current)
            try:
                resp = self._session.get(
                    current,
                    headers={"Accept": accept},
                    timeout=(policy.connect_timeout, policy.read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.Timeout as exc:
                raise FetchError(f"timeout: {exc}", url, status=-1) from exc
            except requests.RequestException as exc:
                raise FetchError(f"connection failed: {exc}", url, status=-1) from exc
            with resp:
                if resp.is_redirect:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {resp.status_code} redirect without Location", url, resp.status_code)
                    current = urljoin(current, location)
                    continue
                headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code >= 400:
                    retry_after = _retry_after_seconds(headers.get("retry-after"))
                    raise FetchError(f"HTTP {resp.status_code}", url, resp.status_code, retry_after)
                body = self._read_capped(resp, url, deadline)
            if not body_matches_kind(kind, headers.get("content-type", ""), body[:512]):
                wanted = "an HTML page" if kind == "html" else "a feed"
                raise FetchError(
                    f"content type {headers.get('content-type') or '(none)'!r} is not {wanted}", url, resp.status_code
                )
            return Response(url=url, final_url=current, status=resp.status_code, headers=headers, body=body)
        raise FetchError(f"more than {policy.max_redirects} redirects", url)

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
