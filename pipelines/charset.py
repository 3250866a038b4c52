"""Decoding fetched HTML bytes to Unicode when the declared charset may be missing or wrong."""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# WHATWG's encoding standard: browsers read these labels as windows-1252, and so do real pages' authors.
_AS_WINDOWS_1252 = {"latin_1", "iso8859-1", "ascii", "us-ascii", "iso-8859-1", "cp1252"}
_UNICODE = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"}
_LATIN_PREFIXES = ("LATIN",)
# Detection often ties between a web encoding and a Mac or DOS one that decodes the same bytes almost as well
# (mac_cyrillic vs windows-1251 differ on a few capitals): among near-ties, the web's own encodings win.
_WEB_LEGACY = ("cp1251", "cp1256", "koi8_r", "koi8_u", "cp1253", "cp1255", "cp1250", "cp1254", "iso8859_6",
               "iso8859_5", "gb18030", "gb2312", "big5", "shift_jis", "euc_jp", "euc_kr", "cp1252")


def _normalize(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else name


def declared_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset the HTTP header declares, else the page's own <meta> declaration (first 4 KB)."""
    match = _HEADER_CHARSET.search(content_type or "")
    header = _normalize(match.group(1)) if match else None
    if header:
        return header
    match = _META_CHARSET.search(body[:4096])
    return _normalize(match.group(1).decode("ascii")) if match else None


def _cp1252_repair(error: UnicodeDecodeError) -> tuple[str, int]:
    # A byte that is not UTF-8 in a page that mostly is: almost always windows-1252 pasted into a UTF-8 template.
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("sitrep_cp1252", _cp1252_repair)


def _non_latin_share(text: str) -> float:
    letters = [c for c in text if ord(c) > 127 and c.isalpha()]
    if not letters:
        return 0.0
    non_latin = sum(1 for c in letters if not unicodedata.name(c, "").startswith(_LATIN_PREFIXES))
    return non_latin / len(letters)


def _detect(body: bytes) -> str | None:
    matches = [m for m in from_bytes(body[:20000]) if m.encoding not in _UNICODE]
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    near = [m.encoding for m in matches if m.chaos <= best + 0.05]
    preferred = [e for e in _WEB_LEGACY if e in near]
    return preferred[0] if preferred else near[0]


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The page as text and the encoding it was read with.

    Order: a byte-order mark; valid UTF-8 (whatever is declared, since legacy text is practically never valid
    multi-byte UTF-8 by accident); a declared legacy charset that decodes cleanly; then detection, which tells
    a mislabelled Cyrillic or Arabic page from a UTF-8 template with windows-1252 bytes in it.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            # The mark is not text: the page is decoded from after it (whatever the encoding, one mark dropped).
            return body[len(bom):].decode(name.removesuffix("-sig"), errors="replace"), name
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = declared_charset(content_type, body)
    if declared and declared not in _UNICODE:
        try:
            return body.decode(declared), declared
        except UnicodeDecodeError:
            pass
    guess = _detect(body)
    if guess is not None:
        try:
            text = body.decode(guess)
        except (UnicodeDecodeError, LookupError):
            text = ""
        if text and _non_latin_share(text) > 0.5:
            return text, guess
    return body.decode("utf-8", errors="sitrep_cp1252"), "utf-8+cp1252"
