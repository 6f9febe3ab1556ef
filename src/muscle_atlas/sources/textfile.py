"""Text files from users: bounded reads, any common encoding, binary data refused.

Label tables, mapping files and project files come from spreadsheets and editors of every
kind: UTF-8 with or without a BOM, UTF-16 ("Unicode text" from Excel, with or without a BOM),
Windows-1252 and Latin-1. A file that is none of these (a model, an image, a half-downloaded
archive) is refused with one clear error instead of being parsed as text.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from muscle_atlas.errors import AtlasError

MAX_TEXT_BYTES = 16 << 20  # far above any label table, mapping or project file

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control characters that never appear in text files (tab, newlines and form feed do).
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r\x0b\x0c"} | {"\x7f"}


def read_text(path: Path, error: type[AtlasError], what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of ``path``; every problem raises ``error`` naming the file."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror or exc})", path) from exc
    if len(raw) > limit:
        raise error(f"larger than {limit >> 20} MB: not a {what}", path)
    return decode_text(raw, path, error, what)


def decode_text(raw: bytes, path: str | Path, error: type[AtlasError], what: str) -> str:
    text = _decode(raw)
    if text is None or _looks_binary(text):
        raise error(f"binary data, not a {what} (is it the right file?)", path)
    return text


def _decode(raw: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _decode_wide(raw[len(bom) :], encoding)
    wide = _utf16_without_bom(raw)
    if wide is not None:
        return _decode_wide(raw, wide)
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _decode_wide(raw: bytes, encoding: str) -> str | None:
    unit = 4 if "32" in encoding else 2 if "16" in encoding else 1
    try:
        return raw[: len(raw) - len(raw) % unit].decode(encoding)
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text without a BOM: mostly ASCII, so every other byte is zero."""
    sample = raw[:4096]
    pairs = len(sample) // 2
    if pairs < 2 or 0 not in sample:
        return None
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd >= 0.4 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.4 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return "\x00" in text or sum(1 for c in sample if c in _CONTROL) > max(2, len(sample) // 200)


def shorten(text: str, limit: int = 40) -> str:
    """``repr`` of a piece of a user's file, cut to ``limit`` characters, for error messages."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
