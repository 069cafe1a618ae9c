"""Reference overlays: the curves a student drew and the expected ones on one axes, as a PNG.

Drawn in the trusted grader from plain arrays (the series the child observed, the reference
curves the judge computed), with matplotlib's Agg canvas and no pyplot, so no global state is
touched. The plot check hands this over as a deferred attachment: nothing is drawn unless the
user asked for files (`--artifacts`), and its words (`OverlayWords`, messages) are put into the
reader's language only then.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from grader.i18n import Lang, Text
from grader.messages import render

SIZE_INCHES = (8.0, 4.5)
DPI = 100
MAX_CURVES = 16
"""Drawn curves beyond this many are left out of the overlay (the student's own PNG has them all)."""
MAX_POINTS = 5000
"""Longer curves are thinned to about this many points: the overlay is for eyes, not for grading."""
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")
"""Fonts with Chinese glyphs, tried in order; without one, the overlay's words fall back to English."""


_EXPECTED_STYLES = ("--", ":", "-.")
"""Expected curves are black and told apart by their dashes, so the student's colours stay theirs."""


@dataclass(frozen=True)
class OverlayCurve:
    """One curve to draw: its points (finite ones are kept) and whether it was a scatter."""

    x: np.ndarray
    y: np.ndarray
    scatter: bool = False


@dataclass(frozen=True)
class OverlayText:
    """The overlay's words in one language: its title and a legend entry per curve."""

    title: str
    expected: tuple[str, ...]
    drawn: tuple[str, ...]

    def characters(self) -> set[str]:
        """Every character the text would draw."""
        return set(self.title) | {c for label in self.expected + self.drawn for c in label}


@dataclass(frozen=True)
class OverlayWords:
    """The overlay's words as messages, put into a language only when the picture is drawn."""

    title: Text
    expected: tuple[Text, ...]
    drawn: tuple[Text, ...]

    def texts(self, lang: Lang) -> list[OverlayText]:
        """The words in `lang`, then in English: the installed fonts may lack the first language's glyphs."""
        return [OverlayText(str(render(self.title, language)), tuple(str(render(t, language)) for t in self.expected),
                            tuple(str(render(t, language)) for t in self.drawn))
                for language in dict.fromkeys((lang, "en"))]


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The first installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def _drawable(text: OverlayText) -> bool:
    """Whether the installed fonts have glyphs for the text (Chinese needs a CJK font)."""
    return all(ord(c) < 0x2E80 for c in text.characters()) or cjk_family() is not None


def _thin(curve: OverlayCurve) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(curve.x, dtype=np.float64).ravel(), np.asarray(curve.y, dtype=np.float64).ravel()
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    step = max(1, x.size // MAX_POINTS)
    return x[::step], y[::step]


def _window(expected: list[OverlayCurve], drawn: list[OverlayCurve]) -> tuple[float, float, float, float]:
    """The region to show: the expected curves' with a margin (the student's if there are none), always finite.

    A drawn curve may span ±1e308 or hold a single point far away; matplotlib cannot place ticks
    over such a range, and the overlay is about where the expected curves are.
    """
    points = [_thin(c) for c in (expected or drawn)]
    xs = np.concatenate([x for x, _ in points] or [np.zeros(0)])
    ys = np.concatenate([y for _, y in points] or [np.zeros(0)])
    if not expected and xs.size:  # only the student's: keep its bulk, not its outliers
        xs = xs[(xs >= np.percentile(xs, 1)) & (xs <= np.percentile(xs, 99))] if xs.size > 10 else xs
        ys = ys[(ys >= np.percentile(ys, 1)) & (ys <= np.percentile(ys, 99))] if ys.size > 10 else ys
    if not xs.size or not ys.size:
        return -1.0, 1.0, -1.0, 1.0
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    x0, x1, y0, y1 = (max(v, -1e12) if i % 2 == 0 else min(v, 1e12) for i, v in enumerate((x0, x1, y0, y1)))
    dx, dy = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    return x0 - 0.05 * dx, x1 + 0.05 * dx, y0 - 0.5 * dy, y1 + 0.5 * dy


def _literal(label: str) -> str:
    """A label drawn as written: `$` would start matplotlib's math mode, which can fail to parse."""
    return label.replace("$", r"\$")


SVG_POINTS = 400
"""Points kept per curve in the overlay's plain data (the web page draws it as SVG: enough for a smooth line)."""


def overlay_data(drawn: list[OverlayCurve], expected: list[OverlayCurve], text: OverlayText) -> dict[str, object]:
    """The overlay as plain data (thinned finite curves, the window, the words), for pictures drawn elsewhere (SVG).

    Cheap beside `render_overlay` (no matplotlib), so the service keeps it for every plot check.
    """
    x0, x1, y0, y1 = _window(expected, drawn)

    def curve(c: OverlayCurve, label: str) -> dict[str, object]:
        x, y = _thin(c)
        near = (np.abs(x) < 1e12) & (np.abs(y) < 1e12)
        x, y = x[near], y[near]
        step = max(1, x.size // SVG_POINTS)
        return {"label": label, "scatter": c.scatter,
                "x": [round(float(v), 6) for v in x[::step]], "y": [round(float(v), 6) for v in y[::step]]}

    return {"title": text.title, "window": [x0, x1, y0, y1],
            "expected": [curve(c, label) for c, label in zip(expected, text.expected)],
            "drawn": [curve(c, label) for c, label in list(zip(drawn, text.drawn))[:MAX_CURVES]]}


def render_overlay(drawn: list[OverlayCurve], expected: list[OverlayCurve], texts: list[OverlayText]) -> bytes:
    """A PNG of the expected curves (dashed) under the drawn ones (solid), with the first drawable text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    text = next((t for t in texts if _drawable(t)), texts[-1])
    family = ["DejaVu Sans"] + ([cjk_family()] if cjk_family() else [])
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for i, (curve, label) in enumerate(zip(expected, text.expected)):
        x, y = _thin(curve)
        axes.plot(x, y, color="black", linestyle=_EXPECTED_STYLES[i % len(_EXPECTED_STYLES)], linewidth=3,
                  alpha=0.45, label=_literal(label))
    x0, x1, y0, y1 = _window(expected, drawn)
    for curve, label in list(zip(drawn, text.drawn))[:MAX_CURVES]:
        x, y = _thin(curve)
        # Points far outside the window are left out: they would make matplotlib's range infinite.
        near = (np.abs(x) < 1e12) & (np.abs(y) < 1e12)
        x, y = x[near], y[near]
        if curve.scatter:
            axes.scatter(x, y, s=6, label=_literal(label))
        else:
            axes.plot(x, y, linewidth=1.2, label=_literal(label))
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    axes.set_title(_literal(text.title), fontfamily=family)
    axes.set_xlabel("x")
    axes.grid(alpha=0.3)
    if expected or drawn:
        axes.legend(loc="best", prop={"family": family, "size": "small"})
    figure.tight_layout()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from a student's label is not worth a warning
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
