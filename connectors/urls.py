"""URL canonicalization: one key per article, whatever tracking parameters or host spelling it arrived with."""

from __future__ import annotations

import uuid
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Query parameters that identify a click, a campaign or a share, never the article; besides these, any
# parameter whose name starts with TRACKING_PREFIX (GA4 adds utm_source_platform, utm_creative_format, ...).
TRACKING_PREFIX = "utm_"
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "utm_name",
    "utm_reader", "utm_brand", "utm_social", "utm_social-type", "fbclid", "gclid", "dclid", "msclkid",
    "mc_cid", "mc_eid", "yclid", "igshid", "_ga", "_gl", "cmpid", "ocid", "ns_mchannel", "ns_source",
    "ns_campaign", "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "ito", "xtor", "wt_mc", "WT.mc_id", "rss", "ref", "ref_src", "src",
    "CMP", "smid", "sh", "share", "taid", "ftag", "guccounter",
)


_TRACKING = frozenset(TRACKING_PARAMS)


def _without_tracking(url: str) -> str:
    """url without its fragment, its tracking parameters and repeats of an identical name=value pair.

    As w3lib's url_query_cleaner(remove=True), but every value of a repeated parameter is kept
    (`?id=2&id=1` is not `?id=2`) and any utm_ name is tracking. A URL with neither is cleaned exactly as
    url_query_cleaner cleans it, so its key and event id are the ones that cleaning gives."""
    base, _, query = url.partition("#")[0].partition("?")
    kept: list[str] = []
    for pair in query.split("&"):
        name = pair.partition("=")[0]
        if pair and name not in _TRACKING and not name.startswith(TRACKING_PREFIX) and pair not in kept:
            kept.append(pair)
    return f"{base}?{'&'.join(kept)}" if kept else base


@lru_cache(maxsize=1 << 14)
def canonical_url(url: str) -> str:
    """The URL as a reader should see it: tracking parameters and fragment removed, host
    lower-cased, default port dropped, percent-encoding and query order normalized (w3lib)."""
    cleaned = _without_tracking(url.strip())
    parts = urlsplit(canonicalize_url(cleaned, keep_fragments=False))
    netloc = parts.netloc.lower()
    if (parts.scheme, parts.port) in (("http", 80), ("https", 443)):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@lru_cache(maxsize=1 << 14)
def url_key(url: str) -> str:
    """Key of an article's URL: http or https, a 'www.' prefix and a trailing slash do not make
    another article."""
    parts = urlsplit(canonical_url(url))
    host = parts.netloc.removeprefix("www.")
    return urlunsplit(("https", host, parts.path.rstrip("/") or "/", parts.query, ""))


@lru_cache(maxsize=1 << 14)
def event_id_for(url: str) -> str:
    """Stable event id of the article at this canonical URL (UUIDv5 of its key)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url_key(url)))


def domain_of(url: str) -> str:
    """Host of a URL, lower case, without a leading 'www.' or a port."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
