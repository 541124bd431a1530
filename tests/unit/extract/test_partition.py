"""The batch extractor: dead letters, ticks, services, ignore rules, late lines, fast path."""

from __future__ import annotations

import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor, is_candidate

from .conftest import T0, Driver, findings, sample_lines, total


def test_dead_letters_carry_reason_and_nothing_else_is_lost():
    d = Driver(ExtractConfig(max_line_bytes=1024))
    d.feed("2024-05-01 10:00:00 INFO fine", T0)
    d.feed(b"caf\xe9 ERROR latin-1 bytes", T0 + 1)
    d.feed('{"level":"error","msg":"cut', T0 + 2)
    d.feed("x" * 2048, T0 + 3)
    d.feed(None, T0 + 4)
    d.feed("2024-05-01 10:00:05 INFO fine again", T0 + 5)
    partial, dead = d.extractor.flush()
    assert [x.reason for x in dead] == ["invalid_utf8", "invalid_json", "too_large", "empty"]
    assert [x.offset for x in dead] == [1, 2, 3, 4]
    assert partial.dead_letters == 4
    assert total(partial, "lines") == 2  # the two good lines
    assert (partial.offset_from, partial.offset_to) == (0, 5)
    assert dead[0].payload.startswith("caf\\xe9")  # undecodable byte escaped, not dropped
    assert len(dead[2].payload) <= ExtractConfig().dead_letter_payload_chars


def test_ten_megabyte_line_is_a_dead_letter_with_truncated_payload():
    d = Driver()
    d.feed(b"E" * (10 * 1024 * 1024), T0)
    _, dead = d.extractor.flush()
    assert dead[0].reason == "too_large" and dead[0].payload_bytes == 10 * 1024 * 1024
    assert len(dead[0].payload) <= 4096


def test_dead_letter_payload_is_redacted():
    d = Driver()
    d.feed('{"msg": "login", "password=hunter2secret', T0)
    _, dead = d.extractor.flush()
    assert "hunter2secret" not in dead[0].payload


def test_ticks_move_the_watermark_and_are_not_lines():
    d = Driver()
    d.tick(T0 + 500)
    partial = d.flush()
    assert partial.watermark == T0 + 500
    assert partial.windows == {}


def test_service_from_key_fields_and_map():
    cfg = ExtractConfig(service_map={"pay-svc": "payments"})
    d = Driver(cfg)
    d.feed("2024-05-01 10:00:00 INFO hello", T0, key=b"pay-svc")
    d.feed('{"service": "orders", "level": "info", "msg": "x"}', T0, key=None)
    d.feed('{"app": "cart", "level": "info", "msg": "x"}', T0, key=None)
    d.feed("2024-05-01 10:00:00 INFO no name", T0, key=None)
    assert sorted(d.flush().windows) == ["cart", "orders", "payments", "unknown"]


def test_ignore_rules_count_but_do_not_report():
    fp_cfg = ExtractConfig()
    probe = Driver(fp_cfg)
    probe.feed("2024-05-01 10:00:00 ERROR cache miss storm on shard 4", T0)
    probe.tick(T0 + 100)
    ignored_fp = findings(probe.flush())[0]["fingerprint"]
    cfg = ExtractConfig(ignore_patterns=[r"healthcheck"], ignore_loggers=["noisy"],
                        ignore_fingerprints=[ignored_fp])
    d = Driver(cfg)
    d.feed("2024-05-01 10:00:00 ERROR healthcheck failed for /ping", T0)
    d.feed('{"level":"error","logger":"noisy.sub","msg":"meh"}', T0 + 1)
    d.feed("2024-05-01 10:00:02 ERROR cache miss storm on shard 9", T0 + 2)
    d.feed("2024-05-01 10:00:03 ERROR real problem: db down", T0 + 3)
    d.tick(T0 + 100)
    partial = d.flush()
    assert total(partial, "ignored") == 3
    assert total(partial, "errors") == 1
    assert [f["template"] for f in findings(partial)] == ["real problem: db down"]


def test_invalid_ignore_regex_is_rejected_at_load_naming_the_key():
    with pytest.raises(ValueError, match=r"ignore_patterns\[0\]"):
        ExtractConfig(ignore_patterns=["(unclosed"])


def test_late_line_is_counted_in_the_open_window():
    d = Driver()
    d.feed("2024-05-01 10:00:00 INFO in time", T0 + 10)
    d.tick(T0 + 130)  # minute T0 closed (T0+60+5 <= T0+130)
    d.feed('{"level":"error","msg":"late failure","time": %d}' % (T0 + 20), T0 + 131)
    partial = d.flush()
    assert partial.windows["api"][str(int(T0))]["lines"] == 1
    open_window = partial.windows["api"][str(int(T0 + 120))]
    assert (open_window["late"], open_window["lines"], open_window["errors"]) == (1, 1, 1)


def test_a_whole_batch_counts_exactly_like_one_record_at_a_time():
    from ops.bench.extract_core import generate
    from .test_batches import Rec
    records = [Rec(offset, key, value, int(at * 1000)) for offset, (key, value, at) in enumerate(generate(6000, seed=3))]
    one, many = PartitionExtractor(0, ExtractConfig()), PartitionExtractor(0, ExtractConfig())
    for rec in records:
        one.feed(rec.offset, rec.key, rec.value, rec.timestamp / 1000.0)
    many.feed_records(records)
    a, b = one.flush()[0], many.flush()[0]
    assert a.model_dump() == b.model_dump()
    assert total(a, "lines") == 6000


def test_fast_path_and_parsed_path_agree_on_counts():
    from ops.bench.extract_core import generate
    records = generate(3000, seed=5)
    keyed = PartitionExtractor(0, ExtractConfig())
    for offset, (key, value, at) in enumerate(records):
        keyed.feed(offset, key, value, at)
    partial = keyed.flush()[0]
    errors_in_data = sum(1 for _, v, _ in records if is_candidate(v))
    assert total(partial, "lines") == 3000
    assert 0 < total(partial, "errors") <= errors_in_data


def test_every_line_is_accounted_for_on_real_mixed_samples():
    files = ["filebeat/nginx/access-test.log", "filebeat/nginx/error.log", "filebeat/apache/error-test.log",
             "filebeat/redis/redis-5.0.3.log", "lnav/logfile_logfmt.0", "lnav/logfile_syslog.0",
             "lnav/logfile_bunyan.0", "filebeat/system/auth-test.log"]
    d = Driver()
    fed = 0
    for name in files:
        lines = sample_lines(name)
        d.feed_all(lines, T0, key=name.split("/")[-1])
        fed += len(lines)
    partial, dead = d.extractor.flush()
    assert total(partial, "lines") + len(dead) == fed


def test_candidate_prefilter_keeps_every_error_of_the_samples():
    # Every line the full parser calls an error must pass the cheap byte test.
    from agents.extract.formats import LEVEL_RANK, parse_text
    for name in ("filebeat/nginx/error.log", "filebeat/apache/error-test.log", "lnav/logfile_logfmt.0",
                 "lnav/logfile_zap_console.0", "filebeat/mysql/mysql-ubuntu-8.0.15.log"):
        for line in sample_lines(name):
            if LEVEL_RANK.get(parse_text(line, T0).level, 0) >= LEVEL_RANK["warning"]:
                assert is_candidate(line.encode()), line


def test_samples_are_capped_and_redacted():
    d = Driver()
    for i in range(10):
        d.feed(f"2024-05-01 10:00:0{i % 10} ERROR login failed token=abcd{i}efgh1234 for bob@example.com", T0 + i)
    d.tick(T0 + 100)
    (finding,) = findings(d.flush())
    assert finding["count"] == 10
    assert len(finding["samples"]) == 3
    assert not any("bob@example.com" in s or "efgh1234" in s for s in finding["samples"])


def test_resume_after_skips_offsets_already_covered():
    cfg = ExtractConfig()
    first = PartitionExtractor(0, cfg)
    for offset in range(5):
        first.feed(offset, b"api", b"2024-05-01 10:00:00 INFO x", T0 + offset)
    done = first.flush()[0]
    again = PartitionExtractor(0, cfg, watermark=done.watermark, resume_after=done.offset_to)
    for offset in range(8):
        again.feed(offset, b"api", b"2024-05-01 10:00:00 INFO x", T0 + offset)
    partial = again.flush()[0]
    assert (partial.offset_from, partial.offset_to) == (5, 7)
    assert total(partial, "lines") == 3


@pytest.mark.parametrize("shift_s", [0.5, 3.0, -2.0])
def test_lines_only_counted_fall_in_the_minute_written_in_them_whatever_the_shipping_delay(shift_s):
    # A line every 0.5 s through one minute (its own times 0.25 .. 59.75 s past it), each
    # stored `shift_s` later (shipping delay; negative: the app's clock runs ahead of the
    # broker's). Most are only counted, placed by broker time and the service's lag: all
    # 120 belong to the minute written in them (before: with a 0.5 s delay the last one
    # went to the next minute, with 3 s the last six).
    import json

    d = Driver()
    for i in range(120):
        t = T0 + i * 0.5 + 0.25
        d.feed(json.dumps({"ts": t, "level": "info", "service": "api", "msg": f"GET /items/{i} 200"}), t + shift_s)
    d.tick(T0 + 300)
    partial = d.flush()
    assert {start: w["lines"] for start, w in partial.windows["api"].items()} == {str(int(T0)): 120}
