"""Local fakes of the vendor APIs, served through httpx.MockTransport so the channels'
real httpx client is exercised. Each fake checks the request the way the vendor does
(auth, required fields, limits), answers with the vendor's documented shapes, errors
included, and keeps the state a user would look at (messages, issues, incidents).

`script` queues canned responses (or exceptions) for the next requests, to play
failures; `on_request` lets a test act at the moment a request reaches the vendor
(for example, snapshot the store to play a worker killed right after sending).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs

import httpx

SLACK_WEBHOOK = "https://hooks.slack.test/services/T0001/B0001/SLACKhookSECRET123"
SLACK_BOT_TOKEN = "xoxb-1111-2222-SLACKbotSECRET"
TELEGRAM_TOKEN = "123456789:TELEGRAMsecretTOKENabc"
JIRA_TOKEN = "ATATT3xJIRAsecretTOKEN"
JIRA_EMAIL = "bot@acme.test"
PD_ROUTING_KEY = "R0UT1NGKEYsecret0000000000000000"
DISCORD_WEBHOOK = "https://discord.test/api/webhooks/4242/DISCORDsecretTOKEN"
NTFY_TOPIC = "ntfySECRETtopic"
NTFY_TOKEN = "tk_NTFYsecretTOKEN"
WEBHOOK_URL = "https://receiver.test/hooks/WEBHOOKsecretPATH"
WEBHOOK_HMAC = "HMACsigningSECRET"
ALL_SECRETS = (SLACK_WEBHOOK, "SLACKhookSECRET123", SLACK_BOT_TOKEN, TELEGRAM_TOKEN, JIRA_TOKEN,
               PD_ROUTING_KEY, DISCORD_WEBHOOK, "DISCORDsecretTOKEN", NTFY_TOPIC, NTFY_TOKEN,
               WEBHOOK_URL, "WEBHOOKsecretPATH", WEBHOOK_HMAC)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeVendor:
    host: str
    requests: list[Seen] = field(default_factory=list)
    script: list[httpx.Response | Exception] = field(default_factory=list)
    on_request: Callable[[Seen], None] | None = None
    force_status: int | None = None  # answer normally, but with this status code

    def handle(self, request: httpx.Request) -> httpx.Response:
        seen = Seen(request.method, request.url.path,
                    {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()},
                    request.headers, request.content)
        self.requests.append(seen)
        if self.on_request:
            self.on_request(seen)
        if self.script:
            canned = self.script.pop(0)
            if isinstance(canned, Exception):
                raise canned
            return canned
        response = self.answer(seen)
        if self.force_status is not None:
            return httpx.Response(self.force_status, headers=response.headers, content=response.content)
        return response

    def answer(self, seen: Seen) -> httpx.Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def error(self, status: int) -> httpx.Response:
        """What this vendor sends back with `status` (for scripted failures)."""
        return httpx.Response(status, json={"error": "scripted"})


class FakeSlack(FakeVendor):
    def __init__(self) -> None:
        super().__init__("hooks.slack.test")
        self.webhook_posts: list[dict] = []
        self.messages: dict[str, dict] = {}  # ts -> message
        self._n = 0

    def answer(self, seen: Seen) -> httpx.Response:
        if seen.path.startswith("/services/"):
            if seen.path != "/services/T0001/B0001/SLACKhookSECRET123":
                return httpx.Response(404, text="no_service")
            body = seen.json()
            if not body.get("text") and not body.get("blocks"):
                return httpx.Response(400, text="invalid_payload")
            self.webhook_posts.append(body)
            return httpx.Response(200, text="ok")
        if seen.headers.get("authorization") != f"Bearer {SLACK_BOT_TOKEN}":
            return httpx.Response(200, json={"ok": False, "error": "invalid_auth"})
        body = seen.json()
        if seen.path == "/api/chat.postMessage":
            self._n += 1
            ts = f"1700000000.{self._n:06d}"
            self.messages[ts] = {"channel": "C0BACKEND", **body}
            return httpx.Response(200, json={"ok": True, "channel": "C0BACKEND", "ts": ts,
                                             "message": {"text": body.get("text"), "ts": ts}})
        if seen.path == "/api/chat.update":
            if body.get("ts") not in self.messages or body.get("channel") != "C0BACKEND":
                return httpx.Response(200, json={"ok": False, "error": "message_not_found"})
            self.messages[body["ts"]] = {**self.messages[body["ts"]], **body}
            return httpx.Response(200, json={"ok": True, "channel": "C0BACKEND", "ts": body["ts"]})
        return httpx.Response(404, json={"ok": False, "error": "unknown_method"})

    def error(self, status: int) -> httpx.Response:
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "3"}, text="rate_limited")
        return httpx.Response(status, text="invalid_payload" if status < 500 else "rollup_error")

    def top_level(self) -> list[dict]:
        return [m for m in self.messages.values() if "thread_ts" not in m]

    def replies(self) -> list[dict]:
        return [m for m in self.messages.values() if "thread_ts" in m]


class FakeTelegram(FakeVendor):
    def __init__(self) -> None:
        super().__init__("telegram.test")
        self.messages: dict[int, dict] = {}
        self._n = 100

    def answer(self, seen: Seen) -> httpx.Response:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", seen.path)
        if not match or match.group(1) != TELEGRAM_TOKEN:
            return httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"})
        method, body = match.group(2), seen.json()
        text = body.get("text", "")
        if body.get("parse_mode") != "HTML" or not 1 <= len(_visible(text)) <= 4096:
            return _tg_error(400, "Bad Request: message is too long" if text else "Bad Request: message text is empty")
        if method == "sendMessage":
            self._n += 1
            self.messages[self._n] = {"text": text, "reply_to": (body.get("reply_parameters") or {}).get("message_id")}
            return httpx.Response(200, json={"ok": True, "result": {
                "message_id": self._n, "chat": {"id": int(body["chat_id"])}, "date": 1700000000, "text": _visible(text)}})
        if method == "editMessageText":
            current = self.messages.get(body.get("message_id"))
            if current is None:
                return _tg_error(400, "Bad Request: message to edit not found")
            if current["text"] == text:
                return _tg_error(400, "Bad Request: message is not modified: specified new message "
                                      "content and reply markup are exactly the same")
            current["text"] = text
            return httpx.Response(200, json={"ok": True, "result": {"message_id": body["message_id"]}})
        return _tg_error(404, "Not Found")

    def error(self, status: int) -> httpx.Response:
        if status == 429:
            return httpx.Response(429, json={"ok": False, "error_code": 429,
                                             "description": "Too Many Requests: retry after 7",
                                             "parameters": {"retry_after": 7}})
        return _tg_error(status, "Bad Request: chat not found" if status < 500 else "Internal Server Error")


def _tg_error(status: int, description: str) -> httpx.Response:
    return httpx.Response(status, json={"ok": False, "error_code": status, "description": description})


def _visible(html_text: str) -> str:
    """Telegram counts the length after entities are parsed: tags gone, entities one char."""
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


class FakeJira(FakeVendor):
    def __init__(self) -> None:
        super().__init__("acme.atlassian.test")
        self.issues: dict[str, dict] = {}
        self._n = 0

    def answer(self, seen: Seen) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            return httpx.Response(401, json={"errorMessages": ["You are not authenticated."], "errors": {}})
        path = seen.path.removeprefix("/rest/api/3")
        if seen.method == "GET" and path == "/search/jql":
            label = re.fullmatch(r'labels = "([^"]+)" ORDER BY created ASC', seen.query.get("jql", ""))
            if not label:
                return httpx.Response(400, json={"errorMessages": ["Error in the JQL Query"], "errors": {}})
            found = [{"id": i["id"], "key": k, "fields": {"status": {"name": i["status"]}}}
                     for k, i in self.issues.items() if label.group(1) in i["fields"]["labels"]]
            return httpx.Response(200, json={"issues": found[: int(seen.query.get("maxResults", 50))], "isLast": True})
        if seen.method == "POST" and path == "/issue":
            fields = seen.json()["fields"]
            missing = [f for f in ("project", "issuetype", "summary") if f not in fields]
            if missing or len(fields["summary"]) > 255 or any(" " in label for label in fields.get("labels", [])):
                return httpx.Response(400, json={"errorMessages": [], "errors": {"summary": "invalid"}})
            if fields["description"].get("type") != "doc" or fields["description"].get("version") != 1:
                return httpx.Response(400, json={"errorMessages": [], "errors": {"description": "Operation value must be an Atlassian Document"}})
            self._n += 1
            key = f"{fields['project']['key']}-{self._n}"
            self.issues[key] = {"id": str(10000 + self._n), "fields": fields, "comments": [], "status": "To Do"}
            return httpx.Response(201, json={"id": str(10000 + self._n), "key": key,
                                             "self": f"https://{self.host}/rest/api/3/issue/{10000 + self._n}"})
        match = re.fullmatch(r"/issue/([A-Z]+-\d+)(/comment|/transitions)?", path)
        if not match or match.group(1) not in self.issues:
            return httpx.Response(404, json={"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
        issue, tail = self.issues[match.group(1)], match.group(2)
        if tail is None and seen.method == "PUT":  # Edit issue: 204 No Content on success (Jira REST v3)
            issue["fields"].update(seen.json()["fields"])
            return httpx.Response(204)
        if tail == "/comment" and seen.method == "POST":
            body = seen.json()["body"]
            if body.get("type") != "doc":
                return httpx.Response(400, json={"errorMessages": [], "errors": {"comment": "Comment body is not valid!"}})
            issue["comments"].append(body)
            return httpx.Response(201, json={"id": str(len(issue["comments"])), "body": body})
        if tail == "/comment":
            return httpx.Response(200, json={"comments": [{"id": str(i + 1), "body": c} for i, c in enumerate(issue["comments"])][::-1],
                                             "total": len(issue["comments"])})
        if tail == "/transitions" and seen.method == "GET":
            return httpx.Response(200, json={"transitions": [
                {"id": "11", "name": "To Do", "to": {"name": "To Do"}},
                {"id": "21", "name": "Start progress", "to": {"name": "In Progress"}},
                {"id": "31", "name": "Resolve", "to": {"name": "Done"}}]})
        if tail == "/transitions":
            names = {"11": "To Do", "21": "In Progress", "31": "Done"}
            wanted = seen.json()["transition"]["id"]
            if wanted not in names:
                return httpx.Response(400, json={"errorMessages": ["Transition id is not valid."], "errors": {}})
            issue["status"] = names[wanted]
            issue.setdefault("transitions", 0)
            issue["transitions"] += 1
            return httpx.Response(204)
        return httpx.Response(200, json={"key": match.group(1), "fields": {"status": {"name": issue["status"]}}})

    def error(self, status: int) -> httpx.Response:
        headers = {"Retry-After": "2"} if status == 429 else {}
        return httpx.Response(status, headers=headers, json={"errorMessages": ["scripted failure"], "errors": {}})


class FakePagerDuty(FakeVendor):
    def __init__(self) -> None:
        super().__init__("events.pagerduty.test")
        self.incidents: dict[str, dict] = {}  # dedup_key -> {"status", "events"}

    def answer(self, seen: Seen) -> httpx.Response:
        if seen.path != "/v2/enqueue":
            return httpx.Response(404, json={"status": "not found"})
        event = seen.json()
        errors = []
        if len(event.get("routing_key", "")) != 32:
            errors.append("'routing_key' must be 32 characters")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") or {}
            if not payload.get("summary") or len(payload["summary"]) > 1024 or not payload.get("source") \
                    or payload.get("severity") not in ("critical", "error", "warning", "info"):
                errors.append("'payload' is invalid")
        if errors:
            return httpx.Response(400, json={"status": "invalid event", "message": "Event object is invalid", "errors": errors})
        key = event["dedup_key"]
        incident = self.incidents.setdefault(key, {"status": "none", "events": 0})
        incident["events"] += 1
        incident["status"] = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}[event["event_action"]]
        return httpx.Response(202, json={"status": "success", "message": "Event processed", "dedup_key": key})

    def error(self, status: int) -> httpx.Response:
        if status == 429:
            return httpx.Response(429, json={"status": "throttled", "message": "Requests for this service are arriving too quickly."})
        return httpx.Response(status, json={"status": "invalid event", "message": "Event object is invalid", "errors": ["scripted"]})


class FakeDiscord(FakeVendor):
    def __init__(self) -> None:
        super().__init__("discord.test")
        self.messages: dict[str, dict] = {}
        self._n = 900

    def answer(self, seen: Seen) -> httpx.Response:
        base = "/api/webhooks/4242/DISCORDsecretTOKEN"
        if not seen.path.startswith(base):
            return httpx.Response(401, json={"message": "Invalid Webhook Token", "code": 50027})
        body = seen.json()
        embed = (body.get("embeds") or [{}])[0]
        total = len(embed.get("title", "")) + len(embed.get("description", "")) + sum(
            len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
        if len(body.get("content", "")) > 2000 or len(embed.get("title", "")) > 256 or \
                len(embed.get("description", "")) > 4096 or len(embed.get("fields", [])) > 25 or total > 6000:
            return httpx.Response(400, json={"code": 50035, "message": "Invalid Form Body"})
        if seen.method == "POST" and seen.path == base:
            self._n += 1
            self.messages[str(self._n)] = body
            if seen.query.get("wait") != "true":
                return httpx.Response(204)
            return httpx.Response(200, json={"id": str(self._n), "type": 0, "content": body.get("content", "")})
        match = re.fullmatch(re.escape(base) + r"/messages/(\d+)", seen.path)
        if seen.method == "PATCH" and match:
            if match.group(1) not in self.messages:
                return httpx.Response(404, json={"message": "Unknown Message", "code": 10008})
            self.messages[match.group(1)] = body
            return httpx.Response(200, json={"id": match.group(1)})
        return httpx.Response(405, json={"message": "405: Method Not Allowed", "code": 0})

    def error(self, status: int) -> httpx.Response:
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "1"},
                                  json={"message": "You are being rate limited.", "retry_after": 0.75, "global": False})
        return httpx.Response(status, json={"message": "scripted", "code": 0})


class FakeNtfy(FakeVendor):
    def __init__(self) -> None:
        super().__init__("ntfy.test")
        self.published: list[dict] = []

    def answer(self, seen: Seen) -> httpx.Response:
        if seen.path != f"/{NTFY_TOPIC}" or seen.headers.get("authorization") != f"Bearer {NTFY_TOKEN}":
            return httpx.Response(403, json={"code": 40301, "http": 403, "error": "forbidden"})
        self.published.append({"title": seen.headers.get("title"), "priority": seen.headers.get("priority"),
                               "tags": seen.headers.get("tags"), "click": seen.headers.get("click"),
                               "message": seen.body.decode()})
        return httpx.Response(200, json={"id": f"m{len(self.published)}", "time": 1700000000,
                                         "event": "message", "topic": NTFY_TOPIC})

    def error(self, status: int) -> httpx.Response:
        return httpx.Response(status, json={"code": status * 100 + 1, "http": status, "error": "scripted"})


class FakeReceiver(FakeVendor):
    def __init__(self) -> None:
        super().__init__("receiver.test")
        self.received: list[dict] = []

    def answer(self, seen: Seen) -> httpx.Response:
        expected = "sha256=" + hmac.new(WEBHOOK_HMAC.encode(), seen.body, hashlib.sha256).hexdigest()
        if seen.headers.get("x-logwarden-signature") != expected:
            return httpx.Response(401, json={"error": "bad signature"})
        self.received.append(seen.json())
        return httpx.Response(200, json={"accepted": True})


class Vendors:
    """All fakes behind one transport, routed by host like DNS would."""

    def __init__(self) -> None:
        self.slack, self.telegram, self.jira = FakeSlack(), FakeTelegram(), FakeJira()
        self.pagerduty, self.discord = FakePagerDuty(), FakeDiscord()
        self.ntfy, self.webhook = FakeNtfy(), FakeReceiver()
        self.by_host: dict[str, FakeVendor] = {
            "hooks.slack.test": self.slack, "slack.test": self.slack, "telegram.test": self.telegram,
            "acme.atlassian.test": self.jira, "events.pagerduty.test": self.pagerduty,
            "discord.test": self.discord, "ntfy.test": self.ntfy, "receiver.test": self.webhook}

    def by_channel(self, name: str) -> FakeVendor:
        return {"slack": self.slack, "telegram": self.telegram, "jira": self.jira,
                "pagerduty": self.pagerduty, "discord": self.discord, "ntfy": self.ntfy,
                "webhook": self.webhook}[name]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self.by_host[request.url.host].handle(request))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport(), timeout=5.0)


def all_channels_config(**overrides: Any) -> dict[str, Any]:
    """A `[notify]` section with every HTTP channel configured against the fakes."""
    cfg: dict[str, Any] = {
        "slack": {"webhook_url": SLACK_WEBHOOK},
        "telegram": {"bot_token": TELEGRAM_TOKEN, "chat_id": "-1001234567890", "api_base": "https://telegram.test"},
        "jira": {"base_url": "https://acme.atlassian.test", "email": JIRA_EMAIL, "api_token": JIRA_TOKEN, "project": "OPS"},
        "pagerduty": {"routing_key": PD_ROUTING_KEY, "events_url": "https://events.pagerduty.test/v2/enqueue"},
        "discord": {"webhook_url": DISCORD_WEBHOOK},
        "ntfy": {"server": "https://ntfy.test", "topic": NTFY_TOPIC, "token": NTFY_TOKEN},
        "webhook": {"url": WEBHOOK_URL, "hmac_secret": WEBHOOK_HMAC},
    }
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg
