"""connectors/urls.py on its own: canonical_url, url_key and event_id_for (issue #23)."""

from __future__ import annotations

import uuid

import pytest
from w3lib.url import url_query_cleaner

from connectors.urls import TRACKING_PARAMS, canonical_url, domain_of, event_id_for, url_key

ARTICLE = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"


# canonical_url: what a reader should see


def test_tracking_parameters_and_fragment_removed_article_parameters_kept():
    url = ("https://news.example.com/world/2024/05/01/ceasefire-talks.html?utm_source=rss&utm_medium=feed"
           "&utm_campaign=world&id=5812&fbclid=IwAR0aBcDeF&gclid=Cj0KCQjw#comments")
    assert canonical_url(url) == "https://news.example.com/world/2024/05/01/ceasefire-talks.html?id=5812"


@pytest.mark.parametrize("param", ["utm_source=twitter", "utm_content=top-story", "fbclid=IwAR2x", "gclid=EAIaIQ",
                                   "msclkid=abc123", "_ga=2.1234.5678", "ocid=msnews", "CMP=share_btn_tw",
                                   "smid=nytcore-ios-share", "at_medium=RSS"])
def test_each_known_tracking_parameter_dropped(param):
    assert canonical_url(f"https://news.example.com/politics/vote-count?{param}") == (
        "https://news.example.com/politics/vote-count")


def test_host_lower_cased_path_case_kept():
    assert canonical_url("HTTPS://News.Example.COM/World/Story-About-Aleppo.html") == (
        "https://news.example.com/World/Story-About-Aleppo.html")
    assert canonical_url("https://news.example.com/World/A") != canonical_url("https://news.example.com/world/a")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://news.example.com:443/world/story", "https://news.example.com/world/story"),
    ("http://news.example.com:80/world/story", "http://news.example.com/world/story"),
    ("http://news.example.com:8080/world/story", "http://news.example.com:8080/world/story"),
    # 80 is only the default for http: on https it is a port like any other.
    ("https://news.example.com:80/world/story", "https://news.example.com:80/world/story"),
])
def test_default_ports_dropped_others_kept(url, expected):
    assert canonical_url(url) == expected


def test_query_order_and_percent_encoding_normalized():
    assert canonical_url("https://news.example.com/search?b=2&a=1") == "https://news.example.com/search?a=1&b=2"
    # Lower-case escapes upper-cased, an unreserved '~' unescaped, an escaped '/' kept escaped.
    assert canonical_url("https://news.example.com/caf%c3%a9/%7eeditor/a%2fb") == (
        "https://news.example.com/caf%C3%A9/~editor/a%2Fb")
    # A raw non-ASCII path and its escaped UTF-8 spelling are one URL.
    assert canonical_url("https://news.example.com/café") == canonical_url("https://news.example.com/caf%C3%A9")
    assert canonical_url("https://news.example.com/s?q=a%20b") == canonical_url("https://news.example.com/s?q=a+b")


def test_idn_host_in_punycode_either_spelling():
    unicode_host = canonical_url("https://Bücher.example/nachrichten/übersicht")
    assert unicode_host == "https://xn--bcher-kva.example/nachrichten/%C3%BCbersicht"
    assert canonical_url("https://xn--bcher-kva.example/nachrichten/%C3%BCbersicht") == unicode_host


def test_canonical_url_keeps_scheme_www_and_trailing_slash():
    """Those are for url_key to fold: canonical_url is the URL a reader sees."""
    assert canonical_url("http://www.news.example.com/world/") == "http://www.news.example.com/world/"
    assert canonical_url("  https://news.example.com/a?  ") == "https://news.example.com/a"
    assert canonical_url("https://news.example.com") == "https://news.example.com/"


# url_key: one key per article


@pytest.mark.parametrize("variant", [
    "http://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria",
    "https://frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria/",
    "https://WWW.Frontline-Daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria",
    "https://www.frontline-daily.example:443/world/middle-east/clashes-continue-isis-attack-prison-syria",
    "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"
    "?utm_source=twitter&utm_medium=social#top",
    "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria?fbclid=IwAR0",
])
def test_url_key_folds_equivalent_spellings(variant):
    assert url_key(variant) == "https://frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"
    assert url_key(variant) == url_key(ARTICLE)


def test_url_key_tells_different_articles_apart():
    base = "https://news.example.com/world/2024/05/01/"
    assert url_key(base + "ceasefire-talks") != url_key(base + "ceasefire-collapses")
    assert url_key("https://news.example.com/article.php?id=1") != url_key("https://news.example.com/article.php?id=2")
    # A subdomain other than www. is another site; so is another port.
    assert url_key("https://m.news.example.com/a") != url_key("https://news.example.com/a")
    assert url_key("https://news.example.com:8443/a") != url_key("https://news.example.com/a")
    assert url_key("https://news.example.com/World/A") != url_key("https://news.example.com/world/a")


def test_url_key_of_a_home_page_keeps_its_slash():
    assert url_key("http://www.news.example.com") == "https://news.example.com/"
    assert url_key("https://news.example.com/") == "https://news.example.com/"


def test_any_utm_parameter_is_tracking():
    shared = "https://news.example.com/world/story?utm_source_platform=social&utm_creative_format=carousel"
    assert url_key(shared) == url_key("https://news.example.com/world/story")
    assert canonical_url("https://news.example.com/a?id=7&utm_marketing_tactic=prospecting") == (
        "https://news.example.com/a?id=7")


def test_repeated_parameter_values_are_not_dropped():
    assert url_key("https://news.example.com/a?id=2&id=1") != url_key("https://news.example.com/a?id=2")
    assert canonical_url("https://news.example.com/a?id=2&id=1&fbclid=x") == "https://news.example.com/a?id=1&id=2"
    # The same name=value twice is still one parameter.
    assert url_key("https://news.example.com/a?id=2&id=2") == url_key("https://news.example.com/a?id=2")


@pytest.mark.parametrize("url", [
    "https://news.example.com/world/story",
    "https://news.example.com/world/story?",
    "https://News.Example.com:443/a.php?id=5812&page=2&utm_source=rss&fbclid=IwAR0#comments",
    "https://news.example.com/s?q=a%20b&lang=fr&CMP=share_btn_tw&ref=",
    "https://news.example.com/s?flag&empty=&x=1&&y=%2F#frag?utm_x=1",
    "http://www.news.example.com/caf%c3%a9/?b=2&a=1&gclid=Cj0&smid=nyt",
    "https://news.example.com/a?utm_source=x&utm_source=y&id=3",
])
def test_urls_without_new_utm_names_or_repeated_values_keep_their_key(url):
    """Keys (and so event ids) of URLs with neither a GA4 utm_ name nor a repeated parameter are as they were
    with url_query_cleaner(TRACKING_PARAMS, remove=True, unique=True)."""
    before = url_query_cleaner(url, TRACKING_PARAMS, remove=True, unique=True, keep_fragments=False)
    assert canonical_url(url) == canonical_url(before)
    assert url_key(url) == url_key(before)


# event_id_for: stable ids


def test_event_id_is_uuid5_of_the_key():
    event_id = event_id_for(ARTICLE)
    assert uuid.UUID(event_id).version == 5
    assert event_id == str(uuid.uuid5(uuid.NAMESPACE_URL, url_key(ARTICLE)))


def test_event_id_is_stable_across_releases():
    """Ids are stored and published: a change of namespace or key recipe would re-identify every event."""
    assert event_id_for("https://www.example.com/world/2024/05/01/story") == "2d876644-2877-5056-90c9-705878beab6c"


def test_event_id_same_for_equivalent_urls_different_for_other_paths():
    same = {event_id_for(u) for u in (
        "https://www.example.com/world/2024/05/01/story",
        "http://example.com/world/2024/05/01/story/",
        "https://EXAMPLE.com/world/2024/05/01/story?utm_source=rss#comments",
    )}
    assert len(same) == 1
    assert event_id_for("https://www.example.com/world/2024/05/02/story") not in same
    assert event_id_for("https://www.example.com/world/2024/05/01/story-2") not in same


def test_domain_of():
    assert domain_of("https://WWW.News.Example.com:8443/a") == "news.example.com"
    assert domain_of("not a url") == ""
