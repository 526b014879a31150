"""Decoding a receiver's compressed answer without letting it grow past a cap.

Only ``gzip`` and ``deflate`` are offered (``ACCEPTED_ENCODINGS``) and accepted;
the decoder never produces more bytes than the caller has room for, so a small
compressed body cannot inflate to a large one. Pure computation: no I/O here.
"""

from __future__ import annotations

import zlib

from keyhook.actions.transport import ACCEPTED_ENCODINGS, TransportError


class Decoder:
    """Incremental ``gzip`` / ``deflate`` decoding that never produces more than asked."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._inner = zlib.decompressobj(wbits)
        self._started = False

    @classmethod
    def for_encoding(cls, header: str) -> Decoder | None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in {"gzip", "x-gzip"}:
            return cls(16 + zlib.MAX_WBITS)
        if len(codings) == 1 and codings[0] == "deflate":
            return cls(zlib.MAX_WBITS)  # zlib-wrapped, as RFC 9110 says; raw is tried too
        raise TransportError(
            "protocol",
            f"the answer's Content-Encoding {header[:100]!r} is not one Keyhook accepts "
            f"({ACCEPTED_ENCODINGS}, or none)",
        )

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; at most ``room`` bytes come out (the rest waits, undecoded)."""
        if not self._started and self._wbits == zlib.MAX_WBITS and data:
            self._started = True
            if data[0] & 0x0F != 8:  # no zlib header: a raw deflate stream
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return self._inner.decompress(self._inner.unconsumed_tail + data, max(room, 1))
        except zlib.error as exc:
            raise TransportError(
                "protocol", f"the answer's compressed body is broken: {exc}"
            ) from exc

    def finish(self, room: int) -> bytes:
        """What is left once the whole encoded body was fed; a cut-off stream is an error."""
        try:
            tail = self._inner.decompress(self._inner.unconsumed_tail, max(room, 1))
            tail = tail or self._inner.flush(max(room, 1))
        except zlib.error as exc:
            raise TransportError(
                "protocol", f"the answer's compressed body is broken: {exc}"
            ) from exc
        if not self._inner.eof and len(tail) < room:
            raise TransportError("protocol", "the answer's compressed body is cut off")
        return tail
