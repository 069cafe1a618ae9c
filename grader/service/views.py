"""What the result page shows, made from a stored scorecard in the reader's language: plain values for result.html.

It shows what the text report shows (grader/reporters/text.py), with the same words from the
catalogue: points per exercise, every check with its message, hint and tips, the student's
traceback (cell and line in a notebook), what the program printed, and how it was run. Beyond
the text: a table of values where a check shows them (the measured graph sizes of the
second-derivative exercise), and the student's figure beside the overlay of the expected curves,
drawn as SVG from the curves kept with the submission. Nothing here escapes: the template does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from grader.i18n import Lang, Msg
from grader.messages import MESSAGES, render, tr
from grader.reporters.common import program_output
from grader.scorecard import CheckResult, Scorecard, TraceFrame
from grader.service import charts
from grader.store import Figure, Store, SubmissionRow

MARKS = {"passed": "✔", "failed": "✘", "error": "!"}
SHOWN_REPEATS = 3
"""Identical frames in a row shown before the rest are counted (as Python and the text report do)."""


def points(value: float) -> str:
    """A score as the text report writes it."""
    return f"{value:g}"


def when(seconds: float) -> str:
    """A moment as `2026-12-01 13:45` (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds))


def frames(trace: list[TraceFrame], file: str, lang: Lang) -> list[dict[str, Any]]:
    """The student's frames as the text report lists them: where (cell and line in a notebook), the line's text."""
    out: list[dict[str, Any]] = []
    for _, run in groupby(trace, key=lambda f: (f.line, f.cell, f.function)):
        same = list(run)
        for frame in same[:SHOWN_REPEATS]:
            key = "report_frame_cell" if frame.cell is not None else "report_frame"
            where = MESSAGES[key].get(lang) or MESSAGES[key]["en"]
            out.append({"repeated": None, "where": where.format(file=file, cell=frame.cell, line=frame.line,
                                                                  function=frame.function), "text": frame.text})
        if len(same) > SHOWN_REPEATS:
            out.append({"repeated": tr(lang, "report_repeated", n=len(same) - SHOWN_REPEATS), "where": "", "text": ""})
    return out


def split_table(message: Any) -> tuple[Any, list[Msg]]:
    """A message without its table of values (`table` = `values_rows`), and that table's rows."""
    if not isinstance(message, Msg):
        return message, []
    table = message.params.get("table")
    if not isinstance(table, Msg) or table.key != "values_rows":
        return message, []
    rows = [row for row in table.params.get("rows", []) if isinstance(row, Msg)]  # type: ignore[union-attr]
    return message.model_copy(update={"params": {**message.params, "table": ""}}), rows


def value_rows(rows: list[Msg], lang: Lang) -> list[dict[str, Any]]:
    """The rows of a values table: what was called, the student's value, the expected one, whether they agree."""
    out = []
    for row in rows:
        label = row.params.get("label")
        got, expected = str(row.params.get("got", "")), str(row.params.get("expected", ""))
        out.append({"label": render(label, lang) if not isinstance(label, (int, float, type(None))) else str(label),  # type: ignore[arg-type]
                    "got": got, "expected": expected, "same": got == expected})
    return out


@dataclass
class CheckFigures:
    """The pictures of one plot check: the student's PNGs and the overlay of the expected curves."""

    drawn: list[Figure] = field(default_factory=list)
    overlay_png: list[Figure] = field(default_factory=list)
    overlay_data: list[Figure] = field(default_factory=list)


def figures_by_check(figures: list[Figure]) -> dict[tuple[str, str], CheckFigures]:
    """A submission's stored figures, by (exercise, check)."""
    out: dict[tuple[str, str], CheckFigures] = {}
    for figure in figures:
        entry = out.setdefault((figure.exercise, figure.check), CheckFigures())
        if figure.kind == "figure":
            entry.drawn.append(figure)
        elif figure.kind == "overlay":
            entry.overlay_png.append(figure)
        elif figure.kind == "overlay-data":
            entry.overlay_data.append(figure)
    return out


def figure_view(store: Store, row: SubmissionRow, found: CheckFigures, lang: Lang, key: str) -> dict[str, Any]:
    """The figures of a plot check for the page: the student's PNG and the overlay (SVG from data, else its PNG)."""
    base = f"/api/v1/submissions/{row.id}/figures/"
    shown: list[dict[str, Any]] = []
    for figure in found.drawn:
        function = figure.name.split(".")[2].rsplit("-", 1)[0] if figure.name.count(".") >= 3 else figure.name
        shown.append({"url": base + figure.name, "alt": tr(lang, "page_figure_yours_alt", function=function),
                      "caption": tr(lang, "page_figure_yours", function=function)})
    overlays: list[dict[str, Any]] = []
    for index, figure in enumerate(found.overlay_data):
        raw = store.figure(row.id, figure.name)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        curves = [{"label": str(c.get("label", "")), "kind": kind, "n": len(c.get("x") or []),
                   "range": _range(c.get("y") or [], lang), "css": f"{kind[0]}{i % 8 + 1}"}
                  for kind in ("expected", "drawn") for i, c in enumerate(data.get(kind) or []) if isinstance(c, dict)]
        expected = [c["label"] for c in curves if c["kind"] == "expected"]
        overlays.append({"svg": charts.overlay(data, tr(lang, "page_overlay_alt", expected=expected), f"{key}-{index}"),
                         "caption": tr(lang, "page_overlay_caption"), "curves": curves})
    if not overlays:
        for figure in found.overlay_png:
            shown.append({"url": base + figure.name, "alt": tr(lang, "page_overlay_caption"),
                          "caption": tr(lang, "page_overlay_caption")})
    return {"figures": shown, "overlays": overlays}


def _range(values: list[Any], lang: Lang) -> str:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return tr(lang, "page_overlay_range", low=min(numbers), high=max(numbers)) if numbers else ""


def check_view(store: Store, row: SubmissionRow, exercise_id: str, check: CheckResult, file: str, lang: Lang,
               figures: dict[tuple[str, str], CheckFigures]) -> dict[str, Any]:
    """One check as the page shows it."""
    message, table = split_table(check.message)
    if check.line is not None:
        where = tr(lang, "where_cell", cell=check.cell, line=check.line) if check.cell is not None else \
            tr(lang, "where_line", line=check.line)
    else:
        where = ""
    view: dict[str, Any] = {
        "id": check.id, "status": check.status, "graded": check.graded, "hidden": check.hidden,
        "mark": MARKS[check.status] if check.graded else "·",
        "status_word": tr(lang, f"page_status_word_{check.status}"),
        "title": render(check.title, lang) if check.title is not None else check.id,
        "points": f"{points(check.score)}/{points(check.max_score)}" if check.graded else tr(lang, "report_ungraded"),
        "message": (render(message, lang) or "").strip(), "where": where,
        "value_rows": value_rows(table, lang), "traceback": frames(check.traceback, file, lang),
        "hint": render(check.hint, lang) if check.hint is not None else "",
        "tips": [render(tip, lang) for tip in check.tips],
        "plot": check.kind == "plot", "figures": [], "overlays": [], "figure_notes": [],
    }
    if check.kind == "plot":
        found = figures.get((exercise_id, check.id), CheckFigures())
        view.update(figure_view(store, row, found, lang, f"{exercise_id}-{check.id}"))
        if not view["figures"] and not view["overlays"]:
            view["figure_notes"].append(tr(lang, "page_no_figure"))
    return view


def result_view(store: Store, row: SubmissionRow, lang: Lang) -> dict[str, Any]:
    """Everything result.html shows of a submission, in `lang`."""
    view: dict[str, Any] = {
        "id": row.id, "filename": row.filename, "status": row.status, "student": row.student or "",
        "exercise_set": row.exercise_set,
        "submitted": tr(lang, "page_submitted", time=when(row.created)),
        "page_url": f"/submissions/{row.id}", "api_url": f"/api/v1/submissions/{row.id}", "source_url": None,
        "waiting": row.status in ("queued", "running"), "total": "", "total_class": "",
        "state_text": tr(lang, "page_status_running" if row.status == "running" else "page_status_queued"),
        "error": row.error or "", "problems": [], "exercises": [], "answers": [], "output": "", "output_heading": "",
        "withheld": "", "run_lines": [], "run_warnings": [],
    }
    if row.status != "graded" or row.scorecard is None:
        return view
    card = Scorecard.model_validate(row.scorecard)
    file = row.filename
    view["total"] = f"{points(card.score)}/{points(card.max_score)} {tr(lang, 'report_points')}"
    view["total_class"] = "passed" if card.passed else "failed"
    if card.error is not None:
        view["problems"].append({"message": render(card.error, lang), "traceback": frames(card.error_traceback, file, lang),
                                 "hint": render(card.error_hint, lang) if card.error_hint is not None else ""})
    for problem in card.top_level_errors:
        view["problems"].append({"message": render(problem.message, lang),
                                 "traceback": frames(problem.traceback, file, lang),
                                 "hint": render(problem.hint, lang) if problem.hint is not None else ""})
    figures = figures_by_check(store.figures(row.id))
    for exercise in card.exercises:
        state = "passed" if exercise.score >= exercise.max_score else ("partial" if exercise.score > 0 else "failed")
        view["exercises"].append({
            "id": exercise.id, "title": render(exercise.title, lang), "state": state,
            "points": f"{points(exercise.score)}/{points(exercise.max_score)}",
            "checks": [check_view(store, row, exercise.id, check, file, lang, figures) for check in exercise.checks]})
    view["answers"] = list(card.answers.items())
    run = card.run
    if run is not None:
        printed = program_output(run, lang)
        if printed.strip():
            view["output"] = printed.rstrip()
            view["output_heading"] = tr(lang, "report_printed_bytes", n=run.output_bytes).rstrip(":：")
        if run.withheld_output_bytes:
            view["withheld"] = tr(lang, "hidden_output_withheld", n=run.withheld_output_bytes)
        level = str(run.isolation.get("level"))
        key = f"isolation_level_{level.replace('-', '_')}"
        level_text = tr(lang, key) if key in MESSAGES else level
        view["run_lines"].append(tr(lang, "report_footer", seed=run.seed, level=level_text))
        if level != "namespaces":
            missing = [tr(lang, f"isolation_{name}") for name in run.isolation.get("missing") or []
                       if f"isolation_{name}" in MESSAGES]
            view["run_warnings"].append(tr(lang, "report_weaker_than_full", missing=missing or [level_text]))
    return view

