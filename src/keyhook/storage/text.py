"""Text that came from outside (a receiver's answer, an error about it), made storable.

PostgreSQL refuses U+0000 in ``text`` columns and a lone surrogate cannot be
encoded as UTF-8 at all; one such character in one row would fail the whole
statement that writes it and every other row with it. Both are replaced by
U+FFFD, so what is shown stays recognisable. Imports nothing.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str | None) -> str | None:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (None stays None)."""
    if text is None or _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub("\ufffd", text)
