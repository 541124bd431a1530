"""Bodies decoded once, in bounded steps: gzip/deflate read, bombs and damaged streams refused."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest

from agents.gateway.body import STEP_BYTES, BodyDecoder, content_coding, decode_body
from agents.gateway.outcomes import Rejection

LINES = b'{"service":"s","msg":"x"}\n' * 3
MB = 1024 * 1024


def _refusal(headers: dict[str, str], body: bytes, max_body: int = MB, max_decoded: int = 8 * MB) -> tuple:
    with pytest.raises(Rejection) as refused:
        decode_body(headers, body, max_body, max_decoded)
    return refused.value.status, refused.value.reason, refused.value.message


@pytest.mark.parametrize("coding, encode", [("gzip", gzip.compress), ("x-gzip", gzip.compress),
                                            ("deflate", zlib.compress), ("identity", bytes), ("", bytes)])
def test_each_coding_is_decoded_once(coding, encode):
    assert decode_body({"content-encoding": coding}, encode(LINES), MB, MB) == LINES


def test_gzip_members_one_after_the_other_and_one_byte_at_a_time():
    body = gzip.compress(b"first\n") + gzip.compress(b"second\n")
    assert decode_body({"content-encoding": "gzip"}, body, MB, MB) == b"first\nsecond\n"
    decoder = BodyDecoder("gzip", MB, MB)
    for i in range(len(body)):
        for _ in decoder.feed(body[i:i + 1]):
            pass
    assert decoder.finish() == b"first\nsecond\n"


@pytest.mark.parametrize("body, words", [
    (b"not gzip at all", "incorrect header check"),
    (gzip.compress(LINES, mtime=0) + b"trailing", "stray bytes after the end"),
    (gzip.compress(LINES, mtime=0) + b"\x1f", "stray bytes after the end"),
    (gzip.compress(LINES, mtime=0)[:-6], "truncated"),
    (gzip.compress(LINES, mtime=0)[:12], "truncated"),
])
def test_damaged_gzip_is_400_bad_gzip(body, words):
    status, reason, message = _refusal({"content-encoding": "gzip"}, body)
    assert (status, reason) == (400, "bad_gzip") and words in message


def test_deflate_with_trailing_bytes_is_400():
    assert _refusal({"content-encoding": "deflate"}, zlib.compress(LINES) + b"x")[:2] == (400, "bad_deflate")


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, gzip", "gzip, br", "bogus"])
def test_other_codings_are_415(coding):
    assert _refusal({"content-encoding": coding}, b"abc")[:2] == (415, "unsupported_encoding")
    with pytest.raises(Rejection):
        content_coding({"content-encoding": coding})


def test_the_body_as_sent_is_limited():
    assert _refusal({}, b"x" * 1025, max_body=1024)[:2] == (413, "too_large")
    incompressible = gzip.compress(bytes(range(256)) * 4, 0)  # level 0: stored, 1 KB and more
    assert _refusal({"content-encoding": "gzip"}, incompressible, max_body=1024)[:2] == (413, "too_large")


def test_a_gzip_bomb_stops_at_the_limit_in_small_steps_and_little_cpu():
    bomb = gzip.compress(bytes(64 * MB), 9)  # 64 MiB of zeros in 64 KB (the e2e test sends 512 MiB)
    assert len(bomb) < MB
    decoder = BodyDecoder("gzip", MB, 8 * MB)
    steps, started = 0, time.process_time()
    with pytest.raises(Rejection) as refused:
        for _ in decoder.feed(bomb):
            steps += 1
    cpu = time.process_time() - started
    assert (refused.value.status, refused.value.reason) == (413, "too_large_decompressed")
    assert decoder.decoded <= 8 * MB + STEP_BYTES and steps <= 8 * MB // STEP_BYTES + 1
    assert cpu < 0.5, cpu  # ~40 ms: never the seconds the web server's own inflation took
