"""Every file in submissions_example/ is graded and must score what its `expect:` line says."""

from __future__ import annotations

import re

import pytest

from conftest import EXAMPLES, en
from grader.reporters import text
from grader.reporters.text import display_width

EXPECT = re.compile(r"expect: score=(?P<score>[\d.]+)(?: lost=(?P<lost>[\w,-]+))?")
FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
CORRECT_STYLES = ("solution.py", "solution_other_styles.py", "solution_reader_style.py", "mistake_per_element_loop.py",
                  "solution_notebook.ipynb")
"""Every way of answering correctly that the examples show: backward(), torch.autograd.grad, torch.func, loops, a notebook."""


def expectation(path):
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no `expect: score=N [lost=ids]` line"
    lost = match.group("lost")
    return float(match.group("score")), set(lost.split(",")) if lost else set()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_scores_as_declared(path, example_cards):
    score, lost = expectation(path)
    scorecard = example_cards.cards[path.name]
    assert scorecard.score == score, [(c.id, en(c.message)) for e in scorecard.exercises for c in e.checks if c.status != "passed"]
    for exercise in scorecard.exercises:
        if "all" in lost or exercise.id in lost:
            assert exercise.score < exercise.max_score, exercise.id
        else:
            assert exercise.score == exercise.max_score, [(c.id, en(c.message)) for c in exercise.checks if c.status != "passed"]


def test_there_is_one_example_per_kind_of_outcome():
    names = {p.stem for p in FILES}
    assert "solution" in names and "solution_notebook" in names
    assert sum(n.startswith("mistake_") for n in names) >= 16


@pytest.mark.parametrize("name", CORRECT_STYLES)
def test_every_correct_style_returns_autograds_own_gradients(name, example_cards):
    checks = {(e.id, c.id): c for e in example_cards.cards[name].exercises for c in e.checks}
    for exercise in ("sin-derivative-plot", "second-derivative-cost"):
        provenance = checks[(exercise, "gradient-from-autograd")]
        assert (provenance.kind, provenance.status) == ("returns_gradient", "passed"), en(provenance.message)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_line_of_any_report_is_wider_than_80_columns(lang, example_cards):
    for name, card in example_cards.cards.items():
        report = text.render(card, lang=lang, width=80)
        wide = [line for line in report.splitlines() if display_width(line) > 80]
        assert wide == [], name
        # Wrapping moves words (Chinese: characters); it neither loses nor adds any.
        assert _characters(report) == _characters(text.render(card, lang=lang)), name


def _characters(report: str) -> str:
    """A report without its whitespace and the `| ` that starts each line of the program's output."""
    return re.sub(r"\s+", "", re.sub(r"(?m)^ *\| ", "", report))
