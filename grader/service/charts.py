"""Charts of the instructor's dashboard as inline SVG, written here rather than by matplotlib.

The serving process stays small and fast (matplotlib would add about 35 MB and a third of a
second per chart; see docs/service.md), and an SVG inside the page needs no request, no script and
no font download. Every text in a chart is escaped (check ids and labels come from specs, which
are data too), colours come from classes styled by the page's stylesheet (the Content-Security-
Policy allows no inline style), and each chart is `role="img"` with a label; the page puts a table
with the same numbers beside it, which is what screen readers read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bin:
    """One bar of a histogram: scores from `low` to below `high` (exactly `low` when `full`), and how many."""

    low: float
    high: float
    count: int
    label: str
    full: bool = False
    """The bin of full marks (scores equal to the maximum), kept apart so that it is never merged with 'almost'."""


def _number(value: float) -> str:
    return f"{value:g}"


def score_bins(scores: Sequence[float], max_score: float, bins: int = 10) -> list[Bin]:
    """Scores counted in `bins` equal ranges below `max_score`, then one bin of full marks."""
    if max_score <= 0:
        return [Bin(0.0, 0.0, len(scores), "0", full=True)]
    width = max_score / bins
    integral = all(float(s).is_integer() for s in scores) and float(width).is_integer() and float(max_score).is_integer()
    counts = [0] * bins
    full = 0
    for score in scores:
        if score >= max_score:
            full += 1
        else:
            counts[min(bins - 1, max(0, int(math.floor(score / width))))] += 1
    out = []
    for index, count in enumerate(counts):
        low, high = index * width, (index + 1) * width
        if integral:
            label = _number(low) if width == 1 else f"{_number(low)}–{_number(high - 1)}"
        else:
            label = f"{_number(round(low, 2))}–{_number(round(high, 2))}"
        out.append(Bin(low, high, count, label))
    out.append(Bin(max_score, max_score, full, _number(max_score), full=True))
    return out


def histogram(bins: Sequence[Bin], label: str, axis: str) -> Markup:
    """A column chart of `bins`: a bar and its count per bin, the bins' labels under them, `axis` as the x axis title."""
    bar, gap, top, plot = 34, 6, 18, 110
    width = len(bins) * (bar + gap) + gap
    height = top + plot + 40
    most = max((b.count for b in bins), default=0) or 1
    parts = [f'<svg class="chart histogram" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"'
             ' xmlns="http://www.w3.org/2000/svg">',
             f'<line class="axis" x1="0" y1="{top + plot}" x2="{width}" y2="{top + plot}"/>']
    for index, item in enumerate(bins):
        x = gap + index * (bar + gap)
        h = round(plot * item.count / most, 1)
        y = top + plot - h
        kind = "bar full" if item.full else "bar"
        parts.append(f'<rect class="{kind}" x="{x}" y="{y}" width="{bar}" height="{h}"/>')
        parts.append(f'<text class="count" x="{x + bar / 2}" y="{y - 4}" text-anchor="middle">{item.count}</text>')
        parts.append(f'<text class="tick" x="{x + bar / 2}" y="{top + plot + 14}" text-anchor="middle">'
                     f'{escape(item.label)}</text>')
    parts.append(f'<text class="axis-title" x="{width / 2}" y="{height - 4}" text-anchor="middle">{escape(axis)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, a share from 0 to 1, and the text shown at its end."""

    label: str
    share: float
    text: str


def share_bars(bars: Sequence[Bar], label: str) -> Markup:
    """Horizontal bars of shares (0 to 1), one row per item: the failure rate of each check."""
    row, left, right, length = 22, 190, 56, 300
    width = left + length + right
    height = max(1, len(bars)) * row + 8
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"'
             ' xmlns="http://www.w3.org/2000/svg">']
    for index, item in enumerate(bars):
        y = 4 + index * row
        share = min(1.0, max(0.0, item.share))
        name = item.label if len(item.label) <= 28 else item.label[:27] + "…"
        parts.append(f'<text class="tick" x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect class="track" x="{left}" y="{y + 3}" width="{length}" height="{row - 6}"/>')
        kind = "bar fail" if share > 0 else "bar"
        parts.append(f'<rect class="{kind}" x="{left}" y="{y + 3}" width="{round(length * share, 1)}" height="{row - 6}"/>')
        parts.append(f'<text class="count" x="{left + length + 6}" y="{y + 15}">{escape(item.text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round numbers between `low` and `high` (1, 2 or 5 times a power of ten apart)."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        return [low]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


def overlay(data: dict[str, Any], label: str, key: str) -> Markup:
    """The student's curves (solid, coloured) over the expected ones (dashed, dark), from an overlay's plain data.

    `key` makes its clip path's id unique in the page. `data` is what `grader.overlay.overlay_data` made from the submission's observed series: numbers
    only are used from it (labels go into the page's table, escaped there), each coordinate checked.
    """
    width, height, left, right, top, bottom = 640, 340, 52, 12, 12, 30
    try:
        x0, x1, y0, y1 = (float(v) for v in data["window"])
    except (KeyError, TypeError, ValueError):
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or x1 <= x0 or y1 <= y0:
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * plot_w, 1)

    def py(y: float) -> float:
        return round(top + (y1 - y) / (y1 - y0) * plot_h, 1)

    parts = [f'<svg class="chart overlay" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"'
             ' xmlns="http://www.w3.org/2000/svg">',
             f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>']
    for x in _ticks(x0, x1):
        parts.append(f'<line class="grid" x1="{px(x)}" y1="{top}" x2="{px(x)}" y2="{top + plot_h}"/>')
        parts.append(f'<text class="tick" x="{px(x)}" y="{height - 12}" text-anchor="middle">{x:g}</text>')
    for y in _ticks(y0, y1):
        parts.append(f'<line class="grid" x1="{left}" y1="{py(y)}" x2="{left + plot_w}" y2="{py(y)}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{py(y) + 4}" text-anchor="end">{y:g}</text>')
    parts.append(f'<clipPath id="clip-{escape(key)}"><rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/></clipPath>'
                 f'<g clip-path="url(#clip-{escape(key)})">')
    for group, kind in (("expected", "expected"), ("drawn", "drawn")):
        for index, curve in enumerate(data.get(group) or []):
            points = []
            for x, y in zip(curve.get("x") or [], curve.get("y") or []):
                if isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isfinite(x) and math.isfinite(y):
                    points.append((px(x), py(max(y0 - (y1 - y0), min(y1 + (y1 - y0), y)))))
            css = f"{kind} {kind[0]}{index % 8 + 1}"
            if curve.get("scatter"):
                parts.extend(f'<circle class="{css}" cx="{x}" cy="{y}" r="2"/>' for x, y in points)
            elif points:
                coords = " ".join(f"{x},{y}" for x, y in points)
                parts.append(f'<polyline class="{css}" points="{coords}"/>')
    parts.append("</g></svg>")
    return Markup("".join(parts))
