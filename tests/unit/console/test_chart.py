"""The console's charts: points, bands and incident spans placed by arithmetic on the axes."""

from __future__ import annotations

import re

from agents.baselines.book import BUCKETS, SERIES, MemoryBook
from agents.baselines.config import BaselinesConfig
from agents.baselines.model import bucket_of, reference
from agents.console.chart import Axis, Span, chart_svg, charts_html, nice_max, path_of
from agents.console.series import (BASELINE_BUCKETS, BASELINE_SERIES, RING_POINTS, Band, band_of, remember,
                                   usual_range)
from agents.console.web import board_answer
from schemas.records import WindowSummary
from tests.unit.console.states import T0, service_state

H6 = 6 * 3600.0


def _window(service: str, start: float, lines: int, errors: int = 0) -> WindowSummary:
    return WindowSummary(id=f"{service}|{int(start)}|1", service=service, window_start=start, window_end=start + 60,
                         status="errors" if errors else "clean", lines=lines, errors=errors)


def _coords(d: str) -> list[tuple[str, float, float]]:
    return [(c, float(x), float(y)) for c, x, y in re.findall(r"([ML])(-?[\d.]+),(-?[\d.]+)", d)]


def test_a_value_is_placed_by_arithmetic_on_the_axis():
    axis = Axis(t0=0.0, t1=600.0, v_max=60.0, width=720.0, height=100.0)
    assert axis.y(30) == 50.0  # half of 0..60 is half of the height, y grows downwards
    assert axis.y(0) == 100.0 and axis.y(60) == 0.0
    assert axis.x(150.0) == 180.0  # a quarter of the span is a quarter of the width


def test_the_path_has_one_point_per_window_and_breaks_at_a_gap():
    axis = Axis(t0=0.0, t1=600.0, v_max=60.0, width=600.0, height=100.0)
    points = [(60, 0), (120, 30), (180, 60), (480, 15)]  # nothing between 180 and 480: a gap
    assert _coords(path_of(points, axis)) == [("M", 60.0, 100.0), ("L", 120.0, 50.0), ("L", 180.0, 0.0),
                                              ("M", 480.0, 75.0)]


def test_the_y_axis_ends_at_a_round_number_above_what_is_drawn():
    assert [nice_max(v) for v in (0, 0.4, 3, 47, 50, 51, 1204)] == [1, 1, 5, 50, 50, 100, 2000]


def test_band_and_incident_span_sit_where_their_values_and_times_are():
    t0 = 1_000_000.0
    svg = chart_svg(label="log lines", unit="lines/min", series="lines_per_min",
                    points=[(t0 + 60, 25.0), (t0 + 120, 45.0)],
                    bands=[Band(t0, t0 + 3600, 10.0, 40.0, "for Monday 10:00")],
                    spans=[Span(t0 + 3600, t0 + 7200, "checkout: MemoryError <b>", "checkout-1", "P1")],
                    t0=t0, t1=t0 + H6, width=720.0, height=100.0)
    # axis 0..50 (45 is the highest value): 25 -> y 50, 45 -> y 10; one minute of six hours is 2 px of 720
    assert 'data-points="2"' in svg and 'd="M2.0,50.0 L4.0,10.0"' in svg
    band = re.search(r'<rect class="band" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)">', svg)
    assert band.groups() == ("0.0", "20.0", "120.0", "60.0")  # 40 -> y 20, 10 -> y 80; the first hour
    assert "usual range for Monday 10:00: 10–40 lines/min" in svg
    span = re.search(r'<rect class="span span-P1" data-incident="checkout-1" x="([\d.]+)" y="0" width="([\d.]+)"', svg)
    assert span.groups() == ("120.0", "120.0")  # the second hour
    assert "checkout: MemoryError &lt;b&gt; (opened" in svg and "<b>" not in svg
    assert ">50<" in svg and ">0<" in svg  # the y axis is labelled


def test_time_labels_are_utc_hours():
    t0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
    svg = chart_svg(label="errors", unit="errors/min", series="errors_per_min", points=[], bands=[], spans=[],
                    t0=t0, t1=t0 + H6)
    assert re.findall(r'class="xlabel"[^>]*>([\d:]+)<', svg) == ["15:00", "16:00", "17:00", "18:00", "19:00", "20:00"]
    assert 'aria-label="errors per minute from 14:13 to 20:13 UTC"' in svg


def test_the_ring_keeps_six_hours_at_most_and_ignores_a_redelivery():
    ring = None
    for m in range(400):
        ring = remember(ring, _window("api", T0 + 60 * m, lines=m, errors=m % 3))
    assert len(ring) == RING_POINTS
    assert ring[0] == [T0 + 60 * 40 + 60, 40.0, 1.0] and ring[-1][0] == T0 + 60 * 399 + 60
    assert remember(ring, _window("api", T0 + 60 * 399, lines=399, errors=0)) is None
    later = remember(ring, _window("api", T0 + 60 * 399 + 7 * 3600, lines=5))
    assert [p[1] for p in later] == [5.0]  # seven hours later: what was before is out of the span


def test_the_usual_range_is_the_10th_to_90th_percentile_of_the_bucket():
    cfg = BaselinesConfig(min_bucket_samples=10)
    assert usual_range([float(v) for v in range(1, 11)], [], 0.0, cfg) == (1.0, 9.0, True)
    assert usual_range([1.0] * 9, [], 0.0, cfg) is None  # too few values and no recent ones: learning


def test_the_band_is_the_baselines_models_own_reference():
    cfg = BaselinesConfig()
    book = MemoryBook(cfg)
    start = 1_789_984_800.0  # 2026-09-21 10:00 UTC, a Monday
    for m in range(140):  # two hours and twenty minutes of windows
        book.feed(_window("api", start + 60 * m, lines=100 + (m * 37) % 41, errors=m % 4))
    assert (BASELINE_SERIES, BASELINE_BUCKETS) == (SERIES, BUCKETS)
    series, buckets = book.tables[SERIES], book.tables[BUCKETS]
    now = start + 3 * 3600
    bands = band_of("api", "lines_per_min", start - 3600, now, series, buckets, cfg)
    # 09:00 had no windows; 10:00 and 11:00 have full buckets; 12:00 has 21 values, too few
    # for its bucket, so the model judges by its recent values there: only for the hour of now.
    assert [(b.start, b.end, b.when) for b in bands] == [
        (start, start + 3600, "for Monday 10:00"), (start + 3600, start + 7200, "for Monday 11:00"),
        (start + 7200, now, "recently")]
    for band in bands:
        hour, name = bucket_of(band.end - 1, cfg.timezone)
        recent = series["api|lines_per_min"]["recent"] if band.end == now else []
        ref = reference(buckets.get(f"api|lines_per_min#{hour}", []), recent, band.end, name, cfg, counts=True)
        assert (band.low, band.high, band.when) == (ref.low, ref.high, ref.when)


def test_without_the_baselines_stage_the_page_says_there_is_no_band():
    t1 = T0 + H6
    rings = {"api": [[T0 + 60 * m, 50.0, 1.0] for m in range(1, 30)]}
    html = charts_html(rings, None, [], t0=T0, t1=t1)
    assert "No baseline band: the baselines stage does not run on this worker" in html
    assert 'class="band"' not in html and 'data-points="29"' in html
    assert "usual range for this hour of the week" in html
    learning = charts_html(rings, {}, [], t0=T0, t1=t1)
    assert "still learning" in learning and "No baseline band" not in learning


def test_the_board_charts_a_service_with_its_incident():
    state = service_state().model_dump(mode="json")  # checkout, a P1 opened at T0+60, still open
    now = T0 + 240
    rings = {"checkout": [[T0 + 60 * m, 100.0, 4.0 if m in (1, 2) else 0.0] for m in range(-30, 4)],
             "search": [[T0 + 60 * m, 20.0, 0.0] for m in range(-30, 4)]}
    html = board_answer([state], now=now, rings=rings)["html"]
    start = html.index('<section id="services">')
    charts = html[start:html.index("</section>", start)]
    assert charts.index('data-service="checkout"') < charts.index('data-service="search"')  # the open one first
    checkout = charts[charts.index('data-service="checkout"'):charts.index('data-service="search"')]
    assert checkout.count('data-points="34"') == 2  # lines and errors, a point per window
    assert 'data-incident="checkout-20260921T1414Z-1"' in checkout and "still open" in checkout
    assert "data-incident" not in charts[charts.index('data-service="search"'):]
