"""Extraction: a fetched page (or a text record) in, a clean Article out, with trafilatura as the engine."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.etree import XPath
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction, fromstring
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url
from trafilatura.settings import MANUALLY_CLEANED, MANUALLY_STRIPPED, Document, Extractor
from trafilatura.utils import load_html
from w3lib.html import remove_tags, replace_entities

from connectors.urls import canonical_url
from pipelines.charset import decode_html
from pipelines.dates import choose_published_at, parse_date
from schemas.records import Article, FeedEntry, FetchedPage

# A body shorter than this is kept only as short news (flagged `short_body`), and first retried for more text.
MIN_TEXT_CHARS = 200
# A paywalled page is kept for its headline and visible lede, and a short page (flagged `short_body`) for its brief,
# but a text shorter than this is no text at all.
MIN_TEASER_CHARS = 40
# What every body setting shares: no comments, tables kept, images off (the pre-cleaning assumes it), Python output.
BODY_BASE = {"comments": False, "tables": True, "output_format": "python"}
# The body settings a BodyPolicy names. "fast" skips trafilatura's fallback extractors (readability, jusText), which
# otherwise run beside its own pass on every page; precision drops doubtful blocks, recall keeps them.
BODY_SETTINGS: dict[str, dict[str, bool]] = {
    "precision": {"fast": True, "precision": True},
    "balanced": {"fast": True},
    "recall": {"fast": True, "recall": True},
    "precision+fallbacks": {"precision": True},
    "balanced+fallbacks": {},
    "recall+fallbacks": {"recall": True},
}
# A line that reads as prose: long, or of sentence length and ending as sentences end (in the scripts we see).
_PROSE_END = re.compile(r"[.!?\u3002\uff01\uff1f\u2026:;\"\u201d\u2019\u00bb)\]]$")
# htmldate, only when neither the feed nor the page's markup gives a date: the original publication date (not the
# last modification), with its time where the page states one.
DATE_PARAMS = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}

_WS = re.compile(r"[ \t\u00a0]+")
# A CMS's category or tag slug left as the body's last paragraph ("mn-1-general"): lower-case words joined by
# hyphens or underscores, no space, nothing a reader reads.
_SLUG_LINE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)+")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/_-]?(0?[1-9]|1[0-2])[/_-]?(0?[1-9]|[12]\d|3[01])(?:/|[_-]|\.html?|$)")
_LD_TYPE = re.compile(r'"@type"\s*:\s*(?:"([A-Za-z]+)"|\[([^\]]*)\])')
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?(?:false|False|FALSE)\b')
_PAYWALL_LINE = re.compile(
    r"subscribe (?:now )?to (?:continue|keep|read)|subscribers? only|only (?:available )?(?:to|for) subscribers"
    r"|already a subscriber|to continue reading|sign in to (?:continue|read)|unlock (?:this|full) (?:article|story)"
    r"|start your (?:free )?trial|this (?:article|story|content) is (?:for|reserved for|available to) (?:paying )?"
    r"(?:subscribers|members)",
    re.IGNORECASE,
)
_CONSENT = re.compile(
    r"we use cookies|use of cookies|cookie (?:policy|settings|preferences)|accept all|reject all|manage (?:your )?"
    r"(?:cookie|consent|privacy|preferences|options)|your (?:privacy|consent) choices|legitimate interest"
    r"|(?:our|trusted|advertising) partners|before you continue|consent to|store and/or access information",
    re.IGNORECASE,
)
# Searched in the page source: cheaper than walking every element's class in Python.
_LIVE_WORDS = re.compile(rb"live-?(?:blog|update)")
_IN_CLASS_OR_ID = re.compile(rb"""\s(?:class|id)\s*=\s*["']?[^"'>]*$""")
# Compiled XPath runs in libxml2; ElementPath's find/iterfind walk the tree in Python.
_LD_SCRIPTS = XPath('//script[@type="application/ld+json"]')
_META_WITH_CONTENT = XPath("//meta[@content]")
_TIME_PUBLISHED = XPath('//time[@datetime][@itemprop="datePublished" or @pubdate] | //article//time[@datetime]')
# /html/head, not //head: the parser always puts <head> there, and // walks the whole page for it.
_OG_TYPE = XPath('string(/html/head/meta[@property="og:type"]/@content)')
_CONTENT_TIER = XPath('string(/html/head/meta[@property="article:content_tier"]/@content)')
# What trafilatura's own cleaning deletes (or unwraps) anyway, done before it runs: its raw-tree prunes (XPath regex
# tests, one Python call per element) and its three whole-tree copies then see far fewer elements. Left to it:
# <form> (it keeps a form that wraps the whole article), <figure> (may hold a table), <math> (salvaged as LaTeX),
# <head> and JSON-LD scripts (they tell it a forum thread). Assumes images off, as in BODY_BASE. bench_tweaks.py
# measures this and the parser below against the same extraction without them.
_PRE_CLEANED = tuple(tag for tag in MANUALLY_CLEANED if tag not in {"form", "figure", "math", "head", "script"})
_PRE_UNWRAPPED = tuple(MANUALLY_STRIPPED)
# trafilatura's parser settings, with lxml.html's element classes chosen in C: lxml.html's own lookup is a Python call
# for every element object lxml hands out, and trafilatura asks for many per page. Only <form>, <input>, <select>
# and <textarea> lose their form-filling subclasses, which nothing here uses.
_PARSER = etree.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                           remove_pis=True)
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))
_DATE_META = {
    "article:published_time", "og:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publication_date", "date", "dc.date", "dc.date.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "cxenseparse:recs:publishtime",
}


class ExtractionError(Exception):
    """A page that yielded no usable article, with the reason."""


def plain_text(html_or_text: str | None) -> str | None:
    """Feed summaries are often HTML fragments: strip tags and entities, collapse spaces."""
    if not html_or_text:
        return None
    text = _WS.sub(" ", replace_entities(remove_tags(html_or_text))).strip()
    return text or None


def detect_language(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code of the text's language ('und' when the text is too short to tell)."""
    # Six hundred characters tell a language as well as the whole text does, at a fraction of the cost.
    sample = text[:600]
    if len(sample.strip()) < 20:
        return (hint or "und").split("-")[0].lower()[:2] if hint else "und"
    lang, _score = _language_identifier().classify(sample)
    return lang


@lru_cache(maxsize=1)
def _language_identifier() -> LanguageIdentifier:
    """py3langid's model restricted to the languages with an ISO 639-1 code, which the event schema takes.
    Its model also knows some by three letters only (Nigerian Pidgin `pcm`, Cantonese `yue`, Egyptian
    Arabic `arz`, ...): such a text gets the nearest language that has two (English, Chinese, Arabic)."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages([code for code in identifier.nb_classes if len(code) == 2])
    return identifier


def url_date(url: str) -> str | None:
    """The day in an article URL such as /2022/01/23/ or /2022-01-23-slug, as YYYY-MM-DD."""
    match = _URL_DATE.search(url)
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def _ld_scripts(tree: HtmlElement) -> list[str]:
    return [s.text for s in _LD_SCRIPTS(tree) if s.text]


def _ld_dates(blob: object) -> list[str]:
    if isinstance(blob, dict):
        found = [blob["datePublished"]] if isinstance(blob.get("datePublished"), str) else []
        for value in blob.values():
            found.extend(_ld_dates(value))
        return found
    if isinstance(blob, list):
        return [date for item in blob for date in _ld_dates(item)]
    return []


def stated_date(tree: HtmlElement, ld_scripts: list[str] | None = None) -> str | None:
    """The publication date the page's markup states (JSON-LD, meta tags, <time>), offset kept; cheap lookups only."""
    for script in _ld_scripts(tree) if ld_scripts is None else ld_scripts:
        try:
            dates = _ld_dates(json.loads(script, strict=False))
        except ValueError:
            continue
        for value in dates:
            if parse_date(value):
                return value
    for meta in _META_WITH_CONTENT(tree):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _DATE_META and parse_date(meta.get("content", "")):
            return meta.get("content")
    for time in _TIME_PUBLISHED(tree):
        if parse_date(time.get("datetime", "")):
            return time.get("datetime")
    return None


def _live_markup(source: bytes) -> bool:
    """A live-blog class or id on some tag (the words alone also turn up in links and scripts)."""
    # Lowered bytes and one regex pass, cheaper than a find per word: a case-blind regex or
    # str.lower would cost more than all the other checks together.
    lowered = source.lower()
    for found in _LIVE_WORDS.finditer(lowered):
        at = found.start()
        tag_start = lowered.rfind(b"<", max(0, at - 300), at)
        if tag_start >= 0 and _IN_CLASS_OR_ID.search(lowered, tag_start, at):
            return True
    return False


@dataclass(frozen=True)
class PageSignals:
    """What the page says about itself, beyond its text: the markup marks of paywalls, live blogs and videos."""

    ld_types: frozenset[str]
    not_free: bool
    live_markup: bool
    og_type: str

    @classmethod
    def read(cls, tree: HtmlElement, source: bytes, ld_scripts: list[str]) -> PageSignals:
        types: set[str] = set()
        not_free = False
        for script in ld_scripts:
            for single, listed in _LD_TYPE.findall(script):
                types.update([single] if single else re.findall(r'"([A-Za-z]+)"', listed))
            not_free = not_free or bool(_NOT_FREE.search(script))
        not_free = not_free or _CONTENT_TIER(tree).strip().lower() in ("locked", "metered")
        return cls(frozenset(types), not_free, _live_markup(source), _OG_TYPE(tree).strip().lower())

    @property
    def live_blog(self) -> bool:
        return "LiveBlogPosting" in self.ld_types or self.live_markup

    @property
    def video(self) -> bool:
        articles = {"NewsArticle", "Article", "ReportageNewsArticle", "BlogPosting", "LiveBlogPosting"}
        return self.og_type.startswith("video") or ("VideoObject" in self.ld_types and not self.ld_types & articles)


@dataclass(frozen=True)
class BodyPolicy:
    """Which body settings to try, and when a first body is too thin to trust without a second attempt.

    The first setting runs on every page. When its body is shorter than `retry_below_chars`, or than
    `retry_below_share` of the page's text, the retry setting runs too and `better_body` picks between the two.
    """

    first: str
    retry: str | None = None
    retry_below_chars: int = MIN_TEXT_CHARS
    retry_below_share: float = 0.0

    def __post_init__(self) -> None:
        for name in (self.first, self.retry):
            if name is not None and name not in BODY_SETTINGS:
                raise ValueError(f"unknown body setting {name!r}; known: {', '.join(BODY_SETTINGS)}")

    def wants_retry(self, body: str, page_chars: Callable[[], int]) -> bool:
        """Whether the first body is thin: under the floor, or a small share of the page's text (counted only
        for bodies the floor does not already decide, since counting walks the page)."""
        if self.retry is None:
            return False
        if len(body) < self.retry_below_chars:
            return True
        return self.retry_below_share > 0 and len(body) < self.retry_below_share * page_chars()


# Chosen by 2-fold cross-validation on the extraction benchmark (bench/eval_extraction.py --cv prints the held-out
# folds), then picked on all its pages the same way: precision first, since boilerplate left in a body becomes false
# tags downstream; a body under the minimum or under a twentieth of the page's text is retried with recall.
BODY_POLICY = BodyPolicy(first="precision", retry="recall", retry_below_chars=MIN_TEXT_CHARS, retry_below_share=0.05)


def prose_chars(text: str) -> int:
    """Characters in lines that read as article prose: a line of 120 characters or more, or one of 40 or more
    that ends as a sentence does. Menus, teaser headlines, bylines and notices score little."""
    return sum(len(line) for line in text.splitlines()
               if len(line) >= 120 or (len(line) >= 40 and _PROSE_END.search(line.rstrip())))


def better_body(first: str, retry: str) -> str:
    """The better-supported of two bodies of one page: the retry wins only with more prose than the first, so a
    recall setting's extra navigation and teasers never displace a real, if short, article."""
    return retry if prose_chars(retry) > prose_chars(first) else first


def choose_body(policy: BodyPolicy, body_of: Callable[[str], str], page_chars: Callable[[], int]) -> str:
    """The body a policy keeps: the first setting's, or the better-supported of it and the retry's when it is thin.
    `body_of` runs a named setting on the page; both callables run only when the policy needs them."""
    body = body_of(policy.first)
    if policy.retry is not None and policy.wants_retry(body, page_chars):
        body = better_body(body, body_of(policy.retry))
    return body


def page_text_chars(tree: HtmlElement) -> int:
    """Length of all text in the page's body, in one C pass (the share a thin body is measured against)."""
    body = tree.find("body")
    return len(etree.tostring(body if body is not None else tree, method="text", encoding="unicode"))


def _clean_body(text: str, title: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    # The headline is not body text, where trafilatura puts it first or (a page's heading after its lede) later.
    headline = title.strip().casefold()
    lines = [line for line in lines if line and line.casefold() != headline]
    while lines and _SLUG_LINE.fullmatch(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def _consent_hits(text: str) -> int:
    return len({m.group(0).lower() for m in _CONSENT.finditer(text)})


def _page_text(tree: HtmlElement) -> str:
    body = tree.find(".//body")
    return " ".join((body if body is not None else tree).itertext())


def _pre_clean(tree: HtmlElement, json_ld: list[HtmlElement]) -> None:
    """Delete in place what trafilatura would delete first, but the JSON-LD scripts; tails are kept, as trafilatura
    keeps them."""
    # JSON-LD scripts step aside under another name, so that lxml strips all the others in one C pass.
    for script in json_ld:
        script.tag = "ld-json"
    etree.strip_elements(tree, "script", *_PRE_CLEANED, with_tail=False)
    etree.strip_tags(tree, *_PRE_UNWRAPPED)
    for script in json_ld:
        script.tag = "script"


def _source(page: FetchedPage) -> tuple[str, bytes]:
    """The page's markup as text and as UTF-8 bytes."""
    html, encoding = decode_html(page.body, page.content_type)
    return html, page.body if encoding == "utf-8" else html.encode("utf-8")


def _parse(utf8: bytes, html: str) -> HtmlElement:
    # lxml parses UTF-8 bytes faster than a str; trafilatura's loader (with its repairs of broken
    # markup) is the fallback for what that parse rejects.
    try:
        tree = fromstring(utf8, parser=_PARSER)
    except (ValueError, etree.ParserError):
        tree = None
    if tree is None or len(tree) < 1:
        tree = load_html(html)
    if tree is None:
        raise ExtractionError("not an HTML page")
    return tree


class ArticleExtractor:
    """Turns a FetchedPage into an Article with trafilatura, extracting only the metadata the feed entry lacks."""

    def __init__(self, min_text_chars: int = MIN_TEXT_CHARS, policy: BodyPolicy = BODY_POLICY) -> None:
        self.min_text_chars = min_text_chars
        self.policy = policy
        # One options object per setting for the extractor's life: trafilatura reads its config file per Extractor.
        self.options = {name: Extractor(**BODY_BASE, **BODY_SETTINGS[name])
                        for name in (policy.first, policy.retry) if name is not None}

    def extract(self, page: FetchedPage) -> Article:
        entry = page.entry
        html, utf8 = _source(page)
        tree = _parse(utf8, html)
        ld_elements = _LD_SCRIPTS(tree)
        ld_scripts = [script.text for script in ld_elements if script.text]
        signals = PageSignals.read(tree, utf8, ld_scripts)
        # Every lookup in the whole page comes before the pre-cleaning, which leaves only what trafilatura reads.
        meta = self._metadata(tree, entry)
        canonical = self._canonical(tree, meta, page.final_url)
        page_date = self._page_date(tree, ld_scripts, entry, page.final_url)
        html_lang = tree.get("lang")
        _pre_clean(tree, ld_elements)
        body = choose_body(self.policy, lambda setting: self._body(tree, setting), lambda: page_text_chars(tree))
        title = (entry.title or meta.title or "").strip()
        text = _clean_body(body, title)
        # The pre-cleaned tree has lost the page's buttons and dialogs: the rare short page is parsed again whole.
        flags = self._classify(lambda: _page_text(_parse(utf8, html)), signals, text)
        if "paywalled" in flags:
            text = "\n".join(line for line in text.splitlines() if not _PAYWALL_LINE.search(line))
        text = self._short_news(text, flags, plain_text(entry.summary))
        published = choose_published_at(entry.published_at, page_date)
        return Article(
            url=page.final_url,
            canonical_url=canonical_url(canonical),
            title=title,
            text=text,
            language=detect_language(text, entry.feed_language or html_lang),
            fetched_at=page.fetched_at,
            summary=plain_text(entry.summary) or plain_text(meta.description),
            authors=entry.authors or tuple(a.strip() for a in (meta.author or "").split(";") if a.strip()),
            published_at=published,
            feed_published_at=entry.published_at,
            feed_url=entry.feed_url,
            source_name=entry.feed_name or meta.sitename,
            guid=entry.guid,
            connector=entry.connector,
            flags=tuple(sorted(flags | (set() if published else {"no_date"}))),
        )

    def _body(self, tree: HtmlElement, setting: str) -> str:
        # trafilatura works on its own copy of the tree, so a retry sees the same pre-cleaned page.
        if setting not in self.options:  # a setting outside the policy, asked for by body_candidates
            self.options[setting] = Extractor(**BODY_BASE, **BODY_SETTINGS[setting])
        doc = trafilatura.bare_extraction(tree, options=self.options[setting])
        return doc.text if doc is not None and doc.text else ""

    def body_candidates(self, page: FetchedPage, settings: Iterable[str]) -> tuple[dict[str, str], int]:
        """What each named body setting makes of the page (raw, before the title line is dropped) and the length of
        the page's text: the evidence a BodyPolicy is chosen on, without running the whole extraction per policy."""
        tree = self._prepared_tree(page)
        return {setting: self._body(tree, setting) for setting in settings}, page_text_chars(tree)

    @staticmethod
    def _prepared_tree(page: FetchedPage) -> HtmlElement:
        """The page parsed and pre-cleaned as extract() hands it to trafilatura."""
        html, utf8 = _source(page)
        tree = _parse(utf8, html)
        _pre_clean(tree, _LD_SCRIPTS(tree))
        return tree

    @staticmethod
    def _metadata(tree: HtmlElement, entry: FeedEntry) -> Document:
        # Meta tags and JSON-LD are a few lookups; the <h1>/XPath title search only runs when both lack a title.
        # Author XPath heuristics (a full tree copy in trafilatura) are skipped: a byline guess is not worth it.
        meta = examine_meta(tree)
        if not entry.authors or not entry.title:
            meta = extract_meta_json(tree, meta)
        if not entry.title and not meta.title:
            meta.title = extract_title(tree)
        if meta.author and " " not in meta.author:
            meta.author = None  # trafilatura's own rule: a one-word "author" is a handle or a site name
        return meta

    @staticmethod
    def _canonical(tree: HtmlElement, meta: Document, fallback: str) -> str:
        for candidate in (extract_url(tree), meta.url):
            if candidate and candidate.startswith(("http://", "https://")):
                return candidate
        return fallback

    @staticmethod
    def _page_date(tree: HtmlElement, ld_scripts: list[str], entry: FeedEntry, url: str) -> str | None:
        stated = stated_date(tree, ld_scripts)
        if stated and choose_published_at(None, stated):
            return stated
        from_url = url_date(url)
        if from_url or entry.published_at:
            return from_url
        # Nothing in the markup, the URL or the feed: htmldate's full search through the page text.
        found = find_date(tree, url=url, deferred_url_extractor=True, **DATE_PARAMS)
        return found if isinstance(found, str) else None

    def _classify(self, page_text: Callable[[], str], signals: PageSignals, text: str) -> set[str]:
        """Flags for pages worth keeping with a caveat; ExtractionError for pages that are not an article."""
        short = len(text) < self.min_text_chars
        # A consent prompt extracted as if it were the article, or no article and a consent prompt on the page.
        if (len(text) < 1500 and _consent_hits(text) >= 2) or (short and _consent_hits(page_text()) >= 2):
            raise ExtractionError("cookie wall: the page asks for consent instead of showing the article")
        flags: set[str] = set()
        if signals.live_blog:
            flags.add("live_blog")
        # A video page with a real write-up is an article like any other; without one there is nothing to tag.
        if signals.video and short:
            raise ExtractionError(f"video-only page: no article text ({len(text)} characters)")
        if signals.not_free or (len(text) < 1500 and _PAYWALL_LINE.search(text)):
            flags.add("paywalled")
        return flags

    def _short_news(self, text: str, flags: set[str], feed_summary: str | None) -> str:
        """The text to keep from a body under the minimum, flagged `short_body`: a wire brief or a flash is the
        first report of an event. The feed's summary stands in when it says more than the page. Only a page with no
        text, or with less than a sentence (a button, a caption), is refused."""
        if "paywalled" in flags:
            if len(text) < MIN_TEASER_CHARS:
                raise ExtractionError(f"paywall stub with no visible text ({len(text)} characters)")
            return text
        if not text:
            raise ExtractionError("no article body found in the page")
        if len(text) >= self.min_text_chars:
            return text
        if feed_summary and len(feed_summary) > len(text):
            text = feed_summary
        if len(text) < MIN_TEASER_CHARS:
            raise ExtractionError(f"no usable text: {len(text)} characters, too few for a sentence of news")
        flags.add("short_body")
        return text


def article_from_text(entry: FeedEntry, text: str, fetched_at: str) -> Article:
    """An Article from a record that already carries clean text (a backfill's `text` field)."""
    body = _clean_body(text, entry.title or "")
    if not body:
        raise ExtractionError("record has an empty 'text'")
    return Article(
        url=entry.link,
        canonical_url=canonical_url(entry.link),
        title=(entry.title or body.split("\n", 1)[0][:200]).strip(),
        text=body,
        language=detect_language(body, entry.feed_language),
        fetched_at=fetched_at,
        summary=plain_text(entry.summary),
        authors=entry.authors,
        published_at=choose_published_at(entry.published_at, None),
        feed_published_at=entry.published_at,
        feed_url=entry.feed_url,
        source_name=entry.feed_name,
        guid=entry.guid,
        connector=entry.connector,
        flags=() if entry.published_at else ("no_date",),
    )
