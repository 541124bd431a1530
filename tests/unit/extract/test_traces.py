"""Multi-line exceptions arriving one line per record: one finding per exception.

Ground truth: each file of the fluent-plugin-detect-exceptions samples is one complete
exception; arbitrary_text.log is not one.
"""

from __future__ import annotations

import pytest

from agents.extract.traces import describe_trace

from .conftest import DATA, T0, Driver, findings

STACKS = DATA / "stacktraces"

EXPECTED_TYPES = {
    "python_exc.log": "Exception",
    "java_exc.log": "RuntimeException",
    "complex_java_exc.log": "javax.servlet.ServletException",
    "nested_java_exc.log": "java.lang.RuntimeException",
    "node_js_exc.log": "ReferenceError",
    "client_js_exc.log": "Error",
    "go_exc.log": "panic",
    "go_signal_exc.log": "panic: runtime error",
    "go_on_gae_exc.log": "panic: runtime error",
    "go_http.log": "panic",
    "ruby_exc.log": "NoMethodError",
    "rails_exc.log": "ActionController::RoutingError",
    "csharp_exc.log": "System.Collections.Generic.KeyNotFoundException",
    "csharp_nested_exc.log": "System.InvalidOperationException",
    "csharp_async_exc.log": "System.InvalidOperationException",
    "php_exc.log": "Exception",
    "php_on_gae_exc.log": "Exception",
    "dart_exc.log": "Exception",
    "dart_format_err.log": "FormatException",
    "dart_range_err.log": "RangeError (index)",
}


def _feed_file(driver: Driver, name: str, at: float, key: str = "api") -> None:
    lines = (STACKS / name).read_text(encoding="utf-8").rstrip("\n").splitlines()
    driver.feed_all(lines, at, key=key)


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_each_exception_file_is_one_finding_with_its_type(name):
    d = Driver()
    d.feed("2024-05-01 10:00:00 INFO request started", T0)
    _feed_file(d, name, T0 + 1)
    d.feed("2024-05-01 10:00:09 INFO next request", T0 + 9)
    d.tick(T0 + 200)
    found = findings(d.flush())
    assert len(found) == 1, [f["template"] for f in found]
    assert found[0]["error_type"] == EXPECTED_TYPES[name]
    assert found[0]["count"] == 1


def test_every_sample_file_is_one_finding():
    names = sorted(p.name for p in STACKS.glob("*.log") if p.name != "arbitrary_text.log")
    assert len(names) >= 38
    d = Driver()
    for index, name in enumerate(names):
        # one service per file, so blocks cannot run into each other
        _feed_file(d, name, T0 + index * 0.5, key=f"svc{index}")
    d.tick(T0 + 200)
    partial = d.flush()
    per_service = {s: sum(len(w["findings"]) for w in by.values()) for s, by in partial.windows.items()}
    assert per_service == {f"svc{i}": 1 for i in range(len(names))}


def test_arbitrary_text_is_not_an_exception():
    d = Driver()
    _feed_file(d, "arbitrary_text.log", T0)
    d.tick(T0 + 200)
    assert findings(d.flush()) == []


def test_same_exception_twice_has_one_fingerprint_counted_twice():
    d = Driver()
    _feed_file(d, "java_exc.log", T0)
    d.feed("2024-05-01 10:00:03 INFO between", T0 + 3)
    _feed_file(d, "java_exc.log", T0 + 4)
    d.tick(T0 + 200)
    found = findings(d.flush())
    assert len(found) == 1 and found[0]["count"] == 2


def test_python_and_java_exceptions_get_different_fingerprints():
    d = Driver()
    _feed_file(d, "python_exc.log", T0)
    _feed_file(d, "complex_java_exc.log", T0 + 1, key="other")
    d.tick(T0 + 200)
    fps = {f["fingerprint"] for f in findings(d.flush())}
    assert len(fps) == 2 and all(fp.startswith("fp1:") for fp in fps)


def test_exception_split_across_a_flush_is_still_one_finding():
    lines = (STACKS / "complex_java_exc.log").read_text().rstrip("\n").splitlines()
    d = Driver()
    d.feed_all(lines[:5], T0)
    first = d.flush()
    assert findings(first) == []  # still open: the trace continues
    d.feed_all(lines[5:], T0 + 0.005)
    d.tick(T0 + 200)
    second = d.flush()
    found = findings(second)
    assert len(found) == 1 and found[0]["error_type"] == "javax.servlet.ServletException"
    # every line was counted once, across both partials
    lines_counted = sum(w["lines"] for p in (first, second) for by in p.windows.values() for w in by.values())
    assert lines_counted == len(lines)


def test_interleaved_streams_of_one_service_are_joined_separately():
    py = (STACKS / "python_exc.log").read_text().rstrip("\n").splitlines()
    node = (STACKS / "node_js_exc.log").read_text().rstrip("\n").splitlines()
    d = Driver()
    import orjson
    for index in range(max(len(py), len(node))):
        for pod, source in (("pod-a", py), ("pod-b", node)):
            if index < len(source):
                d.feed(orjson.dumps({"log": source[index], "kubernetes": {"pod_name": pod}}), T0 + index * 0.01)
    d.tick(T0 + 200)
    assert sorted(f["error_type"] for f in findings(d.flush())) == ["Exception", "ReferenceError"]


def test_python_top_frames_are_the_innermost():
    info = describe_trace((STACKS / "python_exc.log").read_text())
    assert info.frames[0].endswith("get")
    assert len(info.frames) == 3


def test_frames_remembered_give_the_same_descriptions():
    """`_frame` keeps each frame line's masked form: read again (warm), every real stack
    trace is described as when each frame is worked out anew."""
    from agents.extract import traces

    stacks = [p.read_text(errors="replace") for p in sorted(STACKS.glob("*.log"))]
    traces._frames.clear()
    cold = [describe_trace(text) for text in stacks]
    warm = [describe_trace(text) for text in stacks]
    assert traces._frames and warm == cold
    assert cold == [_described_without_memory(text) for text in stacks]


def _described_without_memory(text: str):
    from agents.extract import traces

    real = traces._frame
    traces._frame = traces._frame_of
    try:
        return describe_trace(text)
    finally:
        traces._frame = real
