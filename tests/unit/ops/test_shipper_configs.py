"""The shipper configs in ops/shippers/ as their programs would read them.

Vector and Fluent Bit cannot be installed here, so their files are checked against the
option names their reference docs list, and their multiline rules are run over real
stack traces (tests/data/shippers/) with the aggregation each program implements
(Vector's `src/line_agg.rs`, Fluent Bit's `src/multiline/flb_ml_rule.c`), using Python's
`re` on patterns written in the syntax all of them share. rsyslog runs for real in
tests/e2e/test_shippers_rsyslog.py; here its config is checked for what must never
regress, and by `rsyslogd -N1` when rsyslog is installed.

Every config sends to `logs.raw`, keys by service, and a record it produces is read by
Logwarden with the service, level and time the application wrote.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import orjson
import pytest

from agents.extract.formats import parse_json_object
from agents.service_name import DEFAULT_SERVICE_FIELDS, service_of_line

ROOT = Path(__file__).resolve().parents[3]
SHIPPERS = ROOT / "ops" / "shippers"
TRACES = ROOT / "tests" / "data" / "shippers"

# --- documented option names ------------------------------------------------------------
# https://vector.dev/docs/reference/configuration/sinks/kafka/
VECTOR_KAFKA_SINK = {
    "type", "inputs", "bootstrap_servers", "topic", "key_field", "encoding", "compression",
    "acknowledgements", "librdkafka_options", "headers_key", "message_timeout_ms", "socket_timeout_ms",
    "batch", "buffer", "healthcheck", "healthcheck_topic", "sasl", "tls", "rate_limit_duration_secs",
    "rate_limit_num"}
# https://vector.dev/docs/reference/configuration/sources/file/
VECTOR_FILE_SOURCE = {
    "type", "include", "exclude", "multiline", "read_from", "ignore_older_secs", "data_dir", "encoding",
    "fingerprint", "file_key", "host_key", "offset_key", "max_line_bytes", "max_read_bytes",
    "line_delimiter", "ignore_checkpoints", "glob_minimum_cooldown_ms", "oldest_first", "remove_after_secs",
    "ignore_not_found", "rotate_wait_secs", "internal_metrics"}
VECTOR_MULTILINE = {"start_pattern", "condition_pattern", "mode", "timeout_ms"}  # all four are required
VECTOR_MULTILINE_MODES = {"continue_through", "continue_past", "halt_before", "halt_with"}
# https://docs.fluentbit.io/manual/pipeline/outputs/kafka (plus the generic Name/Match)
FLUENT_BIT_KAFKA = {
    "name", "match", "match_regex", "format", "message_key", "message_key_field", "timestamp_key",
    "timestamp_format", "brokers", "topics", "topic_key", "dynamic_topic", "queue_full_retries",
    "raw_log_key", "workers", "retry_limit"}
FLUENT_BIT_TIMESTAMP_FORMATS = {"double", "iso8601", "iso8601_ns"}
# https://docs.fluentbit.io/manual/pipeline/inputs/tail
FLUENT_BIT_TAIL = {
    "name", "tag", "path", "exclude_path", "path_key", "offset_key", "read_from_head", "refresh_interval",
    "rotate_wait", "ignore_older", "skip_long_lines", "skip_empty_lines", "db", "db.sync", "db.locking",
    "db.journal_mode", "mem_buf_limit", "buffer_chunk_size", "buffer_max_size", "parser", "key",
    "inotify_watcher", "tag_regex", "multiline.parser", "docker_mode", "threaded", "unicode.encoding"}
# https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/classic-mode/configuration-file
FLUENT_BIT_SERVICE = {
    "flush", "grace", "daemon", "log_file", "log_level", "parsers_file", "plugins_file", "streams_file",
    "http_server", "http_listen", "http_port", "coro_stack_size", "scheduler.cap", "scheduler.base"}
# https://docs.fluentbit.io/manual/pipeline/filters/modify
FLUENT_BIT_MODIFY = {"name", "match", "match_regex", "set", "add", "remove", "remove_wildcard",
                     "remove_regex", "rename", "hard_rename", "copy", "hard_copy", "condition"}
# https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/multiline-parsing
FLUENT_BIT_MULTILINE = {"name", "type", "parser", "key_content", "flush_timeout", "rule"}

HEADER = "2025-05-01 10:00:{second:02d},123 ERROR [myapp.worker] job {n} failed"
INFO = "2025-05-01 10:00:{second:02d},456 INFO [myapp.http] GET /api/items/{n} 200"
JSON_LINE = '{"timestamp": "2025-05-01T10:00:%02d.000Z", "level": "info", "msg": "cache warm"}'


# --- parsers of the three formats -----------------------------------------------------------

def fluent_bit_sections(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Classic-mode sections: (NAME, {lower-case key: [values in order]})."""
    sections: list[tuple[str, dict[str, list[str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([A-Z_]+)\]", line)
        if header:
            sections.append((header.group(1), {}))
            continue
        assert sections, f"option outside a section: {line!r}"
        key, _, value = line.partition(" ")
        sections[-1][1].setdefault(key.lower(), []).append(value.strip())
    return sections


def one(sections, name: str) -> dict[str, str]:
    (options,) = [opts for section, opts in sections if section == name]
    assert all(len(v) == 1 for k, v in options.items() if k != "rule"), f"[{name}] repeats an option"
    return {k: v[0] for k, v in options.items()}


def rsyslog_param(text: str, name: str) -> str:
    match = re.search(rf'\b{re.escape(name)}="((?:[^"\\]|\\.)*)"', text)
    assert match, f"rsyslog.conf has no {name}"
    return match.group(1)


def rsyslog_list(text: str, name: str) -> list[str]:
    match = re.search(rf"\b{re.escape(name)}=\[([^\]]*)\]", text)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else []


def rsyslog_ruleset(text: str, name: str) -> str:
    start = text.index(f'ruleset(name="{name}")')
    return text[start:text.index("\n}\n", start)]


# --- the aggregation each program implements -------------------------------------------------

def vector_events(lines: list[str], start: str, condition: str, mode: str) -> list[str]:
    """Vector's line aggregator (src/line_agg.rs `Logic::handle_line`) for one file."""
    start_re, cond_re = re.compile(start), re.compile(condition)
    out: list[str] = []
    buffered: list[str] | None = None
    pending = list(lines)
    while pending:
        line = pending.pop(0)
        if buffered is None:
            if start_re.search(line):
                buffered = [line]
            else:
                out.append(line)
            continue
        matched = bool(cond_re.search(line))
        decision = {("continue_through", True): "continue", ("continue_through", False): "end_exclude",
                    ("continue_past", True): "continue", ("continue_past", False): "end_include",
                    ("halt_before", True): "end_exclude", ("halt_before", False): "continue",
                    ("halt_with", True): "end_include", ("halt_with", False): "continue"}[(mode, matched)]
        if decision == "continue":
            buffered.append(line)
        elif decision == "end_include":
            out.append("\n".join([*buffered, line]))
            buffered = None
        else:  # the line is handled again, as the first of the next group
            out.append("\n".join(buffered))
            buffered = None
            pending.insert(0, line)
    if buffered is not None:  # end of input (or timeout_ms) flushes
        out.append("\n".join(buffered))
    return out


def fluent_bit_records(lines: list[str], rules: list[tuple[str, str, str]]) -> list[str]:
    """Fluent Bit's regex multiline parser (src/multiline/flb_ml_rule.c) for one stream."""
    compiled = [(state, re.compile(pattern), to) for state, pattern, to in rules]
    out: list[str] = []
    group: list[str] = []
    current: tuple[str, re.Pattern, str] | None = None

    def flush() -> None:
        if group:
            out.append("\n".join(group))
            group.clear()

    for line in lines:
        rule = None
        if current is not None:  # in a continuation: the rules of the next state
            rule = next((r for r in compiled if r[0] == current[2] and r[0] != "start_state"
                         and r[1].search(line)), None)
            if rule is not None:
                group.append(line)
        if rule is None:
            rule = next((r for r in compiled if r[0] == "start_state" and r[1].search(line)), None)
            if rule is not None:
                flush()
                group.append(line)
        if rule is None:  # no rule: what was buffered goes out, then this line alone
            flush()
            current = None
            out.append(line)
            continue
        current = rule
        if rule[2] == "start_state":  # a rule that leads back to the start ends the record
            flush()
            current = None
    flush()
    return out


def imfile_events(lines: list[str], startmsg: str) -> list[str]:
    """rsyslog imfile with `startmsg.regex`: a message starts at each matching line."""
    start = re.compile(startmsg)
    out: list[list[str]] = []
    for line in lines:
        if start.search(line) or not out:
            out.append([line])
        else:
            out[-1].append(line)
    return ["\n".join(event) for event in out]


# --- a log file with every kind of stack trace -------------------------------------------------

def trace(name: str) -> str:
    return (TRACES / name).read_text().rstrip("\n")


def app_log() -> tuple[list[str], list[str]]:
    """(the file's lines, the events a shipper must send), as an application writes them:
    info lines, a JSON line, and each stack trace after the line that logged it (the
    java.util.logging sample carries its own header line)."""
    events: list[str] = []
    second = 0
    for n, name in enumerate(["python_exc.log", "python_chained_exc.log", "complex_java_exc.log",
                              "nested_java_exc.log", "java_exc.log"]):
        events.append(INFO.format(second=second, n=n))
        events.append(JSON_LINE % (second + 1))
        body = trace(name)
        events.append(body if name == "java_exc.log" else HEADER.format(second=second + 2, n=n) + "\n" + body)
        second += 3
    events.append(INFO.format(second=59, n=99))
    return "\n".join(events).split("\n"), events


def test_the_sample_log_has_the_hard_cases():
    lines, events = app_log()
    assert len(events) == 16 and len(lines) > 80
    # A Python chain: blank lines and an unindented sentence between two tracebacks.
    assert "" in lines and "The above exception was the direct cause of the following exception:" in lines
    # Java: "Caused by:" at column 0 and "... 27 common frames omitted".
    assert sum(line.startswith("Caused by: ") for line in lines) == 3
    assert lines.count("Exception: ('spam', 'eggs')") == 1 and "ValueError: settings have no timeout" in lines


# --- Vector --------------------------------------------------------------------------------------

def vector() -> dict:
    return tomllib.loads((SHIPPERS / "vector.toml").read_text())


@pytest.mark.parametrize("lines, start, condition, mode, expected", [
    # Vector's own cases (src/line_agg.rs tests two_lines_emit_with_halt_before and
    # two_lines_emit_with_continue_through): the model above aggregates as Vector does.
    (["part 0.1", "part 0.2", "START msg 1", "part 1.1", "part 1.2", "START msg 2", "START msg 3", "part 3.1",
      "START msg 4", "part 4.1", "part 4.2", "part 4.3", "START msg 5"], "", "^START ", "halt_before",
     ["part 0.1\npart 0.2", "START msg 1\npart 1.1\npart 1.2", "START msg 2", "START msg 3\npart 3.1",
      "START msg 4\npart 4.1\npart 4.2\npart 4.3", "START msg 5"]),
    (["not merged 1", " merged 1", " merged 2", "not merged 2", " merged 3", " merged 4", "not merged 3",
      "not merged 4", " merged 5", "not merged 5", " merged 6", " merged 7", " merged 8", "not merged 6"],
     r"^\s", r"^\s", "continue_through",
     ["not merged 1", " merged 1\n merged 2", "not merged 2", " merged 3\n merged 4", "not merged 3",
      "not merged 4", " merged 5", "not merged 5", " merged 6\n merged 7\n merged 8", "not merged 6"]),
])
def test_the_vector_model_agrees_with_vectors_own_tests(lines, start, condition, mode, expected):
    assert vector_events(lines, start, condition, mode) == expected


def test_vector_kafka_sink_keys_by_service_with_the_murmur2_partitioner():
    sink = vector()["sinks"]["logwarden"]
    assert (sink["type"], sink["topic"], sink["key_field"], sink["encoding"]["codec"]) == (
        "kafka", "logs.raw", "service", "json")
    assert set(sink) <= VECTOR_KAFKA_SINK, set(sink) - VECTOR_KAFKA_SINK
    assert sink["librdkafka_options"]["partitioner"] == "murmur2_random"
    assert sink["acknowledgements"]["enabled"] is True


def test_vector_multiline_uses_the_documented_options():
    source = vector()["sources"]["app_files"]
    assert set(source) <= VECTOR_FILE_SOURCE, set(source) - VECTOR_FILE_SOURCE
    multiline = source["multiline"]
    assert set(multiline) == VECTOR_MULTILINE
    assert multiline["mode"] in VECTOR_MULTILINE_MODES and 0 < multiline["timeout_ms"] <= 5000


def test_vector_multiline_keeps_every_stack_trace_one_event():
    lines, events = app_log()
    multiline = vector()["sources"]["app_files"]["multiline"]
    assert vector_events(lines, multiline["start_pattern"], multiline["condition_pattern"],
                         multiline["mode"]) == events


def test_vector_multiline_as_it_was_cut_a_python_traceback_into_three_events():
    # The settings shipped before (start at any non-blank column 0, continue through
    # indented lines): the header, "Traceback ..." with its frames, and the last line.
    header = HEADER.format(second=2, n=0)
    got = vector_events([header, *trace("python_exc.log").split("\n")], r"^[^\s]", r"^[\s]+", "continue_through")
    assert [event.split("\n")[0] for event in got] == [
        header, "Traceback (most recent call last):", "Exception: ('spam', 'eggs')"]


def test_vector_record_time_is_the_time_in_the_line():
    remap = vector()["transforms"]["with_service"]["source"]
    moved = re.search(r"\.(\w+) = del\(\.timestamp\)", remap)
    assert moved, "the file source's read time must not be sent as `timestamp`"
    # A record as the file source and this remap send it, read a month after it was written.
    _lines, events = app_log()
    record = {"message": events[2], "file": "/var/log/myapp/app.log", "host": "web-1",
              "source_type": "file", moved.group(1): "2025-06-01T00:00:00Z", "service": "myapp"}
    assert_read_as_written(record)


# --- Fluent Bit ----------------------------------------------------------------------------------

def fluent_bit() -> list[tuple[str, dict[str, list[str]]]]:
    return fluent_bit_sections((SHIPPERS / "fluent-bit.conf").read_text())


def fluent_bit_parser() -> dict[str, list[str]]:
    service = one(fluent_bit(), "SERVICE")
    path = SHIPPERS / service["parsers_file"]
    assert path.is_file(), f"Parsers_File {service['parsers_file']} is not next to fluent-bit.conf"
    (parser,) = [opts for name, opts in fluent_bit_sections(path.read_text()) if name == "MULTILINE_PARSER"]
    return parser


def test_fluent_bit_output_keys_by_service_with_the_murmur2_partitioner():
    output = one(fluent_bit(), "OUTPUT")
    assert (output["name"], output["topics"], output["message_key_field"], output["format"]) == (
        "kafka", "logs.raw", "service", "json")
    documented = {k for k in output if not k.startswith("rdkafka.")}
    assert documented <= FLUENT_BIT_KAFKA, documented - FLUENT_BIT_KAFKA
    assert output["timestamp_format"] in FLUENT_BIT_TIMESTAMP_FORMATS
    assert output["rdkafka.partitioner"] == "murmur2_random"


def test_fluent_bit_sections_use_documented_options():
    sections = fluent_bit()
    for name, documented in (("SERVICE", FLUENT_BIT_SERVICE), ("INPUT", FLUENT_BIT_TAIL),
                             ("FILTER", FLUENT_BIT_MODIFY)):
        options = one(sections, name)
        assert set(options) <= documented, (name, set(options) - documented)
    parser = fluent_bit_parser()
    assert set(parser) <= FLUENT_BIT_MULTILINE and parser["type"] == ["regex"]
    assert one(sections, "INPUT")["multiline.parser"] == parser["name"][0]
    assert one(sections, "FILTER")["add"].split() == ["service", "myapp"]


def test_fluent_bit_multiline_keeps_every_stack_trace_one_record():
    rules = []
    for rule in fluent_bit_parser()["rule"]:
        state, pattern, to = re.findall(r'"((?:[^"\\]|\\.)*)"', rule)
        assert pattern.startswith("/") and pattern.endswith("/")
        rules.append((state, pattern[1:-1], to))
    assert rules[0][0] == "start_state"
    lines, events = app_log()
    assert fluent_bit_records(lines, rules) == events


def test_fluent_bit_record_time_is_the_time_in_the_line():
    output = one(fluent_bit(), "OUTPUT")
    _lines, events = app_log()
    # A tail record with the key the modify filter adds and the output's record time.
    record = {"log": events[5], output["timestamp_key"]: "2025-06-01T00:00:00.000000Z", "service": "myapp"}
    assert_read_as_written(record)


# --- rsyslog -------------------------------------------------------------------------------------

def rsyslog() -> str:
    text = (SHIPPERS / "rsyslog.conf").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_rsyslog_keys_by_app_name_and_honours_the_key():
    text = rsyslog()
    assert 'topic="logs.raw"' in text and 'dynaKey="on"' in text
    # The key is the service, which both inputs take from the app-name (imfile: its Tag).
    assert 'template(name="logwarden_key" type="string" string="%$!logwarden!service%")' in text
    for ruleset in ("logwarden_files", "logwarden_syslog"):
        assert "set $!logwarden!service = $app-name;" in rsyslog_ruleset(text, ruleset)
    # Without partitions.auto omkafka ignores the key (everything on partition 0).
    assert rsyslog_param(text, "partitions.auto") == "on"


def test_rsyslog_partitioner_is_a_topic_property():
    text = rsyslog()
    assert "partitioner=murmur2_random" in rsyslog_list(text, "topicConfParam")
    assert not [p for p in rsyslog_list(text, "confParam") if p.startswith(("partitioner", "request.required.acks"))]


def test_rsyslog_sends_no_level_for_tailed_files():
    # imfile stamps every line "notice": sent as a level it would hide every error.
    files = rsyslog_ruleset(rsyslog(), "logwarden_files")
    assert "level" not in files and "syslogseverity" not in files and "timestamp" not in files
    syslog = rsyslog_ruleset(rsyslog(), "logwarden_syslog")
    assert "if $syslogseverity <= 4 then" in syslog


def test_rsyslog_startmsg_keeps_every_stack_trace_one_event():
    lines, events = app_log()
    assert imfile_events(lines, rsyslog_param(rsyslog(), "startmsg.regex")) == events


def test_rsyslog_record_is_read_as_written():
    _lines, events = app_log()
    assert_read_as_written({"service": "myapp", "host": "web-1", "message": events[8]})


@pytest.mark.skipif(shutil.which("rsyslogd") is None, reason="rsyslog not installed (.ci/run installs it)")
def test_rsyslogd_accepts_the_config(tmp_path):
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'global(workDirectory="{tmp_path}")\n' + (SHIPPERS / "rsyslog.conf").read_text())
    check = subprocess.run(["rsyslogd", "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "error" not in (check.stdout + check.stderr).lower(), check.stdout + check.stderr


# --- what Logwarden reads from a shipped record ----------------------------------------------------

def assert_read_as_written(record: dict) -> None:
    """The service is the configured one, the level and the time are the line's own."""
    raw = orjson.dumps(record)
    assert service_of_line(raw, None) == "myapp"
    line = parse_json_object(record, reference=1_750_000_000.0, service_fields=list(DEFAULT_SERVICE_FIELDS))
    text = record.get("message") or record.get("log")
    written = re.match(r"2025-05-01 10:00:(\d\d)", text)
    assert written, text
    assert line.timestamp == pytest.approx(1746093600.0 + int(written.group(1)) + 0.123, abs=0.5)
    expected_level = "error" if " ERROR " in text.split("\n")[0] else "info"
    assert line.level == expected_level
