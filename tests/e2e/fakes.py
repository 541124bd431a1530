"""Real HTTP fakes of the vendor APIs the notify stage talks to, on 127.0.0.1.

Slack Web API (chat.postMessage, chat.update), Jira Cloud REST v3 (label search, issues,
comments, transitions) and the PagerDuty Events API v2, each a ThreadingHTTPServer in a
background thread that checks credentials the way the vendor does, keeps the state a
client can observe (issues, statuses, message timestamps) and records every request.
`fail_next` makes the next N requests answer 429 (with Retry-After) or 5xx. Test-only:
must never be imported by project code.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeJira", "FakePagerDuty", "FakeSlack", "Recorded"]

Answer = tuple[int, dict[str, str], Any]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # decoded JSON, or None
    at: float  # time.monotonic() when it arrived
    status: int = 0  # what the fake answered
    response: Any = None  # the JSON it answered with


@dataclass
class _Failure:
    status: int
    retry_after: float | None


class _FakeServer:
    """One vendor on its own port; subclasses implement `answer`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "_FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "_FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, count: int, status: int = 429, retry_after: float | None = None) -> None:
        """The next `count` requests get `status` (and Retry-After) instead of an answer."""
        with self._lock:
            self._failures += [_Failure(status, retry_after)] * count

    def calls(self, method: str, path_pattern: str) -> list[Recorded]:
        """Requests answered 2xx whose path fully matches the regular expression."""
        with self._lock:
            return [r for r in self.requests if r.method == method and 200 <= r.status < 300
                    and re.fullmatch(path_pattern, r.path)]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in handler.headers.items()}
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                extra = {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
                status, out_headers, payload = failure.status, extra, {"error": "injected failure"}
            else:
                status, out_headers, payload = self.answer(handler.command, parts.path, query, headers, body)
            self.requests.append(Recorded(handler.command, parts.path, query, headers, body,
                                          time.monotonic(), status, payload))
        data = b"" if payload is None else json.dumps(payload).encode()
        handler.send_response(status)
        for name, value in out_headers.items():
            handler.send_header(name, value)
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: Any) -> Answer:
        raise NotImplementedError


class FakeSlack(_FakeServer):
    """Slack Web API under /api: bearer token, errors as HTTP 200 {"ok": false}."""

    CHANNEL_ID = "C0LOGWARDEN"

    def __init__(self, bot_token: str) -> None:
        super().__init__()
        self.bot_token = bot_token
        self._messages = 0

    @property
    def api_base(self) -> str:
        return self.url + "/api"

    def top_level_posts(self) -> list[Recorded]:
        return [r for r in self.calls("POST", "/api/chat.postMessage") if "thread_ts" not in r.body]

    def replies(self) -> list[Recorded]:
        return [r for r in self.calls("POST", "/api/chat.postMessage") if "thread_ts" in r.body]

    def answer(self, method, path, query, headers, body) -> Answer:
        if headers.get("authorization") != f"Bearer {self.bot_token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if method != "POST" or not isinstance(body, dict) or not body.get("channel"):
            return 200, {}, {"ok": False, "error": "invalid_arguments"}
        if path == "/api/chat.postMessage":
            self._messages += 1
            ts = f"1700000000.{self._messages:06d}"
            return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "ts": ts,
                             "message": {"ts": ts, "text": body.get("text", "")}}
        if path == "/api/chat.update":
            if body.get("channel") != self.CHANNEL_ID or not body.get("ts"):
                return 200, {}, {"ok": False, "error": "message_not_found"}
            return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "ts": body["ts"],
                             "text": body.get("text", "")}
        return 404, {}, {"ok": False, "error": "unknown_method"}


@dataclass
class FakeIssue:
    id: str
    key: str
    fields: dict[str, Any]
    status: str = "To Do"
    comments: list[dict[str, Any]] = field(default_factory=list)


class FakeJira(_FakeServer):
    """Jira Cloud REST v3: basic auth (email:API token), issues found by label."""

    TRANSITIONS = [{"id": "11", "name": "Start progress", "to": {"name": "In Progress"}},
                   {"id": "31", "name": "Done", "to": {"name": "Done"}}]

    def __init__(self, email: str, api_token: str, project: str = "OPS") -> None:
        super().__init__()
        self.expected_auth = "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self.project = project
        self.issues: dict[str, FakeIssue] = {}

    def answer(self, method, path, query, headers, body) -> Answer:
        if headers.get("authorization") != self.expected_auth:
            return 401, {}, {"errorMessages": ["Client must be authenticated to access this resource."]}
        api = "/rest/api/3"
        if method == "GET" and path == f"{api}/search/jql":
            label = re.search(r'labels\s*=\s*"([^"]+)"', query.get("jql", ""))
            found = [i for i in self.issues.values() if label and label.group(1) in i.fields.get("labels", [])]
            return 200, {}, {"issues": [{"id": i.id, "key": i.key, "fields": {"status": {"name": i.status}}}
                                        for i in found[: int(query.get("maxResults", "50"))]]}
        if method == "POST" and path == f"{api}/issue":
            fields = (body or {}).get("fields") or {}
            if (fields.get("project") or {}).get("key") != self.project or not fields.get("summary"):
                return 400, {}, {"errorMessages": [], "errors": {"project": "valid project is required"}}
            number = len(self.issues) + 1
            issue = FakeIssue(id=str(10000 + number), key=f"{self.project}-{number}", fields=fields)
            self.issues[issue.key] = issue
            return 201, {}, {"id": issue.id, "key": issue.key, "self": f"{self.url}{api}/issue/{issue.id}"}
        match = re.fullmatch(rf"{api}/issue/([A-Z]+-\d+)(/comment|/transitions)?", path)
        issue = self.issues.get(match.group(1)) if match else None
        if issue is None:
            return 404, {}, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        sub = match.group(2)
        if method == "GET" and sub is None:
            return 200, {}, {"id": issue.id, "key": issue.key, "fields": {"status": {"name": issue.status}}}
        if sub == "/comment" and method == "GET":
            return 200, {}, {"comments": issue.comments, "total": len(issue.comments)}
        if sub == "/comment" and method == "POST":
            comment = {"id": str(20000 + len(issue.comments)), "body": (body or {}).get("body")}
            issue.comments.append(comment)
            return 201, {}, comment
        if sub == "/transitions" and method == "GET":
            return 200, {}, {"transitions": self.TRANSITIONS}
        if sub == "/transitions" and method == "POST":
            wanted = ((body or {}).get("transition") or {}).get("id")
            target = next((t for t in self.TRANSITIONS if t["id"] == wanted), None)
            if target is None:
                return 400, {}, {"errorMessages": ["Transition id is not valid for this issue."]}
            issue.status = target["to"]["name"]
            return 204, {}, None
        return 405, {}, {"errorMessages": ["Method not allowed"]}


class FakePagerDuty(_FakeServer):
    """PagerDuty Events API v2: POST /v2/enqueue, the routing key travels in the body."""

    def __init__(self, routing_key: str) -> None:
        super().__init__()
        self.routing_key = routing_key

    @property
    def events_url(self) -> str:
        return self.url + "/v2/enqueue"

    def events(self) -> list[dict[str, Any]]:
        return [r.body for r in self.calls("POST", "/v2/enqueue")]

    def answer(self, method, path, query, headers, body) -> Answer:
        if method != "POST" or path != "/v2/enqueue":
            return 404, {}, {"status": "invalid path", "message": "Not found"}
        if not isinstance(body, dict) or body.get("routing_key") != self.routing_key:
            return 400, {}, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": ["Invalid routing key"]}
        if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            return 400, {}, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": ["'event_action' is invalid"]}
        if body["event_action"] == "trigger" and not (body.get("payload") or {}).get("summary"):
            return 400, {}, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": ["'payload.summary' is missing or blank"]}
        return 202, {}, {"status": "success", "message": "Event processed",
                         "dedup_key": body.get("dedup_key", "")}
