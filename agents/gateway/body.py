"""Request bodies: headers looked up one way, size limits before and after decoding, and
each content coding decoded exactly once.

The web server hands the gateway the body as sent (its own decompression is off);
`BodyDecoder` takes it chunk by chunk as it arrives and inflates gzip or deflate in steps
of at most `STEP_BYTES` of output, yielding between steps so the web shell can give the
event loop a turn. A gzip bomb is stopped one step past the limit, after a few
milliseconds of CPU. Must never inflate without a bound and never raise anything but
`Rejection`.
"""

from __future__ import annotations

import zlib
from typing import Iterator, Mapping

from agents.gateway.outcomes import Rejection

__all__ = ["BodyDecoder", "STEP_BYTES", "content_coding", "decode_body", "header", "lower_headers",
           "media_type"]

# Output of one inflation step: ~0.3 ms of CPU, so the loop is never held for long.
STEP_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# Content coding -> zlib window bits (16+: gzip framing; plain: zlib framing).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive in HTTP; look them up in one case."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


def header(headers: Mapping[str, str], name: str) -> str:
    return headers.get(name.lower(), "").strip()


def media_type(headers: Mapping[str, str]) -> str:
    """`application/json; charset=utf-8` -> `application/json`; "" when absent."""
    return header(headers, "content-type").split(";", 1)[0].strip().lower()


def content_coding(headers: Mapping[str, str]) -> str:
    """The one coding the body is in (`identity`, `gzip`, `x-gzip`, `deflate`), or a 415."""
    codings = [c.strip() for c in header(headers, "content-encoding").lower().split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return "identity"
    if len(codings) == 1 and codings[0] in _WBITS:
        return codings[0]
    raise Rejection(415, "unsupported_encoding",
                    f"Content-Encoding {', '.join(codings)[:40]!r} is not supported; send identity, gzip or deflate")


class BodyDecoder:
    """Checks and decodes one body fed in chunks: `for _ in d.feed(chunk)`, then `d.finish()`."""

    def __init__(self, coding: str, max_body: int, max_decoded: int) -> None:
        self.coding = coding
        self.max_body = max_body
        self.max_decoded = max_decoded
        self.received = 0  # bytes as sent
        self.decoded = 0
        self._parts: list[bytes] = []
        self._wbits = _WBITS.get(coding)
        self._inflater = zlib.decompressobj(self._wbits) if self._wbits else None
        self._between = b""  # bytes after a finished gzip member: another member, or garbage

    def feed(self, chunk: bytes) -> Iterator[None]:
        """Take the next chunk as sent; yields after every inflation step."""
        self.received += len(chunk)
        if self.received > self.max_body:
            raise Rejection(413, "too_large", f"body is larger than the limit of {self.max_body} bytes")
        if self._wbits is None:
            self._keep(chunk)
            return
        data = chunk
        while True:
            if self._inflater is None:
                if not data:
                    return
                data = self._next_member(data)
                continue
            try:
                out = self._inflater.decompress(data, STEP_BYTES)
            except zlib.error as exc:
                raise self._bad(f"body is not valid {self.coding}: {exc}") from None
            self._keep(out)
            if self._inflater.eof:
                data = self._inflater.unused_data
                self._inflater = None
            else:
                data = self._inflater.unconsumed_tail
                if not out and not data:
                    return  # everything fed is inflated: wait for the next chunk
            yield

    def finish(self) -> bytes:
        """The whole decoded body, once the last chunk was fed."""
        if self._inflater is not None:
            raise self._bad(f"{self.coding} body is truncated")
        if self._between:
            raise self._stray()
        body = b"".join(self._parts)
        self._parts = [body]
        return body

    def _keep(self, out: bytes) -> None:
        self.decoded += len(out)
        if self.decoded > self.max_decoded:
            raise Rejection(413, "too_large_decompressed",
                            f"{self.coding} body inflates past the limit of {self.max_decoded} bytes")
        if out:
            self._parts.append(out)

    def _next_member(self, data: bytes) -> bytes:
        # gzip allows several members one after the other (`cat a.gz b.gz`); anything
        # else after the end of the compressed data is an error, not ignored.
        self._between += data
        if len(self._between) < len(_GZIP_MAGIC):
            return b""
        if self._wbits == zlib.MAX_WBITS or not self._between.startswith(_GZIP_MAGIC):
            raise self._stray()
        data, self._between = self._between, b""
        self._inflater = zlib.decompressobj(self._wbits)
        return data

    def _stray(self) -> Rejection:
        return self._bad(f"stray bytes after the end of the {self.coding} data")

    def _bad(self, message: str) -> Rejection:
        return Rejection(400, "bad_deflate" if self.coding == "deflate" else "bad_gzip", message)


def decode_body(headers: Mapping[str, str], body: bytes, max_body: int, max_decoded: int) -> bytes:
    """All of `body` at once (tests, small callers); the web shell feeds it as it arrives."""
    decoder = BodyDecoder(content_coding(headers), max_body, max_decoded)
    for _ in decoder.feed(body):
        pass
    return decoder.finish()
