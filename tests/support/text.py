"""Look-alike text for tests, written with escapes so the source stays plain ASCII."""

from __future__ import annotations

CIRCLED_L = "\u24db"  # CIRCLED LATIN SMALL LETTER L, NFKC: "l"
IDEOGRAPHIC_FULL_STOP = "\u3002"  # a label separator for IDNA


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01-U+FF5E): what NFKC maps back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
