"""pipelines/charset.py on its own: how a fetched page's bytes become text (issue #23)."""

from __future__ import annotations

import codecs
import random

import pytest

from pipelines.charset import declared_charset, decode_html

RUSSIAN = ("<p>Российские войска нанесли удар по Харькову, сообщили местные власти. По данным областной "
           "администрации, погибли не менее трёх человек, ещё двенадцать получили ранения.</p>\n"
           "<p>Обстрел продолжался несколько часов, сообщает корреспондент.</p>")
ARABIC = ("<p>قالت وزارة الصحة إن غارة جوية استهدفت مبنى سكنياً في مدينة غزة، ما أدى إلى مقتل خمسة أشخاص "
          "وإصابة آخرين. وأضافت الوزارة أن فرق الإنقاذ ما زالت تبحث عن ناجين تحت الأنقاض.</p>")
FRENCH = ("<p>Le président a déclaré : « Nous n’abandonnerons pas » — a-t-il ajouté lors d’une conférence "
          "de presse à l’Élysée, après une réunion du conseil de défense.</p>")
ENGLISH_1252 = ("<p>The minister said: \u201cWe will not retreat\u201d \u2014 and added that the caf\u00e9 "
                "on the corner of the market had been hit twice.</p>")


def page(meta: str, body: str, title: str = "Latest news") -> str:
    """A news page's shape: doctype, a real <head> with the usual meta tags, an article."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">\n'
        f"{meta}\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        '<meta property="og:type" content="article">\n'
        '<link rel="stylesheet" href="/static/css/site.min.css">\n'
        "</head>\n<body>\n<header><nav><a href=\"/\">Home</a></nav></header>\n"
        f"<article><h1>{title}</h1>\n{body}\n</article>\n</body>\n</html>\n"
    )


# declared_charset


def test_header_charset_wins_over_meta():
    body = page('<meta charset="utf-8">', "").encode()
    assert declared_charset("text/html; charset=windows-1251", body) == "cp1251"


def test_meta_charset_and_http_equiv_read_when_header_has_none():
    assert declared_charset("text/html", page('<meta charset="Shift_JIS">', "").encode()) == "shift_jis"
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
    assert declared_charset(None, page(http_equiv, "").encode()) == "koi8-r"
    assert declared_charset("text/html", page("<meta charset='UTF-8' />", "").encode()) == "utf-8"


def test_latin1_and_ascii_labels_read_as_windows_1252():
    """WHATWG: browsers read ISO-8859-1 and US-ASCII as windows-1252."""
    for label in ("ISO-8859-1", "latin1", "us-ascii", "windows-1252"):
        assert declared_charset(f"text/html; charset={label}", b"") == "cp1252"


def test_unknown_label_in_header_falls_back_to_meta_and_none_without_either():
    body = page("<meta charset='KOI8-R'>", "").encode()
    assert declared_charset('text/html; charset="x-bogus-charset"', body) == "koi8-r"
    assert declared_charset(None, b"<html><head><title>x</title></head></html>") is None


def test_meta_beyond_the_first_4kb_ignored():
    body = b"<html><head><!--" + b" " * 5000 + b'--><meta charset="koi8-r"></head></html>'
    assert declared_charset("text/html", body) is None


# decode_html: BOMs


def test_utf8_bom_stripped():
    data = codecs.BOM_UTF8 + page('<meta charset="utf-8">', FRENCH).encode("utf-8")
    text, encoding = decode_html(data, "text/html")
    assert encoding == "utf-8-sig"
    assert text.startswith("<!DOCTYPE html>")
    assert "l’Élysée" in text


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_bom_read_whatever_the_header_says(bom, codec):
    data = bom + page('<meta charset="utf-16">', FRENCH).encode(codec)
    text, encoding = decode_html(data, "text/html; charset=iso-8859-1")
    assert encoding == codec
    assert "« Nous n’abandonnerons pas »" in text


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                                           (codecs.BOM_UTF8, "utf-8")])
def test_bom_not_left_in_the_text(bom, codec):
    text, _ = decode_html(bom + page("", FRENCH).encode(codec))
    assert text.startswith("<!DOCTYPE html>")
    assert "« Nous n’abandonnerons pas »" in text


# decode_html: valid UTF-8 and honest declarations


def test_valid_utf8_read_as_utf8_whatever_is_declared():
    data = page('<meta charset="windows-1251">', RUSSIAN + FRENCH).encode("utf-8")
    text, encoding = decode_html(data, "text/html; charset=ISO-8859-1")
    assert encoding == "utf-8"
    assert "Харькову" in text and "l’Élysée" in text


def test_declared_cp1251_page():
    data = page('<meta charset="windows-1251">', RUSSIAN, "Новости").encode("cp1251")
    text, encoding = decode_html(data, "text/html")
    assert encoding == "cp1251"
    assert "<title>Новости</title>" in text and "погибли не менее трёх человек" in text


def test_header_iso_8859_1_with_smart_quotes_read_as_windows_1252():
    data = page("", ENGLISH_1252).encode("cp1252")
    text, encoding = decode_html(data, "text/html; charset=ISO-8859-1")
    assert encoding == "cp1252"
    # Real ISO-8859-1 would make C1 control characters of these bytes.
    assert "\u201cWe will not retreat\u201d \u2014" in text and "\x93" not in text


def test_declared_koi8_r_page():
    data = page('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">', RUSSIAN).encode("koi8-r")
    text, encoding = decode_html(data)
    assert encoding == "koi8-r"
    assert "Обстрел продолжался" in text


# decode_html: declarations that lie, and none at all


def test_declared_utf8_written_in_windows_1252():
    data = page('<meta charset="utf-8">', ENGLISH_1252 + FRENCH).encode("cp1252")
    text, encoding = decode_html(data, "text/html; charset=utf-8")
    assert encoding == "utf-8+cp1252"
    assert "\u201cWe will not retreat\u201d \u2014" in text
    assert "caf\u00e9" in text and "l’Élysée" in text
    assert "\ufffd" not in text


def test_utf8_template_with_pasted_windows_1252_paragraph():
    """UTF-8 Cyrillic and French around one paragraph pasted in windows-1252: both read right."""
    head, tail = page('<meta charset="utf-8">', RUSSIAN + FRENCH + "@@").split("@@")
    data = head.encode("utf-8") + ENGLISH_1252.encode("cp1252") + tail.encode("utf-8")
    text, encoding = decode_html(data)
    assert encoding == "utf-8+cp1252"
    assert "Харькову" in text and "l’Élysée" in text and "\u201cWe will not retreat\u201d" in text


def test_undeclared_cp1251_cyrillic_detected():
    data = page("", RUSSIAN, "Новости").encode("cp1251")
    text, encoding = decode_html(data, "text/html")
    assert encoding == "cp1251"
    assert "Российские войска нанесли удар по Харькову" in text


def test_cp1251_page_declared_utf8_detected():
    data = page('<meta charset="utf-8">', RUSSIAN, "Новости").encode("cp1251")
    text, encoding = decode_html(data, "text/html; charset=utf-8")
    assert encoding == "cp1251"
    assert "<title>Новости</title>" in text


def test_undeclared_windows_1256_arabic_detected():
    data = page("", ARABIC, "أخبار").encode("cp1256")
    text, encoding = decode_html(data, "text/html")
    assert encoding == "cp1256"
    assert "غارة جوية استهدفت مبنى سكنياً في مدينة غزة" in text


def test_windows_1256_declared_utf8_detected():
    data = page('<meta charset="utf-8">', ARABIC, "أخبار").encode("cp1256")
    text, encoding = decode_html(data)
    assert encoding == "cp1256"
    assert "فرق الإنقاذ" in text


def test_garbage_bytes_never_raise_and_keep_the_markup():
    rnd = random.Random(23)
    garbage = bytes(rnd.randrange(256) for _ in range(3000))
    data = page("", "<p>@@</p>", "Breaking").encode().replace(b"@@", garbage)
    text, encoding = decode_html(data, "text/html")
    assert encoding == "utf-8+cp1252"
    assert "<title>Breaking</title>" in text and text.rstrip().endswith("</html>")
    text, encoding = decode_html(garbage)
    assert isinstance(text, str) and len(text) >= 1000 and encoding


def test_empty_body():
    assert decode_html(b"", "text/html") == ("", "utf-8")
