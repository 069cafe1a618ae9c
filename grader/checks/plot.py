"""`plot`: the figures a student function draws must show given curves, told apart by a legend or titles."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from grader.checks.base import Attachment, CallView, CheckContext, CheckKind, Verdict, call_problem, first_tensor_input
from grader.i18n import Localized, Text, msg
from grader.observations import AxesReport, FigureReport, Series
from grader.overlay import OverlayCurve, OverlayWords, overlay_data, render_overlay
from grader.spec.models import IDENT, CheckBase, SpecModel


class Curve(SpecModel):
    """A curve the figure must show: y = reference(x) at the curve's own x coordinates."""

    name: Localized
    """How messages call the curve, e.g. `sin(x)`."""
    reference: str = Field(pattern=IDENT)
    """Function of reference.py mapping a float64 tensor x to the expected y."""


class PlotCheck(CheckBase):
    """Capture the matplotlib figures a call draws (Agg, size-capped) and look for the curves."""

    captures: ClassVar[frozenset[str]] = frozenset({"figures"})
    kind: Literal["plot"]
    calls: str = Field(pattern=IDENT)
    """The call set that draws; its first call is judged."""
    curves: Annotated[list[Curve], Field(min_length=1)]
    """Curves that must all appear, each as a different line or scatter."""
    rtol: Annotated[float, Field(ge=0)] = 1e-4
    """Relative tolerance between a plotted y and the reference."""
    atol: Annotated[float, Field(ge=0)] = 1e-6
    """Absolute tolerance between a plotted y and the reference."""
    require_legend: bool = True
    """The curves must be told apart: a legend naming them, or separate axes with titles or y labels."""

    def reference_names(self) -> list[str]:
        """The reference functions of the curves."""
        return [c.reference for c in self.curves]


def _follows(series: Series, expected: np.ndarray, check: PlotCheck) -> bool:
    y = series.y.array
    return bool(y.shape == expected.shape and y.size >= 2 and np.all(np.isfinite(y))
                and np.allclose(y, expected, rtol=check.rtol, atol=check.atol))


def _told_apart(matched: list[tuple[FigureReport, AxesReport, Series]]) -> str | None:
    """How the matched curves are distinguished ("plot_by_legend" or "plot_by_titles"), or None.

    A curve counts as labelled when a legend entry is attached to that very artist (the child maps
    each legend's handles to the lines they stand for), so `legend(['a', 'b'])`, handles and
    labels, `fig.legend` and `d2l.plot(..., legend=[...])` all count; different curves need
    different labels. Otherwise each curve on axes of its own with its own title or y label.
    """
    labels = [series.legend_label for _, _, series in matched]
    if all(labels) and len(set(labels)) == len(labels):
        return "plot_by_legend"
    axes_ids = {id(a) for _, a, _ in matched}
    titles = [(a.title or a.ylabel).strip() for _, a, _ in matched]
    if len(axes_ids) == len(matched) and all(titles) and len(set(titles)) == len(titles):
        return "plot_by_titles"
    return None


def _shown_label(series: Series) -> str | None:
    """What the student's legend calls a curve (or its own label), None when it has neither."""
    if series.legend_label:
        return series.legend_label
    return series.label if series.label and not series.label.startswith("_") else None


def _overlay(check: PlotCheck, ctx: CheckContext, view: CallView, series: list[Series], function: str) -> Attachment:
    """The student's curves over the expected ones, drawn (and the expected curves computed) only if it is kept."""
    x = first_tensor_input(view.planned)
    if x is not None and x.size >= 2:  # the x the student was asked to plot against
        grid = np.unique(np.asarray(x, dtype=np.float64).ravel())
    else:
        drawn_x = np.concatenate([s.x.array.astype(np.float64).ravel() for s in series] or [np.zeros(0)])
        drawn_x = drawn_x[np.isfinite(drawn_x)]
        grid = np.linspace(drawn_x.min(), drawn_x.max(), 400) if drawn_x.size else np.linspace(0.0, 1.0, 400)
    drawn = [OverlayCurve(s.x.array, s.y.array, s.kind == "scatter") for s in series]
    words = OverlayWords(
        title=msg("overlay_title"),
        expected=tuple(msg("overlay_expected", name=curve.name) for curve in check.curves),
        drawn=tuple(msg("overlay_yours", label=_shown_label(s) or msg("overlay_unlabelled", n=i + 1))
                    for i, s in enumerate(series)),
    )
    def expected() -> list[OverlayCurve]:
        return [OverlayCurve(grid, ctx.reference_curve(c.reference, grid)) for c in check.curves]

    return Attachment("overlay", f"{function}.overlay.png", b"", msg("overlay_png"),
                      render=lambda lang: render_overlay(drawn, expected(), words.texts(lang)),
                      plain=lambda lang: overlay_data(drawn, expected(), words.texts(lang)[0]))


def judge_plot(check: PlotCheck, ctx: CheckContext) -> Verdict:
    """Match each expected curve to a distinct drawn series, then look for what tells them apart."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    function = ctx.function_of(check.calls)
    views = ctx.calls(check.calls)
    if not views:
        return Verdict("error", msg("no_observation", functions=function))
    view = views[0]
    problem = call_problem(ctx, view)
    if problem:
        return problem
    assert view.report is not None and view.report.events is not None
    figures = view.report.events.figures or []
    line = ctx.function_line(function)
    attachments = tuple(
        Attachment("figure", f"{function}-{i + 1}.png", f.png_bytes or b"", msg("figure_png", function=function))
        for i, f in enumerate(figures) if f.png
    )
    tips = tuple(
        msg("figure_shrunk", w=f.requested_size_inches[0], h=f.requested_size_inches[1],
            px=f"{int(f.requested_size_inches[0] * 100):,}×{int(f.requested_size_inches[1] * 100):,}",
            sw=f.size_inches[0], sh=f.size_inches[1])
        for f in figures if f.requested_size_inches
    )
    series = [(figure, axes, s) for figure in figures for axes in figure.axes for s in axes.series]
    attachments += (_overlay(check, ctx, view, [s for _, _, s in series], function),)
    if not series:
        return Verdict("failed", msg("plot_no_figure", function=function), hint=msg("plot_curves_hint"),
                       tips=tips, line=line, attachments=attachments)
    matched: list[tuple[FigureReport, AxesReport, Series]] = []
    missing_curves: list[Curve] = []
    for curve in check.curves:
        found = None
        for item in series:
            if any(item[2] is m[2] for m in matched):
                continue
            expected = ctx.reference_curve(curve.reference, item[2].x.array)
            if _follows(item[2], expected, check):
                found = item
                break
        if found is None:
            missing_curves.append(curve)
        else:
            matched.append(found)
    names = [c.name for c in check.curves]
    details = {"curves_drawn": len(series), "curves_matched": len(matched)}
    if missing_curves:
        found_names = [c.name for c in check.curves if not any(c is m for m in missing_curves)]
        found_text: Text = msg("plot_found_curves", found=found_names) if found_names else ""
        return Verdict("failed", msg("plot_missing_curves", missing=[c.name for c in missing_curves], n=len(series),
                                     found=found_text),
                       hint=msg("plot_curves_hint"), tips=tips, line=line, details=details, attachments=attachments)
    how = _told_apart(matched) if check.require_legend else "plot_by_legend"
    if how is None:
        return Verdict("failed", msg("plot_no_legend", curves=names), tips=tips, line=line,
                       details=details, attachments=attachments)
    return Verdict("passed", msg("plot_ok", curves=names, how=msg(how)), tips=tips,
                   details=details, attachments=attachments)


KIND = CheckKind(PlotCheck, judge_plot)
