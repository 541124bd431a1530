"""Local classification of a finding: severity, one-off, category, probable cause.

Rules read what an on-call engineer reads first: the log level, the exception type,
the HTTP status, how much of the service's traffic fails, and whether this fingerprint
was seen before. How much fails works both ways: most of the traffic failing raises a
severity, and an error is P3, a ticket rather than a page, when under 1 % of the
requests fail: read from its route's access log (any error short of P1: the log counts
what users got), else from the window's error lines for an error of the service's own
code only (a data store or dependency failing fails work the lines do not count). A
crash, a fatal level, a flood or a line saying something stopped is never lowered.
Pure: no I/O, no clock, same input -> same answer. Must never raise on a valid
`ClassifyInput`.
"""

from __future__ import annotations

import re

from schemas.ai_tasks import ClassifyInput, ClassifyOutput
from schemas.records import Finding

__all__ = ["classify_locally", "incident_kind", "severity_floor"]

_SEVERITIES = ("P1", "P2", "P3")
_FATAL_LEVELS = {"fatal", "critical", "crit", "emerg", "emergency", "alert", "panic", "severe"}
_WARNING_LEVELS = {"warning", "warn", "notice", "info", "debug"}

# (category, pattern, severity it implies at least, why) – first match wins.
_SIGNALS: list[tuple[str, re.Pattern[str], str, str]] = [
    ("resource", re.compile(r"out ?of ?memory|outofmemoryerror|oom[- ]?kill|cannot allocate memory|memoryerror"), "P1",
     "the process ran out of memory"),
    ("resource", re.compile(r"no space left on device|disk (?:is )?full|quota exceeded"), "P1",
     "a disk or quota is full"),
    ("code", re.compile(r"kernel panic|\bpanic\b|segmentation fault|segfault|sigsegv|core dumped|stackoverflow|"
                        r"kernel terminated|rts internal error"), "P1",
     "the process crashed"),
    ("hardware", re.compile(r"machine check|ecc error|parity error(?! corrected)|node card is not fully functional|"
                            r"link training failed|hardware failure"), "P1",
     "a hardware component failed"),
    ("database", re.compile(r"too many connections|database (?:is )?(?:down|unavailable)|could not connect to (?:server|database)|"
                            r"connection pool (?:exhausted|timeout)|deadlock|lock wait timeout|jdbc|sqlstate|"
                            r"postgres|mysql|sqlite|mongo|operationalerror|integrityerror"), "P2",
     "the database rejected or dropped queries"),
    ("security", re.compile(r"authentication fail|auth(?:entication)? failure|invalid user|failed password|"
                            r"permission denied|access denied|forbidden|unauthori[sz]ed|\bhttp 40[13]\b|"
                            r"kerberos|couldn't authenticate|check pass; user unknown"), "P3",
     "requests are being refused for lack of credentials or rights"),
    ("dependency", re.compile(r"connection refused|connection reset|connection timed out|timed ?out|timeout|"
                              r"no route to host|noroutetohost|broken pipe|link has been severed|upstream|"
                              r"bad gateway|service unavailable|gateway time-?out|econnrefused|econnreset|"
                              r"name or service not known|dns|unreachable|connection broken|cannot open channel|"
                              r"error in contacting|failed to renew lease|\bhttp 50[234]\b"), "P2",
     "a dependency did not answer or dropped the connection"),
    ("config", re.compile(r"no such file or directory|filenotfound|enoent|invalid or missing program image|"
                          r"misconfigur|invalid configuration|unknown (?:base file|option)|mount failed|"
                          r"not found in config"), "P2",
     "a file, mount or setting the service needs is missing or wrong"),
    ("code", re.compile(r"nullpointer|null reference|typeerror|attributeerror|keyerror|indexerror|valueerror|"
                        r"zerodivision|classcast|illegalstate|illegalargument|assert|unhandled|uncaught|"
                        r"exception|traceback|error:"), "P2",
     "the code raised an unhandled error"),
]

_HTTP_STATUS = re.compile(r"\bHTTP[ /]?(\d{3})\b|\b(?:status|code)[=: ]+(\d{3})\b", re.I)

# The message itself says it is a warning, whatever level the line was logged at: PHP
# relays its warnings and deprecations through FastCGI's stderr, which nginx logs at
# level error; Python's `warnings` print "DeprecationWarning: ..." on stderr. A
# deprecation announces a future failure, not a present one.
_WARNING_TEXT = re.compile(r"\bphp (?:warning|notice|deprecated|strict standards):|\b[a-z]*warning: |\bdeprecat",
                           re.I)
# Errors a framework answers with a 4xx status, so the client asked for what is not
# there or is not allowed (P3, like an HTTP 4xx): Rails routing and record lookups,
# Django's and Werkzeug's not-found, Spring's no-handler and unsupported method or type,
# and nginx's log line for a static file that does not exist (it answers 404).
_CLIENT_ERROR = re.compile(
    r"actioncontroller::(?:routingerror|unknownformat|parametermissing)|no route matches|"
    r"activerecord::recordnotfound|django\.http\.http404|\bhttp404\b|werkzeug\.exceptions\.(?:notfound|"
    r"badrequest|methodnotallowed)|nohandlerfoundexception|httprequestmethodnotsupportedexception|"
    r"httpmediatypenotsupportedexception|"
    r'open\(\) "[^"]*" failed \((?:2|<\*>): no such file or directory\)', re.I)
# A line that says something stopped: what stopped fails quietly afterwards, so the
# share of the window's lines does not measure it (never lowered for a low share).
_STOPPING = re.compile(r"shut(?:ting)? ?down|\bterminating\b|\bexiting\b|\baborting\b|\bstopp(?:ed|ing)\b", re.I)
# Under this share of requests failing an error is low impact (P3): the same 1 % as
# `[incidents.severity] endpoint_degraded_share` (users notice one failure in a hundred).
_LOW_SHARE = 0.01
# A route's share counts from this many requests (`endpoint_min_requests`): below it
# one request swings the share too far.
_MIN_REQUESTS = 5
# The categories a low share can lower: an error in the service's own code or answer.
# A data store, dependency, config, resource or hardware failure stays P2 at any share:
# it fails work the lines do not count (background jobs, the next deploy, other users).
_LOWERED_BY_SHARE = ("unknown", "code", "http")
# A hundred occurrences in a window is a flood whatever their share: it raises a repeated
# warning to P2 and is never lowered for a low share.
_FLOOD_COUNT = 100


def _percent(share: float) -> str:
    """"80%", "0.3%", "0.02%": never a misleading "0%" for a share that is not zero."""
    digits = 0 if share == 0 or share >= 0.1 else 1 if share >= 0.001 else 2
    return f"{share:.{digits}%}"


def _low_share(inp: ClassifyInput, category: str, message: str) -> str:
    """Why this error hurts under 1 % of the traffic ("" when it does not, or nothing says).

    The route's access-log counts are the evidence when there are enough of them (any
    category: they count what users got); else the window's error lines against all its
    lines, for an error of the service's own code only."""
    if _STOPPING.search(message):
        return ""
    route, endpoint = inp.route, inp.finding.endpoint
    if route is not None and route.requests >= _MIN_REQUESTS:
        share = min(route.failed, route.requests) / route.requests
        if share < _LOW_SHARE:
            return f"{route.failed} of {route.requests} requests to {endpoint} failed in one minute ({_percent(share)})"
        return ""
    if category in _LOWERED_BY_SHARE and inp.window_lines and inp.window_errors / inp.window_lines < _LOW_SHARE:
        share = inp.window_errors / inp.window_lines
        return f"{inp.window_errors} of the minute's {inp.window_lines} lines were errors ({_percent(share)})"
    return ""


def _raise(severity: str, steps: int = 1) -> str:
    return _SEVERITIES[max(0, _SEVERITIES.index(severity) - steps)]


def _text(finding: Finding) -> str:
    return " ".join([finding.error_type, finding.template, *finding.samples[:3]]).lower()


def _http_status(finding: Finding) -> int | None:
    for source in (finding.error_type, finding.template):
        m = _HTTP_STATUS.search(source)
        if m:
            return int(m.group(1) or m.group(2))
    return None


def severity_floor(finding: Finding) -> str:
    """The lowest severity hard evidence allows, whatever a model says.

    A fatal/critical line stays P1 even if log text persuaded a model otherwise.
    """
    if finding.level.lower() in _FATAL_LEVELS:
        return "P1"
    return "P3"


# Incident kinds the runbook catalog's `propose_for` names, and what in a finding says
# so; first match wins (an OOM kill that restarts a pod is "oom", not "crash_loop").
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("oom", re.compile(r"out ?of ?memory|outofmemoryerror|oom[- ]?kill|cannot allocate memory|memoryerror|"
                       r"memory limit exceeded")),
    ("crash_loop", re.compile(r"crash ?loop|back-off restarting|restarting failed container|"
                              r"segmentation fault|segfault|sigsegv|core dumped|kernel panic|\bpanic\b")),
    ("deploy_regression", re.compile(r"since (?:the )?(?:deploy|release|rollout)|after (?:the )?(?:deploy|release|"
                                     r"rollout|upgrade)|regression|new version|incompatible version")),
    ("saturation", re.compile(r"too many connections|connection pool (?:exhausted|timeout)|pool exhausted|"
                              r"saturat|overload|queue (?:full|backlog)|rate limit|throttl|"
                              r"\bhttp 50[34]\b|service unavailable|gateway time-?out")),
]


def incident_kind(finding: Finding) -> str:
    """The runbook kind a finding shows ("oom", "crash_loop", "deploy_regression",
    "saturation"), or "" when it shows none: the built-in rules propose the runbooks whose
    `propose_for` lists it."""
    text = " ".join([finding.error_type, finding.template, finding.title, *finding.samples[:3]]).lower()
    return next((kind for kind, pattern in _KINDS if pattern.search(text)), "")


def classify_locally(inp: ClassifyInput) -> ClassifyOutput:
    finding = inp.finding
    text = _text(finding)
    message = " ".join([finding.error_type, finding.template])
    level = finding.level.lower()
    category, cause, confidence = "unknown", "an error was logged", 0.5
    if level not in _FATAL_LEVELS and level not in _WARNING_LEVELS and _WARNING_TEXT.search(message):
        level, cause = "warning", f"a warning or deprecation logged at level {finding.level}"
    status = _http_status(finding)
    client_error = (status is not None and 400 <= status < 500) or bool(_CLIENT_ERROR.search(message))

    severity = "P3" if level in _WARNING_LEVELS else "P2"
    for cat, pattern, implied, why in _SIGNALS:
        if pattern.search(text):
            category, cause, confidence = cat, why, 0.75
            if cat == "security":
                severity = implied  # a refusal is the client's problem until it is a flood (below)
            elif implied == "P1" or level not in _WARNING_LEVELS:
                severity = min(severity, implied)  # "P1" < "P2" < "P3"
            break

    if status is not None:
        category = "http" if category in ("unknown", "code") else category
        if status >= 500:
            severity, confidence = min(severity, "P2"), max(confidence, 0.75)
            cause = cause if category != "http" else f"the service answered HTTP {status}"
        elif status >= 400 and category != "security":
            severity, cause = "P3", f"clients received HTTP {status}"
    elif client_error and category != "security":
        category, severity = "http", "P3"
        cause, confidence = "a client asked for what is not there or not allowed (an HTTP 4xx)", 0.75

    if level in _FATAL_LEVELS:
        severity, confidence = "P1", 0.9
    elif severity == "P2" and finding.count < _FLOOD_COUNT and (low := _low_share(inp, category, message)):
        severity, cause = "P3", f"{cause}; low impact: {low}"

    # How much of the service is failing: a small error is serious when it is most of
    # the traffic, and a flood of warnings is more than a warning.
    rate = inp.window_errors / inp.window_lines if inp.window_lines else 0.0
    if severity != "P1" and inp.window_errors >= 20 and rate >= 0.5 and level not in _WARNING_LEVELS:
        severity = _raise(severity)
        cause += f"; {rate:.0%} of the window's lines were errors"
    elif (severity == "P3" and finding.count >= _FLOOD_COUNT and category not in ("unknown", "security")
          and not client_error):
        severity = "P2"
        cause += f"; repeated {finding.count} times in one window"
    elif category == "security" and finding.count >= 20 and severity == "P3":
        severity = "P2"
        cause += f"; {finding.count} refusals in one window (possible brute force)"

    one_off = finding.count <= 1 and inp.seen_before == 0 and severity != "P1"
    if one_off and severity == "P2" and status is None and category in ("unknown", "code", "config"):
        severity = "P3"  # a single unexplained error is worth a quiet ticket, not a page

    where = f" on {finding.endpoint}" if finding.endpoint else ""
    what = finding.label or "error"  # readable: never a template id or a masked `<*>`
    probable_cause = f"{cause} ({what}{where}, {finding.count}x in one minute)"
    return ClassifyOutput(
        severity=severity,  # type: ignore[arg-type]
        one_off=one_off,
        category=category,
        probable_cause=probable_cause[:500],
        confidence=confidence,
    )
