"""Checks on a request body before anything parses it: size, media type, gzip.

Shared by the webhook and the log intake. Must never decompress without a bound and
never raise anything but `Rejection`.
"""

from __future__ import annotations

import zlib
from typing import Mapping

from agents.gateway.outcomes import Rejection

__all__ = ["decoded_body", "header", "lower_headers", "media_type"]


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive in HTTP; look them up in one case."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


def header(headers: Mapping[str, str], name: str) -> str:
    return headers.get(name.lower(), "").strip()


def media_type(headers: Mapping[str, str]) -> str:
    """`application/json; charset=utf-8` -> `application/json`; "" when absent."""
    return header(headers, "content-type").split(";", 1)[0].strip().lower()


def decoded_body(headers: Mapping[str, str], body: bytes, max_body: int, max_decoded: int) -> bytes:
    """The body as the sender meant it: size-checked and, for gzip, inflated with a bound."""
    if len(body) > max_body:
        raise Rejection(413, "too_large", f"body is {len(body)} bytes; the limit is {max_body}")
    encoding = header(headers, "content-encoding").lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise Rejection(415, "unsupported_encoding",
                        f"Content-Encoding {encoding[:40]!r} is not supported; send identity or gzip")
    return _gunzip(body, max_decoded)


def _gunzip(body: bytes, max_decoded: int) -> bytes:
    # wbits 16+MAX_WBITS: gzip framing. max_length stops a bomb after the limit + 1 byte.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_decoded + 1)
    except zlib.error as exc:
        raise Rejection(400, "bad_gzip", f"body is not valid gzip: {exc}") from None
    if len(out) > max_decoded:
        raise Rejection(413, "too_large_decompressed",
                        f"gzip body inflates past the limit of {max_decoded} bytes")
    if not inflater.eof:
        raise Rejection(400, "bad_gzip", "gzip body is truncated")
    return out
