"""Per-service charts for the console, as inline SVG built on the server.

One chart per series (log lines per minute, errors per minute) over a fixed span that
ends now: the series as one path (a gap of more than `GAP_S` without a window starts a
new piece, so a missing hour is not drawn as a straight line), the baseline band of each
hour of the week behind it, and the service's incidents as shaded spans from opened to
resolved (or now) on the same time axis, each with its title on hover. No script and no
style attribute (the page's Content-Security-Policy allows neither): presentation comes
from classes in `assets.CSS`. Every text is escaped here.

Geometry is plain arithmetic, inside a plot area of `width` x `height` (the SVG adds
margins for the labels): x grows with time from `t0` to `t1`, y is 0 at the top, so a
value v on a 0..v_max axis is at `height - v / v_max * height`.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Callable, Iterable, Mapping, Sequence

from agents.console.series import Band

__all__ = ["Axis", "Span", "chart_svg", "nice_max", "path_of"]

GAP_S = 150.0  # more than two missing windows: the line breaks
MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM, MARGIN_RIGHT = 56, 8, 22, 8


@dataclass(frozen=True)
class Axis:
    t0: float
    t1: float
    v_max: float
    width: float = 720.0
    height: float = 110.0

    def x(self, t: float) -> float:
        return (t - self.t0) / (self.t1 - self.t0) * self.width

    def y(self, v: float) -> float:
        return self.height - min(max(v, 0.0), self.v_max) / self.v_max * self.height


@dataclass(frozen=True)
class Span:
    """An incident on the time axis."""

    start: float
    end: float | None  # None: still open
    title: str
    incident_id: str
    severity: str


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `value` (at least 1): the top of the y axis."""
    if not math.isfinite(value) or value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value - 1e-9:
            return float(step * power)
    return float(10 * power)


def _n(x: float) -> str:
    return f"{x:.1f}"


def path_of(points: Sequence[Sequence[float]], axis: Axis) -> str:
    """SVG path data through (t, value) points inside the axis, one command per point."""
    out, last = [], None
    for t, v in points:
        if t < axis.t0 or t > axis.t1:
            continue
        out.append(("M" if last is None or t - last > GAP_S else "L") + f"{_n(axis.x(t))},{_n(axis.y(v))}")
        last = t
    return " ".join(out)


def _hhmm(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%H:%M")


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.2g}"


def _ticks(axis: Axis) -> str:
    """A tick and an "HH:MM" label (UTC) on every hour inside the span."""
    parts = []
    t = math.ceil(axis.t0 / 3600.0) * 3600.0
    while t <= axis.t1:
        x = _n(axis.x(t))
        parts.append(f'<line class="tick" x1="{x}" x2="{x}" y1="0" y2="{_n(axis.height)}"/>'
                     f'<text class="xlabel" x="{x}" y="{_n(axis.height + 15)}" text-anchor="middle">{_hhmm(t)}</text>')
        t += 3600.0
    return "".join(parts)


def _bands(bands: Iterable[Band], axis: Axis, unit: str) -> str:
    parts = []
    for b in bands:
        x0, x1 = axis.x(max(b.start, axis.t0)), axis.x(min(b.end, axis.t1))
        top, bottom = axis.y(b.high), axis.y(b.low)
        if x1 <= x0:
            continue
        height = max(bottom - top, 1.0)  # a usual range of 0-0 still shows as a line
        tip = f"usual range {b.when}: {_fmt(b.low)}–{_fmt(b.high)} {unit}"
        parts.append(f'<rect class="band" x="{_n(x0)}" y="{_n(min(top, axis.height - 1.0))}" width="{_n(x1 - x0)}" '
                     f'height="{_n(height)}"><title>{escape(tip)}</title></rect>')
    return "".join(parts)


def _spans(spans: Iterable[Span], axis: Axis) -> str:
    parts = []
    for s in spans:
        end = axis.t1 if s.end is None else s.end
        if end < axis.t0 or s.start > axis.t1:
            continue
        x0, x1 = axis.x(max(s.start, axis.t0)), axis.x(min(end, axis.t1))
        until = "still open" if s.end is None else f"resolved {_hhmm(s.end)} UTC"
        tip = f"{s.severity or 'P?'} {s.title} (opened {_hhmm(s.start)} UTC, {until})"
        parts.append(f'<rect class="span span-{escape(s.severity or "none", quote=True)}" '
                     f'data-incident="{escape(s.incident_id, quote=True)}" x="{_n(x0)}" y="0" '
                     f'width="{_n(max(x1 - x0, 2.0))}" height="{_n(axis.height)}"><title>{escape(tip)}</title></rect>')
    return "".join(parts)


def chart_svg(*, label: str, unit: str, series: str, points: Sequence[Sequence[float]], bands: Sequence[Band],
              spans: Sequence[Span], t0: float, t1: float, width: float = 720.0, height: float = 110.0,
              css_class: str = "") -> str:
    """One chart: `points` are (t, value); the y axis runs from 0 to a round number above what is drawn."""
    shown = [v for t, v in points if t0 <= t <= t1] + [b.high for b in bands]
    axis = Axis(t0, t1, nice_max(max(shown, default=0.0)), width, height)
    path = path_of(points, axis)
    count = sum(1 for t, _ in points if t0 <= t <= t1)
    line = (f'<path class="line {escape(css_class, quote=True)}" data-series="{escape(series, quote=True)}" '
            f'data-points="{count}" d="{path}"/>' if path else "")
    frame = (f'<line class="axis" x1="0" x2="0" y1="0" y2="{_n(height)}"/>'
             f'<line class="axis" x1="0" x2="{_n(width)}" y1="{_n(height)}" y2="{_n(height)}"/>'
             f'<text class="ylabel" x="-6" y="10" text-anchor="end">{_fmt(axis.v_max)}</text>'
             f'<text class="ylabel" x="-6" y="{_n(height)}" text-anchor="end">0</text>')
    total_w, total_h = width + MARGIN_LEFT + MARGIN_RIGHT, height + MARGIN_TOP + MARGIN_BOTTOM
    aria = f"{label} per minute from {_hhmm(t0)} to {_hhmm(t1)} UTC"
    return (f'<svg class="chart" viewBox="0 0 {total_w:g} {total_h:g}" role="img" aria-label="{escape(aria, quote=True)}"'
            f' data-series="{escape(series, quote=True)}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{escape(aria)}</title><g transform="translate({MARGIN_LEFT},{MARGIN_TOP})">'
            f'{_ticks(axis)}{_bands(bands, axis, unit)}{_spans(spans, axis)}{frame}{line}</g></svg>')


def span_of(incident: dict[str, Any]) -> Span | None:
    if incident.get("opened_at") is None:
        return None
    return Span(float(incident["opened_at"]), None if incident.get("resolved_at") is None else
                float(incident["resolved_at"]), str(incident.get("title", "")), str(incident.get("incident_id", "")),
                str(incident.get("severity", "")))


CHARTS_SHOWN = 12
SERIES = (("lines_per_min", "log lines", "lines/min", 1), ("errors_per_min", "errors", "errors/min", 2))


def _order(service: str, ring: list[list[float]], open_services: set[str], t1: float) -> tuple:
    errors_last_hour = sum(p[2] for p in ring if p[0] > t1 - 3600)
    return (service not in open_services, -errors_last_hour, service)


def charts_html(rings: dict[str, list[list[float]]],
                bands: Mapping[tuple[str, str], list[Band]] | Callable[[str, str], list[Band]] | None,
                incidents: Iterable[dict[str, Any]], *, t0: float, t1: float, shown: int = CHARTS_SHOWN) -> str:
    """The "services" section: per service, lines and errors per minute with band and incidents.

    `rings`: this worker's services (`series.remember`); `bands`: the model's bands per
    (service, series), as a mapping or a function (asked only for the services shown),
    or None when the baselines stage's state is not on this worker."""
    if isinstance(bands, Mapping):
        table = bands

        def bands(service: str, name: str) -> list[Band]:
            return table.get((service, name), [])
    incidents = list(incidents)
    open_services = {i["service"] for i in incidents if i.get("status") in ("open", "acknowledged")}
    head = (f'<section id="services"><h2>Services, {round((t1 - t0) / 3600)} hours to {_hhmm(t1)} UTC</h2>'
            '<p class="legend muted">Log lines and errors per minute (UTC minutes on the time axis). '
            '<span class="key-band">Shaded band</span>: usual range for this hour of the week. '
            '<span class="key-span">Red spans</span>: incidents, from opened to resolved (point at one for its title).'
            '</p>')
    if bands is None:
        head += ('<p class="banner no-band">No baseline band: the baselines stage does not run on this worker, so '
                 'only the series are drawn. Run the <code>baselines</code> stage beside <code>incidents</code> '
                 'to see what is usual.</p>')
    if not rings:
        return head + '<p class="muted">No window summaries on this worker yet.</p></section>'
    order = sorted(rings, key=lambda s: _order(s, rings[s], open_services, t1))
    parts = [head]
    for service in order[:shown]:
        ring = rings[service]
        spans = [s for s in (span_of(i) for i in incidents if i.get("service") == service) if s is not None]
        charts = []
        learning = False
        for series, label, unit, column in SERIES:
            mine = [] if bands is None else bands(service, series)
            learning = learning or (bands is not None and not mine)
            charts.append(f'<figure class="chart-box"><figcaption>{escape(label)} per minute</figcaption>'
                          + chart_svg(label=label, unit=unit, series=series, points=[(p[0], p[column]) for p in ring],
                                      bands=mine, spans=spans, t0=t0, t1=t1, css_class=series) + "</figure>")
        note = ('<div class="muted">no band yet: the baseline of this service is still learning</div>'
                if learning else "")
        parts.append(f'<div class="service-charts" data-service="{escape(service, quote=True)}">'
                     f'<h3>{escape(service)}</h3>{note}{"".join(charts)}</div>')
    if len(order) > shown:
        parts.append(f'<p class="muted">{len(order) - shown} more services on this worker are not charted '
                     '(those with open incidents and the most errors come first).</p>')
    return "".join(parts) + "</section>"
