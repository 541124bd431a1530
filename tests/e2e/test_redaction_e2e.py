"""The redaction corpus pushed through a real worker: no credential or personal datum of
it appears in any topic the pipeline writes, in what the model is sent, in the
notifications, the incident report or the worker's own log.

The corpus (tests/data/redaction/corpus.yaml, 50+ kinds in JSON, logfmt, plain text and
multi-line tracebacks) is logged as errors of one service in one minute; the model is a
local fake of the Anthropic Messages API. `logs.raw` is the input as shipped and is the
one place the raw text may be.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from streams.kafka import client
from tests.e2e.harness import WorkerProcess, ensure_topics, minute_lines, produce, read_all, wait_for
from tests.e2e.test_ai_e2e import ThreadedFake, _env

pytestmark = pytest.mark.broker

SERVICE = "vault"
CORPUS = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "redaction" / "corpus.yaml").read_text())
CASES = CORPUS["cases"]


def _as_error(case: dict, ts: float) -> str:
    """The corpus line as an error record of SERVICE, in its own form."""
    text, form = case["text"], case["form"]
    if form == "json":
        record = json.loads(text)
        record.update({"level": "error", "service": SERVICE, "ts": ts})
        return json.dumps(record)
    if form == "logfmt":
        text = re.sub(r"\blevel=\S+", "level=error", text) if "level=" in text else f"level=error {text}"
        return f"ts={ts} service={SERVICE} {text}"
    if form == "traceback":
        return text  # one message, real newlines: one exception
    return f"ERROR {text}"


def _topics(bootstrap: str) -> list[str]:
    async def run() -> list[str]:
        admin = await client.started(client.admin(bootstrap), bootstrap)
        try:
            return sorted(await admin.list_topics())
        finally:
            await client.quiet_stop(admin)
    return asyncio.run(run())



def test_no_planted_secret_leaves_the_input_topic(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    ensure_topics(bootstrap)
    t0 = (time.time() // 60) * 60 - 3600
    # 5 s apart: each line is an error of its own (an error line followed within 4 s by
    # an exception would be one finding, as the product means it to be).
    errors = [(SERVICE, _as_error(case, t0 + 120 + 1 + i * 5), t0 + 120 + 1 + i * 5) for i, case in enumerate(CASES)]
    last_error_minute = int((errors[-1][2] - t0) // 60)
    with ThreadedFake() as fake:
        env = _env(tmp_path, bootstrap, fake.base_url, LOGWARDEN_APP_ID="e2e-redact")
        worker = WorkerProcess(env, tmp_path / "run").start()
        try:
            lines = list(errors)
            for m in range(0, last_error_minute + 8):  # then 5 clean windows resolve the incident
                lines += minute_lines(SERVICE, t0, m)
            produce(bootstrap, sorted(lines, key=lambda r: r[2]))
            wait_for(bootstrap, "incidents.events", lambda evs: any(e["type"] == "resolved" for e in evs),
                     timeout=150, worker=worker)
            reports = Path(env["LOGWARDEN_DATA_DIR"]) / "reports"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list(reports.glob("*.md")):
                time.sleep(0.5)
        finally:
            worker.stop()
        bodies = "\n".join(r.raw for r in fake.requests)

    windows = [json.loads(v) for _k, v in read_all(bootstrap, "signals.windows")]
    assert sum(w["errors"] for w in windows if w["service"] == SERVICE) == len(CASES)
    assert "[REDACTED" in bodies, "the model never saw the (redacted) log text"
    places: dict[str, str] = {"model requests": bodies}
    for topic in _topics(bootstrap):
        if topic != "logs.raw":
            # A tombstone (a deleted part of an incident state) carries no value to leak.
            places[f"topic {topic}"] = "\n".join(v.decode("utf-8", "replace") for _k, v in read_all(bootstrap, topic)
                                                 if v is not None)
    data_dir = Path(env["LOGWARDEN_DATA_DIR"])
    places["notifications.jsonl"] = (data_dir / "notifications.jsonl").read_text()
    report_files = list((data_dir / "reports").glob("*.md"))
    assert report_files, "no incident report was written"
    places["reports"] = "\n".join(p.read_text() for p in report_files)
    places["worker log"] = worker.log.read_text(errors="replace")
    assert "signals.windows" in " ".join(places) and places["notifications.jsonl"]
    # As written, and as it reads inside JSON (a PEM block's newlines become "\n").
    forms = {case["kind"]: {case["secret"], json.dumps(case["secret"])[1:-1]} for case in CASES}
    leaks = [(kind, where) for kind, secrets in forms.items() for where, text in places.items()
             if any(secret in text for secret in secrets)]
    assert leaks == []
