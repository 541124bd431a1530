"""Builds `tests/data/severity/severity_set.jsonl`: findings from real log samples, each in
a stated impact context, with the severity a person on call would give it and why.

Usage: python -m ops.bench.severity_set_build [SHARED_DATA_DIR]   (default: ../shared/data beside the repo)

The labels and reasons below were written by hand, from the log text and the context
alone, before the impact rules (`agents/incidents/impact.py`) existed; the context
(count, the window's errors and lines, requests and failures on the endpoint from access
logs, times seen before) is a planted scenario around a real line. The finding fields
(error type, template, title) are what extraction makes of the sample, so the set
describes production input. Rebuilding must not change a label: labels live here, not in
the rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "severity" / "severity_set.jsonl"
ST = "applogs/stacktraces/fluent-plugin-detect-exceptions/"
T0 = 1_700_000_040.0

HEADER = ("# Severity evaluation set (issue #13). One JSON object per line after this header. "
          "Labels (P1..P4, P4 = one-off: silent ticket) and reasons were written by hand BEFORE the impact "
          "rules (agents/incidents/impact.py) were written, and were not changed after the rules were "
          "measured. Rubric: P1 = the service or every write of an endpoint is down, or the process "
          "crashed/ran out of memory; P2 = a real failure a share of users sees (>= ~1% of an endpoint's "
          "requests, a dependency or data store failing, repeated unhandled errors); P3 = low impact "
          "(client errors, < 1% of requests, known noise, one user's problem) that is not a one-off; "
          "P4 = seen once, new, and not a crash. Built by ops/bench/severity_set_build.py from "
          "../shared/data (see tests/data/severity/PROVENANCE.md).")

# (id, source, line numbers (1-based, None = whole file), context, label, reason)
# context: c = count in the window, E/L = the service's errors/lines in the window,
# s = windows seen before, ep = endpoint (route), R/F = requests/failures on the endpoint
# from access logs (absent: not known), lvl = level when the line states one.
ITEMS: list[tuple[str, str, list[int] | None, dict, str, str]] = [
    ("java-once", ST + "java_exc.log", None, dict(c=1, E=1, L=400), "P4", "one RuntimeException, first time, nothing else failing"),
    ("java-search-4pct", ST + "java_exc.log", None, dict(c=25, E=25, L=3000, ep="GET /search", R=600, F=25), "P2", "unhandled exception on 4% of searches: users see errors, service up"),
    ("java-3-busy", ST + "java_exc.log", None, dict(c=3, E=3, L=1000), "P3", "three exceptions in a busy minute, nothing else failing"),
    ("servlet-checkout-all", ST + "complex_java_exc.log", None, dict(c=40, E=40, L=60, ep="POST /checkout", R=40, F=40), "P1", "every checkout (a write) fails: nobody can buy"),
    ("servlet-once", ST + "complex_java_exc.log", None, dict(c=1, E=1, L=500), "P4", "one ServletException, first time"),
    ("servlet-profile-3pct", ST + "complex_java_exc.log", None, dict(c=6, E=6, L=900, ep="PUT /v1/profile", R=200, F=6), "P2", "3% of profile updates fail: some users lose their changes"),
    ("mail-invalid-few", ST + "nested_java_exc.log", None, dict(c=3, E=3, L=500, s=2), "P3", "mail to invalid addresses refused for a few users: their data, not the service"),
    ("mail-notify-all", ST + "nested_java_exc.log", None, dict(c=40, E=40, L=100, ep="POST /api/notify", R=40, F=40), "P1", "every notification request (a write) fails"),
    ("py-once", ST + "python_exc.log", None, dict(c=1, E=1, L=200), "P4", "one Python traceback, first time"),
    ("py-home-4pct", ST + "python_exc.log", None, dict(c=12, E=12, L=900, ep="GET /", R=300, F=12), "P2", "4% of home page loads fail with an unhandled exception"),
    ("py-orders-write-all", ST + "python_exc.log", None, dict(c=45, E=45, L=900, ep="POST /v1/orders", R=45, F=45), "P1", "every order creation fails (write path, 45 of 45)"),
    ("py-orders-read-11pct", ST + "python_exc.log", None, dict(c=45, E=45, L=900, ep="GET /v1/orders/{id}", R=400, F=45), "P2", "11% of order reads fail; writes fine"),
    ("py-2", ST + "python_exc.log", None, dict(c=2, E=2, L=100), "P3", "two tracebacks, first time, service otherwise fine"),
    ("go-panic-once", ST + "go_exc.log", None, dict(c=1, E=1, L=100), "P1", "an unrecovered Go panic ends the process: it crashed"),
    ("go-panic-3", ST + "go_exc.log", None, dict(c=3, E=3, L=100), "P1", "the process panics and restarts repeatedly"),
    ("go-http-panic-once", ST + "go_http.log", None, dict(c=1, E=1, L=300), "P4", "net/http recovered the panic: one request failed, the process lives"),
    ("go-http-items-half", ST + "go_http.log", None, dict(c=30, E=30, L=200, ep="GET /api/items", R=60, F=30), "P2", "half of item reads panic: degraded read path, service up"),
    ("go-http-cart-all", ST + "go_http.log", None, dict(c=30, E=30, L=90, ep="POST /api/cart", R=30, F=30), "P1", "every cart update (write) panics"),
    ("go-sigsegv-once", ST + "go_signal_exc.log", None, dict(c=1, E=1, L=100), "P1", "segmentation violation: the process died"),
    ("go-sigsegv-5", ST + "go_signal_exc.log", None, dict(c=5, E=5, L=100), "P1", "crash loop: nil pointer dereference kills it again and again"),
    ("go-index-once", ST + "go_on_gae_exc.log", None, dict(c=1, E=1, L=100), "P1", "runtime panic (index out of range) kills the instance"),
    ("node-ref-once", ST + "node_js_exc.log", None, dict(c=1, E=1, L=300), "P4", "one ReferenceError in a route, first time"),
    ("node-messages-all", ST + "node_js_exc.log", None, dict(c=50, E=50, L=55, ep="POST /api/messages", R=50, F=50), "P1", "every message post fails and nearly every line is this error"),
    ("node-ref-known", ST + "node_js_exc.log", None, dict(c=10, E=10, L=2000, s=6), "P3", "a known bug, 10 in a busy minute, seen in 6 windows before"),
    ("node-whole-service", ST + "node_js_exc.log", None, dict(c=200, E=200, L=210), "P1", "200 of 210 lines are this error: the service fails everything"),
    ("v8-once", ST + "v8_js_exc.log", None, dict(c=1, E=1, L=300), "P4", "one eval error, first time"),
    ("clientjs-2-known", ST + "client_js_exc.log", None, dict(c=2, E=2, L=800, s=1), "P3", "a generic Error, twice, seen before: low impact"),
    ("php-once", ST + "php_exc.log", None, dict(c=1, E=1, L=200), "P4", "one custom PHP exception, first time"),
    ("php-whole-service", ST + "php_exc.log", None, dict(c=20, E=20, L=30), "P1", "20 of 30 lines are errors: the app fails nearly every request"),
    ("php-fatal-5", ST + "php_on_gae_exc.log", None, dict(c=5, E=5, L=400), "P2", "PHP fatal aborts each request (per request, not the server): 5 requests lost"),
    ("rails-route-once", ST + "rails_exc.log", None, dict(c=1, E=1, L=300), "P4", "a client asked for a route that does not exist (a 404), once"),
    ("rails-route-120", ST + "rails_exc.log", None, dict(c=120, E=120, L=3000, s=5), "P3", "a missing route hit 120x: client errors, not a service failure"),
    ("ruby-books-10pct", ST + "ruby_exc.log", None, dict(c=8, E=8, L=300, ep="GET /books/{id}", R=80, F=8), "P2", "10% of book pages hit a code bug"),
    ("ruby-books-known-low", ST + "ruby_exc.log", None, dict(c=3, E=3, L=3000, ep="GET /books/{id}", R=900, F=3, s=4), "P3", "0.3% of book pages, a known low-impact bug"),
    ("ruby-once", ST + "ruby_exc.log", None, dict(c=1, E=1, L=300), "P4", "one NoMethodError, first time"),
    ("cs-key-once", ST + "csharp_exc.log", None, dict(c=1, E=1, L=300), "P4", "one KeyNotFoundException, first time"),
    ("cs-prices-2pct", ST + "csharp_exc.log", None, dict(c=80, E=80, L=5000, ep="GET /prices", R=4000, F=80), "P2", "2% of price reads fail, 80 a minute: visible to users"),
    ("cs-async-whole", ST + "csharp_async_exc.log", None, dict(c=15, E=15, L=20), "P1", "15 of 20 lines are errors: the service fails nearly every request"),
    ("cs-async-once", ST + "csharp_async_exc.log", None, dict(c=1, E=1, L=200), "P4", "one InvalidOperationException, first time"),
    ("cs-nested-2", ST + "csharp_nested_exc.log", None, dict(c=2, E=2, L=800), "P3", "two nested exceptions in a busy minute"),
    ("cs-nested-payments-all", ST + "csharp_nested_exc.log", None, dict(c=50, E=50, L=120, ep="POST /api/payments", R=50, F=50), "P1", "every payment (write) fails"),
    ("dart-oom", ST + "dart_oom_err.log", None, dict(c=1, E=1, L=50), "P1", "the Dart VM ran out of memory: the process dies"),
    ("dart-oom-3", ST + "dart_oom_err.log", None, dict(c=3, E=3, L=50), "P1", "out of memory, repeatedly"),
    ("dart-stackoverflow", ST + "dart_stack_overflow_err.log", None, dict(c=1, E=1, L=50), "P1", "stack overflow, unhandled: the program terminated"),
    ("nginx-favicon-once", "applogs/filebeat/nginx/error.log", [1], dict(c=1, E=1, L=200), "P4", "a missing static file, once"),
    ("nginx-favicon-known", "applogs/filebeat/nginx/error.log", [1], dict(c=40, E=40, L=2000, s=3, ep="GET /favicon.ico", R=40, F=0), "P3", "missing favicon, repeated: cosmetic, clients get a 404"),
    ("nginx-php-warning", "applogs/filebeat/nginx/error.log", [3], dict(c=30, E=30, L=2000, s=5), "P3", "a PHP deprecation warning relayed by nginx: noise, requests served"),
    ("nginx-upstream-down", "applogs/nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log", [1], dict(c=3, E=6, L=15, ep="GET /", R=3, F=3), "P1", "every request through nginx gets 502: the app behind it is down (3 of 3)"),
    ("nginx-502-favicon", "applogs/nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log", [4], dict(c=1, E=6, L=15, ep="GET /favicon.ico", R=1, F=1), "P1", "the same outage: every request of the minute got 502"),
    ("nginx-upstream-search-10pct", "applogs/nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log", [1], dict(c=20, E=40, L=2000, ep="GET /api/search", R=200, F=20), "P2", "10% of searches get 502: the upstream is flapping"),
    ("apache-favicon-once", "applogs/filebeat/apache/error-test.log", [1], dict(c=1, E=1, L=100), "P4", "a missing favicon, once"),
    ("apache-500-txt", "applogs/apache_access_elastic_examples/apache_logs", "status:GET /misc/Title.php.txt 500", dict(c=2, E=2, L=10000, s=1, ep="GET /misc/Title.php.txt"), "P3", "2 failed requests for one static text file, the rest of the site fine"),
    ("apache-500-options", "applogs/apache_access_elastic_examples/apache_logs", "status:OPTIONS /projects/xdotool/ 500", dict(c=1, E=1, L=10000), "P4", "one OPTIONS request failed, once"),
    ("pg-fatal-nodb-once", "applogs/filebeat/postgresql/postgresql-9.6-debian-with-slowlog.log", [30], dict(c=1, E=1, L=60, lvl="fatal"), "P3", "Postgres FATAL ends one client session (wrong database name); the server is fine"),
    ("pg-fatal-nodb-30", "applogs/filebeat/postgresql/postgresql-9.6-debian-with-slowlog.log", [30], dict(c=30, E=30, L=90, lvl="fatal"), "P2", "an application keeps asking for a database that does not exist: that app cannot work"),
    ("pg-relation-once", "applogs/lnav/logfile_postgres.0", [13], dict(c=1, E=1, L=200), "P4", "one query on a missing table, first time"),
    ("pg-relation-reports", "applogs/lnav/logfile_postgres.0", [13], dict(c=20, E=20, L=200, ep="GET /reports", R=20, F=20), "P2", "every report query fails (a missing table): reports are down, a read path"),
    ("pg-relation-3-known", "applogs/lnav/logfile_postgres.0", [13], dict(c=3, E=3, L=400, s=1), "P3", "a few queries on a missing table, seen before"),
    ("py-open-resource-once", "applogs/lnav/log2src_python-example.0", [6], dict(c=1, E=1, L=50), "P4", "one failure to open a resource, first time"),
    ("py-zerodiv-known", "applogs/lnav/log2src_python-example.0", [7, 8, 9, 10, 11, 12], dict(c=5, E=5, L=500, s=3), "P3", "division by zero on a few requests, a known bug"),
    ("logfmt-podnotfound", "applogs/lnav/logfile_logfmt.0", [1], dict(c=2, E=2, L=300, s=3), "P3", "a virtual kubelet lost track of a deleted pod: cleanup noise"),
    ("logfmt-podnotfound-once", "applogs/lnav/logfile_logfmt.0", [1], dict(c=1, E=1, L=300), "P4", "once, first time"),
    ("vdsm-libvirt", "applogs/lnav/logfile_vdsm.0", None, dict(c=1, E=1, L=16), "P2", "the host agent cannot reach libvirt: VM management on this host is down"),
    ("zap-export-dropping", "applogs/lnav/logfile_zap_console.0", [2], dict(c=6, E=6, L=400, s=2), "P2", "the collector drops metrics: monitoring data is lost"),
    ("zap-export-once", "applogs/lnav/logfile_zap_console.0", [2], dict(c=1, E=1, L=400), "P4", "one failed export, first time"),
    ("json-looking-bad", "applogs/lnav/logfile_json.json", [12], dict(c=1, E=1, L=100), "P4", "one error line, no detail, first time"),
    ("json-critical", "applogs/lnav/logfile_json.json", [13], dict(c=1, E=1, L=100), "P2", "a CRITICAL line: worth a look now, but it does not say the process stops"),
    ("json-fatal", "applogs/lnav/logfile_json.json", [14], dict(c=1, E=1, L=100), "P1", "the process logged FATAL: it is stopping"),
    ("gunicorn-worker-boot", "applogs/python_json/azureml_gunicorn_json_error.jsonl", [1], dict(c=1, E=1, L=10), "P1", "a gunicorn worker failed to boot: the app cannot serve"),
    ("sidecar-no-tmp", "applogs/python_json/k8s-sidecar_python314_json_traceback.jsonl", [7], dict(c=1, E=1, L=20), "P2", "the sidecar cannot write temporary files: it stops syncing"),
    ("sidecar-no-tmp-10", "applogs/python_json/k8s-sidecar_python314_json_traceback.jsonl", [7], dict(c=10, E=10, L=40, s=1), "P2", "the sidecar fails every loop: config is no longer synced"),
    ("rocketchat-cloud-sync", "applogs/nodejs/rocketchat_pino_error_duplicate_msg_key.jsonl", [1], dict(c=1, E=1, L=500, s=4), "P3", "cloud sync failing: a background feature, chat works"),
    ("rocketchat-cloud-sync-once", "applogs/nodejs/rocketchat_pino_error_duplicate_msg_key.jsonl", [1], dict(c=1, E=1, L=500), "P4", "cloud sync failed once, first time"),
    ("node-enoent-once", "applogs/nodejs/rocketchat_pino_plus_raw_node_error.log", [2], dict(c=1, E=1, L=100), "P4", "one missing temporary file, first time"),
]


def _lines(data: Path, source: str, pick) -> list[str]:
    text = (data / source).read_text(encoding="utf-8", errors="replace").splitlines()
    if isinstance(pick, str) and pick.startswith("status:"):
        method, path, status = pick[len("status:"):].split(" ")
        return [next(line for line in text if f'"{method} {path} ' in line and f'" {status} ' in line)]
    if pick is None:
        return text
    return [text[i - 1] for i in pick]


def _finding(service: str, lines: list[str]) -> dict:
    extractor = PartitionExtractor(0, ExtractConfig())
    for offset, line in enumerate(lines):
        extractor.feed(offset, service.encode(), line.encode(), T0 + 1 + offset * 0.001)
    extractor.feed(len(lines), b"__tick__", json.dumps({"tick": T0 + 600}).encode(), T0 + 600)
    partial, _ = extractor.flush()
    found = [f for windows in partial.windows.values() for w in windows.values() for f in w["findings"]]
    if not found:
        raise SystemExit(f"no finding in {lines[:2]}")
    return max(found, key=lambda f: f["count"])


def build(data: Path) -> list[dict]:
    out = []
    for item_id, source, pick, ctx, label, reason in ITEMS:
        finding = _finding("svc", _lines(data, source, pick))
        finding.update(count=ctx["c"], first_seen=0.0, last_seen=0.0)
        if "ep" in ctx:
            finding["endpoint"] = ctx["ep"]
        if "lvl" in ctx:
            finding["level"] = ctx["lvl"]
        finding["samples"] = finding["samples"][:1]
        out.append({"id": item_id, "source": source + (f" lines {pick}" if pick else ""), "finding": finding,
                    "window_errors": ctx["E"], "window_lines": ctx["L"], "seen_before": ctx.get("s", 0),
                    "endpoint_requests": ctx.get("R", 0), "endpoint_failed": ctx.get("F", 0),
                    "label": label, "reason": reason})
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    data = Path(argv[0]) if argv else ROOT.parent / "shared" / "data"
    items = build(data)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(HEADER + "\n" + "".join(json.dumps(i, sort_keys=True) + "\n" for i in items), encoding="utf-8")
    print(f"{len(items)} items -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
